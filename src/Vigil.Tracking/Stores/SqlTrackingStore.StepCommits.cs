using Dapper;

namespace Vigil.Tracking;

/// <summary>Tables <c>flow_step_executions</c> and <c>flow_step_commits</c> (schema version 10): distributed step attempts.</summary>
internal sealed partial class SqlTrackingStore
{
    private const string CommitSelect = """
        SELECT step_run_id AS StepRunId, attempt AS Attempt, execution AS Execution, worker AS Worker, status AS Status, error AS Error,
               CASE WHEN retryable THEN 1 ELSE 0 END AS RetryableFlag, outputs_json AS OutputsJson, metrics_json AS MetricsJson,
               log_text AS LogText, committed_us AS CommittedUs
        FROM flow_step_commits
        """;

    /// <summary>Records that an execution of a step attempt started; returns its number (1 for the first) among that attempt's executions.</summary>
    internal Task<int> InsertStepExecutionAsync(string stepRunId, int attempt, string worker, CancellationToken ct)
    {
        RequireStepCommits();
        var now = NowUs();
        return WriteAsync(async (c, tx) =>
        {
            if (_db is PostgresDialect)
            {
                // Executions of one attempt are numbered in order: one at a time per attempt (SQLite writes are serial anyway).
                await c.ExecuteAsync(Cmd("SELECT pg_advisory_xact_lock(hashtext('vigil-step-execution:' || @stepRunId || ':' || @attempt))",
                    new { stepRunId, attempt = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture) }, tx, ct)).ConfigureAwait(false);
            }

            var id = await c.ExecuteScalarAsync<long>(Cmd(
                "INSERT INTO flow_step_executions (step_run_id, attempt, worker, started_us) VALUES (@stepRunId, @attempt, @worker, @now) RETURNING id",
                new { stepRunId, attempt, worker, now }, tx, ct)).ConfigureAwait(false);
            return (int)await c.ExecuteScalarAsync<long>(Cmd(
                "SELECT COUNT(*) FROM flow_step_executions WHERE step_run_id = @stepRunId AND attempt = @attempt AND id <= @id",
                new { stepRunId, attempt, id }, tx, ct)).ConfigureAwait(false);
        }, ct);
    }

    internal Task<IReadOnlyList<StepExecutionRow>> ListStepExecutionsAsync(string stepRunId, int attempt, CancellationToken ct)
    {
        RequireStepCommits();
        return ReadAsync<IReadOnlyList<StepExecutionRow>>(async (c, tx) =>
            [.. await c.QueryAsync<StepExecutionRow>(Cmd(
                "SELECT worker AS Worker, started_us AS StartedUs FROM flow_step_executions WHERE step_run_id = @stepRunId AND attempt = @attempt ORDER BY id",
                new { stepRunId, attempt }, tx, ct)).ConfigureAwait(false)], ct);
    }

    /// <summary>Inserts the commit of a step attempt unless one exists (one statement, so two executions cannot both commit); true when this one was stored.</summary>
    internal Task<bool> InsertStepCommitAsync(StepCommitRow row, CancellationToken ct)
    {
        RequireStepCommits();
        return WriteAsync(async (c, tx) =>
            await c.ExecuteAsync(Cmd("""
                INSERT INTO flow_step_commits (step_run_id, attempt, execution, worker, status, error, retryable, outputs_json, metrics_json, log_text, committed_us)
                VALUES (@StepRunId, @Attempt, @Execution, @Worker, @Status, @Error, @Retryable, @OutputsJson, @MetricsJson, @LogText, @CommittedUs)
                ON CONFLICT (step_run_id, attempt) DO NOTHING
                """, row, tx, ct)).ConfigureAwait(false) == 1, ct);
    }

    internal Task<StepCommitRow?> FindStepCommitAsync(string stepRunId, int attempt, CancellationToken ct)
    {
        RequireStepCommits();
        return ReadAsync(async (c, tx) =>
            await c.QuerySingleOrDefaultAsync<StepCommitRow>(Cmd(CommitSelect + " WHERE step_run_id = @stepRunId AND attempt = @attempt",
                new { stepRunId, attempt }, tx, ct)).ConfigureAwait(false), ct);
    }

    private void RequireStepCommits()
    {
        if (SchemaVersion < DistributedVersion)
        {
            throw new TrackingException(
                $"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)}, which has no distributed step commits; open it with all migrations applied");
        }
    }
}

/// <summary>A row of table <c>flow_step_executions</c>.</summary>
internal sealed class StepExecutionRow
{
    public string Worker { get; set; } = "";

    public long StartedUs { get; set; }
}

/// <summary>A row of table <c>flow_step_commits</c>.</summary>
internal sealed class StepCommitRow
{
    public string StepRunId { get; set; } = "";

    public long Attempt { get; set; }

    public long Execution { get; set; }

    public string Worker { get; set; } = "";

    public string Status { get; set; } = "";

    public string? Error { get; set; }

    public long RetryableFlag { get; set; }

    public bool Retryable
    {
        get => RetryableFlag != 0;
        set => RetryableFlag = value ? 1 : 0;
    }

    public string OutputsJson { get; set; } = "[]";

    public string MetricsJson { get; set; } = "{}";

    public string LogText { get; set; } = "";

    public long CommittedUs { get; set; }
}
