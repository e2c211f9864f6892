using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;

namespace Vigil.Tracking;

/// <summary>
/// The store over SQL shared by SQLite and PostgreSQL; what differs lives in <see cref="SqlDialect"/>.
/// Every operation opens a pooled connection, runs in one transaction and is retried as a whole on lock
/// timeouts. Registry changes lock the registered model row first (SQLite: the write lock of BEGIN IMMEDIATE;
/// PostgreSQL: SELECT ... FOR UPDATE), so version numbers and alias history are serialised per model.
/// </summary>
internal sealed partial class SqlTrackingStore : ITrackingStore
{
    private const int MaxAttempts = 15;
    private static readonly Lazy<long> ProcessStartUs = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return Micros.From(self.StartTime.ToUniversalTime());
    });

    private readonly SqlDialect _db;
    private readonly TimeProvider _time;

    private SqlTrackingStore(SqlDialect dialect, IArtifactStore artifacts, TimeProvider time, int schemaVersion)
    {
        Debug.Assert(dialect.Migrations.Count == StoreFactory.SupportedSchemaVersion, "every dialect has the same migrations");
        _db = dialect;
        _time = time;
        Artifacts = artifacts;
        SchemaVersion = schemaVersion;
    }

    public string Backend => _db.Backend;

    public string Location => _db.Location;

    /// <summary>The connection string of a PostgreSQL store (for LISTEN), else null.</summary>
    internal string? PostgresConnectionString => (_db as PostgresDialect)?.ConnectionString;

    public IArtifactStore Artifacts { get; }

    public int SchemaVersion { get; }

    /// <summary>The newest schema version this build knows.</summary>
    public int SupportedSchemaVersion => _db.Migrations.Count;

    /// <summary>Opens the store and applies pending migrations (up to <paramref name="targetVersion"/>, default all).</summary>
    internal static async Task<SqlTrackingStore> OpenAsync(SqlDialect dialect, IArtifactStore artifacts, TimeProvider time, int? targetVersion, CancellationToken cancellationToken)
    {
        try
        {
            var version = await MigrateAsync(dialect, time, targetVersion ?? dialect.Migrations.Count, cancellationToken).ConfigureAwait(false);
            return new SqlTrackingStore(dialect, artifacts, time, version);
        }
        catch
        {
            await dialect.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<int> MigrateAsync(SqlDialect db, TimeProvider time, int target, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var c = await db.OpenAsync(ct).ConfigureAwait(false);
                await db.PrepareAsync(c, ct).ConfigureAwait(false);
                await using var tx = await db.BeginWriteAsync(c, ct).ConfigureAwait(false);
                await db.LockMigrationsAsync(c, tx, ct).ConfigureAwait(false);
                await c.ExecuteAsync(new CommandDefinition(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_us BIGINT NOT NULL)", transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
                var current = checked((int)await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version", transaction: tx, cancellationToken: ct)).ConfigureAwait(false));
                var supported = db.Migrations.Count;
                if (current > supported)
                {
                    throw new TrackingException(
                        $"store schema version {current.ToString(CultureInfo.InvariantCulture)} is newer than this Vigil (supports {supported.ToString(CultureInfo.InvariantCulture)}); upgrade Vigil ({db.Backend} store {db.Location})");
                }
                for (var v = current + 1; v <= target; v++)
                {
                    await c.ExecuteAsync(new CommandDefinition(db.Migrations[v - 1], transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
                    await c.ExecuteAsync(new CommandDefinition(
                        "INSERT INTO schema_version (version, applied_us) VALUES (@v, @t)",
                        new { v = (long)v, t = Micros.From(time.GetUtcNow()) }, tx, cancellationToken: ct)).ConfigureAwait(false);
                }
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return Math.Max(current, target);
            }
            catch (Exception e) when (attempt < MaxAttempts && db.IsTransient(e))
            {
                await Backoff(attempt, ct).ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    // ---------------------------------------------------------------- plumbing

    private static Task Backoff(int attempt, CancellationToken ct)
    {
        var ms = Math.Min(500, 4 << Math.Min(attempt, 7));
        return Task.Delay(ms / 2 + Random.Shared.Next(ms), ct);
    }

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var c = await _db.OpenAsync(ct).ConfigureAwait(false);
                await using var tx = await _db.BeginWriteAsync(c, ct).ConfigureAwait(false);
                var result = await work(c, tx).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return result;
            }
            catch (Exception e) when (attempt < MaxAttempts && _db.IsTransient(e))
            {
                await Backoff(attempt, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<T> ReadAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var c = await _db.OpenAsync(ct).ConfigureAwait(false);
                await using var tx = await _db.BeginReadAsync(c, ct).ConfigureAwait(false);
                var result = await work(c, tx).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return result;
            }
            catch (Exception e) when (attempt < MaxAttempts && _db.IsTransient(e))
            {
                await Backoff(attempt, ct).ConfigureAwait(false);
            }
        }
    }

    private static CommandDefinition Cmd(string sql, object? args, DbTransaction tx, CancellationToken ct) =>
        new(sql, args, tx, cancellationToken: ct);

    private long NowUs() => Micros.From(_time.GetUtcNow());

    private string InList(string column, string parameter) => _db.InList(column, parameter);

    /// <summary>Runs raw SQL against the store (tests: simulate a newer schema, corrupt rows).</summary>
    internal Task ExecuteRawAsync(string sql, CancellationToken ct = default) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd(sql, null, tx, ct)).ConfigureAwait(false), ct);

    private TrackingException UnknownRun(string runId) => new($"run '{runId}' not found in the {Backend} store {Location}");

    private TrackingException UnknownModel(string name, string hint = "") => new($"registered model '{name}' not found in the {Backend} store {Location}{hint}");

    /// <summary><see cref="UnknownModel"/> with "; did you mean 'X'?" when a registered model's name is near <paramref name="name"/>.</summary>
    private async Task<TrackingException> UnknownModelAsync(DbConnection c, DbTransaction tx, string name, CancellationToken ct)
    {
        var names = (await c.QueryAsync<string>(Cmd("SELECT name FROM registered_models ORDER BY name", null, tx, ct)).ConfigureAwait(false)).AsList();
        return UnknownModel(name, NameSuggestions.Hint(name, names));
    }

    private async Task EnsureRunAsync(DbConnection c, DbTransaction tx, string runId, CancellationToken ct)
    {
        var found = await c.ExecuteScalarAsync<string?>(Cmd("SELECT status FROM runs WHERE id = @runId", new { runId }, tx, ct)).ConfigureAwait(false);
        if (found is null)
        {
            throw UnknownRun(runId);
        }
    }

    // ---------------------------------------------------------------- experiments

    private const string ExperimentColumns = "id AS Id, name AS Name, created_us AS CreatedUs";

    public async Task<Experiment> GetOrCreateExperimentAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.Text(name, "experiment name");
        return await WriteAsync((c, tx) => GetOrCreateExperimentAsync(c, tx, name, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<Experiment> GetOrCreateExperimentAsync(DbConnection c, DbTransaction tx, string name, CancellationToken ct)
    {
        await c.ExecuteAsync(Cmd(
            "INSERT INTO experiments (name, created_us) VALUES (@name, @now) ON CONFLICT (name) DO NOTHING",
            new { name, now = NowUs() }, tx, ct)).ConfigureAwait(false);
        var row = await c.QuerySingleAsync<ExperimentRow>(Cmd(
            $"SELECT {ExperimentColumns} FROM experiments WHERE name = @name", new { name }, tx, ct)).ConfigureAwait(false);
        return row.ToExperiment();
    }

    public Task<Experiment?> FindExperimentAsync(string name, CancellationToken cancellationToken = default) =>
        ReadAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<ExperimentRow>(Cmd(
                $"SELECT {ExperimentColumns} FROM experiments WHERE name = @name", new { name }, tx, cancellationToken)).ConfigureAwait(false);
            return row?.ToExperiment();
        }, cancellationToken);

    public Task<IReadOnlyList<Experiment>> ListExperimentsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<Experiment>>(async (c, tx) =>
        {
            var rows = await c.QueryAsync<ExperimentRow>(Cmd(
                $"SELECT {ExperimentColumns} FROM experiments ORDER BY name", null, tx, cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => r.ToExperiment())];
        }, cancellationToken);

    // ---------------------------------------------------------------- runs

    /// <summary>The first schema version with runs.parent_run_id.</summary>
    private const int ParentRunsVersion = 4;

    private string RunSelect => $"""
        SELECT r.id AS Id, r.experiment_id AS ExperimentId, e.name AS ExperimentName, r.name AS Name, r.status AS Status,
               r.start_us AS StartUs, r.end_us AS EndUs, r.code_version AS CodeVersion, r.host AS Host, r.pid AS Pid,
               r.pid_start_us AS PidStartUs, {(SchemaVersion >= ParentRunsVersion ? "r.parent_run_id" : "NULL")} AS ParentRunId
        FROM runs r JOIN experiments e ON e.id = r.experiment_id
        """;

    public async Task<Run> CreateRunAsync(string experimentName, string? runName = null, IReadOnlyDictionary<string, string>? tags = null, string? codeVersion = null, string? parentRunId = null, CancellationToken cancellationToken = default)
    {
        Names.Text(experimentName, "experiment name");
        var runId = Guid.NewGuid().ToString("N");
        var name = runName is null ? "run-" + runId[..8] : Names.Text(runName, "run name");
        ValidateTags(tags);
        if (parentRunId is not null)
        {
            Names.RunId(parentRunId);
            if (SchemaVersion < ParentRunsVersion)
            {
                throw new TrackingException(
                    $"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(CultureInfo.InvariantCulture)}, which has no parent runs; open it with all migrations applied");
            }
        }
        var pid = Environment.ProcessId;
        var insert = SchemaVersion >= ParentRunsVersion
            ? """
              INSERT INTO runs (id, experiment_id, name, status, start_us, end_us, code_version, host, pid, pid_start_us, parent_run_id)
              VALUES (@runId, @experimentId, @name, 'RUNNING', @now, NULL, @codeVersion, @host, @pid, @pidStart, @parentRunId)
              """
            : """
              INSERT INTO runs (id, experiment_id, name, status, start_us, end_us, code_version, host, pid, pid_start_us)
              VALUES (@runId, @experimentId, @name, 'RUNNING', @now, NULL, @codeVersion, @host, @pid, @pidStart)
              """;
        await WriteAsync(async (c, tx) =>
        {
            if (parentRunId is not null)
            {
                var parent = await c.ExecuteScalarAsync<string?>(Cmd("SELECT id FROM runs WHERE id = @parentRunId", new { parentRunId }, tx, cancellationToken)).ConfigureAwait(false);
                if (parent is null)
                {
                    throw new TrackingException($"parent run '{parentRunId}' not found in the {Backend} store {Location}");
                }
            }
            var experiment = await GetOrCreateExperimentAsync(c, tx, experimentName, cancellationToken).ConfigureAwait(false);
            await c.ExecuteAsync(Cmd(
                insert,
                new { runId, experimentId = experiment.Id, name, now = NowUs(), codeVersion, host = Environment.MachineName, pid = (long)pid, pidStart = ProcessStartUs.Value, parentRunId },
                tx, cancellationToken)).ConfigureAwait(false);
            if (tags is { Count: > 0 })
            {
                await UpsertTagsAsync(c, tx, runId, tags, cancellationToken).ConfigureAwait(false);
            }
            return 0;
        }, cancellationToken).ConfigureAwait(false);
        return await GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        var runs = await ReadAsync(async (c, tx) =>
        {
            var rows = (await c.QueryAsync<RunRow>(Cmd($"{RunSelect} WHERE r.id = @runId", new { runId }, tx, cancellationToken)).ConfigureAwait(false)).AsList();
            return await LoadRunsAsync(c, tx, rows, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return runs.Count == 1 ? runs[0] : throw UnknownRun(runId);
    }

    public async Task<IReadOnlyList<Run>> ListRunsAsync(string? experimentName = null, RunFilter? filter = null, CancellationToken cancellationToken = default)
    {
        filter ??= new RunFilter();
        if (filter.MaxResults is < 1 or > 10_000)
        {
            throw new TrackingException($"max results must be between 1 and 10000, got {filter.MaxResults.ToString(CultureInfo.InvariantCulture)}");
        }
        var sql = new System.Text.StringBuilder(RunSelect).Append(" WHERE 1 = 1");
        var args = new DynamicParameters();
        if (experimentName is not null)
        {
            sql.Append(" AND e.name = @experiment");
            args.Add("experiment", experimentName);
        }
        if (filter.Status is { } status)
        {
            sql.Append(" AND r.status = @status");
            args.Add("status", StoreText.Status(status));
        }
        if (filter.ParentRunId is { } parentRunId)
        {
            Names.RunId(parentRunId);
            if (SchemaVersion < ParentRunsVersion)
            {
                return [];
            }
            sql.Append(" AND r.parent_run_id = @parentRunId");
            args.Add("parentRunId", parentRunId);
        }
        if (!string.IsNullOrEmpty(filter.NameContains))
        {
            sql.Append(" AND ").Append(_db.Contains("r.name", "@nameContains"));
            args.Add("nameContains", filter.NameContains);
        }
        if (filter.Tags is not null)
        {
            var i = 0;
            foreach (var (key, value) in filter.Tags)
            {
                var k = "tk" + i.ToString(CultureInfo.InvariantCulture);
                var v = "tv" + i.ToString(CultureInfo.InvariantCulture);
                sql.Append(CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.key = @{k} AND t.value = @{v})");
                args.Add(k, key);
                args.Add(v, value);
                i++;
            }
        }
        sql.Append(" ORDER BY r.start_us DESC, r.id DESC LIMIT @max");
        args.Add("max", (long)filter.MaxResults);
        var text = sql.ToString();

        return await ReadAsync(async (c, tx) =>
        {
            if (experimentName is not null)
            {
                var exists = await c.ExecuteScalarAsync<long?>(Cmd("SELECT id FROM experiments WHERE name = @experimentName", new { experimentName }, tx, cancellationToken)).ConfigureAwait(false);
                if (exists is null)
                {
                    throw new TrackingException($"experiment '{experimentName}' not found in the {Backend} store {Location}");
                }
            }
            var rows = (await c.QueryAsync<RunRow>(Cmd(text, args, tx, cancellationToken)).ConfigureAwait(false)).AsList();
            return await LoadRunsAsync(c, tx, rows, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<Run>> LoadRunsAsync(DbConnection c, DbTransaction tx, List<RunRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return [];
        }
        var ids = new string[rows.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = rows[i].Id;
        }
        var args = new { ids };
        var parameters = await c.QueryAsync<KeyValueRow>(Cmd(
            $"SELECT run_id AS RunId, key AS Key, value AS Value FROM run_params WHERE {InList("run_id", "@ids")} ORDER BY key", args, tx, ct)).ConfigureAwait(false);
        var tags = await c.QueryAsync<KeyValueRow>(Cmd(
            $"SELECT run_id AS RunId, key AS Key, value AS Value FROM run_tags WHERE {InList("run_id", "@ids")} ORDER BY key", args, tx, ct)).ConfigureAwait(false);
        var metrics = await c.QueryAsync<MetricRow>(Cmd(
            $"SELECT run_id AS RunId, key AS Key, value AS Value, step AS Step, ts_us AS TsUs FROM run_latest_metrics WHERE {InList("run_id", "@ids")} ORDER BY key", args, tx, ct)).ConfigureAwait(false);
        var artifacts = await c.QueryAsync<ArtifactRow>(Cmd(
            $"SELECT run_id AS RunId, name AS Name, sha256 AS Sha256, size_bytes AS SizeBytes, created_us AS CreatedUs FROM run_artifacts WHERE {InList("run_id", "@ids")} ORDER BY name", args, tx, ct)).ConfigureAwait(false);
        var datasets = await c.QueryAsync<DatasetRow>(Cmd(
            $"SELECT run_id AS RunId, name AS Name, sha256 AS Sha256, schema_text AS SchemaText, row_count AS RowCount, source AS Source FROM run_datasets WHERE {InList("run_id", "@ids")} ORDER BY name", args, tx, ct)).ConfigureAwait(false);

        var paramsByRun = parameters.ToLookup(p => p.RunId, StringComparer.Ordinal);
        var tagsByRun = tags.ToLookup(p => p.RunId, StringComparer.Ordinal);
        var metricsByRun = metrics.ToLookup(m => m.RunId, StringComparer.Ordinal);
        var artifactsByRun = artifacts.ToLookup(a => a.RunId, StringComparer.Ordinal);
        var datasetsByRun = datasets.ToLookup(d => d.RunId, StringComparer.Ordinal);
        var result = new List<Run>(rows.Count);
        foreach (var r in rows)
        {
            result.Add(new Run
            {
                RunId = r.Id,
                ExperimentId = r.ExperimentId,
                ExperimentName = r.ExperimentName,
                Name = r.Name,
                Status = StoreText.ParseStatus(r.Status),
                StartTimeUtc = Micros.To(r.StartUs),
                EndTimeUtc = Micros.To(r.EndUs),
                CodeVersion = r.CodeVersion,
                Host = r.Host,
                ProcessId = r.Pid is { } pid ? checked((int)pid) : null,
                ParentRunId = r.ParentRunId,
                Params = paramsByRun[r.Id].ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
                Tags = tagsByRun[r.Id].ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
                LatestMetrics = metricsByRun[r.Id].ToDictionary(m => m.Key, m => m.ToPoint(), StringComparer.Ordinal),
                Artifacts = [.. artifactsByRun[r.Id].Select(a => a.ToArtifact())],
                Datasets = [.. datasetsByRun[r.Id].Select(d => d.ToDataset())],
            });
        }
        return result;
    }

    public Task SetRunStatusAsync(string runId, RunStatus status, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        var text = StoreText.Status(status);
        return WriteAsync(async (c, tx) =>
        {
            var sql = status == RunStatus.Running
                ? "UPDATE runs SET status = @text, end_us = NULL WHERE id = @runId"
                : "UPDATE runs SET status = @text, end_us = COALESCE(end_us, @now) WHERE id = @runId";
            var n = await c.ExecuteAsync(Cmd(sql, new { text, runId, now = NowUs() }, tx, cancellationToken)).ConfigureAwait(false);
            return n == 1 ? 0 : throw UnknownRun(runId);
        }, cancellationToken);
    }

    public Task EndRunAsync(string runId, RunStatus status = RunStatus.Finished, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        if (status == RunStatus.Running)
        {
            throw new TrackingException("a run cannot end with status RUNNING: use FINISHED, FAILED or KILLED");
        }
        var text = StoreText.Status(status);
        return WriteAsync(async (c, tx) =>
        {
            var current = await c.ExecuteScalarAsync<string?>(Cmd("SELECT status FROM runs WHERE id = @runId", new { runId }, tx, cancellationToken)).ConfigureAwait(false);
            if (current is null)
            {
                throw UnknownRun(runId);
            }
            if (current != "RUNNING")
            {
                throw new TrackingException($"run '{runId}' is already {current}; only a RUNNING run can be ended");
            }
            await c.ExecuteAsync(Cmd("UPDATE runs SET status = @text, end_us = @now WHERE id = @runId", new { text, runId, now = NowUs() }, tx, cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> FailOrphanedRunsAsync(CancellationToken cancellationToken = default)
    {
        var host = Environment.MachineName;
        return WriteAsync<IReadOnlyList<string>>(async (c, tx) =>
        {
            var rows = await c.QueryAsync<OrphanRow>(Cmd(
                "SELECT id AS Id, pid AS Pid, pid_start_us AS PidStartUs FROM runs WHERE status = 'RUNNING' AND host = @host",
                new { host }, tx, cancellationToken)).ConfigureAwait(false);
            var failed = new List<string>();
            foreach (var row in rows)
            {
                if (row.Pid is { } pid && IsProcessAlive(pid, row.PidStartUs))
                {
                    continue;
                }
                await c.ExecuteAsync(Cmd(
                    "UPDATE runs SET status = 'FAILED', end_us = @now WHERE id = @id AND status = 'RUNNING'",
                    new { id = row.Id, now = NowUs() }, tx, cancellationToken)).ConfigureAwait(false);
                failed.Add(row.Id);
            }
            return failed;
        }, cancellationToken);
    }

    private static bool IsProcessAlive(long pid, long? startUs)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = Process.GetProcessById(checked((int)pid));
            if (process.HasExited)
            {
                return false;
            }
            if (startUs is { } expected)
            {
                // a recycled pid belongs to a process that started at another time
                var actual = Micros.From(process.StartTime.ToUniversalTime());
                return Math.Abs(actual - expected) < 2_000_000;
            }
            return true;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // exited meanwhile
        }
    }

    // ---------------------------------------------------------------- params, tags, metrics, datasets, artifacts

    public Task LogParamsAsync(string runId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (key, value) in parameters)
        {
            Names.Key(key, "param");
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length > Names.MaxParamValueLength)
            {
                throw new TrackingException($"param '{key}' of run '{runId}' is longer than {Names.MaxParamValueLength.ToString(CultureInfo.InvariantCulture)} characters");
            }
        }
        if (parameters.Count == 0)
        {
            return Task.CompletedTask;
        }
        return WriteAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            foreach (var (key, value) in parameters)
            {
                await c.ExecuteAsync(Cmd(
                    "INSERT INTO run_params (run_id, key, value) VALUES (@runId, @key, @value) ON CONFLICT (run_id, key) DO NOTHING",
                    new { runId, key, value }, tx, cancellationToken)).ConfigureAwait(false);
                var stored = await c.ExecuteScalarAsync<string>(Cmd(
                    "SELECT value FROM run_params WHERE run_id = @runId AND key = @key", new { runId, key }, tx, cancellationToken)).ConfigureAwait(false);
                if (!string.Equals(stored, value, StringComparison.Ordinal))
                {
                    throw new TrackingException(
                        $"param '{key}' of run '{runId}' is already '{stored}'; params cannot change (log '{value}' under another key or in a new run)");
                }
            }
            return 0;
        }, cancellationToken);
    }

    private static void ValidateTags(IReadOnlyDictionary<string, string>? tags)
    {
        if (tags is null)
        {
            return;
        }
        foreach (var (key, value) in tags)
        {
            Names.Key(key, "tag");
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length > Names.MaxTagValueLength)
            {
                throw new TrackingException($"tag '{key}' is longer than {Names.MaxTagValueLength.ToString(CultureInfo.InvariantCulture)} characters");
            }
        }
    }

    private static async Task UpsertTagsAsync(DbConnection c, DbTransaction tx, string runId, IReadOnlyDictionary<string, string> tags, CancellationToken ct)
    {
        foreach (var (key, value) in tags)
        {
            await c.ExecuteAsync(Cmd(
                "INSERT INTO run_tags (run_id, key, value) VALUES (@runId, @key, @value) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                new { runId, key, value }, tx, ct)).ConfigureAwait(false);
        }
    }

    public Task SetTagsAsync(string runId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        ArgumentNullException.ThrowIfNull(tags);
        ValidateTags(tags);
        return WriteAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            await UpsertTagsAsync(c, tx, runId, tags, cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    public Task LogMetricsAsync(string runId, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            return Task.CompletedTask;
        }
        // validate keys and find the latest point per key of this batch (highest step, then timestamp, then position)
        var latest = new Dictionary<string, MetricPoint>(StringComparer.Ordinal);
        string? lastKey = null;
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (!ReferenceEquals(p.Key, lastKey))
            {
                Names.Key(p.Key, "metric");
                lastKey = p.Key;
            }
            if (!latest.TryGetValue(p.Key, out var best) || p.Step > best.Step || (p.Step == best.Step && p.TimestampUtc >= best.TimestampUtc))
            {
                latest[p.Key] = p;
            }
        }
        var keys = latest.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal); // a fixed order: concurrent writers lock latest rows in the same order
        return WriteAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            await _db.InsertMetricsAsync(c, tx, runId, points, cancellationToken).ConfigureAwait(false);
            foreach (var key in keys)
            {
                var p = latest[key];
                await c.ExecuteAsync(Cmd(
                    """
                    INSERT INTO run_latest_metrics (run_id, key, value, step, ts_us) VALUES (@runId, @key, @value, @step, @ts)
                    ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts_us = excluded.ts_us
                    WHERE excluded.step > run_latest_metrics.step
                       OR (excluded.step = run_latest_metrics.step AND excluded.ts_us >= run_latest_metrics.ts_us)
                    """,
                    new { runId, key, value = double.IsNaN(p.Value) ? (double?)null : p.Value, step = p.Step, ts = Micros.From(p.TimestampUtc) },
                    tx, cancellationToken)).ConfigureAwait(false);
            }
            return 0;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<MetricPoint>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        Names.Key(key, "metric");
        return await ReadAsync<IReadOnlyList<MetricPoint>>(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            var rows = await c.QueryAsync<MetricRow>(Cmd(
                "SELECT run_id AS RunId, key AS Key, value AS Value, step AS Step, ts_us AS TsUs FROM run_metrics WHERE run_id = @runId AND key = @key ORDER BY step, ts_us, id",
                new { runId, key }, tx, cancellationToken)).ConfigureAwait(false);
            var list = new List<MetricPoint>();
            foreach (var row in rows)
            {
                list.Add(row.ToPoint());
            }
            return list;
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task SetDatasetFingerprintAsync(string runId, DatasetFingerprint dataset, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        ArgumentNullException.ThrowIfNull(dataset);
        Names.Key(dataset.Name, "dataset");
        ArtifactStore.ValidateSha(dataset.Sha256);
        ArgumentNullException.ThrowIfNull(dataset.Schema);
        if (dataset.RowCount < 0)
        {
            throw new TrackingException($"dataset '{dataset.Name}' of run '{runId}' has a negative row count");
        }
        return WriteAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            await c.ExecuteAsync(Cmd(
                """
                INSERT INTO run_datasets (run_id, name, sha256, schema_text, row_count, source) VALUES (@runId, @name, @sha, @schema, @rows, @source)
                ON CONFLICT (run_id, name) DO UPDATE SET sha256 = excluded.sha256, schema_text = excluded.schema_text,
                    row_count = excluded.row_count, source = excluded.source
                """,
                new { runId, name = dataset.Name, sha = dataset.Sha256.ToLowerInvariant(), schema = dataset.Schema, rows = dataset.RowCount, source = dataset.Source },
                tx, cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    public async Task<RunArtifact> RecordArtifactAsync(string runId, string name, StoredArtifact artifact, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        Names.Key(name, "artifact");
        ArgumentNullException.ThrowIfNull(artifact);
        ArtifactStore.ValidateSha(artifact.Sha256);
        var now = NowUs();
        var sha = artifact.Sha256.ToLowerInvariant();
        await WriteAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            await c.ExecuteAsync(Cmd(
                """
                INSERT INTO run_artifacts (run_id, name, sha256, size_bytes, created_us) VALUES (@runId, @name, @sha, @size, @now)
                ON CONFLICT (run_id, name) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes, created_us = excluded.created_us
                """,
                new { runId, name, sha, size = artifact.SizeBytes, now }, tx, cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
        return new RunArtifact(name, sha, artifact.SizeBytes, Micros.To(now));
    }

    public async Task<RunArtifact> LogArtifactAsync(string runId, string name, Stream content, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        Names.Key(name, "artifact");
        var stored = await Artifacts.PutAsync(content, cancellationToken).ConfigureAwait(false);
        return await RecordArtifactAsync(runId, name, stored, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> OpenArtifactAsync(string runId, string name, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        var sha = await ReadAsync(async (c, tx) =>
        {
            await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            return await c.ExecuteScalarAsync<string?>(Cmd(
                "SELECT sha256 FROM run_artifacts WHERE run_id = @runId AND name = @name", new { runId, name }, tx, cancellationToken)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (sha is null)
        {
            throw new TrackingException($"run '{runId}' has no artifact named '{name}'");
        }
        return await Artifacts.OpenReadAsync(sha, $"artifact '{name}' of run '{runId}'", cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- registry

    private const string VersionSelect = """
        SELECT model_name AS ModelName, version AS Version, source_run_id AS SourceRunId, bundle_sha256 AS BundleSha256,
               feature_schema AS FeatureSchema, metrics_json AS MetricsJson, description AS Description, stage AS Stage,
               created_us AS CreatedUs
        FROM model_versions
        """;

    private const string HistorySelect = """
        SELECT id AS Id, model_name AS ModelName, action AS Action, target AS Target, from_version AS FromVersion,
               to_version AS ToVersion, from_stage AS FromStage, actor AS Actor, reason AS Reason, ts_us AS TsUs
        FROM registry_history
        """;

    public async Task<RegisteredModel> CreateRegisteredModelAsync(string name, string? description = null, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        await WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(Cmd(
                "INSERT INTO registered_models (name, description, created_us, last_version) VALUES (@name, @description, @now, 0) ON CONFLICT (name) DO NOTHING",
                new { name, description, now = NowUs() }, tx, cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);
        return await GetRegisteredModelAsync(name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        return await ReadAsync(async (c, tx) =>
        {
            var models = await LoadModelsAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            return models.Count == 1 ? models[0] : throw await UnknownModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<RegisteredModel>> ListRegisteredModelsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync((c, tx) => LoadModelsAsync(c, tx, null, cancellationToken), cancellationToken);

    private static async Task<IReadOnlyList<RegisteredModel>> LoadModelsAsync(DbConnection c, DbTransaction tx, string? name, CancellationToken ct)
    {
        var where = name is null ? "" : " WHERE name = @name";
        var models = await c.QueryAsync<ModelRow>(Cmd(
            $"SELECT name AS Name, description AS Description, created_us AS CreatedUs, last_version AS LastVersion FROM registered_models{where} ORDER BY name",
            new { name }, tx, ct)).ConfigureAwait(false);
        var aliasWhere = name is null ? "" : " WHERE model_name = @name";
        var aliases = (await c.QueryAsync<AliasRow>(Cmd(
            $"SELECT model_name AS ModelName, alias AS Alias, version AS Version FROM model_aliases{aliasWhere} ORDER BY alias",
            new { name }, tx, ct)).ConfigureAwait(false)).AsList();
        var result = new List<RegisteredModel>();
        foreach (var m in models)
        {
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var a in aliases)
            {
                if (a.ModelName == m.Name)
                {
                    map[a.Alias] = checked((int)a.Version);
                }
            }
            result.Add(new RegisteredModel(m.Name, m.Description, Micros.To(m.CreatedUs), checked((int)m.LastVersion), map));
        }
        return result;
    }

    public async Task<ModelVersion> CreateModelVersionAsync(string name, NewModelVersion version, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        ArgumentNullException.ThrowIfNull(version);
        ArtifactStore.ValidateSha(version.BundleSha256);
        if (string.IsNullOrWhiteSpace(version.FeatureSchema))
        {
            throw new TrackingException($"model '{name}': a new version needs its feature schema");
        }
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in version.Metrics)
        {
            metrics[Names.Key(key, "metric")] = value;
        }
        var metricsJson = JsonSerializer.Serialize(metrics, TrackingJson.Default.DictionaryStringDouble);
        var sha = version.BundleSha256.ToLowerInvariant();
        // a version never points at a bundle that is missing or damaged at registration time
        await Artifacts.VerifyAsync(sha, $"bundle of a new version of model '{name}'", cancellationToken).ConfigureAwait(false);
        var now = NowUs();
        var number = await WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(Cmd(
                "INSERT INTO registered_models (name, description, created_us, last_version) VALUES (@name, NULL, @now, 0) ON CONFLICT (name) DO NOTHING",
                new { name, now }, tx, cancellationToken)).ConfigureAwait(false);
            if (version.SourceRunId is { } runId)
            {
                await EnsureRunAsync(c, tx, runId, cancellationToken).ConfigureAwait(false);
            }
            // the UPDATE takes the model row lock: concurrent creators get distinct, consecutive numbers
            var next = await c.ExecuteScalarAsync<long>(Cmd(
                "UPDATE registered_models SET last_version = last_version + 1 WHERE name = @name RETURNING last_version",
                new { name }, tx, cancellationToken)).ConfigureAwait(false);
            await c.ExecuteAsync(Cmd(
                """
                INSERT INTO model_versions (model_name, version, source_run_id, bundle_sha256, feature_schema, metrics_json, description, stage, created_us)
                VALUES (@name, @next, @runId, @sha, @schema, @metricsJson, @description, 'None', @now)
                """,
                new { name, next, runId = version.SourceRunId, sha, schema = version.FeatureSchema, metricsJson, description = version.Description, now },
                tx, cancellationToken)).ConfigureAwait(false);
            if (_db.NotifyRegistryChangeSql is { } notify)
            {
                await c.ExecuteAsync(Cmd(notify, new { name }, tx, cancellationToken)).ConfigureAwait(false); // servers following /latest
            }
            return checked((int)next);
        }, cancellationToken).ConfigureAwait(false);
        return new ModelVersion
        {
            ModelName = name,
            Version = number,
            SourceRunId = version.SourceRunId,
            BundleSha256 = sha,
            FeatureSchema = version.FeatureSchema,
            Metrics = metrics,
            Description = version.Description,
            CreatedUtc = Micros.To(now),
            Stage = ModelStage.None,
            Aliases = [],
        };
    }

    public async Task<ModelVersion> GetModelVersionAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        return await ReadAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<VersionRow>(Cmd(
                $"{VersionSelect} WHERE model_name = @name AND version = @version", new { name, version = (long)version }, tx, cancellationToken)).ConfigureAwait(false);
            if (row is null)
            {
                throw await MissingVersionAsync(c, tx, name, version, cancellationToken).ConfigureAwait(false);
            }
            return await WithAliasesAsync(c, tx, row, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TrackingException> MissingVersionAsync(DbConnection c, DbTransaction tx, string name, int version, CancellationToken ct)
    {
        var last = await c.ExecuteScalarAsync<long?>(Cmd("SELECT last_version FROM registered_models WHERE name = @name", new { name }, tx, ct)).ConfigureAwait(false);
        return last is null
            ? await UnknownModelAsync(c, tx, name, ct).ConfigureAwait(false)
            : new TrackingException($"model '{name}' has no version {version.ToString(CultureInfo.InvariantCulture)} (versions 1 to {last.Value.ToString(CultureInfo.InvariantCulture)} exist)");
    }

    private static async Task<ModelVersion> WithAliasesAsync(DbConnection c, DbTransaction tx, VersionRow row, CancellationToken ct)
    {
        var aliases = await c.QueryAsync<string>(Cmd(
            "SELECT alias FROM model_aliases WHERE model_name = @name AND version = @version ORDER BY alias",
            new { name = row.ModelName, version = row.Version }, tx, ct)).ConfigureAwait(false);
        return row.ToVersion(aliases.AsList());
    }

    public async Task<IReadOnlyList<ModelVersion>> ListModelVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        return await ReadAsync<IReadOnlyList<ModelVersion>>(async (c, tx) =>
        {
            var exists = await c.ExecuteScalarAsync<long?>(Cmd("SELECT last_version FROM registered_models WHERE name = @name", new { name }, tx, cancellationToken)).ConfigureAwait(false);
            if (exists is null)
            {
                throw await UnknownModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            }
            var rows = await c.QueryAsync<VersionRow>(Cmd($"{VersionSelect} WHERE model_name = @name ORDER BY version", new { name }, tx, cancellationToken)).ConfigureAwait(false);
            var aliases = (await c.QueryAsync<AliasRow>(Cmd(
                "SELECT model_name AS ModelName, alias AS Alias, version AS Version FROM model_aliases WHERE model_name = @name ORDER BY alias",
                new { name }, tx, cancellationToken)).ConfigureAwait(false)).AsList();
            var result = new List<ModelVersion>();
            foreach (var row in rows)
            {
                var mine = new List<string>();
                foreach (var a in aliases)
                {
                    if (a.Version == row.Version)
                    {
                        mine.Add(a.Alias);
                    }
                }
                result.Add(row.ToVersion(mine));
            }
            return result;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Locks the model row for the rest of the transaction; throws when the model is unknown.</summary>
    private async Task LockModelAsync(DbConnection c, DbTransaction tx, string name, CancellationToken ct)
    {
        var found = await c.ExecuteScalarAsync<string?>(Cmd(
            $"SELECT name FROM registered_models WHERE name = @name{_db.ForUpdate}", new { name }, tx, ct)).ConfigureAwait(false);
        if (found is null)
        {
            throw await UnknownModelAsync(c, tx, name, ct).ConfigureAwait(false);
        }
    }

    private async Task<string> RequireVersionAsync(DbConnection c, DbTransaction tx, string name, int version, CancellationToken ct)
    {
        var stage = await c.ExecuteScalarAsync<string?>(Cmd(
            "SELECT stage FROM model_versions WHERE model_name = @name AND version = @version", new { name, version = (long)version }, tx, ct)).ConfigureAwait(false);
        return stage ?? throw await MissingVersionAsync(c, tx, name, version, ct).ConfigureAwait(false);
    }

    private async Task<RegistryHistoryEntry> RecordAsync(DbConnection c, DbTransaction tx, string name, RegistryAction action, string target,
        int? from, int? to, ModelStage? fromStage, string actor, string? reason, long now, CancellationToken ct)
    {
        var id = await c.ExecuteScalarAsync<long>(Cmd(
            """
            INSERT INTO registry_history (model_name, action, target, from_version, to_version, from_stage, actor, reason, ts_us)
            VALUES (@name, @action, @target, @from, @to, @fromStage, @actor, @reason, @now) RETURNING id
            """,
            new { name, action = StoreText.Action(action), target, from = (long?)from, to = (long?)to, fromStage = fromStage?.ToString(), actor, reason, now },
            tx, ct)).ConfigureAwait(false);
        if (_db.NotifyRegistryChangeSql is { } notify)
        {
            // every registry change (alias, stage, rollback) is recorded here: announce it to listening servers on commit
            await c.ExecuteAsync(Cmd(notify, new { name }, tx, ct)).ConfigureAwait(false);
        }
        return new RegistryHistoryEntry(id, name, action, target, from, to, fromStage, actor, reason, Micros.To(now));
    }

    private static async Task<int?> CurrentAliasAsync(DbConnection c, DbTransaction tx, string name, string alias, CancellationToken ct)
    {
        var v = await c.ExecuteScalarAsync<long?>(Cmd(
            "SELECT version FROM model_aliases WHERE model_name = @name AND alias = @alias", new { name, alias }, tx, ct)).ConfigureAwait(false);
        return v is { } x ? checked((int)x) : null;
    }

    private static Task PointAliasAsync(DbConnection c, DbTransaction tx, string name, string alias, int version, long now, CancellationToken ct) =>
        c.ExecuteAsync(Cmd(
            """
            INSERT INTO model_aliases (model_name, alias, version, updated_us) VALUES (@name, @alias, @version, @now)
            ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version, updated_us = excluded.updated_us
            """,
            new { name, alias, version = (long)version, now }, tx, ct));

    public Task<RegistryHistoryEntry> SetAliasAsync(string name, string alias, int version, string actor, string? reason = null, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        Names.Alias(alias);
        actor = Names.Actor(actor);
        return WriteAsync(async (c, tx) =>
        {
            await LockModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            await RequireVersionAsync(c, tx, name, version, cancellationToken).ConfigureAwait(false);
            var from = await CurrentAliasAsync(c, tx, name, alias, cancellationToken).ConfigureAwait(false);
            var now = NowUs();
            await PointAliasAsync(c, tx, name, alias, version, now, cancellationToken).ConfigureAwait(false);
            return await RecordAsync(c, tx, name, RegistryAction.SetAlias, alias, from, version, null, actor, reason, now, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<RegistryHistoryEntry> DeleteAliasAsync(string name, string alias, string actor, string? reason = null, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        Names.Alias(alias);
        actor = Names.Actor(actor);
        return WriteAsync(async (c, tx) =>
        {
            await LockModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            var from = await CurrentAliasAsync(c, tx, name, alias, cancellationToken).ConfigureAwait(false)
                ?? throw new TrackingException($"model '{name}' has no alias '{alias}'");
            await c.ExecuteAsync(Cmd("DELETE FROM model_aliases WHERE model_name = @name AND alias = @alias", new { name, alias }, tx, cancellationToken)).ConfigureAwait(false);
            return await RecordAsync(c, tx, name, RegistryAction.DeleteAlias, alias, from, null, null, actor, reason, NowUs(), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<RegistryHistoryEntry> RollbackAliasAsync(string name, string alias, string actor, string? reason = null, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        Names.Alias(alias);
        actor = Names.Actor(actor);
        return WriteAsync(async (c, tx) =>
        {
            await LockModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            var current = await CurrentAliasAsync(c, tx, name, alias, cancellationToken).ConfigureAwait(false)
                ?? throw new TrackingException($"model '{name}' has no alias '{alias}' to roll back");
            // Walk back one step of the alias's history per call: replay its moves as a stack (a set pushes the new
            // version, a rollback pops one, a delete empties it), so 1 -> 2 -> 3 rolls back to 2, then to 1.
            var moves = (await c.QueryAsync<HistoryRow>(Cmd(
                $"""
                {HistorySelect}
                WHERE model_name = @name AND target = @alias AND action IN ('SET_ALIAS', 'ROLLBACK', 'DELETE_ALIAS')
                ORDER BY id
                """,
                new { name, alias }, tx, cancellationToken)).ConfigureAwait(false)).AsList();
            var stack = AliasStack(moves);
            if (stack.Count < 2 || stack[^1] != current)
            {
                throw new TrackingException(
                    $"model '{name}' alias '{alias}' has no previous version to roll back to: version {current.ToString(CultureInfo.InvariantCulture)} is the first it pointed at");
            }

            var previous = stack[^2];
            var to = checked((int)previous);
            var now = NowUs();
            await PointAliasAsync(c, tx, name, alias, to, now, cancellationToken).ConfigureAwait(false);
            return await RecordAsync(c, tx, name, RegistryAction.Rollback, alias, current, to, null, actor, reason, now, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>The versions an alias went through, oldest first, with rolled-back moves removed (see <see cref="RollbackAliasAsync"/>).</summary>
    internal static List<long> AliasStack(IEnumerable<HistoryRow> moves)
    {
        var stack = new List<long>();
        foreach (var m in moves)
        {
            switch (m.Action)
            {
                case "DELETE_ALIAS":
                    stack.Clear();
                    break;
                case "ROLLBACK":
                    if (stack.Count > 0)
                    {
                        stack.RemoveAt(stack.Count - 1);
                    }

                    if (m.ToVersion is { } back && (stack.Count == 0 || stack[^1] != back))
                    {
                        stack.Add(back);
                    }

                    break;
                default:
                    if (stack.Count == 0 && m.FromVersion is { } from)
                    {
                        stack.Add(from);
                    }

                    if (m.ToVersion is { } to && (stack.Count == 0 || stack[^1] != to))
                    {
                        stack.Add(to);
                    }

                    break;
            }
        }

        return stack;
    }

    public Task<IReadOnlyList<RegistryHistoryEntry>> SetStageAsync(string name, int version, ModelStage stage, string actor, string? reason = null, bool archiveExisting = false, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        actor = Names.Actor(actor);
        if (!Enum.IsDefined(stage))
        {
            throw new TrackingException($"unknown stage {stage}: use None, Staging, Production or Archived");
        }
        if (archiveExisting && stage is not (ModelStage.Staging or ModelStage.Production))
        {
            throw new TrackingException($"archiving existing versions is only possible when moving to Staging or Production, not {stage}");
        }
        return WriteAsync<IReadOnlyList<RegistryHistoryEntry>>(async (c, tx) =>
        {
            await LockModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            var fromStage = Enum.Parse<ModelStage>(await RequireVersionAsync(c, tx, name, version, cancellationToken).ConfigureAwait(false));
            var stageText = stage.ToString();
            var others = (await c.QueryAsync<long>(Cmd(
                "SELECT version FROM model_versions WHERE model_name = @name AND stage = @stageText AND version <> @version ORDER BY version DESC",
                new { name, stageText, version = (long)version }, tx, cancellationToken)).ConfigureAwait(false)).AsList();
            int? previousInStage = others.Count > 0 ? checked((int)others[0]) : null;
            var now = NowUs();
            await c.ExecuteAsync(Cmd("UPDATE model_versions SET stage = @stageText WHERE model_name = @name AND version = @version",
                new { name, stageText, version = (long)version }, tx, cancellationToken)).ConfigureAwait(false);
            var entries = new List<RegistryHistoryEntry>
            {
                await RecordAsync(c, tx, name, RegistryAction.SetStage, stageText, previousInStage, version, fromStage, actor, reason, now, cancellationToken).ConfigureAwait(false),
            };
            if (archiveExisting)
            {
                var archived = nameof(ModelStage.Archived);
                foreach (var other in others)
                {
                    var previousArchived = await c.ExecuteScalarAsync<long?>(Cmd(
                        "SELECT MAX(version) FROM model_versions WHERE model_name = @name AND stage = @archived AND version <> @other",
                        new { name, archived, other }, tx, cancellationToken)).ConfigureAwait(false);
                    await c.ExecuteAsync(Cmd("UPDATE model_versions SET stage = @archived WHERE model_name = @name AND version = @other",
                        new { name, archived, other }, tx, cancellationToken)).ConfigureAwait(false);
                    entries.Add(await RecordAsync(c, tx, name, RegistryAction.SetStage, archived,
                        previousArchived is { } pa ? checked((int)pa) : null, checked((int)other), stage, actor,
                        $"archived because version {version.ToString(CultureInfo.InvariantCulture)} moved to {stageText}" + (reason is null ? "" : ": " + reason),
                        now, cancellationToken).ConfigureAwait(false));
                }
            }
            return entries;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<RegistryHistoryEntry>> GetHistoryAsync(string name, string? target = null, CancellationToken cancellationToken = default)
    {
        Names.ModelName(name);
        return await ReadAsync<IReadOnlyList<RegistryHistoryEntry>>(async (c, tx) =>
        {
            var exists = await c.ExecuteScalarAsync<long?>(Cmd("SELECT last_version FROM registered_models WHERE name = @name", new { name }, tx, cancellationToken)).ConfigureAwait(false);
            if (exists is null)
            {
                throw await UnknownModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false);
            }
            var where = target is null ? "WHERE model_name = @name" : "WHERE model_name = @name AND target = @target";
            var rows = await c.QueryAsync<HistoryRow>(Cmd($"{HistorySelect} {where} ORDER BY id", new { name, target }, tx, cancellationToken)).ConfigureAwait(false);
            var list = new List<RegistryHistoryEntry>();
            foreach (var row in rows)
            {
                list.Add(row.ToEntry());
            }
            return list;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ModelVersion> ResolveAsync(ModelUri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Kind == ModelUriKind.Version)
        {
            return await GetModelVersionAsync(uri.Name, uri.Version!.Value, cancellationToken).ConfigureAwait(false);
        }
        return await ReadAsync(async (c, tx) =>
        {
            var name = uri.Name;
            var (sql, args) = uri.Kind switch
            {
                ModelUriKind.Alias => (
                    """
                    SELECT v.model_name AS ModelName, v.version AS Version, v.source_run_id AS SourceRunId, v.bundle_sha256 AS BundleSha256,
                           v.feature_schema AS FeatureSchema, v.metrics_json AS MetricsJson, v.description AS Description, v.stage AS Stage,
                           v.created_us AS CreatedUs
                    FROM model_aliases a JOIN model_versions v ON v.model_name = a.model_name AND v.version = a.version
                    WHERE a.model_name = @name AND a.alias = @alias
                    """,
                    (object)new { name, alias = uri.Alias }),
                ModelUriKind.Stage => ($"{VersionSelect} WHERE model_name = @name AND stage = @stage ORDER BY version DESC LIMIT 1",
                    new { name, stage = uri.Stage!.Value.ToString() }),
                _ => ($"{VersionSelect} WHERE model_name = @name ORDER BY version DESC LIMIT 1", new { name }),
            };
            var row = await c.QuerySingleOrDefaultAsync<VersionRow>(Cmd(sql, args, tx, cancellationToken)).ConfigureAwait(false);
            if (row is null)
            {
                var exists = await c.ExecuteScalarAsync<long?>(Cmd("SELECT last_version FROM registered_models WHERE name = @name", new { name }, tx, cancellationToken)).ConfigureAwait(false);
                if (exists is null)
                {
                    throw new TrackingException($"{uri}: {(await UnknownModelAsync(c, tx, name, cancellationToken).ConfigureAwait(false)).Message}");
                }
                throw new TrackingException(uri.Kind switch
                {
                    ModelUriKind.Alias => $"{uri}: model '{name}' has no alias '{uri.Alias}'",
                    ModelUriKind.Stage => $"{uri}: model '{name}' has no version in stage {uri.Stage}",
                    _ => $"{uri}: model '{name}' has no versions",
                });
            }
            return await WithAliasesAsync(c, tx, row, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<string> GetVerifiedBundlePathAsync(ModelVersion version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        return Artifacts.GetVerifiedPathAsync(version.BundleSha256,
            $"bundle of model '{version.ModelName}' version {version.Version.ToString(CultureInfo.InvariantCulture)}", cancellationToken);
    }
}
