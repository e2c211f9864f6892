namespace Vigil.Data;

/// <summary>The on-disk formats Vigil reads and writes.</summary>
public enum FrameFileFormat
{
    /// <summary>Comma-separated values, optionally gzip-compressed (.csv, .csv.gz).</summary>
    Csv,

    /// <summary>Apache Parquet (.parquet).</summary>
    Parquet,
}

/// <summary>
/// Reads and writes frames by file extension: <c>.csv</c>, <c>.csv.gz</c> (or any <c>.gz</c>) and <c>.parquet</c>.
/// </summary>
public static class FrameFile
{
    /// <summary>The format implied by <paramref name="path"/>'s extension; throws naming the path otherwise.</summary>
    public static FrameFileFormat FormatOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var p = path.ToLowerInvariant();
        if (p.EndsWith(".parquet", StringComparison.Ordinal) || p.EndsWith(".pq", StringComparison.Ordinal))
        {
            return FrameFileFormat.Parquet;
        }

        if (p.EndsWith(".csv", StringComparison.Ordinal) || p.EndsWith(".gz", StringComparison.Ordinal) ||
            p.EndsWith(".txt", StringComparison.Ordinal) || p.EndsWith(".tsv", StringComparison.Ordinal))
        {
            return FrameFileFormat.Csv;
        }

        throw new ArgumentException($"{path}: unknown file type; use .csv, .csv.gz or .parquet.", nameof(path));
    }

    /// <summary>Reads a whole file into memory.</summary>
    public static Frame Read(string path, CsvReadOptions? csvOptions = null)
    {
        EnsureExists(path);
        return FormatOf(path) == FrameFileFormat.Parquet ? ParquetFile.Read(path) : CsvFile.Read(path, csvOptions);
    }

    /// <summary>Streams a file as frames of bounded size (CSV: <paramref name="chunkRows"/> rows; Parquet: one row group each).</summary>
    public static IEnumerable<Frame> ReadChunks(string path, int chunkRows = 65_536, CsvReadOptions? csvOptions = null) =>
        ReadChunks(path, chunkRows, csvOptions, recycler: null);

    /// <summary>
    /// Streams a file as <see cref="ReadChunks(string, int, CsvReadOptions?)"/> does; a CSV file's float64 columns reuse the
    /// storage of the chunks handed back to <paramref name="recycler"/> (Parquet ignores it).
    /// </summary>
    public static IEnumerable<Frame> ReadChunks(string path, int chunkRows, CsvReadOptions? csvOptions, ChunkRecycler? recycler)
    {
        EnsureExists(path);
        return FormatOf(path) == FrameFileFormat.Parquet
            ? ParquetFile.ReadChunks(path)
            : CsvFile.ReadChunks(path, chunkRows, csvOptions, recycler);
    }

    /// <summary>Writes a whole frame, replacing the file.</summary>
    public static void Write(Frame frame, string path)
    {
        ArgumentNullException.ThrowIfNull(frame);
        EnsureDirectory(path);
        if (FormatOf(path) == FrameFileFormat.Parquet)
        {
            ParquetFile.Write(frame, path);
        }
        else
        {
            CsvFile.Write(frame, path);
        }
    }

    /// <summary>Opens a streaming writer: call <see cref="IFrameWriter.Write"/> per chunk, then dispose.</summary>
    public static IFrameWriter OpenWriter(string path, FrameSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        EnsureDirectory(path);
        return FormatOf(path) == FrameFileFormat.Parquet
            ? new ParquetChunkWriter(new ParquetFrameWriter(path, schema))
            : new CsvChunkWriter(new CsvFrameWriter(path));
    }

    private static void EnsureExists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"{path}: is a directory, expected a .csv, .csv.gz or .parquet file"
                : $"{path}: file not found", path);
        }
    }

    private static void EnsureDirectory(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
    }

    private sealed class CsvChunkWriter(CsvFrameWriter inner) : IFrameWriter
    {
        public void Write(Frame chunk) => inner.Write(chunk);

        public void Dispose() => inner.Dispose();
    }

    private sealed class ParquetChunkWriter(ParquetFrameWriter inner) : IFrameWriter
    {
        public void Write(Frame chunk) => inner.Write(chunk);

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>A streaming writer of frames with one schema.</summary>
public interface IFrameWriter : IDisposable
{
    /// <summary>Appends the rows of <paramref name="chunk"/>.</summary>
    void Write(Frame chunk);
}
