using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary><c>vigil lake write|list|query</c> and <c>vigil metrics sync</c> end to end (in process).</summary>
public sealed class LakeCliTests
{
    [Fact]
    public void Lake_query_reads_what_lake_write_wrote_and_metrics_sync_twice_changes_nothing()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tx.csv"), "transaction_id,amount\n1,10.5\n2,20\n3,7.25\n");
        File.WriteAllText(dir.File("m.csv"), "model,version,metric,value\nfraud,1,auc_pr,0.6\nfraud,1,auc_pr,0.7\n");

        var write = VigilProcess.Run(dir.Path, "lake", "write", "--zone", "raw", "--data", "tx.csv", "--date", "2026-11-30", "--lake", "lake", "--json");
        write.ShouldSucceed();
        using (var w = JsonDocument.Parse(write.StdOut))
        {
            w.RootElement.GetProperty("rows").GetInt64().ShouldBe(3);
            w.RootElement.GetProperty("path").GetString()!.ShouldStartWith("raw/date=2026-11-30/part-");
        }

        VigilProcess.Run(dir.Path, "lake", "write", "--zone", "metrics", "--data", "m.csv", "--date", "2026-12-01", "--lake", "lake").ShouldSucceed();

        var list = VigilProcess.Run(dir.Path, "lake", "list", "--lake", "lake", "--json");
        list.ShouldSucceed();
        using (var l = JsonDocument.Parse(list.StdOut))
        {
            l.RootElement.GetProperty("partitions").EnumerateArray()
                .Select(p => $"{p.GetProperty("zone").GetString()}/{p.GetProperty("date").GetString()}:{p.GetProperty("rows").GetInt64()}")
                .ShouldBe(["raw/2026-11-30:3", "metrics/2026-12-01:2"]);
        }

        var query = VigilProcess.Run(dir.Path, "lake", "query", "SELECT count(*) AS n, sum(amount) AS total, CAST(min(date) AS VARCHAR) AS day FROM raw", "--lake", "lake", "--json");
        query.ShouldSucceed();
        using (var q = JsonDocument.Parse(query.StdOut))
        {
            var row = q.RootElement.GetProperty("rows")[0];
            row.GetProperty("n").GetInt64().ShouldBe(3);
            row.GetProperty("total").GetDouble().ShouldBe(37.75);
            row.GetProperty("day").GetString().ShouldBe("2026-11-30");
        }

        var target = "duckdb:" + dir.File("warehouse.duckdb");
        var first = VigilProcess.Run(dir.Path, "metrics", "sync", "--to", target, "--lake", "lake", "--no-store", "--json");
        var second = VigilProcess.Run(dir.Path, "metrics", "sync", "--to", target, "--lake", "lake", "--no-store", "--json");
        first.ShouldSucceed();
        second.ShouldSucceed();
        using var a = JsonDocument.Parse(first.StdOut);
        using var b = JsonDocument.Parse(second.StdOut);
        a.RootElement.GetProperty("inserted").GetInt32().ShouldBe(1);
        b.RootElement.GetProperty("inserted").GetInt32().ShouldBe(0);
        b.RootElement.GetProperty("updated").GetInt32().ShouldBe(0);
        b.RootElement.GetProperty("unchanged").GetInt32().ShouldBe(1);
    }

    [Fact]
    public void Lake_query_reads_what_a_flow_lake_write_step_wrote()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("flow.yaml"), """
            name: to-lake
            steps:
              - name: data
                uses: generate
                with: { rows: 300, seed: 2 }
              - name: model
                uses: train
                inputs: { data: data.data }
                with: { model: iforest, estimators: 10, label: label }
              - name: scores
                uses: score
                inputs: { data: data.data, model: model.model }
                with: { keep: label }
              - name: publish
                uses: lake-write
                inputs: { data: scores.scores }
                with: { zone: ml_outputs, date: "2026-12-01", lake: lake }
            """);
        var run = VigilProcess.Run(dir.Path, "flow", "run", "flow.yaml");
        run.ShouldSucceed();

        var query = VigilProcess.Run(dir.Path, "lake", "query", "SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids, CAST(min(date) AS VARCHAR) AS day, min(model) AS model FROM ml_outputs", "--lake", "lake", "--json");
        query.ShouldSucceed();
        using var q = JsonDocument.Parse(query.StdOut);
        var row = q.RootElement.GetProperty("rows")[0];
        row.GetProperty("n").GetInt64().ShouldBe(300);
        row.GetProperty("ids").GetInt64().ShouldBe(300);
        row.GetProperty("day").GetString().ShouldBe("2026-12-01");
        row.GetProperty("model").GetString().ShouldBe("model");
    }

    [Fact]
    public void Bad_lake_arguments_are_one_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tx.csv"), "a\n1\n");
        VigilProcess.Run(dir.Path, "lake", "write", "--zone", "gold", "--data", "tx.csv").ShouldFailWithOneLine("unknown lake zone 'gold'");
        VigilProcess.Run(dir.Path, "lake", "write", "--zone", "raw", "--data", "tx.csv", "--date", "2026-13-01").ShouldFailWithOneLine("'2026-13-01' is not a date");
        VigilProcess.Run(dir.Path, "lake", "query", "SELEC 1", "--lake", "lake").ShouldFailWithOneLine("lake query failed");
        VigilProcess.Run(dir.Path, "metrics", "sync", "--to", "oracle://x", "--no-store").ShouldFailWithOneLine("use postgres://");
    }
}
