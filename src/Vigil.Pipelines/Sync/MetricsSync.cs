using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;
using Npgsql;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>One row of <c>FRAUD_MODEL_METRICS</c>.</summary>
/// <param name="Model">The registered model name.</param>
/// <param name="Version">The model version.</param>
/// <param name="Window">What the value covers: <c>training</c> (the metrics of the run that trained the version, or the
/// version's own snapshot), or a lake window (its <c>window</c> column, else the partition date <c>YYYY-MM-DD</c>).</param>
/// <param name="Metric">The metric name (<c>auc_pr</c>, <c>recall_at_fpr_0.05</c>, ...).</param>
/// <param name="Value">The value (the mean over the rows of a lake window).</param>
/// <param name="ComputedAt">When it was computed (UTC, microseconds): the metric's timestamp, else the version's creation, else the latest <c>computed_at</c> of the lake rows, else the partition date.</param>
public sealed record WarehouseMetric(string Model, int Version, string Window, string Metric, double Value, DateTime ComputedAt);

/// <summary>What to sync where.</summary>
public sealed record MetricsSyncOptions
{
    /// <summary><c>postgres://user:pass@host:port/db</c> (or an Npgsql connection string) or <c>duckdb:FILE</c>. Required.</summary>
    public required string Target { get; init; }

    /// <summary>The tracking store whose registered versions' run metrics are synced, or null.</summary>
    public ITrackingStore? Store { get; init; }

    /// <summary>The lake whose <c>metrics</c> zone is aggregated and synced, or null.</summary>
    public Lakehouse? Lake { get; init; }
}

/// <summary>What a sync did.</summary>
/// <param name="Target">The target, for messages (no password).</param>
/// <param name="Table">The table name.</param>
/// <param name="Rows">Rows computed from the sources.</param>
/// <param name="Inserted">Rows that were not in the table.</param>
/// <param name="Updated">Rows whose value or computed_at changed.</param>
/// <param name="Unchanged">Rows already present with the same value and computed_at.</param>
public sealed record MetricsSyncResult(string Target, string Table, int Rows, int Inserted, int Updated, int Unchanged);

/// <summary>
/// Upserts aggregated model metrics into the warehouse table <c>FRAUD_MODEL_METRICS</c> (model, version, window, metric,
/// value, computed_at; primary key model, version, window, metric) in PostgreSQL or a DuckDB file, creating it when
/// missing. Idempotent: every value and timestamp comes from the sources (never the time of the sync), so a second run
/// with unchanged sources writes nothing and leaves the same rows. One transaction per sync.
/// </summary>
public static class MetricsSync
{
    /// <summary>The table name (unquoted: PostgreSQL stores it as <c>fraud_model_metrics</c>, and any case reads it).</summary>
    public const string Table = "FRAUD_MODEL_METRICS";

    /// <summary>Collects the rows from the sources and upserts them.</summary>
    /// <exception cref="LakeException">The target is invalid or unreachable, or the lake's metrics zone lacks columns.</exception>
    public static async Task<MetricsSyncResult> SyncAsync(MetricsSyncOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = ParseTarget(options.Target);
        var rows = new Dictionary<(string, int, string, string), WarehouseMetric>();
        if (options.Store is { } store)
        {
            foreach (var row in await FromStoreAsync(store, cancellationToken).ConfigureAwait(false))
            {
                rows[(row.Model, row.Version, row.Window, row.Metric)] = row;
            }
        }

        if (options.Lake is { } lake)
        {
            foreach (var row in await FromLakeAsync(lake, cancellationToken).ConfigureAwait(false))
            {
                rows[(row.Model, row.Version, row.Window, row.Metric)] = row;
            }
        }

        var ordered = rows.Values.OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Version)
            .ThenBy(r => r.Window, StringComparer.Ordinal).ThenBy(r => r.Metric, StringComparer.Ordinal).ToList();
        try
        {
            return await UpsertAsync(target, ordered, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new LakeException($"metrics sync to {target.Describe}: {FirstLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// The <c>training</c> rows: for every version of every registered model, the latest metrics of its source run (or,
    /// without one, the metrics recorded with the version).
    /// </summary>
    public static async Task<IReadOnlyList<WarehouseMetric>> FromStoreAsync(ITrackingStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = new List<WarehouseMetric>();
        foreach (var model in await store.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (var version in await store.ListModelVersionsAsync(model.Name, cancellationToken).ConfigureAwait(false))
            {
                if (version.SourceRunId is { } runId)
                {
                    var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
                    foreach (var (key, point) in run.LatestMetrics)
                    {
                        if (double.IsFinite(point.Value))
                        {
                            result.Add(new WarehouseMetric(model.Name, version.Version, "training", key, point.Value, Micros(point.TimestampUtc.UtcDateTime)));
                        }
                    }

                    if (run.LatestMetrics.Count > 0)
                    {
                        continue;
                    }
                }

                foreach (var (key, value) in version.Metrics)
                {
                    if (double.IsFinite(value))
                    {
                        result.Add(new WarehouseMetric(model.Name, version.Version, "training", key, value, Micros(version.CreatedUtc.UtcDateTime)));
                    }
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The lake rows: the <c>metrics</c> zone (columns <c>model</c>, <c>version</c>, <c>metric</c>, <c>value</c>; optional
    /// <c>window</c> and <c>computed_at</c>) averaged per model, version, window (default: the partition date) and metric.
    /// </summary>
    public static async Task<IReadOnlyList<WarehouseMetric>> FromLakeAsync(Lakehouse lake, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lake);
        var partitions = await lake.ListAsync(LakeZone.Metrics, cancellationToken).ConfigureAwait(false);
        if (partitions.Count == 0)
        {
            return [];
        }

        var columns = (await lake.QueryAsync("SELECT column_name FROM (DESCRIBE metrics)", cancellationToken).ConfigureAwait(false))
            .Rows.Select(r => ((string)r[0]!).ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        var missing = new[] { "model", "version", "metric", "value" }.Where(c => !columns.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            throw new LakeException($"lake {lake.Location}: the metrics zone lacks the column(s) {string.Join(", ", missing)} (needs model, version, metric, value; window and computed_at are optional)");
        }

        var window = columns.Contains("window") ? "coalesce(CAST(\"window\" AS VARCHAR), CAST(date AS VARCHAR))" : "CAST(date AS VARCHAR)";
        var computed = columns.Contains("computed_at") ? "coalesce(max(CAST(computed_at AS TIMESTAMP)), max(CAST(date AS TIMESTAMP)))" : "max(CAST(date AS TIMESTAMP))";
        var answer = await lake.QueryAsync(
            $"""
            SELECT CAST(model AS VARCHAR), CAST(version AS INTEGER), {window} AS w, CAST(metric AS VARCHAR), avg(CAST(value AS DOUBLE)), {computed}
            FROM metrics WHERE model IS NOT NULL AND version IS NOT NULL AND metric IS NOT NULL AND value IS NOT NULL
            GROUP BY 1, 2, 3, 4
            """, cancellationToken).ConfigureAwait(false);
        var result = new List<WarehouseMetric>(answer.Rows.Count);
        foreach (var r in answer.Rows)
        {
            var value = (double)r[4]!;
            if (double.IsFinite(value))
            {
                result.Add(new WarehouseMetric((string)r[0]!, (int)r[1]!, (string)r[2]!, (string)r[3]!, value, Micros(DateTime.SpecifyKind((DateTime)r[5]!, DateTimeKind.Utc))));
            }
        }

        return result;
    }

    private sealed record Target(bool Postgres, string ConnectionString, string Describe);

    private static Target ParseTarget(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        spec = spec.Trim();
        if (StoreFactory.IsPostgres(spec))
        {
            string cs;
            try
            {
                cs = StoreFactory.ToNpgsqlConnectionString(spec);
            }
            catch (TrackingException e)
            {
                throw new LakeException($"--to: {e.Message}", e);
            }

            return new Target(true, cs, StoreFactory.Describe(spec));
        }

        if (spec.StartsWith("duckdb:", StringComparison.OrdinalIgnoreCase))
        {
            var file = spec["duckdb:".Length..];
            if (file.Length == 0)
            {
                throw new LakeException("--to duckdb: names no file (use duckdb:PATH)");
            }

            var full = Path.GetFullPath(file);
            return new Target(false, "DataSource=" + full, "duckdb " + full);
        }

        throw new LakeException($"--to '{spec}': use postgres://user:password@host:port/database or duckdb:FILE");
    }

    private static async Task<MetricsSyncResult> UpsertAsync(Target target, IReadOnlyList<WarehouseMetric> rows, CancellationToken cancellationToken)
    {
        DbConnection connection = target.Postgres ? new NpgsqlConnection(target.ConnectionString) : new DuckDBConnection(target.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            if (!target.Postgres && Path.GetDirectoryName(target.ConnectionString["DataSource=".Length..]) is { Length: > 0 } folder)
            {
                Directory.CreateDirectory(folder);
            }

            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!target.Postgres && DuckDb.IsMissingNative(e))
            {
                throw DuckDb.Missing(e);
            }

            var timestamp = target.Postgres ? "TIMESTAMPTZ" : "TIMESTAMP";
            await ExecuteAsync(connection, null, $"""
                CREATE TABLE IF NOT EXISTS {Table} (
                    model VARCHAR NOT NULL,
                    version INTEGER NOT NULL,
                    "window" VARCHAR NOT NULL,
                    metric VARCHAR NOT NULL,
                    value DOUBLE PRECISION NOT NULL,
                    computed_at {timestamp} NOT NULL,
                    PRIMARY KEY (model, version, "window", metric))
                """, [], cancellationToken).ConfigureAwait(false);

            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var existing = new Dictionary<(string, int, string, string), (double Value, DateTime At)>();
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = tx;
                read.CommandText = $"SELECT model, version, \"window\", metric, value, computed_at FROM {Table}";
                await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var at = reader.GetValue(5) switch
                    {
                        DateTime d => DateTime.SpecifyKind(d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d, DateTimeKind.Utc),
                        DateTimeOffset o => o.UtcDateTime,
                        var other => System.Convert.ToDateTime(other, CultureInfo.InvariantCulture),
                    };
                    existing[(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3))] = (reader.GetDouble(4), at);
                }
            }

            int inserted = 0, updated = 0, unchanged = 0;
            var upsert = $"""
                INSERT INTO {Table} (model, version, "window", metric, value, computed_at) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (model, version, "window", metric) DO UPDATE SET value = excluded.value, computed_at = excluded.computed_at
                """;
            foreach (var row in rows)
            {
                if (existing.TryGetValue((row.Model, row.Version, row.Window, row.Metric), out var old))
                {
                    if (old.Value.Equals(row.Value) && old.At == row.ComputedAt)
                    {
                        unchanged++;
                        continue;
                    }

                    updated++;
                }
                else
                {
                    inserted++;
                }

                await ExecuteAsync(connection, tx, upsert, [row.Model, row.Version, row.Window, row.Metric, row.Value, row.ComputedAt], cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new MetricsSyncResult(target.Describe, Table, rows.Count, inserted, updated, unchanged);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, object[] values, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var value in values)
        {
            var p = command.CreateParameter();
            p.Value = value;
            command.Parameters.Add(p);
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>UTC truncated to microseconds, the precision both warehouses keep (so a re-read compares equal).</summary>
    private static DateTime Micros(DateTime utc) => new(utc.Ticks - (utc.Ticks % 10), DateTimeKind.Utc);

    private static string FirstLine(string message)
    {
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }
}
