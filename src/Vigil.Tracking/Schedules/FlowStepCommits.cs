namespace Vigil.Tracking;

/// <summary>One execution of a distributed step attempt: which worker ran it and when it started.</summary>
/// <param name="Worker">The worker's name.</param>
/// <param name="Started">When the execution started.</param>
public sealed record StepExecution(string Worker, DateTimeOffset Started);

/// <summary>
/// The one commit of a distributed step attempt: how the attempt ended and what it produced. Written once per step run and
/// attempt (table <c>flow_step_commits</c>); a late duplicate execution of the same attempt finds it there and discards its outputs.
/// </summary>
public sealed record StepCommit
{
    /// <summary>The step (or foreach item) run.</summary>
    public required string StepRunId { get; init; }

    /// <summary>The attempt (1 for the first).</summary>
    public required int Attempt { get; init; }

    /// <summary>Which execution of the attempt committed (1 unless a worker died and the job was recovered); 0 for the coordinator.</summary>
    public required int Execution { get; init; }

    /// <summary>The worker that committed (or the coordinator, for <c>abandoned</c>).</summary>
    public required string Worker { get; init; }

    /// <summary><c>finished</c>, <c>failed</c>, or <c>abandoned</c> (the coordinator gave up on the attempt: timeout, no worker, cancelled).</summary>
    public required string Status { get; init; }

    /// <summary>Why the attempt failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>Whether another attempt may succeed (a failed attempt only).</summary>
    public bool Retryable { get; init; }

    /// <summary>The committed outputs as JSON (the flow engine's format).</summary>
    public string OutputsJson { get; init; } = "[]";

    /// <summary>The attempt's metrics as a JSON object.</summary>
    public string MetricsJson { get; init; } = "{}";

    /// <summary>The attempt's log lines.</summary>
    public string Log { get; init; } = "";

    /// <summary>When it was committed.</summary>
    public DateTimeOffset Committed { get; init; }
}

/// <summary>
/// The executions and commits of distributed step attempts in a tracking store (schema version 10; SQLite and PostgreSQL
/// alike). <see cref="TryCommitAsync"/> is one conditional insert keyed by step run and attempt, so however many
/// executions of one attempt run (a worker killed mid-step, its job recovered by another), one commit wins.
/// </summary>
public sealed class FlowStepCommitStore
{
    private readonly SqlTrackingStore _store;

    private FlowStepCommitStore(SqlTrackingStore store)
    {
        _store = store;
    }

    /// <summary>The step commits of <paramref name="store"/> (a store opened by <see cref="StoreFactory"/>).</summary>
    /// <exception cref="ArgumentException">The store is not one of Vigil's SQL stores.</exception>
    public static FlowStepCommitStore For(ITrackingStore store) =>
        new(store as SqlTrackingStore ?? throw new ArgumentException("distributed steps need a store opened by StoreFactory", nameof(store)));

    /// <summary>Records that <paramref name="worker"/> started an execution of the attempt; returns its number among the attempt's executions (1 first).</summary>
    public Task<int> BeginExecutionAsync(string stepRunId, int attempt, string worker, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stepRunId);
        ArgumentException.ThrowIfNullOrEmpty(worker);
        return _store.InsertStepExecutionAsync(stepRunId, attempt, worker, cancellationToken);
    }

    /// <summary>The executions of the attempt, in the order they started.</summary>
    public async Task<IReadOnlyList<StepExecution>> ExecutionsAsync(string stepRunId, int attempt, CancellationToken cancellationToken = default) =>
        [.. (await _store.ListStepExecutionsAsync(stepRunId, attempt, cancellationToken).ConfigureAwait(false)).Select(r => new StepExecution(r.Worker, Micros.To(r.StartedUs)))];

    /// <summary>Commits the attempt unless an execution (or the coordinator) already did: true when <paramref name="commit"/> is the one stored.</summary>
    public Task<bool> TryCommitAsync(StepCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return _store.InsertStepCommitAsync(new StepCommitRow
        {
            StepRunId = commit.StepRunId,
            Attempt = commit.Attempt,
            Execution = commit.Execution,
            Worker = commit.Worker,
            Status = commit.Status,
            Error = commit.Error,
            Retryable = commit.Retryable,
            OutputsJson = commit.OutputsJson,
            MetricsJson = commit.MetricsJson,
            LogText = commit.Log,
            CommittedUs = Micros.From(commit.Committed == default ? DateTimeOffset.UtcNow : commit.Committed),
        }, cancellationToken);
    }

    /// <summary>The commit of the attempt, or null while none exists.</summary>
    public async Task<StepCommit?> FindAsync(string stepRunId, int attempt, CancellationToken cancellationToken = default) =>
        await _store.FindStepCommitAsync(stepRunId, attempt, cancellationToken).ConfigureAwait(false) is { } r
            ? new StepCommit
            {
                StepRunId = r.StepRunId,
                Attempt = (int)r.Attempt,
                Execution = (int)r.Execution,
                Worker = r.Worker,
                Status = r.Status,
                Error = r.Error,
                Retryable = r.Retryable,
                OutputsJson = r.OutputsJson,
                MetricsJson = r.MetricsJson,
                Log = r.LogText,
                Committed = Micros.To(r.CommittedUs),
            }
            : null;

    /// <summary>The Npgsql connection string of a PostgreSQL store, else null (distributed steps need PostgreSQL's clustered job store).</summary>
    public string? PostgresConnectionString => _store.PostgresConnectionString;
}
