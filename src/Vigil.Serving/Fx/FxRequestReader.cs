using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Vigil.Fx;

namespace Vigil.Serving;

/// <summary>
/// Reads the deals of an FX scoring request in any of the accepted shapes: a JSON list of deals, <c>{"inputs": [...]}</c>
/// (also <c>instances</c>), MLflow <c>{"dataframe_records": [...]}</c> and <c>{"dataframe_split": {"columns": [...],
/// "data": [[...]]}}</c>. A value of the wrong JSON type fails its deal only (<see cref="FxReadResult.Errors"/>, naming
/// the field); a body of the wrong shape fails the request (<see cref="RequestShapeException"/>).
/// </summary>
/// <remarks>
/// One forward pass of a <see cref="Utf8JsonReader"/> over the body (no document is built): field names are matched on
/// their UTF-8 bytes, numbers parsed in place, and the short repeated texts of a deal (client, instrument, business unit,
/// counterparty, currencies, dates) come from <see cref="FxTextTable"/>, so a batch allocates one string per deal (its
/// <c>UniqueId</c>) and one <see cref="FxRawDeal"/>, not one string per field.
/// </remarks>
internal static partial class FxRequestReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 16 };

    private const string ShapeMessage = "The body must be a JSON list of deals, or an object with inputs, dataframe_records or dataframe_split.";

    /// <summary>Reads <paramref name="body"/>.</summary>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    /// <exception cref="RequestShapeException">It has none of the accepted shapes.</exception>
    /// <exception cref="InvalidOperationException">A text is not valid UTF-8.</exception>
    public static FxReadResult Read(ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            return TryReadPlain(body.FirstSpan) ?? ReadGeneral(body);
        }

        // A pipe hands a large body over in segments: one contiguous pooled copy lets the plain path read it.
        var length = checked((int)body.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return TryReadPlain(copy.AsSpan(0, length)) ?? ReadGeneral(body);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>Reads <paramref name="body"/> with a <see cref="Utf8JsonReader"/>: every valid JSON body, any shape.</summary>
    internal static FxReadResult ReadGeneral(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, Options);
        if (!reader.Read())
        {
            throw new JsonException("The input does not contain any JSON tokens.");
        }

        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var result = ReadRecords(ref reader, "");
            End(ref reader);
            return result;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            End(ref reader);
            throw new RequestShapeException("body", ShapeMessage);
        }

        // Scan the whole object first (it must be valid JSON to the end), keeping where each accepted key's value starts;
        // the keys are taken in this order whatever their order in the body.
        Utf8JsonReader inputs = default, instances = default, records = default, split = default;
        bool hasInputs = false, hasInstances = false, hasRecords = false, hasSplit = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueTextEquals("inputs"u8) ? 0
                : reader.ValueTextEquals("instances"u8) ? 1
                : reader.ValueTextEquals("dataframe_records"u8) ? 2
                : reader.ValueTextEquals("dataframe_split"u8) ? 3
                : -1;
            reader.Read();
            switch (key)
            {
                case 0: inputs = reader; hasInputs = true; break;
                case 1: instances = reader; hasInstances = true; break;
                case 2: records = reader; hasRecords = true; break;
                case 3: split = reader; hasSplit = true; break;
                default: break;
            }

            reader.Skip();
        }

        End(ref reader);
        if (hasInputs)
        {
            return ReadList(ref inputs, "inputs");
        }

        if (hasInstances)
        {
            return ReadList(ref instances, "instances");
        }

        if (hasRecords)
        {
            return ReadList(ref records, "dataframe_records");
        }

        if (hasSplit)
        {
            return ReadSplit(ref split);
        }

        throw new RequestShapeException("body", ShapeMessage);
    }

    private static FxReadResult ReadList(ref Utf8JsonReader value, string key) =>
        value.TokenType == JsonTokenType.StartArray
            ? ReadRecords(ref value, key)
            : throw new RequestShapeException(key, $"{key} must be a JSON list of deals.");

    /// <summary>After the root value: nothing but whitespace may follow.</summary>
    private static void End(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException($"'{reader.TokenType}' is invalid after a single JSON value. Expected end of data.");
        }
    }

    /// <summary>The reader is on the list's <c>[</c>; it ends on its <c>]</c>.</summary>
    private static FxReadResult ReadRecords(ref Utf8JsonReader reader, string prefix)
    {
        var batch = new Batch();
        var builder = batch.Builder;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                batch.Refuse($"{(prefix.Length == 0 ? "deal" : prefix)}[{batch.Count}]: must be a JSON object (got {Kind(reader.TokenType)})");
                reader.Skip();
                continue;
            }

            builder.Reset();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = FieldOf(ref reader);
                reader.Read();
                builder.Set(field, ref reader);
            }

            batch.AddBuilt();
        }

        return batch.Result();
    }

    /// <summary>The reader is on the <c>dataframe_split</c> value.</summary>
    private static FxReadResult ReadSplit(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException("dataframe_split", "dataframe_split must be an object with columns and data.");
        }

        Field[]? columns = null;
        var hasColumns = false;
        var hasData = false;
        Utf8JsonReader data = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("columns"u8))
            {
                reader.Read();
                hasColumns = true;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var names = new List<string>();
                    var fields = new List<Field>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            throw new RequestShapeException($"dataframe_split.columns[{names.Count}]", $"dataframe_split.columns[{names.Count}] must be a string (got {Kind(reader.TokenType)}).");
                        }

                        var name = reader.GetString()!;
                        names.Add(name);
                        fields.Add(FieldOf(name));
                    }

                    columns = [.. fields];
                }
                else
                {
                    columns = null;
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                hasData = true;
                data = reader;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!hasColumns || columns is null)
        {
            throw new RequestShapeException("dataframe_split.columns", "dataframe_split.columns must be a list of column names.");
        }

        if (!hasData || data.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestShapeException("dataframe_split.data", "dataframe_split.data must be a list of rows.");
        }

        var batch = new Batch();
        var builder = batch.Builder;
        while (data.Read() && data.TokenType != JsonTokenType.EndArray)
        {
            var i = batch.Count;
            if (data.TokenType != JsonTokenType.StartArray)
            {
                batch.Refuse($"dataframe_split.data[{i}]: must be a list of values (got {Kind(data.TokenType)})");
                data.Skip();
                continue;
            }

            // The row is read once; its values are set only when its length matches the columns.
            var start = data;
            var count = 0;
            while (data.Read() && data.TokenType != JsonTokenType.EndArray)
            {
                count++;
                data.Skip();
            }

            if (count != columns.Length)
            {
                batch.Refuse($"dataframe_split.data[{i}]: has {count} values for {columns.Length} columns");
                continue;
            }

            builder.Reset();
            for (var k = 0; k < count; k++)
            {
                start.Read();
                builder.Set(columns[k], ref start);
            }

            batch.AddBuilt();
        }

        return batch.Result();
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    /// <summary>The deal fields a request may carry; anything else is ignored, as the pyfunc does.</summary>
    private enum Field
    {
        Other,
        Client,
        InstrumentType,
        BUnit,
        Cpty,
        PrimaryCurr,
        BuyCurr,
        SellCurr,
        DealDate,
        MaturityDate,
        UniqueId,
        BuyAmount,
        SellAmount,
        SpotRate,
        ForwardPoints,
        ContLeg,
    }

    private static readonly string[] FieldNames =
    [
        "", FxFields.Client, FxFields.InstrumentType, FxFields.BUnit, FxFields.Cpty, FxFields.PrimaryCurr, FxFields.BuyCurr, FxFields.SellCurr,
        FxFields.DealDate, FxFields.MaturityDate, FxFields.UniqueId, FxFields.BuyAmount, FxFields.SellAmount, FxFields.SpotRate,
        FxFields.ForwardPoints, FxFields.ContLeg,
    ];

    /// <summary>The field of the property name the reader is on (matched on its bytes unless escaped or split).</summary>
    private static Field FieldOf(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped || reader.HasValueSequence ? FieldOf(reader.GetString()!) : FieldOf(reader.ValueSpan);

    private static Field FieldOf(string name)
    {
        for (var f = 1; f < FieldNames.Length; f++)
        {
            if (string.Equals(FieldNames[f], name, StringComparison.Ordinal))
            {
                return (Field)f;
            }
        }

        return Field.Other;
    }

    private static Field FieldOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 => name.SequenceEqual("Cpty"u8) ? Field.Cpty : Field.Other,
        5 => name.SequenceEqual("BUnit"u8) ? Field.BUnit : Field.Other,
        6 => name.SequenceEqual("Client"u8) ? Field.Client : Field.Other,
        7 => name.SequenceEqual("BuyCurr"u8) ? Field.BuyCurr : name.SequenceEqual("ContLeg"u8) ? Field.ContLeg : Field.Other,
        8 => name.SequenceEqual("SellCurr"u8) ? Field.SellCurr : name.SequenceEqual("DealDate"u8) ? Field.DealDate
            : name.SequenceEqual("UniqueId"u8) ? Field.UniqueId : name.SequenceEqual("SpotRate"u8) ? Field.SpotRate : Field.Other,
        9 => name.SequenceEqual("BuyAmount"u8) ? Field.BuyAmount : Field.Other,
        10 => name.SequenceEqual("SellAmount"u8) ? Field.SellAmount : Field.Other,
        11 => name.SequenceEqual("PrimaryCurr"u8) ? Field.PrimaryCurr : Field.Other,
        12 => name.SequenceEqual("MaturityDate"u8) ? Field.MaturityDate : Field.Other,
        13 => name.SequenceEqual("ForwardPoints"u8) ? Field.ForwardPoints : Field.Other,
        18 => name.SequenceEqual("FX_Instrument_Type"u8) ? Field.InstrumentType : Field.Other,
        _ => Field.Other,
    };

    /// <summary>The deals read so far, in order, each with its reading error (null: read), and the builder of the next.</summary>
    private sealed class Batch(int capacity = 256)
    {
        private readonly List<FxRawDeal> _deals = new(capacity);
        private readonly List<string?> _errors = new(capacity);

        public DealBuilder Builder { get; } = new();

        public int Count => _deals.Count;

        /// <summary>A deal that could not be read at all: it fails with <paramref name="error"/>.</summary>
        public void Refuse(string error)
        {
            _deals.Add(new FxRawDeal());
            _errors.Add(error);
        }

        /// <summary>The deal <see cref="Builder"/> holds, with its first type error.</summary>
        public void AddBuilt()
        {
            _deals.Add(Builder.Build());
            _errors.Add(Builder.Error);
        }

        public FxReadResult Result() => new([.. _deals], [.. _errors]);
    }

    /// <summary>
    /// One deal's fields, keeping the first type error (the deal then fails with it, naming the field). Reused per deal;
    /// both readers (the general one and the plain one) set fields through the same methods, so they agree on every value
    /// and message.
    /// </summary>
    private sealed class DealBuilder
    {
        // Values by field number (texts from Client to UniqueId, numbers from BuyAmount on): a field is set with one indexed
        // store the reader's loop inlines, not a call and a switch per value.
        private readonly string?[] _texts = new string?[(int)Field.BuyAmount];
        private readonly double?[] _numbers = new double?[FieldNames.Length - (int)Field.BuyAmount];

        public string? Error { get; private set; }

        public void Reset()
        {
            Array.Clear(_texts);
            Array.Clear(_numbers);
            Error = null;
        }

        /// <summary>The reader is on the value (a nested value is skipped here).</summary>
        public void Set(Field field, ref Utf8JsonReader value)
        {
            if (field != Field.Other)
            {
                switch (value.TokenType)
                {
                    case JsonTokenType.String when IsNumber(field):
                        Fail(field, "a string");
                        break;
                    case JsonTokenType.String:
                        SetText(field, field != Field.UniqueId && !value.ValueIsEscaped && !value.HasValueSequence ? FxTextTable.Shared.Get(ref value) : value.GetString());
                        break;
                    case JsonTokenType.Number when IsNumber(field):
                        if (value.TryGetDouble(out var d) && double.IsFinite(d))
                        {
                            SetNumber(field, d);
                        }
                        else
                        {
                            Fail(field, Raw(ref value));
                        }

                        break;
                    case JsonTokenType.Number when field == Field.UniqueId:
                        SetText(field, Raw(ref value));
                        break;
                    case JsonTokenType.Null:
                        SetNull(field);
                        break;
                    default:
                        Fail(field, Kind(value.TokenType));
                        break;
                }
            }

            if (value.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                value.Skip();
            }
        }

        public FxRawDeal Build()
        {
            var t = _texts;
            var n = _numbers;
            return new()
            {
                Client = t[(int)Field.Client], FxInstrumentType = t[(int)Field.InstrumentType], BUnit = t[(int)Field.BUnit], Cpty = t[(int)Field.Cpty],
                PrimaryCurr = t[(int)Field.PrimaryCurr], BuyCurr = t[(int)Field.BuyCurr], SellCurr = t[(int)Field.SellCurr],
                BuyAmount = n[Field.BuyAmount - Field.BuyAmount], SellAmount = n[Field.SellAmount - Field.BuyAmount], SpotRate = n[Field.SpotRate - Field.BuyAmount],
                ForwardPoints = n[Field.ForwardPoints - Field.BuyAmount], DealDate = t[(int)Field.DealDate], MaturityDate = t[(int)Field.MaturityDate],
                UniqueId = t[(int)Field.UniqueId], ContLeg = n[Field.ContLeg - Field.BuyAmount],
            };
        }

        /// <summary>True for the fields that take a number.</summary>
        public static bool IsNumber(Field field) => field >= Field.BuyAmount;

        /// <summary>A text field's string value (any other field is left as it is).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SetText(Field field, string? text)
        {
            if (field is > Field.Other and < Field.BuyAmount)
            {
                _texts[(int)field] = text;
            }
        }

        /// <summary>A number field's value (any other field is left as it is).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SetNumber(Field field, double? value)
        {
            if (field >= Field.BuyAmount)
            {
                _numbers[field - Field.BuyAmount] = value;
            }
        }

        /// <summary>A JSON null: the field is absent.</summary>
        public void SetNull(Field field)
        {
            if (IsNumber(field))
            {
                SetNumber(field, null);
            }
            else
            {
                SetText(field, null);
            }
        }

        /// <summary>A value of the wrong type (<paramref name="got"/>: what it is, or a number's text): the field is absent and the deal fails.</summary>
        public void Fail(Field field, string got)
        {
            Error ??= IsNumber(field)
                ? $"{FieldNames[(int)field]}: must be a finite number (got {got})"
                : $"{FieldNames[(int)field]}: must be a string (got {got})";
            SetNull(field);
        }

        private static string Raw(ref Utf8JsonReader value) =>
            value.HasValueSequence ? Encoding.UTF8.GetString(value.ValueSequence) : Encoding.UTF8.GetString(value.ValueSpan);
    }
}

/// <summary>
/// A bounded, thread-safe table of the short texts deals repeat (clients, instruments, business units, counterparties,
/// currencies, dates), keyed by their UTF-8 bytes: a hit returns the string made before instead of a new one. A fixed
/// number of direct-mapped slots (a new text replaces the one in its slot), so a stream of distinct texts costs no more
/// memory than the table; texts longer than <see cref="MaxBytes"/> are not kept.
/// </summary>
internal sealed class FxTextTable
{
    /// <summary>The longest text kept, in UTF-8 bytes.</summary>
    public const int MaxBytes = 48;

    private const int Slots = 4096;

    private readonly Entry?[] _slots = new Entry?[Slots];

    /// <summary>The table the request reader uses.</summary>
    public static FxTextTable Shared { get; } = new();

    /// <summary>The string of the unescaped, single-segment string token <paramref name="reader"/> is on.</summary>
    /// <exception cref="InvalidOperationException">The text is not valid UTF-8.</exception>
    public string Get(ref Utf8JsonReader reader)
    {
        var bytes = reader.ValueSpan;
        if (bytes.Length > MaxBytes)
        {
            return reader.GetString()!;
        }

        var key = Key.Of(bytes);
        var slot = key.Slot;
        if (Volatile.Read(ref _slots[slot]) is { } entry && entry.Matches(key, bytes))
        {
            return entry.Text;
        }

        // GetString validates the UTF-8, so a table entry is always the text of valid bytes.
        var text = reader.GetString()!;
        Volatile.Write(ref _slots[slot], new Entry(key, bytes.ToArray(), text));
        return text;
    }

    /// <summary>The string of <paramref name="ascii"/>: bytes the caller has checked are all ASCII (0x20-0x7F) and need no unescaping.</summary>
    public string GetAscii(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length > MaxBytes)
        {
            return Encoding.ASCII.GetString(ascii);
        }

        var key = Key.Of(ascii);
        var slot = key.Slot;
        if (Volatile.Read(ref _slots[slot]) is { } entry && entry.Matches(key, ascii))
        {
            return entry.Text;
        }

        var text = Encoding.ASCII.GetString(ascii);
        Volatile.Write(ref _slots[slot], new Entry(key, ascii.ToArray(), text));
        return text;
    }

    /// <summary>
    /// A text's length and two words read from it (overlapping reads from its start and its end: all of a text up to 16
    /// bytes, so there equal keys are equal texts), and from them its slot. An entry keeps its key, so a hit is decided
    /// without reaching the entry's bytes. The slot's hash is not a defence against chosen collisions, and needs none: a
    /// collision costs a new string, never a wrong one.
    /// </summary>
    private readonly record struct Key(int Length, ulong Head, ulong Tail)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Key Of(ReadOnlySpan<byte> bytes)
        {
            ref var b = ref MemoryMarshal.GetReference(bytes);
            var n = bytes.Length;
            return n switch
            {
                >= 8 => new(n, Unsafe.ReadUnaligned<ulong>(ref b), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, n - 8))),
                >= 4 => new(n, Unsafe.ReadUnaligned<uint>(ref b), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, n - 4))),
                >= 2 => new(n, Unsafe.ReadUnaligned<ushort>(ref b), Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref b, n - 2))),
                1 => new(n, b, 0),
                _ => new(0, 0, 0),
            };
        }

        /// <summary>A multiplicative hash of the length and both words, as a slot.</summary>
        public int Slot
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                const ulong K = 0x9E3779B97F4A7C15UL;
                var h = (((ulong)Length ^ Head) * K) ^ Tail;
                return (int)((h * K) >> 52) & (Slots - 1);
            }
        }
    }

    private sealed class Entry(Key key, byte[] utf8, string text)
    {
        private readonly Key _key = key;

        public string Text { get; } = text;

        /// <summary>True when <paramref name="bytes"/> (whose key is <paramref name="key"/>) are this entry's text.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Matches(Key key, ReadOnlySpan<byte> bytes) =>
            _key.Length == key.Length && _key.Head == key.Head && _key.Tail == key.Tail && (key.Length <= 16 || bytes.SequenceEqual(utf8));
    }
}

/// <summary>The deals of a request, in order, and per deal the reading error that fails it (null: read).</summary>
internal sealed record FxReadResult(FxRawDeal[] Deals, string?[] Errors);

/// <summary>Equality of short byte strings (names and texts of deals) without a call: overlapping word reads.</summary>
internal static class ShortBytes
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> hold the same bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Equal(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var n = a.Length;
        if (n != b.Length)
        {
            return false;
        }

        ref var x = ref MemoryMarshal.GetReference(a);
        ref var y = ref MemoryMarshal.GetReference(b);
        if (n >= 8)
        {
            return n <= 16
                ? Unsafe.ReadUnaligned<ulong>(ref x) == Unsafe.ReadUnaligned<ulong>(ref y)
                    && Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, n - 8)) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y, n - 8))
                : a.SequenceEqual(b);
        }

        if (n >= 4)
        {
            return Unsafe.ReadUnaligned<uint>(ref x) == Unsafe.ReadUnaligned<uint>(ref y)
                && Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref x, n - 4)) == Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref y, n - 4));
        }

        for (var i = 0; i < n; i++)
        {
            if (Unsafe.Add(ref x, i) != Unsafe.Add(ref y, i))
            {
                return false;
            }
        }

        return true;
    }
}
