using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Vigil.Data.Csv;

namespace Vigil.Data;

/// <summary>
/// Writes frames as CSV, chunk after chunk, with the header once: UTF-8 without BOM, LF line ends,
/// invariant culture. Doubles and floats in shortest round-trip form, timestamps as ISO 8601 UTC
/// (<c>2024-01-31T12:00:00.5Z</c>), missing values as empty fields, empty strings as <c>""</c>; a field
/// is quoted when it holds the delimiter, a quote, CR or LF (quotes doubled, RFC 4180).
/// Files whose name ends with .gz are gzip-compressed.
/// </summary>
public sealed class CsvFrameWriter : IDisposable
{
    private const int BufferSize = 1 << 16;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte _delimiter;
    private readonly SearchValues<char> _special;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _length;
    private string[]? _names;
    private bool _disposed;

    /// <summary>Creates (or overwrites) the file at <paramref name="path"/>; gzip when it ends with .gz.</summary>
    public CsvFrameWriter(string path, char delimiter = ',')
        : this(OpenFile(path), leaveOpen: false, delimiter)
    {
    }

    /// <summary>Writes to <paramref name="stream"/>; disposes it on <see cref="Dispose"/> unless <paramref name="leaveOpen"/>.</summary>
    public CsvFrameWriter(Stream stream, bool leaveOpen = false, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(stream);
        _delimiter = new CsvReadOptions { Delimiter = delimiter }.DelimiterByte;
        _stream = stream;
        _leaveOpen = leaveOpen;
        _special = SearchValues.Create([delimiter, '"', '\r', '\n']);
    }

    /// <summary>Appends the rows of <paramref name="chunk"/>; the first chunk also writes the header. Every chunk must have the same column names in the same order.</summary>
    public void Write(Frame chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var columns = chunk.Columns;
        if (_names is null)
        {
            if (columns.Count == 0)
            {
                throw new ArgumentException("A frame without columns cannot be written as CSV (a header is required).", nameof(chunk));
            }

            _names = new string[columns.Count];
            for (var c = 0; c < columns.Count; c++)
            {
                _names[c] = columns[c].Name;
                if (c > 0)
                {
                    Put(_delimiter);
                }

                WriteText(columns[c].Name);
            }

            Put((byte)'\n');
        }
        else
        {
            CheckSameColumns(columns);
        }

        var writers = new Action<int>[columns.Count];
        for (var c = 0; c < columns.Count; c++)
        {
            writers[c] = FieldWriter(columns[c]);
        }

        for (var r = 0; r < chunk.RowCount; r++)
        {
            for (var c = 0; c < writers.Length; c++)
            {
                if (c > 0)
                {
                    Put(_delimiter);
                }

                writers[c](r);
            }

            Put((byte)'\n');
            if (_length > _buffer.Length - 4096)
            {
                FlushBuffer();
            }
        }
    }

    /// <summary>Flushes everything written so far to the underlying stream.</summary>
    public void Flush()
    {
        FlushBuffer();
        _stream.Flush();
    }

    /// <summary>Flushes and closes the output (the stream stays open when it was given with leaveOpen).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            FlushBuffer();
            _stream.Flush();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }

    private static Stream OpenFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.Optimal)
            : file;
    }

    private void CheckSameColumns(IReadOnlyList<Column> columns)
    {
        var same = columns.Count == _names!.Length;
        for (var c = 0; same && c < columns.Count; c++)
        {
            same = string.Equals(columns[c].Name, _names[c], StringComparison.Ordinal);
        }

        if (!same)
        {
            throw new ArgumentException(
                $"Every chunk must have the columns of the first one ({string.Join(", ", _names)}); got ({string.Join(", ", columns.Select(c => c.Name))}).",
                nameof(columns));
        }
    }

    private Action<int> FieldWriter(Column column)
    {
        switch (column)
        {
            case Float64Column f:
                return r =>
                {
                    var v = f[r];
                    if (!double.IsNaN(v))
                    {
                        Reserve(32);
                        int n;
                        if (Math.Abs(v) < 1e15 && v == Math.Floor(v) && (v != 0 || !double.IsNegative(v)))
                        {
                            // A whole number (flags, counts) formats as the integer, as "R" writes it below 1e15 (-0 aside).
                            ((long)v).TryFormat(_buffer.AsSpan(_length), out n, default, CultureInfo.InvariantCulture);
                        }
                        else
                        {
                            v.TryFormat(_buffer.AsSpan(_length), out n, "R", CultureInfo.InvariantCulture);
                        }

                        _length += n;
                    }
                };
            case Float32Column f:
                return r =>
                {
                    var v = f[r];
                    if (!float.IsNaN(v))
                    {
                        Reserve(32);
                        v.TryFormat(_buffer.AsSpan(_length), out var n, "R", CultureInfo.InvariantCulture);
                        _length += n;
                    }
                };
            case TimestampColumn t:
                return r =>
                {
                    var micros = t.UnixMicros[r];
                    if (micros != TimestampColumn.Missing)
                    {
                        Reserve(40);
                        Utf8Timestamp.TryFormat(micros, _buffer.AsSpan(_length), out var n);
                        _length += n;
                    }
                };
            case CategoricalColumn cat:
                var encoded = new byte[cat.Dictionary.Count][];
                for (var i = 0; i < encoded.Length; i++)
                {
                    encoded[i] = Encode(cat.Dictionary[i]);
                }

                return r =>
                {
                    var code = cat.Codes[r];
                    if (code >= 0)
                    {
                        PutBytes(encoded[code]);
                    }
                };
            case StringColumn s:
                return r =>
                {
                    var v = s[r];
                    if (v is not null)
                    {
                        WriteText(v);
                    }
                };
            default:
                return r =>
                {
                    if (!column.IsMissing(r))
                    {
                        WriteText(column.FormatValue(r));
                    }
                };
        }
    }

    private bool NeedsQuotes(string text) => text.Length == 0 || text.AsSpan().IndexOfAny(_special) >= 0;

    private int MaxFieldBytes(string text) => (2 * StrictUtf8.GetMaxByteCount(text.Length)) + 2;

    private byte[] Encode(string text)
    {
        var bytes = new byte[MaxFieldBytes(text)];
        var n = EncodeField(text, bytes);
        return bytes.AsSpan(0, n).ToArray();
    }

    private void WriteText(string text)
    {
        Reserve(MaxFieldBytes(text));
        _length += EncodeField(text, _buffer.AsSpan(_length));
    }

    /// <summary>Writes <paramref name="text"/> as one field (quoted when needed) into <paramref name="destination"/>, which holds at least <see cref="MaxFieldBytes"/> bytes.</summary>
    private int EncodeField(string text, Span<byte> destination)
    {
        if (!NeedsQuotes(text))
        {
            return StrictUtf8.GetBytes(text, destination);
        }

        var n = 0;
        destination[n++] = (byte)'"';
        var rest = text.AsSpan();
        while (true)
        {
            var q = rest.IndexOf('"');
            var part = q < 0 ? rest : rest[..q];
            n += StrictUtf8.GetBytes(part, destination[n..]);
            if (q < 0)
            {
                break;
            }

            destination[n++] = (byte)'"';
            destination[n++] = (byte)'"';
            rest = rest[(q + 1)..];
        }

        destination[n++] = (byte)'"';
        return n;
    }

    private void PutBytes(byte[] bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Put(byte b)
    {
        if (_length == _buffer.Length)
        {
            Reserve(1);
        }

        _buffer[_length++] = b;
    }

    private void Reserve(int bytes)
    {
        if (_buffer.Length - _length >= bytes)
        {
            return;
        }

        FlushBuffer();
        if (_buffer.Length < bytes)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(bytes);
        }
    }

    private void FlushBuffer()
    {
        if (_length > 0)
        {
            _stream.Write(_buffer, 0, _length);
            _length = 0;
        }
    }
}
