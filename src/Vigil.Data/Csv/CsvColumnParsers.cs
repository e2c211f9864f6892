using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Vigil.Data.Csv;

/// <summary>
/// Converts one CSV column of a <see cref="CsvBatch"/> into typed storage, appending rows. On a field
/// it cannot convert it stops and records the row (<see cref="ErrorRow"/>); the reader turns that into a
/// <see cref="DataFormatException"/>. One parser per column, so columns can convert in parallel.
/// </summary>
internal abstract class CsvColumnParser
{
    protected static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    protected CsvColumnParser(string name, int fileIndex, bool inferred)
    {
        Name = name;
        FileIndex = fileIndex;
        Inferred = inferred;
    }

    /// <summary>The column name.</summary>
    public string Name { get; }

    /// <summary>The 0-based position of the column in the file.</summary>
    public int FileIndex { get; }

    /// <summary>True when the kind came from inference rather than an explicit schema.</summary>
    public bool Inferred { get; }

    /// <summary>The kind produced.</summary>
    public abstract ColumnKind Kind { get; }

    /// <summary>Rows appended since the last <see cref="Build"/>.</summary>
    public int Count { get; protected set; }

    /// <summary>The batch row of the first field that failed in the last <see cref="Parse"/>, or -1.</summary>
    public int ErrorRow { get; protected set; } = -1;

    /// <summary>Why it failed, when not simply "cannot parse as kind".</summary>
    public string? ErrorDetail { get; protected set; }

    /// <summary>Where a float64 column takes its storage from after a build, when the chunks' consumer returns them.</summary>
    public ChunkRecycler? Recycler { get; set; }

    /// <summary>Makes room for <paramref name="rows"/> rows in all (new storage after a build), growing geometrically but never past <paramref name="limit"/> unless needed.</summary>
    public abstract void EnsureCapacity(int rows, int limit);

    /// <summary>
    /// False when the field of batch row <paramref name="row"/> is a bad value for this kind (one
    /// <see cref="BadValueHandling.Skip"/> drops); text kinds accept every field.
    /// </summary>
    public virtual bool Accepts(CsvBatch batch, int row) => true;

    /// <summary>Appends batch rows [from, to); false on the first field that does not convert.</summary>
    public abstract bool Parse(CsvBatch batch, int from, int to);

    /// <summary>The column of the rows appended so far; the next rows go to new storage.</summary>
    public abstract Column Build();

    /// <summary>The next storage size: at least <paramref name="needed"/>; otherwise double (starting at 64K rows), capped at <paramref name="limit"/>.</summary>
    protected static int Grow(int current, int needed, int limit) =>
        (int)Math.Max(needed, Math.Min(Math.Min(limit, Array.MaxLength), Math.Max(65_536L, (long)current * 2)));

    protected bool Fail(int row, string? detail = null)
    {
        ErrorRow = row;
        ErrorDetail = detail;
        return false;
    }

    /// <summary>Creates the parser for a kind; categorical parsers keep one growing dictionary for all chunks.</summary>
    public static CsvColumnParser Create(string name, int fileIndex, ColumnKind kind, bool inferred) => kind switch
    {
        ColumnKind.Float64 => new Float64Parser(name, fileIndex, inferred),
        ColumnKind.Float32 => new Float32Parser(name, fileIndex, inferred),
        ColumnKind.Timestamp => new TimestampParser(name, fileIndex, inferred),
        ColumnKind.Categorical => new CategoricalParser(name, fileIndex, inferred),
        ColumnKind.String => new StringParser(name, fileIndex, inferred),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown column kind."),
    };
}

internal sealed class Float64Parser(string name, int fileIndex, bool inferred) : CsvColumnParser(name, fileIndex, inferred)
{
    private double[] _values = [];

    public override ColumnKind Kind => ColumnKind.Float64;

    public override bool Accepts(CsvBatch batch, int row)
    {
        var field = batch.Field(row, FileIndex);
        return field.IsEmpty || Utf8Double.TryParse(field, out _);
    }

    public override void EnsureCapacity(int rows, int limit)
    {
        if (rows > _values.Length)
        {
            var size = Grow(_values.Length, rows, limit);
            if (_values.Length == 0 && Recycler?.TakeFloat64(size) is { } reused)
            {
                _values = reused; // a returned chunk's column: written over from row 0
                return;
            }

            var grown = HugePages.NewArray(size);
            _values.AsSpan(0, Count).CopyTo(grown);
            _values = grown;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override bool Parse(CsvBatch batch, int from, int to)
    {
        var buffer = batch.Buffer;
        var starts = batch.Starts;
        var ends = batch.Ends;
        var stride = batch.ColumnCount;
        var values = _values;
        var count = Count;
        if (to <= from)
        {
            return true;
        }

        // Checked once here, so the loop reads and writes without bounds checks.
        var last = ((long)(to - 1) * stride) + FileIndex;
        if (from < 0 || last >= starts.Length || last >= ends.Length || count + (long)(to - from) > values.Length)
        {
            throw new InvalidOperationException("The batch rows or the column storage are out of range.");
        }

        ref var startRef = ref MemoryMarshal.GetArrayDataReference(starts);
        ref var endRef = ref MemoryMarshal.GetArrayDataReference(ends);
        ref var valueRef = ref MemoryMarshal.GetArrayDataReference(values);
        ref var bufferRef = ref MemoryMarshal.GetArrayDataReference(buffer);
        var fastLimit = buffer.Length - Utf8Double.FieldLoadBytes;
        var i = (from * stride) + FileIndex;
        for (var r = from; r < to; r++, i += stride)
        {
            var s = Unsafe.Add(ref startRef, i);
            var length = Unsafe.Add(ref endRef, i) - s;
            double v;
            if (length == 0)
            {
                v = double.NaN;
            }
            else
            {
                v = s <= fastLimit ? Utf8Double.PlainDecimalOrNaN(ref Unsafe.Add(ref bufferRef, s), length) : double.NaN;
                if (double.IsNaN(v) && !Utf8Double.TryParse(new ReadOnlySpan<byte>(buffer, s, length), out v))
                {
                    Count = count;
                    return Fail(r);
                }
            }

            Unsafe.Add(ref valueRef, count++) = v;
        }

        Count = count;
        return true;
    }

    public override Column Build()
    {
        var column = new Float64Column(Name, _values, Count);
        _values = [];
        Count = 0;
        return column;
    }
}

internal sealed class Float32Parser(string name, int fileIndex, bool inferred) : CsvColumnParser(name, fileIndex, inferred)
{
    private float[] _values = [];

    public override ColumnKind Kind => ColumnKind.Float32;

    public override bool Accepts(CsvBatch batch, int row)
    {
        var field = batch.Field(row, FileIndex);
        return field.IsEmpty || float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            || (Utf8Double.TryParse(field, out var d) && double.IsInfinity(d));
    }

    public override void EnsureCapacity(int rows, int limit)
    {
        if (rows > _values.Length)
        {
            Array.Resize(ref _values, Grow(_values.Length, rows, limit));
        }
    }

    public override bool Parse(CsvBatch batch, int from, int to)
    {
        var count = Count;
        for (var r = from; r < to; r++)
        {
            var field = batch.Field(r, FileIndex);
            float v;
            if (field.IsEmpty)
            {
                v = float.NaN;
            }
            else if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out v))
            {
                if (!Utf8Double.TryParse(field, out var d) || !double.IsInfinity(d))
                {
                    Count = count;
                    return Fail(r);
                }

                v = (float)d;
            }

            _values[count++] = v;
        }

        Count = count;
        return true;
    }

    public override Column Build()
    {
        var column = new Float32Column(Name, _values, Count);
        _values = [];
        Count = 0;
        return column;
    }
}

internal sealed class TimestampParser(string name, int fileIndex, bool inferred) : CsvColumnParser(name, fileIndex, inferred)
{
    private long[] _values = [];

    public override ColumnKind Kind => ColumnKind.Timestamp;

    public override bool Accepts(CsvBatch batch, int row)
    {
        var field = batch.Field(row, FileIndex);
        return field.IsEmpty || Utf8Timestamp.TryParse(field, out _);
    }

    public override void EnsureCapacity(int rows, int limit)
    {
        if (rows > _values.Length)
        {
            Array.Resize(ref _values, Grow(_values.Length, rows, limit));
        }
    }

    public override bool Parse(CsvBatch batch, int from, int to)
    {
        var count = Count;
        for (var r = from; r < to; r++)
        {
            var field = batch.Field(r, FileIndex);
            long v;
            if (field.IsEmpty)
            {
                v = TimestampColumn.Missing;
            }
            else if (!Utf8Timestamp.TryParse(field, out v))
            {
                Count = count;
                return Fail(r);
            }

            _values[count++] = v;
        }

        Count = count;
        return true;
    }

    public override Column Build()
    {
        var column = new TimestampColumn(Name, _values, Count);
        _values = [];
        Count = 0;
        return column;
    }
}

internal sealed class CategoricalParser(string name, int fileIndex, bool inferred) : CsvColumnParser(name, fileIndex, inferred)
{
    private readonly Utf8Interner _dictionary = new();
    private int[] _codes = [];

    public override ColumnKind Kind => ColumnKind.Categorical;

    public override void EnsureCapacity(int rows, int limit)
    {
        if (rows > _codes.Length)
        {
            Array.Resize(ref _codes, Grow(_codes.Length, rows, limit));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override bool Parse(CsvBatch batch, int from, int to)
    {
        var buffer = batch.Buffer;
        var starts = batch.Starts;
        var ends = batch.Ends;
        var quoted = batch.Quoted;
        var stride = batch.ColumnCount;
        var codes = _codes;
        var count = Count;
        var i = (from * stride) + FileIndex;
        var r = from;
        try
        {
            for (; r < to; r++, i += stride)
            {
                var s = starts[i];
                var length = ends[i] - s;
                var code = length == 0 && quoted[i] == 0
                    ? CategoricalColumn.Missing
                    : _dictionary.GetOrAdd(new ReadOnlySpan<byte>(buffer, s, length));
                codes[count++] = code;
            }
        }
        catch (DecoderFallbackException)
        {
            Count = count;
            return Fail(r, "the value is not valid UTF-8");
        }

        Count = count;
        return true;
    }

    public override Column Build()
    {
        var column = new CategoricalColumn(Name, _codes, _dictionary.Snapshot(), Count);
        _codes = [];
        Count = 0;
        return column;
    }
}

internal sealed class StringParser(string name, int fileIndex, bool inferred) : CsvColumnParser(name, fileIndex, inferred)
{
    private string?[] _values = [];

    public override ColumnKind Kind => ColumnKind.String;

    public override void EnsureCapacity(int rows, int limit)
    {
        if (rows > _values.Length)
        {
            Array.Resize(ref _values, Grow(_values.Length, rows, limit));
        }
    }

    public override bool Parse(CsvBatch batch, int from, int to)
    {
        var count = Count;
        var r = from;
        try
        {
            for (; r < to; r++)
            {
                var field = batch.Field(r, FileIndex);
                var value = field.IsEmpty
                    ? (batch.IsMissing(r, FileIndex) ? null : string.Empty)
                    : StrictUtf8.GetString(field);
                _values[count++] = value;
            }
        }
        catch (DecoderFallbackException)
        {
            Count = count;
            return Fail(r, "the value is not valid UTF-8");
        }

        Count = count;
        return true;
    }

    public override Column Build()
    {
        var column = new StringColumn(Name, _values, Count);
        _values = [];
        Count = 0;
        return column;
    }
}
