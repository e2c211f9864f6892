namespace Vigil.Tracking;

/// <summary>
/// Experiment tracking (experiments, runs, params, tags, metric series, artifacts, dataset fingerprints) and
/// the model registry, on one SQLite file or PostgreSQL database. Open with <see cref="StoreFactory"/>.
/// Every method is safe to call concurrently, also from several processes on the same store.
/// </summary>
public interface ITrackingStore : IModelRegistry, IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres".</summary>
    string Backend { get; }

    /// <summary>Where the store is, for messages: the SQLite file path or host:port/database (no password).</summary>
    string Location { get; }

    /// <summary>The content-addressed artifact store that holds run artifacts and model bundles.</summary>
    IArtifactStore Artifacts { get; }

    /// <summary>The schema version of the store (after migrations).</summary>
    int SchemaVersion { get; }

    /// <summary>The experiment named <paramref name="name"/>, created when missing.</summary>
    Task<Experiment> GetOrCreateExperimentAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The experiment, or null when no experiment has that name.</summary>
    Task<Experiment?> FindExperimentAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>All experiments by name.</summary>
    Task<IReadOnlyList<Experiment>> ListExperimentsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a RUNNING run in the experiment (created when missing). <paramref name="runName"/> defaults to
    /// "run-" and the first 8 characters of the id; <paramref name="codeVersion"/> is usually
    /// <see cref="CodeVersion.TryGetGitCommit"/>. The host and process id are recorded so that
    /// <see cref="FailOrphanedRunsAsync"/> can find runs whose process died. With <paramref name="parentRunId"/> the run
    /// is a child of that run (which must exist), e.g. one candidate of a hyper-parameter search.
    /// </summary>
    Task<Run> CreateRunAsync(string experimentName, string? runName = null, IReadOnlyDictionary<string, string>? tags = null, string? codeVersion = null, string? parentRunId = null, CancellationToken cancellationToken = default);

    /// <summary>The run with params, tags, latest metrics, artifacts and datasets; <see cref="TrackingException"/> when unknown.</summary>
    Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Runs of the experiment (all experiments when null), newest first, filtered.</summary>
    Task<IReadOnlyList<Run>> ListRunsAsync(string? experimentName = null, RunFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the status. A terminal status (Finished, Failed, Killed) sets the end time to now when it is not
    /// set; Running clears it.
    /// </summary>
    Task SetRunStatusAsync(string runId, RunStatus status, CancellationToken cancellationToken = default);

    /// <summary>Ends a RUNNING run with a terminal status; <see cref="TrackingException"/> when it is not running.</summary>
    Task EndRunAsync(string runId, RunStatus status = RunStatus.Finished, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks FAILED every RUNNING run that was created on this host by a process that no longer exists
    /// (a crashed trainer). Returns the ids of the runs it changed.
    /// </summary>
    Task<IReadOnlyList<string>> FailOrphanedRunsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Logs parameters. Params are immutable: logging an existing key again with the same value is a no-op,
    /// with a different value a <see cref="TrackingException"/>.
    /// </summary>
    Task LogParamsAsync(string runId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken = default);

    /// <summary>Sets tags (insert or overwrite).</summary>
    Task SetTagsAsync(string runId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    /// <summary>Appends metric points in one transaction (all or nothing).</summary>
    Task LogMetricsAsync(string runId, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken = default);

    /// <summary>Every point of one metric, ordered by step, then timestamp, then logging order.</summary>
    Task<IReadOnlyList<MetricPoint>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default);

    /// <summary>Records an artifact already in <see cref="Artifacts"/> under a name in the run (overwrites the name).</summary>
    Task<RunArtifact> RecordArtifactAsync(string runId, string name, StoredArtifact artifact, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="content"/> in <see cref="Artifacts"/> and records it under <paramref name="name"/> in the run.</summary>
    Task<RunArtifact> LogArtifactAsync(string runId, string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens an artifact of the run after checking its hash; <see cref="TrackingException"/> naming the run and
    /// artifact when it is unknown, missing from the artifact store or corrupted.
    /// </summary>
    Task<Stream> OpenArtifactAsync(string runId, string name, CancellationToken cancellationToken = default);

    /// <summary>Records (or replaces, by <see cref="DatasetFingerprint.Name"/>) an input data fingerprint.</summary>
    Task SetDatasetFingerprintAsync(string runId, DatasetFingerprint dataset, CancellationToken cancellationToken = default);

    /// <summary>
    /// The local path of the version's bundle after checking its SHA-256; <see cref="TrackingException"/> naming
    /// the model and version when the bundle is missing or corrupted.
    /// </summary>
    Task<string> GetVerifiedBundlePathAsync(ModelVersion version, CancellationToken cancellationToken = default);
}
