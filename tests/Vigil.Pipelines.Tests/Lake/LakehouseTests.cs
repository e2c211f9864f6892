using System.Globalization;
using DuckDB.NET.Data;
using Vigil.Tracking.Tests;

namespace Vigil.Pipelines.Tests;

/// <summary>The lakehouse zones on a local folder and on Azurite, read back by Vigil and by DuckDB alone.</summary>
public sealed class LakehouseTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vigil-lake-tests", Guid.NewGuid().ToString("N"));

    public LakehouseTests() => Directory.CreateDirectory(_dir);

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

    private string Csv(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string Transactions(int first, int count)
    {
        var lines = new List<string> { "transaction_id,amount,merchant" };
        for (var i = first; i < first + count; i++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i},{i * 1.5},{(i % 2 == 0 ? "grocery" : "fuel")}"));
        }

        return Csv($"tx-{first}.csv", string.Join('\n', lines) + "\n");
    }

    [Fact]
    public async Task A_write_lands_as_hive_partitioned_parquet_that_duckdb_reads_without_vigil()
    {
        var lake = Lakehouse.Open(Path.Combine(_dir, "lake"), _dir);

        var written = await lake.WriteAsync(LakeZone.Raw, Transactions(1, 4), new DateOnly(2026, 11, 30), Ct);

        written.Rows.ShouldBe(4);
        written.Columns.ShouldBe(["transaction_id", "amount", "merchant"]);
        written.Path.ShouldStartWith("raw/date=2026-11-30/part-");
        written.Path.ShouldEndWith(".parquet");
        File.Exists(Path.Combine(_dir, "lake", "raw", "date=2026-11-30", Path.GetFileName(written.Path))).ShouldBeTrue();

        // DuckDB on the files alone, as Spark or Databricks would read the zone: the date comes from the folder.
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = $"SELECT count(*), sum(amount), min(date)::VARCHAR, count(DISTINCT merchant) FROM read_parquet('{Path.Combine(_dir, "lake", "raw", "**", "*.parquet")}', hive_partitioning = true)";
        using var reader = command.ExecuteReader();
        reader.Read().ShouldBeTrue();
        Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture).ShouldBe(4);
        reader.GetDouble(1).ShouldBe(1.5 + 3 + 4.5 + 6);
        reader.GetString(2).ShouldBe("2026-11-30");
        Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture).ShouldBe(2);
    }

    [Fact]
    public async Task Query_reads_what_write_wrote_across_zones_and_dates()
    {
        var lake = Lakehouse.Open(Path.Combine(_dir, "lake"), _dir);
        await lake.WriteAsync(LakeZone.Raw, Transactions(1, 3), new DateOnly(2026, 11, 29), Ct);
        await lake.WriteAsync(LakeZone.Raw, Transactions(10, 5), new DateOnly(2026, 11, 30), Ct);
        await lake.WriteAsync(LakeZone.MlOutputs, Csv("scores.csv", "transaction_id,score,label\n10,0.9,1\n11,0.1,0\n"), new DateOnly(2026, 11, 30), Ct);

        var byDay = await lake.QueryAsync("SELECT CAST(date AS VARCHAR) AS day, count(*) AS n FROM raw GROUP BY date ORDER BY date", Ct);
        byDay.Columns.ShouldBe(["day", "n"]);
        byDay.Rows.Select(r => $"{r[0]}={r[1]}").ShouldBe(["2026-11-29=3", "2026-11-30=5"]);

        var joined = await lake.QueryAsync("SELECT r.merchant, o.score FROM raw r JOIN ml_outputs o USING (transaction_id) ORDER BY o.score DESC", Ct);
        joined.Rows.Select(r => $"{r[0]}:{Convert.ToDouble(r[1], CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)}").ShouldBe(["grocery:0.9", "fuel:0.1"]);

        var partitions = await lake.ListAsync(cancellationToken: Ct);
        partitions.Select(p => $"{p.Zone.Name()}/{p.Date:yyyy-MM-dd}:{p.Files}:{p.Rows}").ShouldBe(
            ["raw/2026-11-29:1:3", "raw/2026-11-30:1:5", "ml_outputs/2026-11-30:1:2"]);
        (await lake.ListAsync(LakeZone.MlOutputs, Ct)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Bad_input_is_one_clear_error()
    {
        var lake = Lakehouse.Open(Path.Combine(_dir, "lake"), _dir);

        (await Should.ThrowAsync<LakeException>(() => lake.WriteAsync(LakeZone.Raw, Csv("d.csv", "date,amount\n2026-01-01,3\n"), null, Ct)))
            .Message.ShouldContain("has a column named 'date', which is the lake's partition column");
        (await Should.ThrowAsync<LakeException>(() => lake.WriteAsync(LakeZone.Raw, Path.Combine(_dir, "nope.csv"), null, Ct)))
            .Message.ShouldEndWith("nope.csv: no such file");
        (await Should.ThrowAsync<LakeException>(() => lake.WriteAsync(LakeZone.Raw, Csv("x.json", "{}"), null, Ct)))
            .Message.ShouldContain("unknown data format");
        Should.Throw<LakeException>(() => LakeZones.Parse("gold")).Message.ShouldBe("unknown lake zone 'gold': use raw, ml_outputs or metrics");
        Should.Throw<LakeException>(() => LakeZones.ParseDate("30/11/2026")).Message.ShouldBe("'30/11/2026' is not a date: use YYYY-MM-DD");

        var e = await Should.ThrowAsync<LakeException>(() => lake.QueryAsync("SELECT * FROM metrics", Ct));
        e.Message.ShouldStartWith("lake query failed: ");
        e.Message.ShouldContain("zones without files have no view yet: raw, ml_outputs, metrics");
        e.Message.ShouldNotContain("\n");
        Should.Throw<LakeException>(() => Lakehouse.Open("s3://bucket", _dir)).Message.ShouldContain("neither az://CONTAINER[/prefix] nor a local folder");
    }

    [Fact]
    public async Task A_blob_lake_written_from_one_home_is_listed_and_queried_from_another()
    {
        await using var container = AzuriteTestContainer.Create();
        var writer = Lakehouse.Open($"az://{container.Name}/lake", Path.Combine(_dir, "home-a"), container.ConnectionString);
        var reader = Lakehouse.Open($"az://{container.Name}/lake", Path.Combine(_dir, "home-b"), container.ConnectionString);
        await writer.WriteAsync(LakeZone.Metrics, Csv("m.csv", "model,version,metric,value\nfraud,1,auc_pr,0.61\nfraud,2,auc_pr,0.67\n"), new DateOnly(2026, 12, 1), Ct);

        var listed = await reader.ListAsync(cancellationToken: Ct);
        listed.Select(p => $"{p.Zone.Name()}/{p.Date:yyyy-MM-dd}:{p.Files}:{p.Rows}").ShouldBe(["metrics/2026-12-01:1:2"]);
        var best = await reader.QueryAsync("SELECT version, value FROM metrics WHERE metric = 'auc_pr' ORDER BY value DESC LIMIT 1", Ct);
        Convert.ToInt64(best.Rows[0][0], CultureInfo.InvariantCulture).ShouldBe(2);

        // the blob layout is the same Hive layout
        var names = new List<string>();
        await foreach (var blob in container.Client.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "lake/", Ct))
        {
            names.Add(blob.Name);
        }

        names.ShouldHaveSingleItem().ShouldStartWith("lake/metrics/date=2026-12-01/part-");
    }
}
