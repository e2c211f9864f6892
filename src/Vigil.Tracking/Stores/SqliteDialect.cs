using System.Data;
using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Vigil.Tracking;

/// <summary>SQLite file store: WAL journal, busy timeout, NORMAL sync, foreign keys; writers take BEGIN IMMEDIATE.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    private const int BusyTimeoutMs = 10_000;
    private readonly string _connectionString;

    /// <summary>The store at <paramref name="path"/>; with <paramref name="create"/> false an absent file is never created (nor its folder).</summary>
    public SqliteDialect(string path, bool create = true)
    {
        Path = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (create && !string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public override string Backend => "sqlite";

    public override string Location => Path;

    public override string ForUpdate => "";

    public override string Contains(string column, string parameter) => $"instr({column}, {parameter}) > 0";

    public override string InList(string column, string parameter) => $"{column} IN {parameter}"; // Dapper expands the list

    public override IReadOnlyList<string> Migrations { get; } =
    [
        // 1: tracking
        """
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_us INTEGER NOT NULL);
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments (id),
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            start_us INTEGER NOT NULL,
            end_us INTEGER,
            code_version TEXT,
            host TEXT,
            pid INTEGER,
            pid_start_us INTEGER);
        CREATE INDEX ix_runs_experiment_start ON runs (experiment_id, start_us);
        CREATE INDEX ix_runs_status ON runs (status);
        CREATE TABLE run_params (
            run_id TEXT NOT NULL REFERENCES runs (id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE run_tags (
            run_id TEXT NOT NULL REFERENCES runs (id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE run_metrics (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs (id),
            key TEXT NOT NULL,
            value REAL,
            step INTEGER NOT NULL,
            ts_us INTEGER NOT NULL);
        CREATE INDEX ix_run_metrics_series ON run_metrics (run_id, key, step);
        CREATE TABLE run_latest_metrics (
            run_id TEXT NOT NULL REFERENCES runs (id),
            key TEXT NOT NULL,
            value REAL,
            step INTEGER NOT NULL,
            ts_us INTEGER NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE run_artifacts (
            run_id TEXT NOT NULL REFERENCES runs (id),
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created_us INTEGER NOT NULL,
            PRIMARY KEY (run_id, name));
        CREATE TABLE run_datasets (
            run_id TEXT NOT NULL REFERENCES runs (id),
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            schema_text TEXT NOT NULL,
            row_count INTEGER NOT NULL,
            source TEXT,
            PRIMARY KEY (run_id, name));
        """,
        // 2: registry
        """
        CREATE TABLE registered_models (
            name TEXT PRIMARY KEY,
            description TEXT,
            created_us INTEGER NOT NULL,
            last_version INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE model_versions (
            model_name TEXT NOT NULL REFERENCES registered_models (name),
            version INTEGER NOT NULL,
            source_run_id TEXT REFERENCES runs (id),
            bundle_sha256 TEXT NOT NULL,
            feature_schema TEXT NOT NULL,
            metrics_json TEXT NOT NULL,
            description TEXT,
            stage TEXT NOT NULL DEFAULT 'None',
            created_us INTEGER NOT NULL,
            PRIMARY KEY (model_name, version));
        CREATE INDEX ix_model_versions_stage ON model_versions (model_name, stage, version);
        CREATE TABLE model_aliases (
            model_name TEXT NOT NULL,
            alias TEXT NOT NULL,
            version INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            PRIMARY KEY (model_name, alias),
            FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version));
        """,
        // 3: audit history of alias and stage changes
        """
        CREATE TABLE registry_history (
            id INTEGER PRIMARY KEY,
            model_name TEXT NOT NULL REFERENCES registered_models (name),
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            from_version INTEGER,
            to_version INTEGER,
            from_stage TEXT,
            actor TEXT NOT NULL,
            reason TEXT,
            ts_us INTEGER NOT NULL);
        CREATE INDEX ix_registry_history_target ON registry_history (model_name, target, id);
        """,
        // 4: parent runs (a search's candidates are children of the search run)
        """
        ALTER TABLE runs ADD COLUMN parent_run_id TEXT REFERENCES runs (id);
        CREATE INDEX ix_runs_parent ON runs (parent_run_id);
        """,
        // 5: inference log (one row per scoring request)
        """
        CREATE TABLE inference_log (
            log_id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            start_us INTEGER NOT NULL,
            end_us INTEGER NOT NULL,
            route TEXT NOT NULL,
            model TEXT,
            version INTEGER,
            status INTEGER NOT NULL,
            row_count INTEGER NOT NULL,
            scored_rows INTEGER NOT NULL,
            request_payload TEXT,
            response_payload TEXT,
            parse_us INTEGER NOT NULL,
            transform_us INTEGER NOT NULL,
            score_us INTEGER NOT NULL,
            error TEXT);
        CREATE INDEX ix_inference_log_model_start ON inference_log (model, start_us);
        CREATE INDEX ix_inference_log_start ON inference_log (start_us);
        """,
        // 6: inference log v2: per-item entries of a request (InferenceItemsCodec), one row per request that has
        // items, in a table clustered by (model, start_us, log_id): reading a model's hour is one range scan of one
        // B-tree, with no index-to-table lookup per request. Rows logged before have no entry here.
        """
        CREATE TABLE inference_items (
            model TEXT NOT NULL,
            start_us INTEGER NOT NULL,
            log_id TEXT NOT NULL,
            version INTEGER,
            request_id TEXT NOT NULL,
            items BLOB NOT NULL,
            PRIMARY KEY (model, start_us, log_id)) WITHOUT ROWID;
        """,
        // 7: inference log rows whose text the writer had to make storable (NUL, invalid UTF-16/UTF-8 replaced)
        """
        ALTER TABLE inference_log ADD COLUMN altered INTEGER NOT NULL DEFAULT 0;
        """,
        // 8: delayed labels joined to logged predictions (vigil labels ingest): one row per labelled item
        """
        CREATE TABLE inference_labels (
            model TEXT NOT NULL,
            request_id TEXT NOT NULL,
            item INTEGER NOT NULL,
            label INTEGER NOT NULL,
            label_us INTEGER,
            ingested_us INTEGER NOT NULL,
            PRIMARY KEY (model, request_id, item)) WITHOUT ROWID;
        """,
        // 9: flow schedules (vigil schedule add|list|remove|pause|resume; vigil scheduler runs them)
        """
        CREATE TABLE flow_schedules (
            name TEXT PRIMARY KEY,
            flow TEXT NOT NULL,
            cron TEXT NOT NULL,
            cron_text TEXT NOT NULL,
            time_zone TEXT NOT NULL,
            params_json TEXT NOT NULL,
            paused INTEGER NOT NULL DEFAULT 0,
            created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            last_fire_us INTEGER);
        """,
        // 10: distributed flows (vigil worker): distributed schedules, step executions and the once-only step commits
        """
        ALTER TABLE flow_schedules ADD COLUMN distributed INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE flow_step_executions (
            id INTEGER PRIMARY KEY,
            step_run_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            worker TEXT NOT NULL,
            started_us INTEGER NOT NULL);
        CREATE INDEX flow_step_executions_attempt ON flow_step_executions (step_run_id, attempt);
        CREATE TABLE flow_step_commits (
            step_run_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            execution INTEGER NOT NULL,
            worker TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            retryable INTEGER NOT NULL DEFAULT 0,
            outputs_json TEXT NOT NULL,
            metrics_json TEXT NOT NULL,
            log_text TEXT NOT NULL,
            committed_us INTEGER NOT NULL,
            PRIMARY KEY (step_run_id, attempt)) WITHOUT ROWID;
        """,
    ];

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = NORMAL;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false));

    public override ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: true));

    public override Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new TrackingException($"SQLite store {Path}: cannot switch to WAL journal mode (got '{mode}'); is the file on a network drive?");
        }
        return Task.CompletedTask;
    }

    public override Task PrepareScanAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // up to 1 GiB of the file mapped (address space only); stays on the pooled connection, which is harmless for writes
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA mmap_size = 1073741824;";
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public override bool IsTransient(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 5 or 6 }; // SQLITE_BUSY, SQLITE_LOCKED

    public override Task InsertMetricsAsync(DbConnection connection, DbTransaction transaction, string runId, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken)
    {
        // Straight to SQLite's C API on the connection's handle (inside the open transaction): one prepared
        // statement, values bound without boxing, each key encoded once per batch.
        var db = ((SqliteConnection)connection).Handle!;
        var rc = raw.sqlite3_prepare_v2(db, "INSERT INTO run_metrics (run_id, key, value, step, ts_us) VALUES (?1, ?2, ?3, ?4, ?5)", out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        using (statement)
        {
            var run = Encoding.UTF8.GetBytes(runId);
            var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            for (var i = 0; i < points.Count; i++)
            {
                if ((i & 4095) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var p = points[i];
                if (!keys.TryGetValue(p.Key, out var key))
                {
                    key = Encoding.UTF8.GetBytes(p.Key);
                    keys.Add(p.Key, key);
                }
                raw.sqlite3_bind_text(statement, 1, run);
                raw.sqlite3_bind_text(statement, 2, key);
                if (double.IsNaN(p.Value))
                {
                    raw.sqlite3_bind_null(statement, 3); // SQLite cannot store NaN: NULL reads back as NaN
                }
                else
                {
                    raw.sqlite3_bind_double(statement, 3, p.Value);
                }
                raw.sqlite3_bind_int64(statement, 4, p.Step);
                raw.sqlite3_bind_int64(statement, 5, Micros.From(p.TimestampUtc));
                rc = raw.sqlite3_step(statement);
                if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, db);
                }
                raw.sqlite3_reset(statement);
            }
        }
        return Task.CompletedTask;
    }

    public override Task InsertInferenceAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<InferenceRecord> batch, bool withItems, CancellationToken cancellationToken)
    {
        // One prepared statement per table re-bound per row through the C API; strings are bound as UTF-16 spans
        // (SQLite copies and converts them). The request rows first; then the items of the requests that were added
        // (not already stored) go in as runs (InferenceItemRuns), one items row per run instead of one per request.
        var db = ((SqliteConnection)connection).Handle!;
        var rc = raw.sqlite3_prepare_v2(db, InferenceInsertSql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        bool[]? added = null;
        using (statement)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if ((i & 1023) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var r = batch[i];
                BindRequest(statement, r);
                Step(db, statement);
                if (withItems && r is { HasItems: true, Model: not null } && raw.sqlite3_changes(db) == 1)
                {
                    (added ??= new bool[batch.Count])[i] = true;
                }
            }
        }
        if (added is null)
        {
            return Task.CompletedTask;
        }
        rc = raw.sqlite3_prepare_v2(db, InferenceItemsInsertSql, out var itemsStatement);
        SqliteException.ThrowExceptionForRC(rc, db);
        using (itemsStatement)
        {
            foreach (var run in InferenceItemRuns.Build(batch, i => added[i]))
            {
                BindText(itemsStatement, 1, run.Model);
                raw.sqlite3_bind_int64(itemsStatement, 2, run.StartUs);
                BindText(itemsStatement, 3, run.LogId);
                if (run.Version is { } version)
                {
                    raw.sqlite3_bind_int64(itemsStatement, 4, version);
                }
                else
                {
                    raw.sqlite3_bind_null(itemsStatement, 4);
                }
                BindText(itemsStatement, 5, run.RequestId);
                raw.sqlite3_bind_blob(itemsStatement, 6, run.Items);
                Step(db, itemsStatement);
            }
        }
        return Task.CompletedTask;
    }

    private static void Step(sqlite3 db, sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
        raw.sqlite3_reset(statement);
    }

    private static void BindRequest(sqlite3_stmt statement, InferenceRecord r)
    {
        BindText(statement, 1, r.LogId);
        BindText(statement, 2, r.RequestId);
        raw.sqlite3_bind_int64(statement, 3, r.StartUs);
        raw.sqlite3_bind_int64(statement, 4, r.EndUs);
        BindText(statement, 5, r.Route);
        BindText(statement, 6, r.Model);
        if (r.Version is { } version)
        {
            raw.sqlite3_bind_int64(statement, 7, version);
        }
        else
        {
            raw.sqlite3_bind_null(statement, 7);
        }
        raw.sqlite3_bind_int64(statement, 8, r.Status);
        raw.sqlite3_bind_int64(statement, 9, r.Rows);
        raw.sqlite3_bind_int64(statement, 10, r.ScoredRows);
        if (r.RequestPayloadUtf8 is { } request)
        {
            raw.sqlite3_bind_text(statement, 11, request.AsSpan());
        }
        else
        {
            BindText(statement, 11, r.RequestPayload);
        }

        if (r.ResponsePayloadUtf8 is { } response)
        {
            raw.sqlite3_bind_text(statement, 12, response.Span);
        }
        else
        {
            BindText(statement, 12, r.ResponsePayload);
        }

        raw.sqlite3_bind_int64(statement, 13, r.ParseUs);
        raw.sqlite3_bind_int64(statement, 14, r.TransformUs);
        raw.sqlite3_bind_int64(statement, 15, r.ScoreUs);
        BindText(statement, 16, r.Error);
    }

    private const string InferenceInsertSql = """
        INSERT INTO inference_log (log_id, request_id, start_us, end_us, route, model, version, status, row_count, scored_rows,
                                   request_payload, response_payload, parse_us, transform_us, score_us, error)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
        ON CONFLICT (log_id) DO NOTHING
        """;

    private const string InferenceItemsInsertSql = """
        INSERT INTO inference_items (model, start_us, log_id, version, request_id, items) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        ON CONFLICT (model, start_us, log_id) DO NOTHING
        """;

    private static void BindText(sqlite3_stmt statement, int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(statement, index); // a NOT NULL column then fails the statement (and the batch)
        }
        else
        {
            raw.sqlite3_bind_text16(statement, index, value.AsSpan());
        }
    }

    public override ValueTask DisposeAsync()
    {
        // close this file's pooled connections (the last close checkpoints the WAL and removes -wal/-shm)
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
