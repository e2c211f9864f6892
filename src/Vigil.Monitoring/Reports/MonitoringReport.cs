namespace Vigil.Monitoring;

/// <summary>Reference and current shares of one feature (or of the scores) over the same bins, for a chart.</summary>
/// <param name="Name">The feature (or <c>score</c>).</param>
/// <param name="Type"><c>num</c> or <c>cat</c>.</param>
/// <param name="Bins">A label per bin.</param>
/// <param name="Reference">The reference share per bin.</param>
/// <param name="Current">The current share per bin.</param>
/// <param name="ReferenceCount">Present reference values counted.</param>
/// <param name="CurrentCount">Present current values counted.</param>
public sealed record HistogramPair(
    string Name,
    string Type,
    IReadOnlyList<string> Bins,
    IReadOnlyList<double> Reference,
    IReadOnlyList<double> Current,
    long ReferenceCount,
    long CurrentCount);

/// <summary>
/// One line of a report over time: a time window or a batch, with its alert rate and, where known, its performance
/// (realized from labels, or estimated before they arrive) and its data drift.
/// </summary>
public sealed record ReportWindow
{
    /// <summary>A label, e.g. <c>2026-03-01</c> or <c>batch 3</c>.</summary>
    public required string Label { get; init; }

    /// <summary>The first instant (unix microseconds, UTC).</summary>
    public long StartUs { get; init; }

    /// <summary>The end, exclusive (unix microseconds, UTC).</summary>
    public long EndUs { get; init; }

    /// <summary>Scored predictions in the window.</summary>
    public long Predictions { get; init; }

    /// <summary>The share of predictions alerted (score above the model's threshold); NaN without predictions.</summary>
    public double AlertRate { get; init; } = double.NaN;

    /// <summary>The share of predictions with a label (1 for a labelled batch).</summary>
    public double LabelledShare { get; init; }

    /// <summary>Realized metrics from labels (auc_pr, recall_at_threshold, precision_at_k, ...); empty without labels.</summary>
    public IReadOnlyDictionary<string, double> Realized { get; init; } = new Dictionary<string, double>();

    /// <summary>Metrics estimated from calibrated probabilities (CBPE) before labels arrive; empty when not estimated.</summary>
    public IReadOnlyDictionary<string, double> Estimated { get; init; } = new Dictionary<string, double>();

    /// <summary>The window's data drift against the reference, when computed.</summary>
    public DriftReport? Drift { get; init; }
}

/// <summary>What a monitoring report shows: the drift table, per-feature and score histograms, and windows over time.</summary>
public sealed record MonitoringReport
{
    /// <summary>The title.</summary>
    public required string Title { get; init; }

    /// <summary>What the reference is (a file, a bundle's profile).</summary>
    public required string Reference { get; init; }

    /// <summary>What the current data is (a file, a model's inference log window).</summary>
    public required string Current { get; init; }

    /// <summary>The drift of the current data as a whole (null for a report of windows only).</summary>
    public DriftReport? Drift { get; init; }

    /// <summary>One histogram pair per compared feature.</summary>
    public IReadOnlyList<HistogramPair> Histograms { get; init; } = [];

    /// <summary>The scores' histogram pair, when a model was given.</summary>
    public HistogramPair? Scores { get; init; }

    /// <summary>Windows or batches over time, oldest first.</summary>
    public IReadOnlyList<ReportWindow> Windows { get; init; } = [];

    /// <summary>Notes shown under the title (what was estimated, what is approximate).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>When the report was made.</summary>
    public DateTimeOffset Created { get; init; }
}
