using System.Text.Json;
using System.Text.RegularExpressions;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>Generated data and two registered versions of "fraud", trained once for the registry tests.</summary>
public sealed class RegistryFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public RegistryFixture()
    {
        Environment = new Dictionary<string, string> { ["VIGIL_HOME"] = _dir.File("home") };
        Run("generate", "transactions", "--rows", "4000", "--seed", "5", "--out", "tx.csv").ShouldSucceed();
        RunIds = new string[2];
        for (var i = 0; i < 2; i++)
        {
            var r = Run("train", "--data", "tx.csv", "--label", "label", "--seed", (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--estimators", "25", "--features", "amount,hour_of_day,avg_monthly_spend,num_prev_tx_24h", "--experiment", "exp", "--register", "fraud");
            r.ShouldSucceed();
            r.StdOut.ShouldContain($"registered fraud version {i + 1} (models:/fraud/{i + 1})");
            RunIds[i] = Regex.Match(r.StdOut, @"run: (\S+)").Groups[1].Value;
            RunIds[i].ShouldNotBeNullOrEmpty();
        }
    }

    public string Dir => _dir.Path;

    public string Home => _dir.File("home");

    public IReadOnlyDictionary<string, string> Environment { get; }

    public string[] RunIds { get; }

    internal VigilResult Run(params string[] args) => VigilProcess.Run(_dir.Path, Environment, args);

    public void Dispose() => _dir.Dispose();
}

public sealed class RegistryCliTests(RegistryFixture fx) : IClassFixture<RegistryFixture>
{
    [Fact]
    public void Train_register_twice_creates_versions_1_and_2_from_their_runs()
    {
        var r = fx.Run("models", "versions", "fraud", "--json");
        r.ShouldSucceed();
        using var json = JsonDocument.Parse(r.StdOut);
        json.RootElement.GetArrayLength().ShouldBe(2);
        for (var i = 0; i < 2; i++)
        {
            var v = json.RootElement[i];
            v.GetProperty("version").GetInt32().ShouldBe(i + 1);
            v.GetProperty("uri").GetString().ShouldBe($"models:/fraud/{i + 1}");
            v.GetProperty("source_run_id").GetString().ShouldBe(fx.RunIds[i]);
            v.GetProperty("feature_schema").GetString()!.ShouldContain("amount:float64");
            v.GetProperty("metrics").GetProperty("train_auc_roc").GetDouble().ShouldBeInRange(0.0, 1.0);
        }

        var list = fx.Run("models", "list", "--json");
        list.ShouldSucceed();
        using var models = JsonDocument.Parse(list.StdOut);
        models.RootElement.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "fraud").GetProperty("latest_version").GetInt32().ShouldBe(2);
    }

    [Fact]
    public void Runs_show_has_params_metrics_dataset_fingerprint_and_bundle_artifact()
    {
        var r = fx.Run("runs", "show", fx.RunIds[0], "--json");
        r.ShouldSucceed();
        using var json = JsonDocument.Parse(r.StdOut);
        var run = json.RootElement;
        run.GetProperty("status").GetString().ShouldBe("FINISHED");
        run.GetProperty("experiment").GetString().ShouldBe("exp");
        run.GetProperty("params").GetProperty("model").GetString().ShouldBe("iforest");
        run.GetProperty("params").GetProperty("estimators").GetString().ShouldBe("25");
        run.GetProperty("params").GetProperty("seed").GetString().ShouldBe("1");
        run.GetProperty("metrics").GetProperty("train_auc_roc").GetDouble().ShouldBeInRange(0.0, 1.0);
        var dataset = run.GetProperty("datasets")[0];
        dataset.GetProperty("rows").GetInt64().ShouldBe(4000);
        dataset.GetProperty("sha256").GetString()!.Length.ShouldBe(64);
        dataset.GetProperty("schema").GetString()!.ShouldContain("amount:");
        run.GetProperty("artifacts")[0].GetProperty("name").GetString().ShouldBe("model.zip");

        var table = fx.Run("runs", "show", fx.RunIds[1]);
        table.ShouldSucceed();
        table.StdOut.ShouldContain("param seed");
        table.StdOut.ShouldContain("train_auc_roc");
    }

    [Fact]
    public void Runs_list_and_compare_show_both_runs_side_by_side()
    {
        var list = fx.Run("runs", "list", "--experiment", "exp", "--json");
        list.ShouldSucceed();
        using var runs = JsonDocument.Parse(list.StdOut);
        runs.RootElement.EnumerateArray().Select(r => r.GetProperty("run_id").GetString()).ShouldBe(fx.RunIds, ignoreOrder: true);

        var compare = fx.Run("runs", "compare", fx.RunIds[0], fx.RunIds[1], "--json");
        compare.ShouldSucceed();
        using var json = JsonDocument.Parse(compare.StdOut);
        json.RootElement.GetProperty("runs").GetArrayLength().ShouldBe(2);
        json.RootElement.GetProperty("differing_params").EnumerateArray().Select(e => e.GetString()).ShouldBe(["seed"]);

        var table = fx.Run("runs", "compare", fx.RunIds[0], fx.RunIds[1]);
        table.ShouldSucceed();
        var aucLine = table.StdOut.Split('\n').Single(l => l.Contains("train_auc_roc", StringComparison.Ordinal));
        Regex.Matches(aucLine, @"0\.\d+").Count.ShouldBe(2);
        table.StdOut.ShouldContain("param seed");
    }

    [Fact]
    public async Task Runs_fail_marks_a_running_run_failed_and_refuses_a_finished_one()
    {
        string runId;
        await using (var store = await StoreFactory.OpenAsync(null, fx.Home, TestContext.Current.CancellationToken))
        {
            runId = (await store.CreateRunAsync("crashed", cancellationToken: TestContext.Current.CancellationToken)).RunId;
        }

        fx.Run("runs", "fail", runId).ShouldSucceed();
        var show = fx.Run("runs", "show", runId, "--json");
        show.ShouldSucceed();
        using (var json = JsonDocument.Parse(show.StdOut))
        {
            json.RootElement.GetProperty("status").GetString().ShouldBe("FAILED");
            json.RootElement.GetProperty("end_time").GetString().ShouldNotBeNullOrEmpty();
        }

        fx.Run("runs", "fail", runId).ShouldFailWithOneLine(runId, "not RUNNING");
        fx.Run("runs", "fail", "no-such-run").ShouldFailWithOneLine("no-such-run");
    }

    [Fact]
    public void Alias_moves_are_audited_rollback_restores_the_previous_version_and_uris_score()
    {
        string[] user = ["--user", "alice"];
        fx.Run(["models", "alias", "set", "fraud", "champion", "1", "--reason", "first model", .. user]).ShouldSucceed();
        fx.Run(["models", "alias", "set", "fraud", "champion", "2", "--reason", "better recall", .. user]).ShouldSucceed();
        var rollback = fx.Run(["models", "rollback", "fraud", "--alias", "champion", "--reason", "v2 misfires", .. user]);
        rollback.ShouldSucceed();
        rollback.StdOut.ShouldContain("version 2 -> version 1");

        var show = fx.Run("models", "show", "fraud", "--json");
        show.ShouldSucceed();
        using (var json = JsonDocument.Parse(show.StdOut))
        {
            json.RootElement.GetProperty("aliases").GetProperty("champion").GetInt32().ShouldBe(1);
        }

        var history = fx.Run("models", "history", "fraud", "--target", "champion", "--json");
        history.ShouldSucceed();
        using (var json = JsonDocument.Parse(history.StdOut))
        {
            var entries = json.RootElement.EnumerateArray().ToList();
            entries.Count.ShouldBe(3);
            entries.Select(e => e.GetProperty("action").GetString()).ShouldBe(["set-alias", "set-alias", "rollback"]);
            entries.Select(e => e.GetProperty("reason").GetString()).ShouldBe(["first model", "better recall", "v2 misfires"]);
            entries.ShouldAllBe(e => e.GetProperty("actor").GetString() == "alice");
            entries[1].GetProperty("from_version").GetInt32().ShouldBe(1);
            entries[1].GetProperty("to_version").GetInt32().ShouldBe(2);
            entries[2].GetProperty("from_version").GetInt32().ShouldBe(2);
            entries[2].GetProperty("to_version").GetInt32().ShouldBe(1);
        }

        var table = fx.Run("models", "history", "fraud");
        table.ShouldSucceed();
        table.StdOut.ShouldContain("better recall");
        table.StdOut.ShouldContain("alice");

        fx.Run(["models", "stage", "set", "fraud", "2", "Production", "--reason", "canary passed", .. user]).ShouldSucceed();
        var staged = fx.Run("models", "history", "fraud", "--target", "Production", "--json");
        staged.ShouldSucceed();
        using (var json = JsonDocument.Parse(staged.StdOut))
        {
            json.RootElement[0].GetProperty("to_version").GetInt32().ShouldBe(2);
            json.RootElement[0].GetProperty("reason").GetString().ShouldBe("canary passed");
        }

        var byAlias = fx.Run("score", "--model", "models:/fraud@champion", "--data", "tx.csv", "--out", "alias.csv");
        byAlias.ShouldSucceed();
        byAlias.StdErr.ShouldContain("models:/fraud/1");
        var byVersion = fx.Run("score", "--model", "models:/fraud/1", "--data", "tx.csv", "--out", "v1.csv");
        byVersion.ShouldSucceed();
        File.ReadAllText(Path.Combine(fx.Dir, "alias.csv")).ShouldBe(File.ReadAllText(Path.Combine(fx.Dir, "v1.csv")));
        File.ReadAllLines(Path.Combine(fx.Dir, "alias.csv")).Length.ShouldBe(4001);

        var eval = fx.Run("evaluate", "--model", "models:/fraud/Production", "--data", "tx.csv", "--label", "label", "--json");
        eval.ShouldSucceed();
        eval.StdErr.ShouldContain("models:/fraud/2");
    }

    [Fact]
    public void A_training_that_fails_leaves_its_run_failed_and_registers_nothing()
    {
        fx.Run("train", "--data", "tx.csv", "--label", "no_such_label", "--experiment", "broken", "--register", "broken-model")
            .ShouldFailWithOneLine("no_such_label");
        var list = fx.Run("runs", "list", "--experiment", "broken", "--json");
        list.ShouldSucceed();
        using var runs = JsonDocument.Parse(list.StdOut);
        runs.RootElement.GetArrayLength().ShouldBe(1);
        runs.RootElement[0].GetProperty("status").GetString().ShouldBe("FAILED");
        fx.Run("models", "show", "broken-model").ShouldFailWithOneLine("broken-model");
    }

    [Fact]
    public void Unknown_model_alias_or_bad_uri_exits_2_with_one_line()
    {
        fx.Run("models", "show", "nope").ShouldFailWithOneLine("nope");
        fx.Run("models", "versions", "nope", "--json").ShouldFailWithOneLine("nope");
        fx.Run("score", "--model", "models:/fraud@nobody", "--data", "tx.csv", "--out", "x.csv").ShouldFailWithOneLine("nobody");
        fx.Run("score", "--model", "models:/fraud/99", "--data", "tx.csv", "--out", "x.csv").ShouldFailWithOneLine("99");
        fx.Run("evaluate", "--model", "models:/fraud", "--data", "tx.csv", "--label", "label").ShouldFailWithOneLine("models:/fraud");
        fx.Run("models", "alias", "set", "fraud", "champion", "7").ShouldFailWithOneLine("7");
        fx.Run("models", "rollback", "fraud", "--alias", "never-set").ShouldFailWithOneLine("never-set");
    }
}
