using System.Globalization;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using Vigil.Data;
using Vigil.Pipelines.Tests.Flows;
using Vigil.Tracking.Tests;

namespace Vigil.Pipelines.Tests.Steps;

/// <summary>The lake and warehouse step kinds in flows: lake-write, lake-read, score, metrics-sync, and the retrain flow's lake options.</summary>
public sealed class LakeStepsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>generate → lake-write (raw, one date) → lake-read of the latest partition.</summary>
    private const string WriteThenRead = """
        name: lake-round-trip
        params: { lake: "" }
        steps:
          - name: data
            uses: generate
            with: { rows: 700, seed: 4 }
          - name: write
            uses: lake-write
            retries: 1
            backoff: 10ms
            inputs: { data: data.data }
            with: { zone: raw, date: "2026-11-30", lake: "${params.lake}" }
          - name: read
            uses: lake-read
            with: { zone: raw, dates: latest, lake: "${params.lake}" }
        """;

    [Fact]
    public async Task A_flow_writes_a_zone_reads_it_back_and_a_second_run_adds_no_duplicate_file_on_a_local_lake()
    {
        await using var f = await FlowFixture.CreateAsync();
        await AssertRoundTripAsync(f, Path.Combine(f.Dir, "lake"));
    }

    [Fact]
    public async Task A_flow_writes_a_zone_reads_it_back_and_a_second_run_adds_no_duplicate_file_on_a_blob_lake()
    {
        await using var container = AzuriteTestContainer.Create();
        await using var f = await FlowFixture.CreateAsync();
        using (ConnectionString(container))
        {
            await AssertRoundTripAsync(f, $"az://{container.Name}/lake");
        }
    }

    /// <summary>
    /// Sets AZURE_STORAGE_CONNECTION_STRING (what a blob lake step reads) to the container's account until disposed. The
    /// Azurite tests all set the same value, so tests running at once do not disturb each other.
    /// </summary>
    private static EnvironmentScope ConnectionString(AzuriteTestContainer container) => new("AZURE_STORAGE_CONNECTION_STRING", container.ConnectionString);

    private sealed class EnvironmentScope : IDisposable
    {
        private readonly string _name;
        private readonly string? _previous;

        public EnvironmentScope(string name, string value)
        {
            _name = name;
            _previous = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
    }

    private static async Task AssertRoundTripAsync(FlowFixture f, string lakeLocation)
    {
        var flow = f.Parse(WriteThenRead);
        var parameters = new Dictionary<string, string> { ["lake"] = lakeLocation };
        var first = await f.Runner.RunAsync(flow, parameters, null, Ct);
        first.Status.ShouldBe("finished", first.Error);
        var written = await f.OutputJsonAsync(first, "write");
        var file = written["files"]!.AsArray().ShouldHaveSingleItem()!;
        file["path"]!.GetValue<string>().ShouldStartWith("raw/date=2026-11-30/part-");
        file["rows"]!.GetValue<long>().ShouldBe(700);
        file["already_there"]!.GetValue<bool>().ShouldBeFalse();
        first.Steps.First(s => s.Name == "read").Metrics["rows"].ShouldBe(700);

        // what lake-read produced is the generated data, row for row
        var original = await ReadFrameAsync(f, first.Steps[0].Outputs[0]);
        var back = await ReadFrameAsync(f, first.Steps[2].Outputs[0]);
        back.RowCount.ShouldBe(original.RowCount);
        back.Columns.Select(c => c.Name).ShouldBe(original.Columns.Select(c => c.Name));
        ((Float64Column)back["amount"]).Values.ToArray().ShouldBe(((Float64Column)original["amount"]).Values.ToArray());

        // the same data written again (a new run: nothing reused) finds its file: no duplicate rows
        var second = await f.Runner.RunAsync(flow, parameters, null, Ct);
        second.Status.ShouldBe("finished", second.Error);
        (await f.OutputJsonAsync(second, "write"))["files"]![0]!["already_there"]!.GetValue<bool>().ShouldBeTrue();
        second.Steps.First(s => s.Name == "write").Metrics["files_added"].ShouldBe(0);
        var lake = Lakehouse.Open(lakeLocation, Path.Combine(f.Dir, "home"));
        var count = await lake.QueryAsync("SELECT count(*), min(date) FROM raw", Ct);
        Convert.ToInt64(count.Rows[0][0], CultureInfo.InvariantCulture).ShouldBe(700);
    }

    [Fact]
    public async Task Lake_read_runs_again_on_resume_once_a_file_was_added_to_its_partitions()
    {
        await using var f = await FlowFixture.CreateAsync();
        var lakeDir = Path.Combine(f.Dir, "lake");
        var lake = Lakehouse.Open(lakeDir, Path.Combine(f.Dir, "home"));
        var csv = Path.Combine(f.Dir, "a.csv");
        await File.WriteAllTextAsync(csv, "amount,merchant\n1.5,a\n2.5,b\n", Ct);
        await lake.WriteAsync(LakeZone.Raw, csv, new DateOnly(2026, 12, 1), Ct);
        var flow = f.Parse("""
            name: reader
            params: { lake: "" }
            steps:
              - name: read
                uses: lake-read
                with: { dates: "2026-12-01..", lake: "${params.lake}" }
              - name: check
                uses: check
                inputs: { in: read.data }
            """);
        var parameters = new Dictionary<string, string> { ["lake"] = lakeDir };
        var first = await f.Runner.RunAsync(flow, parameters, null, Ct);
        first.Status.ShouldBe("failed"); // the test kind 'check' fails on purpose
        first.Steps[0].Metrics["rows"].ShouldBe(2);

        f.Kinds.Fail.Failing = false;
        var unchanged = await f.Runner.ResumeAsync(first.RunId, null, null, Ct);
        unchanged.Steps[0].Reused.ShouldBeTrue("the partitions did not change");

        await lake.WriteAsync(LakeZone.Raw, csv, new DateOnly(2026, 12, 2), Ct);
        var changed = await f.Runner.ResumeAsync(unchanged.RunId, null, null, Ct);
        changed.Status.ShouldBe("finished", changed.Error);
        changed.Steps[0].Reused.ShouldBeFalse("a file was added to the selected partitions");
        changed.Steps[0].Metrics["rows"].ShouldBe(4);
    }

    [Fact]
    public async Task Bad_lake_parameters_stop_the_step_with_one_reason()
    {
        await using var f = await FlowFixture.CreateAsync();
        var flow = f.Parse("""
            name: bad
            params: { zone: raw, dates: all, lake: "" }
            steps:
              - name: read
                uses: lake-read
                with: { zone: "${params.zone}", dates: "${params.dates}", lake: "${params.lake}" }
            """);
        async Task<string?> ErrorAsync(params (string, string)[] p) =>
            (await f.Runner.RunAsync(flow, p.ToDictionary(x => x.Item1, x => x.Item2), null, Ct)).Error;

        (await ErrorAsync(("lake", Path.Combine(f.Dir, "empty-lake")))).ShouldBe($"step read failed: step read: the lake {Path.Combine(f.Dir, "empty-lake")} has no raw files in the selected partitions");
        (await ErrorAsync(("zone", "bronze"), ("lake", f.Dir))).ShouldBe("step read failed: step read: unknown lake zone 'bronze': use raw, ml_outputs or metrics");
        (await ErrorAsync(("dates", "2026-13-01"), ("lake", f.Dir))).ShouldBe("step read failed: step read: parameter 'dates' is '2026-13-01': '2026-13-01' is not a date: use YYYY-MM-DD; use all, latest, YYYY-MM-DD or FROM..TO");
        (await ErrorAsync(("lake", "s3://bucket"))).ShouldBe("step read failed: step read: VIGIL_LAKE: 's3://bucket' is neither az://CONTAINER[/prefix] nor a local folder");
    }

    [Fact]
    public async Task Retrain_ingests_the_blob_lake_raw_zone_writes_scores_and_metrics_there_and_a_metrics_sync_flow_twice_leaves_the_same_rows()
    {
        await using var container = AzuriteTestContainer.Create();
        await using var f = await FlowFixture.CreateAsync();
        using (ConnectionString(container))
        {
            var location = $"az://{container.Name}/lake";
            var lake = Lakehouse.Open(location, Path.Combine(f.Dir, "home"));
            var raw = Path.Combine(f.Dir, "raw.parquet");
            FrameFile.Write(TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 2500, Seed = 8 }), raw);
            await lake.WriteAsync(LakeZone.Raw, raw, new DateOnly(2026, 11, 29), Ct);
            FrameFile.Write(TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 2500, Seed = 9 }), raw);
            await lake.WriteAsync(LakeZone.Raw, raw, new DateOnly(2026, 11, 30), Ct);
            var warehouse = Path.Combine(f.Dir, "wh.duckdb");

            var retrain = FlowCatalog.Load("retrain", f.Registry);
            var result = await f.Runner.RunAsync(retrain, new Dictionary<string, string>
            {
                ["raw-dates"] = "2026-11-01..2026-11-30",
                ["lake"] = location,
                ["lake-outputs"] = "true",
                ["outputs-date"] = "2026-12-01",
                ["sync-to"] = "duckdb:" + warehouse,
                ["register"] = "fraud",
                ["candidates"] = "[{model: iforest, estimators: 30}]",
            }, null, Ct);
            result.Status.ShouldBe("finished", result.Error);
            result.Steps.First(s => s.Name == "ingest").Metrics["rows"].ShouldBe(5000, "both raw partitions, nothing generated");
            var testRows = result.Steps.First(s => s.Name == "split").Metrics["test_rows"];

            var scores = await lake.QueryAsync("SELECT count(*), min(model), min(version), sum(is_anomaly), min(CAST(date AS VARCHAR)) FROM ml_outputs", Ct);
            Convert.ToDouble(scores.Rows[0][0], CultureInfo.InvariantCulture).ShouldBe(testRows);
            scores.Rows[0][1].ShouldBe("fraud");
            Convert.ToInt32(scores.Rows[0][2], CultureInfo.InvariantCulture).ShouldBe(1);
            Convert.ToDouble(scores.Rows[0][3], CultureInfo.InvariantCulture).ShouldBe(result.Steps.First(s => s.Name == "score").Metrics["flagged"]);
            scores.Rows[0][4].ShouldBe("2026-12-01");
            var promoted = result.Steps.First(s => s.Name == "promote").Metrics;
            var metrics = await lake.QueryAsync("SELECT value FROM metrics WHERE model = 'fraud' AND version = 1 AND \"window\" = 'out_of_time' AND metric = 'auc_pr'", Ct);
            ((double)metrics.Rows.ShouldHaveSingleItem()[0]!).ShouldBe(promoted["candidate.auc_pr"], 1e-12);

            // the warehouse got the training metrics (store) and the out-of-time ones (lake); a sync flow run twice changes nothing
            var sync = f.Parse("""
                name: sync
                params: { to: "", lake: "" }
                steps:
                  - name: sync
                    uses: metrics-sync
                    with: { to: "${params.to}", lake: "${params.lake}" }
                """);
            var syncParams = new Dictionary<string, string> { ["to"] = "duckdb:" + warehouse, ["lake"] = location };
            var before = await WarehouseRowsAsync(warehouse);
            before.ShouldContain(r => r.StartsWith("fraud|1|out_of_time|auc_pr|", StringComparison.Ordinal));
            before.ShouldContain(r => r.StartsWith("fraud|1|out_of_time|auc_roc|", StringComparison.Ordinal));
            var once = await f.Runner.RunAsync(sync, syncParams, null, Ct);
            var twice = await f.Runner.RunAsync(sync, syncParams, null, Ct);
            once.Status.ShouldBe("finished", once.Error);
            twice.Status.ShouldBe("finished", twice.Error);
            foreach (var run in new[] { once, twice })
            {
                run.Steps[0].Metrics["inserted"].ShouldBe(0);
                run.Steps[0].Metrics["updated"].ShouldBe(0);
                run.Steps[0].Metrics["unchanged"].ShouldBe(before.Count);
            }

            (await WarehouseRowsAsync(warehouse)).ShouldBe(before);
        }
    }

    [Fact]
    public async Task Retrain_leaves_the_lake_and_the_warehouse_alone_by_default()
    {
        await using var f = await FlowFixture.CreateAsync();
        var lakeDir = Path.Combine(f.Dir, "lake");
        var result = await f.Runner.RunAsync(FlowCatalog.Load("retrain", f.Registry), new Dictionary<string, string>
        {
            ["sample-size"] = "3000",
            ["lake"] = lakeDir,
            ["candidates"] = "[{model: iforest, estimators: 20}]",
        }, null, Ct);
        result.Status.ShouldBe("finished", result.Error);
        (await f.OutputJsonAsync(result, "write-scores"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        (await f.OutputJsonAsync(result, "write-metrics"))["enabled"]!.GetValue<bool>().ShouldBeFalse();
        (await f.OutputJsonAsync(result, "sync"))["target"].ShouldBeNull();
        Directory.Exists(lakeDir).ShouldBeFalse();
        result.Steps.First(s => s.Name == "score").Metrics["rows"].ShouldBe(result.Steps.First(s => s.Name == "split").Metrics["test_rows"]);
    }


    /// <summary>A Parquet step output read as a frame (blobs have no extension: a copy named .parquet).</summary>
    private static async Task<Frame> ReadFrameAsync(FlowFixture f, StepArtifact output)
    {
        var copy = Path.Combine(f.Dir, output.Sha256 + ".parquet");
        File.Copy(await f.Store.Artifacts.GetVerifiedPathAsync(output.Sha256, "test", Ct), copy, overwrite: true);
        return FrameFile.Read(copy);
    }

    private static async Task<List<string>> WarehouseRowsAsync(string file)
    {
        await using var duck = new DuckDBConnection("DataSource=" + file);
        await duck.OpenAsync(Ct);
        await using var command = duck.CreateCommand();
        command.CommandText = "SELECT model, version, \"window\", metric, value, computed_at FROM FRAUD_MODEL_METRICS ORDER BY 1, 2, 3, 4";
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetString(0)}|{reader.GetInt32(1)}|{reader.GetString(2)}|{reader.GetString(3)}|{reader.GetDouble(4):R}|{reader.GetValue(5)}"));
        }

        return rows;
    }
}
