using Vigil.Data;

namespace Vigil.Lifecycle;

/// <summary>
/// The rows an operation works on: a file (.csv, .csv.gz, .parquet; read when the operation runs) or a frame already
/// in memory (e.g. from a previous pipeline step). A file source is fingerprinted (SHA-256) when a run records it.
/// </summary>
public sealed class DataSource
{
    private readonly Frame? _frame;
    private long _skippedRows;
    private DataFormatException? _firstSkipped;

    private DataSource(string name, string? path, Frame? frame, CsvReadOptions? csv)
    {
        Name = name;
        Path = path;
        _frame = frame;
        Csv = csv;
    }

    /// <summary>The short name used in run params and messages (the file name for a file).</summary>
    public string Name { get; }

    /// <summary>The file, or null for rows that exist only in memory.</summary>
    public string? Path { get; }

    /// <summary>CSV options (an explicit schema) for a CSV file, else null.</summary>
    public CsvReadOptions? Csv { get; }

    /// <summary>
    /// The rows of a file; <paramref name="schema"/> gives explicit column kinds for CSV input, and
    /// <paramref name="onBadValue"/> says what a CSV value that does not parse as its column's kind does (an error
    /// naming file, line and column, or the row skipped and counted in <see cref="SkippedRows"/>).
    /// </summary>
    public static DataSource FromFile(string path, FrameSchema? schema = null, BadValueHandling onBadValue = BadValueHandling.Error)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (schema is null && onBadValue == BadValueHandling.Error)
        {
            return new DataSource(System.IO.Path.GetFileName(path), path, null, null);
        }

        DataSource? source = null;
        var csv = new CsvReadOptions { Schema = schema, OnBadValue = onBadValue, RowSkipped = e => source!.Skipped(e) };
        source = new DataSource(System.IO.Path.GetFileName(path), path, null, csv);
        return source;
    }

    /// <summary>Rows dropped so far because a value did not parse (<see cref="BadValueHandling.Skip"/>), over every read.</summary>
    public long SkippedRows => Interlocked.Read(ref _skippedRows);

    /// <summary>The error the first skipped row would have raised (file, line, column, value), or null.</summary>
    public DataFormatException? FirstSkipped => Volatile.Read(ref _firstSkipped);

    /// <summary>
    /// Rows in memory, named <paramref name="name"/>. When <paramref name="path"/> is given, runs fingerprint that file
    /// as where the rows came from (e.g. a sample of it).
    /// </summary>
    public static DataSource FromFrame(Frame frame, string name, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new DataSource(name, path, frame, null);
    }

    /// <summary>What to call the data in a message: the path as given, or the name.</summary>
    public override string ToString() => Path ?? Name;

    private void Skipped(DataFormatException error)
    {
        Interlocked.Increment(ref _skippedRows);
        Interlocked.CompareExchange(ref _firstSkipped, error, null);
    }

    /// <summary>The rows: the frame given, or the file read now.</summary>
    internal Frame Read() => _frame ?? FrameFile.Read(Path!, Csv);

    /// <summary>The frame's column <paramref name="column"/> must exist; <paramref name="option"/> names the option in the error.</summary>
    internal void RequireColumn(Frame frame, string option, string column)
    {
        if (!frame.Contains(column))
        {
            throw new LifecycleException(option, $"{column}: no such column in {this}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
        }
    }
}
