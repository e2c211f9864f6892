using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace Vigil.Data.Csv;

/// <summary>
/// A block of tokenized rows: for field <c>row * ColumnCount + column</c>, its content is
/// <c>Buffer[Starts[i]..Ends[i]]</c> (quotes removed, doubled quotes already collapsed) and
/// <c>Quoted[i]</c> is 1 when the field was quoted (so <c>""</c> is an empty string, not missing).
/// Valid until the tokenizer reads the next block.
/// </summary>
internal sealed class CsvBatch
{
    public byte[] Buffer = [];
    public int[] Starts = new int[1024];
    public int[] Ends = new int[1024];
    public byte[] Quoted = new byte[1024];
    public long[] Lines = new long[64];
    public int RowCount;
    public int ColumnCount;

    /// <summary>The content of one field.</summary>
    public ReadOnlySpan<byte> Field(int row, int column)
    {
        var i = (row * ColumnCount) + column;
        return new ReadOnlySpan<byte>(Buffer, Starts[i], Ends[i] - Starts[i]);
    }

    /// <summary>True when the field is empty and was not quoted: a missing value.</summary>
    public bool IsMissing(int row, int column)
    {
        var i = (row * ColumnCount) + column;
        return Starts[i] == Ends[i] && Quoted[i] == 0;
    }

    /// <summary>The physical line where a field starts (rows may span lines inside quotes).</summary>
    public long LineOf(int row, int column)
    {
        var line = Lines[row];
        for (var c = 0; c < column; c++)
        {
            line += Field(row, c).Count((byte)'\n');
        }

        return line;
    }
}

/// <summary>
/// Splits UTF-8 CSV bytes (RFC 4180: quoted fields may hold delimiters, line breaks and doubled
/// quotes; lines end with LF or CRLF) into rows of fields, block by block, from a pooled buffer that
/// grows only when one row (or the inference sample) needs it. Checks field counts and quoting and
/// reports errors with file, line and column.
/// </summary>
internal sealed class CsvTokenizer : IDisposable
{
    private const int MaxSampleBufferBytes = 64 << 20;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly string? _source;
    private readonly byte _delimiter;
    private CsvBatch _batch = new();
    private CsvBatch _spareBatch = new();
    private byte[] _buffer;
    private byte[] _spareBuffer = [];
    private int _pos;
    private int _end;
    private bool _eof;
    private long _line = 1;
    private int _columnCount;
    private string[] _header = [];

    public CsvTokenizer(Stream stream, string? source, byte delimiter, int bufferSize = 1 << 20)
    {
        _stream = stream;
        _source = source;
        _delimiter = delimiter;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Bytes of data rows tokenized so far (for estimating the row count).</summary>
    public long DataBytes { get; private set; }

    /// <summary>Reads line 1 as the header; errors for an empty input, empty names or duplicates.</summary>
    public string[] ReadHeader()
    {
        Fill();
        if (_end - _pos >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
        {
            _pos = 3;
        }

        if (_pos >= _end && _eof)
        {
            throw new DataFormatException(_source, 1, null, 0, "the file is empty; a header line with the column names is required");
        }

        int count;
        int next;
        long newlines;
        while ((count = TokenizeRow(_pos, 0, out next, out newlines)) < 0)
        {
            MakeRoom(keepPosition: false);
        }

        Unescape(0, count);
        var names = new string[count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            string name;
            try
            {
                name = StrictUtf8.GetString(_buffer, _batch.Starts[i], _batch.Ends[i] - _batch.Starts[i]);
            }
            catch (DecoderFallbackException ex)
            {
                throw new DataFormatException(_source, 1, null, i + 1, "the header name is not valid UTF-8", ex);
            }

            if (name.Length == 0)
            {
                throw new DataFormatException(_source, 1, null, i + 1, "the header has an empty column name; every column needs a name");
            }

            if (!seen.TryAdd(name, i))
            {
                throw new DataFormatException(_source, 1, name, i + 1,
                    string.Create(CultureInfo.InvariantCulture, $"duplicate column name '{name}' (also column {seen[name] + 1}); column names must be unique"));
            }

            names[i] = name;
        }

        _pos = next;
        _line += 1 + newlines;
        _columnCount = count;
        _header = names;
        _batch.ColumnCount = count;
        _batch.Buffer = _buffer;
        return names;
    }

    /// <summary>
    /// Tokenizes up to <paramref name="maxRows"/> complete rows into a block (RowCount 0 at the end).
    /// Blocks alternate between two buffers, so the block returned by the previous call stays valid
    /// while this one fills (the caller may convert it on another thread meanwhile).
    /// With <paramref name="growToFit"/> the buffer grows (up to 64 MiB, or one row) to hold them all.
    /// </summary>
    public CsvBatch ReadBatch(int maxRows, bool growToFit)
    {
        SwitchBuffers();
        if (!_eof)
        {
            Fill();
        }

        var rows = 0;
        var columns = _columnCount;
        while (rows < maxRows)
        {
            if (_pos >= _end && _eof)
            {
                break;
            }

            if (Vector256.IsHardwareAccelerated)
            {
                rows = FastRows(rows, maxRows);
                if (rows >= maxRows)
                {
                    break;
                }
            }

            var fieldBase = rows * columns;
            EnsureRowCapacity(rows);
            var count = TokenizeRow(_pos, fieldBase, out var next, out var newlines);
            if (count < 0)
            {
                if (rows > 0 && (!growToFit || _buffer.Length >= MaxSampleBufferBytes))
                {
                    break;
                }

                MakeRoom(keepPosition: rows > 0);
                continue;
            }

            if (count != columns)
            {
                if (count == 1 && _batch.Ends[fieldBase] == _batch.Starts[fieldBase] && _batch.Quoted[fieldBase] == 0)
                {
                    // A blank line: skipped (with one column it is a missing value instead).
                    DataBytes += next - _pos;
                    _pos = next;
                    _line += 1 + newlines;
                    continue;
                }

                throw new DataFormatException(_source, _line, null, 0,
                    string.Create(CultureInfo.InvariantCulture, $"expected {columns} fields, found {count}"));
            }

            Unescape(fieldBase, count);
            _batch.Lines[rows] = _line;
            DataBytes += next - _pos;
            _pos = next;
            _line += 1 + newlines;
            rows++;
        }

        _batch.RowCount = rows;
        _batch.Buffer = _buffer;
        return _batch;
    }

    /// <summary>Moves the unread rest of the current buffer to the start of the spare one and makes that current.</summary>
    private void SwitchBuffers()
    {
        var leftover = _end - _pos;
        var spare = _spareBuffer;
        if (spare.Length < Math.Max(leftover, _buffer.Length))
        {
            if (spare.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(spare);
            }

            spare = ArrayPool<byte>.Shared.Rent(Math.Max(leftover, _buffer.Length));
        }

        Buffer.BlockCopy(_buffer, _pos, spare, 0, leftover);
        _spareBuffer = _buffer;
        _buffer = spare;
        (_spareBatch, _batch) = (_batch, _spareBatch);
        _batch.ColumnCount = _columnCount;
        _batch.Buffer = _buffer;
        _pos = 0;
        _end = leftover;
    }

    private void EnsureRowCapacity(int rows)
    {
        if (rows >= _batch.Lines.Length)
        {
            Array.Resize(ref _batch.Lines, Math.Max(rows + 1, _batch.Lines.Length * 2));
        }

        var fields = (rows + 1) * _columnCount;
        if (fields > _batch.Starts.Length)
        {
            GrowFields(fields);
        }
    }

    /// <summary>
    /// The fast path: tokenizes complete rows that have no quote and exactly the expected field count,
    /// classifying 32 bytes at a time (delimiter, LF, quote) and walking the bit masks. Stops at the
    /// first row it cannot take whole (a quote, a wrong field count, a blank line, the end of the
    /// buffered data), leaving that row to <see cref="TokenizeRow"/>. Returns the new row count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int FastRows(int rows, int maxRows)
    {
        var buf = _buffer;
        var end = _end;
        var columns = _columnCount;
        var rowStart = _pos;
        var p = rowStart;
        if (p + Vector256<byte>.Count > end)
        {
            return rows;
        }

        EnsureRowCapacity(rows);
        var starts = _batch.Starts;
        var ends = _batch.Ends;
        var lines = _batch.Lines;
        var fieldBase = rows * columns;
        var k = fieldBase;
        var fieldStart = rowStart;
        starts[k] = rowStart;
        var line = _line;
        var vd = Vector256.Create(_delimiter);
        var vn = Vector256.Create((byte)'\n');
        var vq = Vector256.Create((byte)'"');
        ref var origin = ref MemoryMarshal.GetArrayDataReference(buf);
        while (p + Vector256<byte>.Count <= end)
        {
            var v = Vector256.LoadUnsafe(ref origin, (nuint)p);
            var md = Vector256.Equals(v, vd).ExtractMostSignificantBits();
            var mn = Vector256.Equals(v, vn).ExtractMostSignificantBits();
            var mq = Vector256.Equals(v, vq).ExtractMostSignificantBits();
            var m = md | mn | mq;
            while (m != 0)
            {
                var bit = m & (0u - m);
                var j = p + BitOperations.TrailingZeroCount(m);
                m &= m - 1;
                if ((md & bit) != 0)
                {
                    ends[k] = j;
                    k++;
                    if (k - fieldBase >= columns)
                    {
                        goto Done;
                    }

                    starts[k] = fieldStart = j + 1;
                }
                else if ((mn & bit) != 0)
                {
                    ends[k] = j > fieldStart && buf[j - 1] == (byte)'\r' ? j - 1 : j;
                    k++;
                    if (k - fieldBase != columns)
                    {
                        goto Done;
                    }

                    _batch.Quoted.AsSpan(fieldBase, columns).Clear();
                    lines[rows] = line++;
                    rows++;
                    DataBytes += j + 1 - rowStart;
                    rowStart = fieldStart = j + 1;
                    fieldBase = k;
                    if (rows >= maxRows)
                    {
                        goto Done;
                    }

                    if (rows >= lines.Length || fieldBase + columns > starts.Length)
                    {
                        EnsureRowCapacity(rows);
                        starts = _batch.Starts;
                        ends = _batch.Ends;
                        lines = _batch.Lines;
                    }

                    starts[k] = rowStart;
                }
                else
                {
                    goto Done;
                }
            }

            p += Vector256<byte>.Count;
        }

    Done:
        _pos = rowStart;
        _line = line;
        return rows;
    }

    /// <summary>
    /// Tokenizes one row starting at <paramref name="p"/> into the field slots from
    /// <paramref name="fieldBase"/>. Returns the field count, or -1 when the row does not end within
    /// the buffered data and more input may follow.
    /// </summary>
    private int TokenizeRow(int p, int fieldBase, out int next, out long newlines)
    {
        var buf = _buffer;
        var end = _end;
        var delimiter = _delimiter;
        var k = fieldBase;
        var starts = _batch.Starts;
        var ends = _batch.Ends;
        var quoted = _batch.Quoted;
        newlines = 0;
        next = 0;
        while (true)
        {
            if (k >= starts.Length)
            {
                GrowFields(k + 1);
                starts = _batch.Starts;
                ends = _batch.Ends;
                quoted = _batch.Quoted;
            }

            if (p < end && buf[p] == (byte)'"')
            {
                var q = p + 1;
                var escaped = false;
                while (true)
                {
                    var rel = buf.AsSpan(q, end - q).IndexOf((byte)'"');
                    if (rel < 0)
                    {
                        if (_eof)
                        {
                            throw new DataFormatException(_source, _line + newlines, ColumnName(k - fieldBase), k - fieldBase + 1,
                                "unterminated quoted field: the opening quote on this line has no closing quote before the end of the file");
                        }

                        return -1;
                    }

                    q += rel;
                    if (q + 1 >= end && !_eof)
                    {
                        return -1;
                    }

                    if (q + 1 < end && buf[q + 1] == (byte)'"')
                    {
                        escaped = true;
                        q += 2;
                        continue;
                    }

                    break;
                }

                newlines += buf.AsSpan(p + 1, q - p - 1).Count((byte)'\n');
                starts[k] = p + 1;
                ends[k] = q;
                quoted[k] = escaped ? (byte)2 : (byte)1;
                k++;
                var a = q + 1;
                if (a >= end)
                {
                    next = a;
                    return k - fieldBase;
                }

                var ch = buf[a];
                if (ch == delimiter)
                {
                    p = a + 1;
                    continue;
                }

                if (ch == (byte)'\n')
                {
                    next = a + 1;
                    return k - fieldBase;
                }

                if (ch == (byte)'\r')
                {
                    if (a + 1 >= end)
                    {
                        if (!_eof)
                        {
                            return -1;
                        }

                        next = a + 1;
                        return k - fieldBase;
                    }

                    if (buf[a + 1] == (byte)'\n')
                    {
                        next = a + 2;
                        return k - fieldBase;
                    }
                }

                throw new DataFormatException(_source, _line + newlines, ColumnName(k - 1 - fieldBase), k - fieldBase,
                    $"unexpected character '{(char)ch}' after the closing quote of a quoted field; a quoted field must end at a delimiter or the end of the line (write a quote inside a quoted field as \"\")");
            }
            else
            {
                var rel = buf.AsSpan(p, end - p).IndexOfAny(delimiter, (byte)'\n');
                if (rel < 0)
                {
                    if (!_eof)
                    {
                        return -1;
                    }

                    var e = end > p && buf[end - 1] == (byte)'\r' ? end - 1 : end;
                    starts[k] = p;
                    ends[k] = e;
                    quoted[k] = 0;
                    next = end;
                    return k + 1 - fieldBase;
                }

                var at = p + rel;
                starts[k] = p;
                quoted[k] = 0;
                if (buf[at] == delimiter)
                {
                    ends[k] = at;
                    k++;
                    p = at + 1;
                    continue;
                }

                ends[k] = at > p && buf[at - 1] == (byte)'\r' ? at - 1 : at;
                next = at + 1;
                return k + 1 - fieldBase;
            }
        }
    }

    private string? ColumnName(int index) => index < _header.Length ? _header[index] : null;

    /// <summary>Collapses doubled quotes in place for the fields of a complete row that have them.</summary>
    private void Unescape(int fieldBase, int count)
    {
        var quoted = _batch.Quoted;
        for (var i = fieldBase; i < fieldBase + count; i++)
        {
            if (quoted[i] != 2)
            {
                continue;
            }

            var w = _batch.Starts[i];
            var e = _batch.Ends[i];
            for (var r = w; r < e; r++)
            {
                var b = _buffer[r];
                _buffer[w++] = b;
                if (b == (byte)'"')
                {
                    r++;
                }
            }

            _batch.Ends[i] = w;
            quoted[i] = 1;
        }
    }

    private void GrowFields(int needed)
    {
        var size = Math.Max(needed, _batch.Starts.Length * 2);
        Array.Resize(ref _batch.Starts, size);
        Array.Resize(ref _batch.Ends, size);
        Array.Resize(ref _batch.Quoted, size);
    }

    /// <summary>Gets more input into the buffer after a row did not fit.</summary>
    private void MakeRoom(bool keepPosition)
    {
        if (!keepPosition)
        {
            Compact();
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, (long)_buffer.Length * 2));
            if (bigger.Length <= _buffer.Length)
            {
                throw new DataFormatException(_source, _line, null, 0, "a single row is too large to buffer");
            }

            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        Fill();
    }

    private void Compact()
    {
        if (_pos == 0)
        {
            return;
        }

        Buffer.BlockCopy(_buffer, _pos, _buffer, 0, _end - _pos);
        _end -= _pos;
        _pos = 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Fill()
    {
        while (_end < _buffer.Length && !_eof)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _eof = true;
            }
            else
            {
                _end += n;
            }
        }
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        if (_spareBuffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_spareBuffer);
            _spareBuffer = [];
        }

        _stream.Dispose();
    }
}
