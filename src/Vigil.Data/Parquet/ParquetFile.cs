namespace Vigil.Data;

/// <summary>
/// Reads and writes <see cref="Frame"/>s as Apache Parquet files (through Parquet.Net).
/// </summary>
/// <remarks>
/// <para>Writing maps Float64 to an optional DOUBLE column, Float32 to an optional FLOAT column (NaN is
/// stored as null and read back as NaN), Categorical and String to optional UTF-8 strings (null for
/// missing) and Timestamp to an optional INT64 timestamp in microseconds, adjusted to UTC. The column
/// kinds are also stored in the file's key-value metadata, so a file written here reads back with
/// exactly the same schema.</para>
/// <para>Reading files written by other tools (pandas, pyarrow, Spark): integer, boolean and decimal
/// columns become Float64 (nulls become NaN), FLOAT becomes Float32, DATE and TIMESTAMP (any unit,
/// INT96 included) become Timestamp, and string columns become Categorical when their first row group
/// holds at most max(50, 5% of its rows) distinct values, String otherwise. Binary, time-of-day,
/// interval and nested (list, map, struct) columns are refused.</para>
/// <para>Every problem with a file is reported as an <see cref="InvalidDataException"/> whose message
/// starts with the file path and names the column when one is involved.</para>
/// </remarks>
public static class ParquetFile
{
    /// <summary>The default number of rows per row group when writing.</summary>
    public const int DefaultRowGroupSize = 1_000_000;

    /// <summary>Reads the whole file into one frame.</summary>
    public static Frame Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var reader = ParquetFrameReader.Open(path);
        var chunks = new List<Frame>(reader.RowGroupCount);
        for (var i = 0; i < reader.RowGroupCount; i++)
        {
            chunks.Add(reader.ReadRowGroup(i));
        }

        return chunks.Count == 0 ? reader.EmptyFrame() : Frame.Concat(chunks);
    }

    /// <summary>
    /// Streams the file one row group at a time: each frame holds one row group, so memory stays
    /// bounded by the largest row group. Categorical codes are stable across the chunks of one file
    /// (the same value has the same code in every chunk).
    /// </summary>
    public static IEnumerable<Frame> ReadChunks(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ReadChunksIterator(path);
    }

    /// <summary>Reads the column names and the kinds they will be read as, without reading all the data.</summary>
    public static FrameSchema ReadSchema(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var reader = ParquetFrameReader.Open(path);
        return reader.Schema;
    }

    /// <summary>Writes <paramref name="frame"/> to <paramref name="path"/> (overwriting it), in row groups of at most <paramref name="rowGroupSize"/> rows.</summary>
    public static void Write(Frame frame, string path, int rowGroupSize = DefaultRowGroupSize)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var writer = new ParquetFrameWriter(path, frame.Schema, rowGroupSize);
        writer.Write(frame);
    }

    private static IEnumerable<Frame> ReadChunksIterator(string path)
    {
        using var reader = ParquetFrameReader.Open(path);
        for (var i = 0; i < reader.RowGroupCount; i++)
        {
            yield return reader.ReadRowGroup(i);
        }
    }
}
