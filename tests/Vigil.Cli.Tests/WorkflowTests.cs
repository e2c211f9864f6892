using System.Globalization;
using System.Text.Json;

namespace Vigil.Cli.Tests;

public sealed class WorkflowTests
{
    [Fact]
    public void Generate_train_score_evaluate_round_trip()
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "20000", "--seed", "7", "--out", "tx.csv").ShouldSucceed();
        File.Exists(dir.File("tx.csv")).ShouldBeTrue();

        var features = "amount,hour_of_day,avg_monthly_spend,customer_tenure_days,num_prev_tx_24h,tx_count_1d,amount_sum_1d";
        VigilProcess.Run(dir.Path, "train", "--data", "tx.csv", "--label", "label", "--kind", "iforest", "--seed", "3",
            "--features", features, "--out", "model").ShouldSucceed();
        File.Exists(dir.File("model/bundle.json")).ShouldBeTrue();

        var score = VigilProcess.Run(dir.Path, "score", "--model", "model", "--data", "tx.csv", "--out", "scores.csv");
        score.ShouldSucceed();
        var lines = File.ReadAllLines(dir.File("scores.csv"));
        lines[0].ShouldBe("transaction_id,score,is_anomaly");
        lines.Length.ShouldBe(20001);
        foreach (var line in lines.Skip(1).Take(100))
        {
            var s = double.Parse(line.Split(',')[1], CultureInfo.InvariantCulture);
            s.ShouldBeInRange(0.0, 1.0);
        }

        var eval = VigilProcess.Run(dir.Path, "evaluate", "--model", "model", "--data", "tx.csv", "--label", "label", "--json");
        eval.ShouldSucceed();
        using var json = JsonDocument.Parse(eval.StdOut);
        json.RootElement.GetProperty("rows").GetInt32().ShouldBe(20000);
        json.RootElement.GetProperty("auc_roc").GetDouble().ShouldBeGreaterThan(0.6);

        var table = VigilProcess.Run(dir.Path, "evaluate", "--model", "model", "--data", "tx.csv", "--label", "label");
        table.ShouldSucceed();
        table.StdOut.ShouldContain("auc_roc");
        table.StdOut.ShouldContain("confusion matrix");
    }

    [Fact]
    public void Same_seed_gives_identical_score_files_and_parquet_output_works()
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "5000", "--seed", "1", "--out", "tx.parquet").ShouldSucceed();
        var features = "amount,hour_of_day,num_prev_tx_24h,merchant_category";
        for (var i = 0; i < 2; i++)
        {
            VigilProcess.Run(dir.Path, "train", "--data", "tx.parquet", "--label", "label", "--features", features, "--seed", "5",
                "--out", $"m{i}.zip").ShouldSucceed();
            VigilProcess.Run(dir.Path, "score", "--model", $"m{i}.zip", "--data", "tx.parquet", "--out", $"s{i}.csv").ShouldSucceed();
        }

        File.ReadAllText(dir.File("s0.csv")).ShouldBe(File.ReadAllText(dir.File("s1.csv")));
        VigilProcess.Run(dir.Path, "score", "--model", "m0.zip", "--data", "tx.parquet", "--out", "s.parquet").ShouldSucceed();
        new FileInfo(dir.File("s.parquet")).Length.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Tampered_bundle_is_refused_with_one_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "a,b,label\n" + string.Join('\n', Enumerable.Range(0, 300).Select(i => $"{i % 17},{i % 5},{(i % 50 == 0 ? 1 : 0)}")) + "\n");
        VigilProcess.Run(dir.Path, "train", "--data", "d.csv", "--label", "label", "--out", "model").ShouldSucceed();
        var weights = Directory.GetFiles(dir.File("model")).First(f => !f.EndsWith("bundle.json", StringComparison.Ordinal) && !f.EndsWith("transform.json", StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        VigilProcess.Run(dir.Path, "score", "--model", "model", "--data", "d.csv", "--out", "s.csv").ShouldFailWithOneLine("SHA-256");
        File.Exists(dir.File("s.csv")).ShouldBeFalse();
    }

    [Fact]
    public void Scoring_data_without_a_feature_column_names_it()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "a,b\n" + string.Join('\n', Enumerable.Range(0, 300).Select(i => $"{i % 17},{i % 5}")) + "\n");
        File.WriteAllText(dir.File("e.csv"), "a\n1\n2\n");
        VigilProcess.Run(dir.Path, "train", "--data", "d.csv", "--out", "model").ShouldSucceed();
        VigilProcess.Run(dir.Path, "score", "--model", "model", "--data", "e.csv", "--out", "s.csv").ShouldFailWithOneLine("'b'");
    }

    [Fact]
    public void Bench_adbench_json_has_the_documented_keys()
    {
        using var dir = new TempDir();
        var bench = Directory.CreateDirectory(dir.File("bench")).FullName;
        var rng = new Random(1);
        var rows = Enumerable.Range(0, 1000).Select(i =>
        {
            var anomaly = i % 20 == 0;
            var x = anomaly ? 6 + rng.NextDouble() : rng.NextDouble();
            var y = anomaly ? -6 - rng.NextDouble() : rng.NextDouble();
            return string.Create(CultureInfo.InvariantCulture, $"{x},{y},{(anomaly ? 1 : 0)}");
        });
        File.WriteAllText(Path.Combine(bench, "toy.csv"), "f0,f1,label\n" + string.Join('\n', rows) + "\n");
        File.WriteAllText(Path.Combine(bench, "notes.csv"), "a,b\n1,2\n");

        var r = VigilProcess.Run(dir.Path, "bench", "adbench", bench, "--seeds", "2", "--json");
        r.ShouldSucceed();
        using var json = JsonDocument.Parse(r.StdOut);
        json.RootElement.GetArrayLength().ShouldBe(1);
        var o = json.RootElement[0];
        o.GetProperty("dataset").GetString().ShouldBe("toy");
        o.GetProperty("model").GetString().ShouldBe("iforest");
        o.GetProperty("seeds").GetInt32().ShouldBe(2);
        o.GetProperty("auc_roc").GetDouble().ShouldBeGreaterThan(0.95);
        o.GetProperty("auc_pr").GetDouble().ShouldBeGreaterThan(0.5);
        o.GetProperty("fit_seconds").GetDouble().ShouldBeGreaterThanOrEqualTo(0);
        o.GetProperty("score_seconds").GetDouble().ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public void Quickstart_produces_its_files_and_a_summary()
    {
        using var dir = new TempDir();
        var env = new Dictionary<string, string> { ["VIGIL_HOME"] = dir.File("home") };
        var r = VigilProcess.Run(dir.Path, env, "quickstart", "--out", "qs", "--rows", "30000");
        r.ShouldSucceed();
        r.StdOut.ShouldContain("models:/quickstart-fraud@champion");
        File.Exists(dir.File("home/vigil.db")).ShouldBeTrue();
        var versions = VigilProcess.Run(dir.Path, env, "models", "versions", "quickstart-fraud", "--json");
        versions.ShouldSucceed();
        int champion;
        using (var json = JsonDocument.Parse(versions.StdOut))
        {
            json.RootElement.GetArrayLength().ShouldBe(4); // iforest, autoencoder, lightgbm, the retrain flow's best
            var withAlias = json.RootElement.EnumerateArray().Where(v => v.GetProperty("aliases").GetArrayLength() > 0).ToList();
            withAlias.Count.ShouldBe(1);
            withAlias[0].GetProperty("aliases")[0].GetString().ShouldBe("champion");
            champion = withAlias[0].GetProperty("version").GetInt32();
        }

        var history = VigilProcess.Run(dir.Path, env, "models", "history", "quickstart-fraud", "--target", "champion", "--json");
        history.ShouldSucceed();
        using (var json = JsonDocument.Parse(history.StdOut))
        {
            var last = json.RootElement.EnumerateArray().Last();
            last.GetProperty("to_version").GetInt32().ShouldBe(champion);
            last.GetProperty("reason").GetString()!.ShouldStartWith("gate passed");
        }

        r.StdOut.ShouldContain("iforest");
        r.StdOut.ShouldContain("autoencoder");
        r.StdOut.ShouldContain("lightgbm");
        foreach (var f in new[] { "transactions.parquet", "train.parquet", "test.parquet", "model/bundle.json", "scores.csv" })
        {
            File.Exists(Path.Combine(dir.Path, "qs", f)).ShouldBeTrue(f);
        }

        r.StdOut.ShouldContain("auc_roc");

        // Step 7: the retrain flow ran once, every step finished, and its promotion went through the gate.
        var flows = VigilProcess.Run(dir.Path, env, "flow", "list", "--json");
        flows.ShouldSucceed();
        using (var json = JsonDocument.Parse(flows.StdOut))
        {
            var run = json.RootElement.EnumerateArray().ShouldHaveSingleItem();
            run.GetProperty("flow").GetString().ShouldBe("retrain");
            run.GetProperty("status").GetString().ShouldBe("finished");
            run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()).ShouldAllBe(s => s == "finished");
            r.StdOut.ShouldContain($"retrain flow run {run.GetProperty("id").GetString()}: finished, 13 steps");
        }
    }
}
