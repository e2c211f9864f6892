using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;
using Npgsql;
using Vigil.Serving.Tests;
using Vigil.Tracking;

namespace Vigil.Pipelines.Tests;

/// <summary>FRAUD_MODEL_METRICS on a real DuckDB file and a real PostgreSQL: rows from the registry and the lake, idempotent.</summary>
public sealed class MetricsSyncTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vigil-sync-tests", Guid.NewGuid().ToString("N"));

    public MetricsSyncTests() => Directory.CreateDirectory(_dir);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A SQLite store with model 'fraud' version 1 trained by a run that logged auc_pr and auc_roc.</summary>
    private async Task<ITrackingStore> StoreWithOneVersionAsync()
    {
        var store = await StoreFactory.OpenAsync(Path.Combine(_dir, "vigil.db"), _dir, Ct);
        var run = await store.CreateRunAsync("fraud", cancellationToken: Ct);
        var at = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero).AddTicks(1234567); // sub-microsecond ticks are dropped
        await store.LogMetricsAsync(run.RunId, [new MetricPoint("auc_pr", 0.61, 0, at), new MetricPoint("auc_roc", 0.93, 0, at)], Ct);
        var bundle = await store.Artifacts.PutAsync(new MemoryStream([1, 2, 3]), Ct);
        await store.CreateModelVersionAsync("fraud", new NewModelVersion { BundleSha256 = bundle.Sha256, FeatureSchema = "amount:float64", SourceRunId = run.RunId }, Ct);
        return store;
    }

    private async Task<Lakehouse> LakeAsync(string metricsCsv)
    {
        var lake = Lakehouse.Open(Path.Combine(_dir, "lake"), _dir);
        var file = Path.Combine(_dir, "m.csv");
        await File.WriteAllTextAsync(file, metricsCsv, Ct);
        await lake.WriteAsync(LakeZone.Metrics, file, new DateOnly(2026, 12, 1), Ct);
        return lake;
    }

    private static async Task<List<string>> RowsAsync(DbConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT model, version, \"window\", metric, value, computed_at FROM FRAUD_MODEL_METRICS ORDER BY 1, 2, 3, 4";
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            var at = reader.GetValue(5) switch
            {
                DateTime d => d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d,
                DateTimeOffset o => o.UtcDateTime,
                var other => throw new InvalidCastException(other.GetType().Name),
            };
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetString(0)}|{reader.GetInt32(1)}|{reader.GetString(2)}|{reader.GetString(3)}|{reader.GetDouble(4)}|{at:yyyy-MM-ddTHH:mm:ss.ffffff}"));
        }

        return rows;
    }

    private static readonly string[] Expected =
    [
        "fraud|1|2026-12-01|psi_amount|0.15",
        "fraud|1|training|auc_pr|0.61|2026-11-30T08:00:00.123456",
        "fraud|1|training|auc_roc|0.93|2026-11-30T08:00:00.123456",
        "fraud|2|weekly|recall_at_fpr_0.05|0.4|2026-12-01T06:00:00.000000",
    ];

    private const string LakeMetrics = """
        model,version,metric,value,window,computed_at
        fraud,1,psi_amount,0.1,,
        fraud,1,psi_amount,0.2,,
        fraud,2,recall_at_fpr_0.05,0.4,weekly,2026-12-01 06:00:00
        """;

    [Fact]
    public async Task Syncing_twice_into_duckdb_leaves_the_same_rows()
    {
        await using var store = await StoreWithOneVersionAsync();
        var lake = await LakeAsync(LakeMetrics.Replace("\r", "", StringComparison.Ordinal) + "\n");
        var options = new MetricsSyncOptions { Target = "duckdb:" + Path.Combine(_dir, "wh", "warehouse.duckdb"), Store = store, Lake = lake };

        var first = await MetricsSync.SyncAsync(options, Ct);
        List<string> afterFirst;
        await using (var duck = new DuckDBConnection("DataSource=" + Path.Combine(_dir, "wh", "warehouse.duckdb")))
        {
            await duck.OpenAsync(Ct);
            afterFirst = await RowsAsync(duck);
        }

        var second = await MetricsSync.SyncAsync(options, Ct);
        List<string> afterSecond;
        await using (var duck = new DuckDBConnection("DataSource=" + Path.Combine(_dir, "wh", "warehouse.duckdb")))
        {
            await duck.OpenAsync(Ct);
            afterSecond = await RowsAsync(duck);
        }

        first.ShouldBe(new MetricsSyncResult("duckdb " + Path.Combine(_dir, "wh", "warehouse.duckdb"), "FRAUD_MODEL_METRICS", 4, 4, 0, 0));
        second.ShouldBe(first with { Inserted = 0, Unchanged = 4 });
        afterSecond.ShouldBe(afterFirst);
        afterFirst.Count.ShouldBe(4);
        afterFirst[0].ShouldStartWith(Expected[0]); // the mean of 0.1 and 0.2 over the 2026-12-01 partition, dated by the partition
        afterFirst[0].ShouldEndWith("|2026-12-01T00:00:00.000000");
        afterFirst.Skip(1).ShouldBe(Expected.Skip(1));
    }

    [Fact]
    public async Task Syncing_twice_into_postgres_leaves_the_same_rows_and_a_changed_value_is_updated()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_sync_");
        await using var store = await StoreWithOneVersionAsync();
        var lake = await LakeAsync(LakeMetrics.Replace("\r", "", StringComparison.Ordinal) + "\n");
        var uri = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        var target = $"postgres://{uri.Username}:{uri.Password}@{uri.Host}:{uri.Port}/{uri.Database}";
        var options = new MetricsSyncOptions { Target = target, Store = store, Lake = lake };

        var first = await MetricsSync.SyncAsync(options, Ct);
        await using var pg = new NpgsqlConnection(db.ConnectionString);
        await pg.OpenAsync(Ct);
        var afterFirst = await RowsAsync(pg);
        var second = await MetricsSync.SyncAsync(options, Ct);
        var afterSecond = await RowsAsync(pg);

        first.Inserted.ShouldBe(4);
        second.Inserted.ShouldBe(0);
        second.Updated.ShouldBe(0);
        second.Unchanged.ShouldBe(4);
        afterSecond.ShouldBe(afterFirst);
        afterFirst.Skip(1).ShouldBe(Expected.Skip(1));

        // a new lake file in the same window changes the mean: one row updated, nothing else touched
        var more = Path.Combine(_dir, "more.csv");
        await File.WriteAllTextAsync(more, "model,version,metric,value\nfraud,1,psi_amount,0.3\n", Ct);
        await lake.WriteAsync(LakeZone.Metrics, more, new DateOnly(2026, 12, 1), Ct);
        var third = await MetricsSync.SyncAsync(options, Ct);
        third.Updated.ShouldBe(1);
        third.Unchanged.ShouldBe(3);
        (await RowsAsync(pg))[0].ShouldStartWith("fraud|1|2026-12-01|psi_amount|0.2");
    }

    [Fact]
    public async Task A_bad_target_or_a_metrics_zone_without_its_columns_is_one_clear_error()
    {
        (await Should.ThrowAsync<LakeException>(() => MetricsSync.SyncAsync(new MetricsSyncOptions { Target = "mysql://x" }, Ct)))
            .Message.ShouldBe("--to 'mysql://x': use postgres://user:password@host:port/database or duckdb:FILE");
        var lake = Lakehouse.Open(Path.Combine(_dir, "lake"), _dir);
        var file = Path.Combine(_dir, "bad.csv");
        await File.WriteAllTextAsync(file, "model,score\nfraud,1\n", Ct);
        await lake.WriteAsync(LakeZone.Metrics, file, new DateOnly(2026, 12, 1), Ct);
        (await Should.ThrowAsync<LakeException>(() => MetricsSync.SyncAsync(new MetricsSyncOptions { Target = "duckdb:" + Path.Combine(_dir, "w.duckdb"), Lake = lake }, Ct)))
            .Message.ShouldContain("the metrics zone lacks the column(s) version, metric, value");
    }
}
