using Vigil.Data.Csv;

namespace Vigil.Data;

/// <summary>
/// Reads and writes CSV files as <see cref="Frame"/>s: plain or gzip (.gz), UTF-8 (a BOM is skipped),
/// a header line, RFC 4180 quoting, LF or CRLF line ends, invariant culture.
/// </summary>
/// <remarks>
/// <para><b>Fields.</b> A field may be quoted with <c>"</c>; inside quotes the delimiter and line breaks are
/// data and a quote is written twice. An unquoted empty field is a missing value; a quoted empty field
/// (<c>""</c>) is an empty string in string and categorical columns (and missing in numeric ones).
/// Blank lines are skipped when the file has more than one column (with one column a blank line is a
/// missing value). A lone CR that is not part of CRLF is data.</para>
/// <para><b>Column kinds</b> come from <see cref="CsvReadOptions.Schema"/>, then
/// <see cref="CsvReadOptions.CategoricalColumns"/>, then inference over the first
/// <see cref="CsvReadOptions.InferenceRows"/> rows. Inference rules, in order: empty fields (quoted or not) are
/// ignored, and a column with no other value is float64; if every sampled value parses as an invariant number (NaN, Infinity,
/// -Infinity and inf accepted) it is float64; else if every value is an ISO-8601 date or date-time
/// (<c>2024-01-31</c>, <c>2024-01-31T12:00:00Z</c>, <c>2024-01-31 12:00:00.123</c>,
/// <c>2024-01-31T12:00+02:00</c>; no offset means UTC; fractions beyond microseconds are floored) it is
/// a timestamp; else if it has at most max(50, 5% of its sampled values) distinct values it is
/// categorical; otherwise it is a string column. Float32 is never inferred, only given.</para>
/// <para><b>Errors</b> are <see cref="DataFormatException"/>s naming the file, the physical line (header =
/// line 1) and the column: a value that does not parse as its column's kind, a row with the wrong
/// number of fields, an unterminated quote (reported at the line where the quoted field starts),
/// an empty file, an empty or duplicate header name, a schema column missing from the header.</para>
/// </remarks>
public static class CsvFile
{
    /// <summary>Reads a whole file into one frame.</summary>
    public static Frame Read(string path, CsvReadOptions? options = null)
    {
        using var reader = CsvFrameReader.Open(path, options);
        return reader.ReadAll();
    }

    /// <summary>Reads a whole stream into one frame (gzip detected by its magic bytes); <paramref name="name"/> is used in error messages. The stream is disposed.</summary>
    public static Frame Read(Stream stream, string? name = null, CsvReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (s, length) = CsvFrameReader.Decompress(stream, gzip: false);
        using var reader = new CsvFrameReader(s, name, options, length);
        return reader.ReadAll();
    }

    /// <summary>
    /// Streams a file as frames of at most <paramref name="chunkRows"/> rows, so memory is bounded by one
    /// chunk. The schema is fixed after inference on the first <see cref="CsvReadOptions.InferenceRows"/>
    /// rows and is the same for every chunk. Each categorical column shares one growing dictionary: a
    /// value first seen in a later chunk gets the next code, earlier codes never change, and each chunk's
    /// column holds the dictionary as it was at the end of that chunk. A later value that does not parse
    /// under the inferred kind is a <see cref="DataFormatException"/> naming its line and column.
    /// When the file has no data rows, one empty frame (with the schema) is returned.
    /// </summary>
    public static IEnumerable<Frame> ReadChunks(string path, int chunkRows = 65_536, CsvReadOptions? options = null) =>
        ReadChunks(path, chunkRows, options, recycler: null);

    /// <summary>
    /// Streams a file as <see cref="ReadChunks(string, int, CsvReadOptions?)"/> does; float64 columns reuse the storage of
    /// the chunks handed back to <paramref name="recycler"/>.
    /// </summary>
    public static IEnumerable<Frame> ReadChunks(string path, int chunkRows, CsvReadOptions? options, ChunkRecycler? recycler)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        return Chunks(
            () =>
            {
                var reader = CsvFrameReader.Open(path, options);
                reader.Recycler = recycler;
                return reader;
            },
            chunkRows);
    }

    /// <summary>Streams a stream as frames, like <see cref="ReadChunks(string, int, CsvReadOptions?)"/>. The stream is disposed when the enumeration ends.</summary>
    public static IEnumerable<Frame> ReadChunks(Stream stream, string? name, int chunkRows = 65_536, CsvReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        return Chunks(
            () =>
            {
                var (s, length) = CsvFrameReader.Decompress(stream, gzip: false);
                return new CsvFrameReader(s, name, options, length);
            },
            chunkRows);
    }

    /// <summary>The schema <see cref="Read(string, CsvReadOptions?)"/> would produce (explicit kinds applied, the rest inferred from the sample).</summary>
    public static FrameSchema InferSchema(string path, CsvReadOptions? options = null)
    {
        using var reader = CsvFrameReader.Open(path, options);
        return reader.Schema;
    }

    /// <summary>The schema of a stream's CSV content; the stream is disposed.</summary>
    public static FrameSchema InferSchema(Stream stream, string? name = null, CsvReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (s, length) = CsvFrameReader.Decompress(stream, gzip: false);
        using var reader = new CsvFrameReader(s, name, options, length);
        return reader.Schema;
    }

    /// <summary>Writes <paramref name="frame"/> with a header (gzip when the path ends with .gz). See <see cref="CsvFrameWriter"/> for the format.</summary>
    public static void Write(Frame frame, string path)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var writer = new CsvFrameWriter(path);
        writer.Write(frame);
    }

    /// <summary>Writes <paramref name="frame"/> with a header to <paramref name="stream"/> (left open).</summary>
    public static void Write(Frame frame, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var writer = new CsvFrameWriter(stream, leaveOpen: true);
        writer.Write(frame);
    }

    private static IEnumerable<Frame> Chunks(Func<CsvFrameReader> open, int chunkRows)
    {
        using var reader = open();
        while (reader.ReadChunk(chunkRows) is { } frame)
        {
            yield return frame;
        }
    }
}
