using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary>Generated transactions shared by the search and promote tests (one VIGIL_HOME per test).</summary>
public sealed class SearchDataFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public SearchDataFixture()
    {
        VigilProcess.Run(_dir.Path, "generate", "transactions", "--rows", "4000", "--seed", "11", "--out", "tx.parquet").ShouldSucceed();
        Data = _dir.File("tx.parquet");
    }

    /// <summary>Absolute path of the generated Parquet file.</summary>
    public string Data { get; }

    public void Dispose() => _dir.Dispose();
}

public sealed class SearchPromoteTests(SearchDataFixture fx) : IClassFixture<SearchDataFixture>, IDisposable
{
    private const string Features = "amount,hour_of_day,avg_monthly_spend,num_prev_tx_24h,amount_sum_1d";
    private readonly TempDir _dir = new();

    private VigilResult Run(params string[] args) =>
        VigilProcess.Run(_dir.Path, new Dictionary<string, string> { ["VIGIL_HOME"] = _dir.File("home") }, args);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Search_prints_a_leaderboard_logs_one_child_run_per_candidate_and_repeats_with_the_same_seed()
    {
        File.WriteAllText(_dir.File("grid.yaml"), "estimators: [10, 30]\nmaxSamples: [64, auto]\n");
        string[] Search(string experiment) =>
        [
            "search", "--kind", "iforest", "--data", fx.Data, "--label", "label", "--features", Features, "--grid", "grid.yaml",
            "--seed", "4", "--experiment", experiment, "--json",
        ];

        var first = Run(Search("s1"));
        first.ShouldSucceed();
        first.StdErr.ShouldContain("[4/4] trial-");
        using var a = JsonDocument.Parse(first.StdOut);
        var board = a.RootElement.GetProperty("leaderboard").EnumerateArray().ToList();
        board.Count.ShouldBe(4);
        board.Select(e => e.GetProperty("rank").GetInt32()).ShouldBe([1, 2, 3, 4]);
        var aucPr = board.Select(e => e.GetProperty("metrics").GetProperty("auc_pr").GetDouble()).ToList();
        aucPr.ShouldBe(aucPr.OrderByDescending(v => v).ToList());
        board.Select(e => e.GetProperty("params").GetProperty("estimators").GetString()).Order().ShouldBe(["10", "10", "30", "30"]);

        var parentId = a.RootElement.GetProperty("search_run_id").GetString()!;
        var children = Run("runs", "list", "--parent", parentId, "--json");
        children.ShouldSucceed();
        using (var runs = JsonDocument.Parse(children.StdOut))
        {
            var list = runs.RootElement.EnumerateArray().ToList();
            list.Count.ShouldBe(4);
            list.ShouldAllBe(r => r.GetProperty("parent_run_id").GetString() == parentId && r.GetProperty("status").GetString() == "FINISHED");
            list.Select(r => r.GetProperty("name").GetString()).Order().ShouldBe(["trial-001", "trial-002", "trial-003", "trial-004"]);
            list.Select(r => r.GetProperty("run_id").GetString()).ShouldBe(board.Select(e => e.GetProperty("run_id").GetString()), ignoreOrder: true);
            var best = list.Single(r => r.GetProperty("run_id").GetString() == board[0].GetProperty("run_id").GetString());
            best.GetProperty("params").GetProperty("maxSamples").GetString().ShouldBe(board[0].GetProperty("params").GetProperty("maxSamples").GetString());
            best.GetProperty("metrics").GetProperty("val_auc_pr").GetDouble().ShouldBe(aucPr[0]);
            best.GetProperty("artifacts")[0].GetProperty("name").GetString().ShouldBe("model.zip");
        }

        var parent = Run("runs", "show", parentId, "--json");
        parent.ShouldSucceed();
        using (var p = JsonDocument.Parse(parent.StdOut))
        {
            p.RootElement.GetProperty("tags").GetProperty("best_run").GetString().ShouldBe(board[0].GetProperty("run_id").GetString());
            p.RootElement.GetProperty("metrics").GetProperty("best_auc_pr").GetDouble().ShouldBe(aucPr[0]);
        }

        var second = Run(Search("s2"));
        second.ShouldSucceed();
        using var b = JsonDocument.Parse(second.StdOut);
        Ranking(b).ShouldBe(Ranking(a));

        var table = Run("search", "--kind", "iforest", "--data", fx.Data, "--label", "label", "--features", Features, "--trials", "2", "--seed", "4", "--threads", "1");
        table.ShouldSucceed();
        table.StdOut.ShouldContain("leaderboard by auc_pr (validation)");
        table.StdOut.ShouldContain("estimators=");
    }

    [Fact]
    public void Search_ranks_the_others_when_a_candidate_fails_and_exits_4()
    {
        // maxFeatures 50 passes the grid check but fails at fit on 2 features.
        File.WriteAllText(_dir.File("grid.yaml"), "estimators: [10]\nmaxFeatures: [1.0, 50]\n");
        var r = Run("search", "--kind", "iforest", "--data", fx.Data, "--label", "label", "--features", "amount,hour_of_day", "--grid", "grid.yaml",
            "--seed", "2", "--threads", "1", "--json");
        r.ExitCode.ShouldBe(4, r.StdErr);
        using var json = JsonDocument.Parse(r.StdOut);
        var board = json.RootElement.GetProperty("leaderboard");
        board.GetArrayLength().ShouldBe(2);
        board[0].GetProperty("candidate").GetInt32().ShouldBe(1);
        board[0].GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        board[0].GetProperty("metrics").GetProperty("auc_pr").GetDouble().ShouldBeGreaterThan(0);
        board[1].GetProperty("candidate").GetInt32().ShouldBe(2);
        board[1].GetProperty("error").GetString()!.ShouldContain("MaxFeatures asks for 50 features per tree but the data has 2");
    }

    [Fact]
    public void Search_refuses_an_unknown_parameter_naming_the_valid_ones()
    {
        File.WriteAllText(_dir.File("grid.yaml"), "estimators: [10]\nmax_depth: [3, 5]\n");
        Run("search", "--kind", "iforest", "--data", fx.Data, "--label", "label", "--grid", "grid.yaml")
            .ShouldFailWithOneLine("unknown iforest parameter 'max_depth'", "valid parameters: estimators, maxSamples");
    }

    [Fact]
    public void Promote_moves_champion_only_when_the_gate_passes_and_records_the_gate_as_the_reason()
    {
        // v1: a weak isolation forest on two features; v2: LightGBM on the labels.
        Run("train", "--data", fx.Data, "--label", "label", "--features", "hour_of_day,customer_tenure_days", "--estimators", "10", "--register", "fraud").ShouldSucceed();
        Run("train", "--data", fx.Data, "--label", "label", "--kind", "lightgbm", "--features", Features, "--estimators", "30", "--threads", "1", "--register", "fraud").ShouldSucceed();
        const string Gate = "auc_pr>=champion+0.01,recall_at_fpr_0.05>=champion";

        var first = Run("promote", "fraud", "--candidate", "1", "--gate", Gate, "--data", fx.Data, "--label", "label", "--user", "alice");
        first.ShouldSucceed();
        first.StdOut.ShouldContain("promoted fraud version 1 to champion (there was no champion yet)");

        var better = Run("promote", "fraud", "--candidate", "2", "--gate", Gate, "--data", fx.Data, "--label", "label", "--oot-days", "30", "--user", "alice");
        better.ShouldSucceed();
        better.StdOut.ShouldContain("promoted fraud version 2 to champion (was version 1); gate passed: auc_pr ");
        ChampionVersion().ShouldBe(2);

        var worse = Run("promote", "fraud", "--candidate", "1", "--gate", Gate, "--data", fx.Data, "--label", "label", "--oot-days", "30", "--user", "alice");
        worse.ExitCode.ShouldBe(3, worse.StdErr);
        var error = worse.StdErr.Split('\n').Single(l => l.StartsWith("vigil: error: ", StringComparison.Ordinal));
        error.ShouldMatch(@"^vigil: error: gate failed: auc_pr \d\.\d{4}<\d\.\d{4}\+0\.01(; recall_at_fpr_0\.05 \d\.\d{4}<\d\.\d{4})?; fraud@champion stays version 2$");
        ChampionVersion().ShouldBe(2);

        var history = Run("models", "history", "fraud", "--target", "champion", "--json");
        history.ShouldSucceed();
        using (var json = JsonDocument.Parse(history.StdOut))
        {
            var entries = json.RootElement.EnumerateArray().ToList();
            entries.Count.ShouldBe(2);
            entries[0].GetProperty("reason").GetString().ShouldBe("gate passed (no champion yet)");
            entries[1].GetProperty("reason").GetString()!.ShouldStartWith("gate passed: auc_pr ");
            entries[1].GetProperty("reason").GetString()!.ShouldContain(">=");
            entries[1].GetProperty("actor").GetString().ShouldBe("alice");
        }

        var runs = Run("runs", "list", "--experiment", "promotions", "--json");
        runs.ShouldSucceed();
        using (var json = JsonDocument.Parse(runs.StdOut))
        {
            var list = json.RootElement.EnumerateArray().ToList();
            list.Count.ShouldBe(3);
            var failed = list[0]; // newest first
            failed.GetProperty("tags").GetProperty("gate").GetString().ShouldBe("failed");
            failed.GetProperty("params").GetProperty("candidate").GetString().ShouldBe("1");
            failed.GetProperty("params").GetProperty("champion").GetString().ShouldBe("2");
            failed.GetProperty("params").GetProperty("gate").GetString().ShouldBe(Gate);
            failed.GetProperty("metrics").GetProperty("candidate.auc_pr").GetDouble()
                .ShouldBeLessThan(failed.GetProperty("metrics").GetProperty("champion.auc_pr").GetDouble() + 0.01);
            list.Select(r => r.GetProperty("tags").GetProperty("gate").GetString()).ShouldBe(["failed", "passed", "passed"]);
        }

        var dry = Run("promote", "fraud", "--candidate", "1", "--gate", "auc_pr>=0", "--data", fx.Data, "--label", "label", "--dry-run");
        dry.ShouldSucceed();
        dry.StdOut.ShouldContain("dry run: gate passed: auc_pr ");
        ChampionVersion().ShouldBe(2);
    }

    [Fact]
    public void Promote_with_a_bad_gate_names_the_condition()
    {
        Run("promote", "fraud", "--candidate", "2", "--gate", "auc_pr>=champion,recall>=champion", "--data", fx.Data, "--label", "label")
            .ShouldFailWithOneLine("gate condition 2 'recall>=champion': unknown metric 'recall'");
        Run("promote", "fraud", "--candidate", "2", "--gate", "auc_pr=>champion", "--data", fx.Data, "--label", "label")
            .ShouldFailWithOneLine("gate condition 1 'auc_pr=>champion'");
    }

    private int ChampionVersion()
    {
        var show = Run("models", "show", "fraud", "--json");
        show.ShouldSucceed();
        using var json = JsonDocument.Parse(show.StdOut);
        return json.RootElement.GetProperty("aliases").GetProperty("champion").GetInt32();
    }

    private static List<string> Ranking(JsonDocument d) =>
        [.. d.RootElement.GetProperty("leaderboard").EnumerateArray().Select(e =>
            e.GetProperty("candidate").GetInt32() + " " + e.GetProperty("params").GetRawText() + " " + e.GetProperty("metrics").GetRawText())];
}
