using System.Buffers;
using System.Buffers.Text;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace Vigil.Serving;

/// <summary>
/// The plain path of <see cref="FxRequestReader"/>: one loop over the bytes of a body in the shape deal batches almost
/// always have, reading fields straight into the deal builder. It takes a strict subset of JSON: the root is a list of
/// objects, or an object with exactly one key (<c>inputs</c>, <c>instances</c> or <c>dataframe_records</c>) whose value is
/// such a list; each deal object's values are strings of printable ASCII without escapes, JSON numbers, <c>true</c>,
/// <c>false</c> or <c>null</c>. Anything else (an escape, a non-ASCII or control byte, a nested value, <c>dataframe_split</c>,
/// invalid JSON) makes it give up (null) and the general <see cref="System.Text.Json.Utf8JsonReader"/> path reads the body
/// from the start, so every body gets the same deals, errors and exceptions whichever path read it.
/// </summary>
internal static partial class FxRequestReader
{
    /// <summary>The bytes that end the plain part of a string: the quote, a backslash, control bytes and every non-ASCII byte.</summary>
    private static readonly SearchValues<byte> TextStops = SearchValues.Create(TextStopBytes());

    /// <summary>Exact powers of ten (10^22 is the largest a double holds exactly).</summary>
    private static readonly double[] Pow10 =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary><see cref="TextStops"/> as a table: 1 for a byte that ends the plain part of a string.</summary>
    private static readonly byte[] TextStopTable = StopTable();

    private static byte[] StopTable()
    {
        var table = new byte[256];
        foreach (var b in TextStopBytes())
        {
            table[b] = 1;
        }

        return table;
    }

    private static byte[] TextStopBytes()
    {
        var stops = new List<byte> { (byte)'"', (byte)'\\' };
        for (var b = 0; b < 0x20; b++)
        {
            stops.Add((byte)b);
        }

        for (var b = 0x80; b < 0x100; b++)
        {
            stops.Add((byte)b);
        }

        return [.. stops];
    }

    /// <summary>Reads <paramref name="body"/> if it is in the plain subset; null when it is not (nothing is kept from the attempt).</summary>
    internal static FxReadResult? TryReadPlain(ReadOnlySpan<byte> body)
    {
        var at = SkipSpace(body, 0);
        if (at >= body.Length)
        {
            return null;
        }

        FxReadResult? result;
        if (body[at] == (byte)'[')
        {
            result = TryReadPlainList(body, ref at);
        }
        else if (body[at] == (byte)'{')
        {
            at = SkipSpace(body, at + 1);
            if (!TryPlainText(body, ref at, out var key)
                || !(key.SequenceEqual("inputs"u8) || key.SequenceEqual("instances"u8) || key.SequenceEqual("dataframe_records"u8)))
            {
                return null;
            }

            at = SkipSpace(body, at);
            if (at >= body.Length || body[at] != (byte)':')
            {
                return null;
            }

            at = SkipSpace(body, at + 1);
            if (at >= body.Length || body[at] != (byte)'[')
            {
                return null;
            }

            result = TryReadPlainList(body, ref at);
            at = SkipSpace(body, at);
            if (result is null || at >= body.Length || body[at] != (byte)'}')
            {
                return null;
            }

            at++;
        }
        else
        {
            return null;
        }

        return result is not null && SkipSpace(body, at) == body.Length ? result : null;
    }

    /// <summary><paramref name="at"/> is on the list's <c>[</c>; on success it is just past its <c>]</c>.</summary>
    private static FxReadResult? TryReadPlainList(ReadOnlySpan<byte> body, ref int at)
    {
        // Room for the deals the body can hold at ~250 bytes each (the lists do not grow and copy for a usual batch).
        var batch = new Batch(Math.Clamp(body.Length / 250, 16, 1 << 16));
        var builder = batch.Builder;
        var names = new NameMemo();
        at = SkipSpace(body, at + 1);
        if (at < body.Length && body[at] == (byte)']')
        {
            at++;
            return batch.Result();
        }

        while (true)
        {
            if (at >= body.Length || body[at] != (byte)'{')
            {
                return null;
            }

            builder.Reset();
            if (!TryReadPlainDeal(body, ref at, builder, names))
            {
                return null;
            }

            batch.AddBuilt();
            at = SkipSpace(body, at);
            if (at >= body.Length)
            {
                return null;
            }

            if (body[at] == (byte)',')
            {
                at = SkipSpace(body, at + 1);
                continue;
            }

            if (body[at] != (byte)']')
            {
                return null;
            }

            at++;
            return batch.Result();
        }
    }

    /// <summary><paramref name="at"/> is on the deal's <c>{</c>; on success it is just past its <c>}</c>.</summary>
    private static bool TryReadPlainDeal(ReadOnlySpan<byte> body, ref int at, DealBuilder builder, NameMemo names)
    {
        at = SkipSpace(body, at + 1);
        if (at < body.Length && body[at] == (byte)'}')
        {
            at++;
            return true;
        }

        for (var member = 0; ; member++)
        {
            if (!names.TryMatch(body, ref at, member, out var field))
            {
                var start = at;
                if (!TryPlainText(body, ref at, out var name))
                {
                    return false;
                }

                field = FieldOf(name);
                at = SkipSpace(body, at);
                if (at >= body.Length || body[at] != (byte)':')
                {
                    return false;
                }

                at++;
                names.Remember(member, start, at - start, field);
            }

            at = SkipSpace(body, at);
            if (at >= body.Length || !TryPlainValue(body, ref at, field, builder))
            {
                return false;
            }

            at = SkipSpace(body, at);
            if (at >= body.Length)
            {
                return false;
            }

            if (body[at] == (byte)',')
            {
                at = SkipSpace(body, at + 1);
                continue;
            }

            if (body[at] != (byte)'}')
            {
                return false;
            }

            at++;
            return true;
        }
    }

    /// <summary>
    /// The property names of the previous deal by position (deals of a batch almost always list their fields in one order),
    /// each with what follows it up to its colon: bytes equal to the ones at its position last time are that field and its
    /// colon, without searching for the name's end, dispatching on it or looking for the colon again.
    /// </summary>
    private sealed class NameMemo
    {
        private const int Positions = 32;
        private readonly int[] _start = new int[Positions];
        private readonly int[] _length = new int[Positions];
        private readonly Field[] _field = new Field[Positions];
        private readonly bool[] _known = new bool[Positions];

        /// <summary>
        /// True when the name at <paramref name="at"/> (on its quote) and what follows it up to its colon are the bytes
        /// remembered at <paramref name="member"/>; <paramref name="at"/> then moves past the colon.
        /// </summary>
        public bool TryMatch(ReadOnlySpan<byte> body, ref int at, int member, out Field field)
        {
            field = Field.Other;
            if (member >= Positions || !_known[member])
            {
                return false;
            }

            var length = _length[member];
            if (length > body.Length - at || !ShortBytes.Equal(body.Slice(at, length), body.Slice(_start[member], length)))
            {
                return false;
            }

            field = _field[member];
            at += length;
            return true;
        }

        /// <summary>The <paramref name="length"/> bytes at <paramref name="start"/> (a plain name's quotes, spaces, its colon) name <paramref name="field"/>.</summary>
        public void Remember(int member, int start, int length, Field field)
        {
            if (member < Positions)
            {
                _start[member] = start;
                _length[member] = length;
                _field[member] = field;
                _known[member] = true;
            }
        }
    }

    /// <summary><paramref name="at"/> is on a value's first byte; on success it is just past the value, set on <paramref name="builder"/>.</summary>
    private static bool TryPlainValue(ReadOnlySpan<byte> body, ref int at, Field field, DealBuilder builder)
    {
        switch (body[at])
        {
            case (byte)'"':
                if (!TryPlainText(body, ref at, out var text))
                {
                    return false;
                }

                if (field == Field.Other)
                {
                    return true;
                }

                if (DealBuilder.IsNumber(field))
                {
                    builder.Fail(field, "a string");
                }
                else
                {
                    builder.SetText(field, field == Field.UniqueId ? Encoding.ASCII.GetString(text) : FxTextTable.Shared.GetAscii(text));
                }

                return true;
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                var start = at;
                if (!TryPlainNumber(body, ref at, out var value))
                {
                    return false;
                }

                if (field == Field.Other)
                {
                    return true;
                }

                var raw = body[start..at];
                if (DealBuilder.IsNumber(field))
                {
                    if (value is { } v || TryParseNumber(raw, out v))
                    {
                        builder.SetNumber(field, v);
                    }
                    else
                    {
                        builder.Fail(field, Encoding.ASCII.GetString(raw));
                    }
                }
                else if (field == Field.UniqueId)
                {
                    builder.SetText(field, Encoding.ASCII.GetString(raw));
                }
                else
                {
                    builder.Fail(field, "a number");
                }

                return true;
            case (byte)'t':
                return TryLiteral(body, ref at, "true"u8, field, builder, isNull: false);
            case (byte)'f':
                return TryLiteral(body, ref at, "false"u8, field, builder, isNull: false);
            case (byte)'n':
                return TryLiteral(body, ref at, "null"u8, field, builder, isNull: true);
            default:
                return false;
        }
    }

    private static bool TryLiteral(ReadOnlySpan<byte> body, ref int at, ReadOnlySpan<byte> literal, Field field, DealBuilder builder, bool isNull)
    {
        if (!body[at..].StartsWith(literal))
        {
            return false;
        }

        at += literal.Length;
        if (field != Field.Other)
        {
            if (isNull)
            {
                builder.SetNull(field);
            }
            else
            {
                builder.Fail(field, "a boolean");
            }
        }

        return true;
    }

    /// <summary>
    /// <paramref name="at"/> is on a string's opening quote; on success <paramref name="text"/> is its bytes (printable ASCII,
    /// no escape) and <paramref name="at"/> is just past its closing quote. False on anything else.
    /// </summary>
    private static bool TryPlainText(ReadOnlySpan<byte> body, ref int at, out ReadOnlySpan<byte> text)
    {
        text = default;
        if (at >= body.Length || body[at] != (byte)'"')
        {
            return false;
        }

        var rest = body[(at + 1)..];
        var end = PlainTextLength(rest);
        if (end < 0)
        {
            return false;
        }

        if (rest[end] != (byte)'"')
        {
            return false;
        }

        text = rest[..end];
        at += end + 2;
        return true;
    }

    /// <summary>The length of the plain part of <paramref name="rest"/> (up to its first <see cref="TextStops"/> byte), or -1 when it has none.</summary>
    /// <remarks>
    /// Deal texts are short (3-25 bytes): a batch of 16 bytes compared inline (one or two of them per text, no call) beats
    /// both a lookup per byte and setting up a vector search, which takes over past 32 bytes or near the body's end.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PlainTextLength(ReadOnlySpan<byte> rest)
    {
        if (Vector128.IsHardwareAccelerated && rest.Length >= 32)
        {
            ref var start = ref MemoryMarshal.GetReference(rest);
            for (var end = 0; end < 32; end += 16)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)end);
                // Signed, every byte from 0x80 up is negative: one compare finds control and non-ASCII bytes.
                var stop = Vector128.LessThan(v.AsSByte(), Vector128.Create((sbyte)0x20)).AsByte()
                    | Vector128.Equals(v, Vector128.Create((byte)'"')) | Vector128.Equals(v, Vector128.Create((byte)'\\'));
                if (stop != Vector128<byte>.Zero)
                {
                    return end + BitOperations.TrailingZeroCount(stop.ExtractMostSignificantBits());
                }
            }
        }
        else
        {
            ref var stops = ref MemoryMarshal.GetArrayDataReference(TextStopTable);
            var scan = Math.Min(rest.Length, 32);
            for (var end = 0; end < scan; end++)
            {
                if (Unsafe.Add(ref stops, rest[end]) != 0)
                {
                    return end;
                }
            }

            if (scan < 32)
            {
                return -1;
            }
        }

        var far = rest[32..].IndexOfAny(TextStops);
        return far < 0 ? -1 : 32 + far;
    }

    /// <summary>
    /// <paramref name="at"/> is on a number's first byte; on success it is just past the number, which follows JSON's grammar
    /// exactly (<c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>). <paramref name="value"/> is its double when at most 15
    /// significant digits and a power of ten within ±22 give it exactly (one correctly rounded operation on exact operands,
    /// Clinger's fast path: the same double any correct parser gives) or all its digits are zeros, otherwise null (the caller
    /// parses the text).
    /// </summary>
    private static bool TryPlainNumber(ReadOnlySpan<byte> body, ref int at, out double? value)
    {
        value = null;
        var i = at;
        var negative = false;
        if (body[i] == (byte)'-')
        {
            negative = true;
            i++;
        }

        // Every digit goes into the mantissa (the integer part's lone 0 too); with at most 19 digits it is exact, and its
        // significant digits are the digits of its value, so the fast path's test needs no count per digit.
        ulong mantissa = 0;
        var first = i;
        if (i >= body.Length || !char.IsAsciiDigit((char)body[i]))
        {
            return false;
        }

        if (body[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            i = Digits(body, i, ref mantissa);
        }

        var fraction = 0;
        if (i < body.Length && body[i] == (byte)'.')
        {
            i++;
            if (i >= body.Length || !char.IsAsciiDigit((char)body[i]))
            {
                return false;
            }

            var point = i;
            i = Digits(body, i, ref mantissa);
            fraction = i - point;
        }

        var digits = i - first - (fraction > 0 ? 1 : 0);
        var exponent = 0;
        var hasExponent = false;
        if (i < body.Length && (body[i] | 0x20) == (byte)'e')
        {
            hasExponent = true;
            i++;
            var negativeExponent = false;
            if (i < body.Length && (body[i] == (byte)'+' || body[i] == (byte)'-'))
            {
                negativeExponent = body[i] == (byte)'-';
                i++;
            }

            if (i >= body.Length || !char.IsAsciiDigit((char)body[i]))
            {
                return false;
            }

            while (i < body.Length && char.IsAsciiDigit((char)body[i]))
            {
                if (exponent < 10_000)
                {
                    exponent = (exponent * 10) + (body[i] - '0');
                }

                i++;
            }

            if (negativeExponent)
            {
                exponent = -exponent;
            }
        }

        at = i;
        if (digits > 19 || mantissa >= 1_000_000_000_000_000 || (hasExponent && Math.Abs(exponent) > 400))
        {
            return true; // more than 15 significant digits or a far exponent: the caller parses the text
        }

        if (mantissa == 0)
        {
            // Every digit is a zero (a fifth of a usual batch's numbers: ContLeg, ForwardPoints): zero with the text's sign, as
            // Utf8Parser reads it ("-0" is -0.0).
            value = negative ? -0.0 : 0.0;
            return true;
        }

        var power = exponent - fraction;
        if (power is < -22 or > 22)
        {
            return true;
        }

        var d = power >= 0 ? mantissa * Pow10[power] : mantissa / Pow10[-power];
        value = negative ? -d : d;
        return true;
    }

    /// <summary>Reads the digits from <paramref name="i"/> into <paramref name="mantissa"/> (wrapping past 19 digits); the position after them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Digits(ReadOnlySpan<byte> body, int i, ref ulong mantissa)
    {
        var m = mantissa;
        uint d;
        while (i < body.Length && (d = (uint)(body[i] - '0')) <= 9)
        {
            m = (m * 10) + d;
            i++;
        }

        mantissa = m;
        return i;
    }

    /// <summary>A JSON number's text as <see cref="System.Text.Json.Utf8JsonReader.TryGetDouble"/> reads it (false: not a finite double).</summary>
    private static bool TryParseNumber(ReadOnlySpan<byte> raw, out double value) =>
        Utf8Parser.TryParse(raw, out value, out var consumed) && consumed == raw.Length && double.IsFinite(value);

    /// <summary>The first position at or after <paramref name="at"/> that is not JSON whitespace.</summary>
    private static int SkipSpace(ReadOnlySpan<byte> body, int at)
    {
        while (at < body.Length && body[at] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            at++;
        }

        return at;
    }
}
