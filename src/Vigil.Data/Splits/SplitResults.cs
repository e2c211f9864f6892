namespace Vigil.Data;

/// <summary>
/// A train/test partition of row indices. Both arrays are sorted ascending (row order is kept, so
/// <see cref="Frame.Take(ReadOnlySpan{int})"/> preserves the original order), disjoint, and together
/// cover every row.
/// </summary>
/// <param name="Train">Row indices of the training set, ascending.</param>
/// <param name="Test">Row indices of the test set, ascending.</param>
public sealed record SplitIndices(int[] Train, int[] Test);

/// <summary>Which rows <see cref="Splits.ByTime(ReadOnlySpan{long}, TimeSplitOptions?)"/> divides into batches.</summary>
public enum TimeBatchSource
{
    /// <summary>The untouched (last) period only.</summary>
    Untouched,

    /// <summary>Everything after the reference period: validation and untouched.</summary>
    AfterReference,
}

/// <summary>How the period fractions of <see cref="TimeSplitOptions"/> are measured.</summary>
public enum TimeSplitBasis
{
    /// <summary>Fractions of the rows in time order: the reference period holds the earliest
    /// floor(fraction × rows) rows, less any rows sharing the cut timestamp (those go to the later period).</summary>
    Rows,

    /// <summary>Fractions of the time range from the earliest to the latest timestamp, whatever the row counts.</summary>
    Time,
}

/// <summary>Options of <see cref="Splits.ByTime(ReadOnlySpan{long}, TimeSplitOptions?)"/>.</summary>
public sealed record TimeSplitOptions
{
    /// <summary>Share of the earliest data used as reference (training) period, in (0, 1). Default 0.6.</summary>
    public double ReferenceFraction { get; init; } = 0.6;

    /// <summary>Share used as validation period right after the reference, in [0, 1). Default 0.2;
    /// the untouched period gets the rest (default 0.2), which must be more than nothing.</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Whether the fractions count rows (default) or time.</summary>
    public TimeSplitBasis Basis { get; init; } = TimeSplitBasis.Rows;

    /// <summary>How many sequential batches of equal time span the batched period is cut into. Default 10.</summary>
    public int BatchCount { get; init; } = 10;

    /// <summary>Which period the batches divide. Default <see cref="TimeBatchSource.Untouched"/>.</summary>
    public TimeBatchSource BatchSource { get; init; } = TimeBatchSource.Untouched;
}

/// <summary>
/// One batch of a <see cref="TimeSplit"/>: the rows with <see cref="StartMicros"/> &lt;= timestamp &lt; <see cref="EndMicros"/>.
/// A batch can be empty when no row falls in its time span.
/// </summary>
/// <param name="Index">0-based position in time order.</param>
/// <param name="StartMicros">Inclusive start, microseconds since the Unix epoch.</param>
/// <param name="EndMicros">Exclusive end, microseconds since the Unix epoch.</param>
/// <param name="Rows">Row indices, ascending.</param>
public sealed record TimeBatch(int Index, long StartMicros, long EndMicros, int[] Rows)
{
    /// <summary>The inclusive start as an instant.</summary>
    public DateTimeOffset Start => TimestampColumn.FromMicros(StartMicros);

    /// <summary>The exclusive end as an instant.</summary>
    public DateTimeOffset End => TimestampColumn.FromMicros(EndMicros);
}

/// <summary>
/// A split by time: reference (timestamp &lt; <see cref="ValidationStartMicros"/>), validation
/// (up to <see cref="UntouchedStartMicros"/>, exclusive) and untouched (the rest) periods, plus sequential
/// <see cref="Batches"/> of equal time span. Index arrays are ascending row indices; the three periods are
/// disjoint and cover every row.
/// </summary>
/// <param name="Reference">Rows of the earliest period (fit / training).</param>
/// <param name="Validation">Rows of the middle period (threshold tuning, model selection).</param>
/// <param name="Untouched">Rows of the latest period (final, out-of-time evaluation).</param>
/// <param name="Batches">The batched period in time order; the batches' rows are disjoint and cover that period.</param>
/// <param name="ValidationStartMicros">First timestamp of the validation period (inclusive).</param>
/// <param name="UntouchedStartMicros">First timestamp of the untouched period (inclusive).</param>
public sealed record TimeSplit(
    int[] Reference,
    int[] Validation,
    int[] Untouched,
    IReadOnlyList<TimeBatch> Batches,
    long ValidationStartMicros,
    long UntouchedStartMicros);

/// <summary>
/// An out-of-time split with a label-delay gap: train = timestamp &lt; <see cref="TrainEnd"/>; test =
/// <see cref="TestStart"/> &lt;= timestamp (&lt; <see cref="TestEnd"/> when set). Rows inside the gap
/// [<see cref="TrainEnd"/>, <see cref="TestStart"/>) or at/after <see cref="TestEnd"/> are in neither set and counted.
/// </summary>
/// <param name="Train">Row indices before the train end, ascending.</param>
/// <param name="Test">Row indices of the test window, ascending.</param>
/// <param name="GapRows">Rows left out because they fall inside the label-delay gap.</param>
/// <param name="AfterTestEndRows">Rows left out because they are at or after <see cref="TestEnd"/>.</param>
/// <param name="TrainEnd">Exclusive end of the training period.</param>
/// <param name="TestStart">Inclusive start of the test period: train end plus the gap.</param>
/// <param name="TestEnd">Exclusive end of the test period, or null for no end.</param>
public sealed record OutOfTimeSplit(
    int[] Train,
    int[] Test,
    int GapRows,
    int AfterTestEndRows,
    DateTimeOffset TrainEnd,
    DateTimeOffset TestStart,
    DateTimeOffset? TestEnd);
