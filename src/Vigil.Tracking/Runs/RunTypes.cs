namespace Vigil.Tracking;

/// <summary>The lifecycle state of a run (MLflow's RUNNING, FINISHED, FAILED, KILLED).</summary>
public enum RunStatus
{
    /// <summary>The run is in progress (or its process crashed; see <see cref="ITrackingStore.FailOrphanedRunsAsync"/>).</summary>
    Running,
    /// <summary>The run ended normally.</summary>
    Finished,
    /// <summary>The run ended with an error, or its process died while it was running.</summary>
    Failed,
    /// <summary>The run was stopped by the user.</summary>
    Killed,
}

/// <summary>A named group of runs (MLflow experiment).</summary>
/// <param name="Id">Store-assigned id.</param>
/// <param name="Name">Unique name.</param>
/// <param name="CreatedUtc">When the experiment was created.</param>
public sealed record Experiment(long Id, string Name, DateTimeOffset CreatedUtc);

/// <summary>One point of a metric series.</summary>
/// <param name="Key">Metric name, e.g. "auc_pr" or "train/loss".</param>
/// <param name="Value">The value (NaN and infinities are kept).</param>
/// <param name="Step">The step (epoch, iteration, fold); 0 when the metric has no steps.</param>
/// <param name="TimestampUtc">When the value was measured.</param>
public readonly record struct MetricPoint(string Key, double Value, long Step, DateTimeOffset TimestampUtc);

/// <summary>A file logged to a run: a name inside the run mapped to a content-addressed blob.</summary>
/// <param name="Name">The artifact name inside the run, e.g. "model.zip" or "reports/roc.svg".</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content: the key in the store's <see cref="IArtifactStore"/>.</param>
/// <param name="SizeBytes">Content length in bytes.</param>
/// <param name="CreatedUtc">When the artifact was logged.</param>
public sealed record RunArtifact(string Name, string Sha256, long SizeBytes, DateTimeOffset CreatedUtc);

/// <summary>What identifies the data a run read: content hash, schema and row count.</summary>
/// <param name="Name">The role of the data in the run, e.g. "train", "test" (one fingerprint per name).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the data file(s).</param>
/// <param name="Schema">The schema text, e.g. "amount:float64,country:categorical" or JSON.</param>
/// <param name="RowCount">Number of rows read.</param>
/// <param name="Source">Where the data came from (path or URI), informational; may be null.</param>
public sealed record DatasetFingerprint(string Name, string Sha256, string Schema, long RowCount, string? Source = null);

/// <summary>A run with everything logged to it except full metric histories.</summary>
public sealed record Run
{
    /// <summary>32 lower-case hex characters, unique across stores.</summary>
    public required string RunId { get; init; }
    /// <summary>Id of the experiment the run belongs to.</summary>
    public required long ExperimentId { get; init; }
    /// <summary>Name of the experiment the run belongs to.</summary>
    public required string ExperimentName { get; init; }
    /// <summary>Display name (not unique).</summary>
    public required string Name { get; init; }
    /// <summary>Lifecycle state.</summary>
    public required RunStatus Status { get; init; }
    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartTimeUtc { get; init; }
    /// <summary>When the run ended; null while running.</summary>
    public DateTimeOffset? EndTimeUtc { get; init; }
    /// <summary>The git commit (40 hex) of the code that ran, when known.</summary>
    public string? CodeVersion { get; init; }
    /// <summary>Host name of the process that created the run.</summary>
    public string? Host { get; init; }
    /// <summary>Process id of the process that created the run.</summary>
    public int? ProcessId { get; init; }
    /// <summary>The run this run is a child of (e.g. a search run for its candidates); null for a top-level run.</summary>
    public string? ParentRunId { get; init; }
    /// <summary>Parameters (immutable once logged).</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();
    /// <summary>Tags (mutable).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>The latest point of every metric: highest step, then latest timestamp, then last logged.</summary>
    public IReadOnlyDictionary<string, MetricPoint> LatestMetrics { get; init; } = new Dictionary<string, MetricPoint>();
    /// <summary>Artifacts by name order.</summary>
    public IReadOnlyList<RunArtifact> Artifacts { get; init; } = [];
    /// <summary>Input data fingerprints by name order.</summary>
    public IReadOnlyList<DatasetFingerprint> Datasets { get; init; } = [];
}

/// <summary>Which runs <see cref="ITrackingStore.ListRunsAsync"/> returns; newest start time first.</summary>
public sealed record RunFilter
{
    /// <summary>Only runs in this state.</summary>
    public RunStatus? Status { get; init; }
    /// <summary>Only runs whose name contains this text (ordinal, case-sensitive).</summary>
    public string? NameContains { get; init; }
    /// <summary>Only the child runs of this run.</summary>
    public string? ParentRunId { get; init; }
    /// <summary>Only runs that carry all of these tags with exactly these values.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
    /// <summary>At most this many runs (1..10000, default 100).</summary>
    public int MaxResults { get; init; } = 100;
}
