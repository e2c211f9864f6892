namespace Vigil.Data;

/// <summary>
/// How <see cref="CsvFile"/> reads a CSV file. Every setting has a working default.
/// </summary>
/// <remarks>
/// Column kinds are decided per column in this order: <see cref="Schema"/> (when it names the column),
/// then <see cref="CategoricalColumns"/>, then inference over the first <see cref="InferenceRows"/>
/// data rows (see <see cref="CsvFile.InferSchema(string, CsvReadOptions?)"/> for the rules).
/// </remarks>
public sealed record CsvReadOptions
{
    /// <summary>The default options.</summary>
    public static CsvReadOptions Default { get; } = new();

    /// <summary>
    /// An explicit schema. It may name only some columns: those take the given kind and the others are
    /// inferred. A column it names that is not in the header is an error naming that column.
    /// </summary>
    public FrameSchema? Schema { get; init; }

    /// <summary>The field delimiter (an ASCII character other than the quote, CR or LF); ',' by default.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>How many data rows (from the start) are sampled to infer column kinds; 10,000 by default.</summary>
    public int InferenceRows { get; init; } = 10_000;

    /// <summary>Columns to read as <see cref="ColumnKind.Categorical"/> whatever inference says (unless <see cref="Schema"/> names them).</summary>
    public IReadOnlySet<string>? CategoricalColumns { get; init; }

    /// <summary>
    /// When set, only these columns are parsed and returned, in this order; the other fields are
    /// still checked for count and quoting but not converted. A name not in the header is an error.
    /// </summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>
    /// What a value that does not parse as its column's kind does (a letter in a numeric column, a malformed date):
    /// <see cref="BadValueHandling.Error"/> (the default) stops reading with a <see cref="DataFormatException"/> naming
    /// the file, line and column; <see cref="BadValueHandling.Skip"/> drops that row and tells
    /// <see cref="RowSkipped"/>. Invalid UTF-8 in a text column is an error either way.
    /// </summary>
    public BadValueHandling OnBadValue { get; init; } = BadValueHandling.Error;

    /// <summary>
    /// Called (on the reading thread) for every row <see cref="BadValueHandling.Skip"/> dropped, with the error that row
    /// would have raised (file, line, column, value).
    /// </summary>
    public Action<DataFormatException>? RowSkipped { get; init; }

    /// <summary>
    /// How many threads convert columns of one block of rows at once; -1 (the default) uses every
    /// core, 1 reads on the calling thread only. The result is the same either way.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    internal byte DelimiterByte
    {
        get
        {
            if (Delimiter > 127 || Delimiter is '"' or '\r' or '\n')
            {
                throw new ArgumentException($"The delimiter must be an ASCII character other than '\"', CR or LF; got U+{(int)Delimiter:X4}.", nameof(Delimiter));
            }

            return (byte)Delimiter;
        }
    }

    internal void Validate()
    {
        _ = DelimiterByte;
        if (InferenceRows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InferenceRows), InferenceRows, "At least one row must be sampled for inference.");
        }

        if (MaxDegreeOfParallelism is 0 or < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "Use -1 for every core or a positive thread count.");
        }
    }
}

/// <summary>What reading does with a value that does not parse as its column's kind.</summary>
public enum BadValueHandling
{
    /// <summary>Stop with an error naming the file, line and column (the default).</summary>
    Error,

    /// <summary>Drop the row and report it (<see cref="CsvReadOptions.RowSkipped"/>).</summary>
    Skip,
}
