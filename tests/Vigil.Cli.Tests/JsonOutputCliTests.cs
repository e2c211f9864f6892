using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary>
/// Issue 15: <c>--json</c> on every command that prints a result. Each test parses the whole of stdout as one JSON
/// document (so no progress or human text may reach it) and checks the fields the README documents.
/// </summary>
public sealed class JsonOutputCliTests(UsabilityFixture fx) : IClassFixture<UsabilityFixture>
{
    /// <summary>stdout parsed as exactly one JSON document (JsonDocument.Parse refuses trailing text).</summary>
    private static JsonDocument Document(VigilResult r)
    {
        r.ShouldSucceed();
        return JsonDocument.Parse(r.StdOut);
    }

    [Fact]
    public void Generate_json_names_the_file_rows_seed_and_time()
    {
        using var dir = new TempDir();
        using var json = Document(VigilProcess.RunInProcess(dir.Path, dir.File("home"), "generate", "transactions", "--rows", "700", "--seed", "3", "--out", "t.csv", "--json"));
        var root = json.RootElement;

        root.GetProperty("output").GetString().ShouldBe(dir.File("t.csv"));
        root.GetProperty("format").GetString().ShouldBe("csv");
        root.GetProperty("rows").GetInt64().ShouldBe(700);
        root.GetProperty("seed").GetUInt64().ShouldBe(3UL);
        root.GetProperty("fraud_rate").GetDouble().ShouldBe(0.01);
        root.GetProperty("days").GetInt32().ShouldBe(90);
        root.GetProperty("start").GetString().ShouldBe("2025-01-01");
        root.GetProperty("seconds").GetDouble().ShouldBeGreaterThanOrEqualTo(0);
        File.ReadLines(dir.File("t.csv")).Count().ShouldBe(701);
    }

    [Fact]
    public void Promote_json_has_the_gate_checks_metrics_and_the_outcome_and_keeps_exit_code_3_for_a_failed_gate()
    {
        using (var json = Document(fx.Run("promote", "ux", "--candidate", "2", "--gate", "auc_pr>=0", "--data", "tx.csv", "--label", "label", "--dry-run", "--json")))
        {
            var root = json.RootElement;
            root.GetProperty("model").GetString().ShouldBe("ux");
            root.GetProperty("candidate").GetInt32().ShouldBe(2);
            root.GetProperty("dry_run").GetBoolean().ShouldBeTrue();
            root.GetProperty("moved").GetBoolean().ShouldBeFalse();
            root.GetProperty("passed").GetBoolean().ShouldBeTrue();
            root.GetProperty("rows").GetInt32().ShouldBe(3000);
            root.GetProperty("run_id").ValueKind.ShouldBe(JsonValueKind.Null);
            var check = root.GetProperty("gate")[0];
            check.GetProperty("condition").GetString().ShouldBe("auc_pr>=0");
            check.GetProperty("outcome").GetString().ShouldBe("passed");
            var aucPr = root.GetProperty("metrics").GetProperty("candidate").GetProperty("auc_pr").GetDouble();
            check.GetProperty("candidate").GetDouble().ShouldBe(aucPr);
            aucPr.ShouldBeInRange(0, 1);
        }

        var failed = fx.Run("promote", "ux", "--candidate", "2", "--gate", "auc_pr>=2", "--data", "tx.csv", "--label", "label", "--dry-run", "--json");
        failed.ExitCode.ShouldBe(3);
        using var failedJson = JsonDocument.Parse(failed.StdOut);
        failedJson.RootElement.GetProperty("passed").GetBoolean().ShouldBeFalse();
        failedJson.RootElement.GetProperty("gate")[0].GetProperty("outcome").GetString().ShouldBe("failed");
        failed.StdErr.ShouldContain("vigil: error:");
    }

    [Fact]
    public void Quickstart_json_reports_candidates_the_real_champion_files_and_the_flow_with_steps_on_stderr()
    {
        using var dir = new TempDir();
        var r = VigilProcess.RunInProcess(dir.Path, dir.File("home"), "quickstart", "--rows", "8000", "--out", "qs", "--json");
        using var json = Document(r);
        var root = json.RootElement;

        r.StdErr.ShouldContain("fresh start");
        r.StdErr.ShouldContain("1/7 generating");
        root.GetProperty("out").GetString().ShouldBe(dir.File("qs"));
        root.GetProperty("rows").GetInt64().ShouldBe(8000);
        var candidates = root.GetProperty("candidates").EnumerateArray().ToList();
        candidates.Select(c => c.GetProperty("kind").GetString()).ShouldBe(["iforest", "autoencoder", "lightgbm"]);
        candidates.Select(c => c.GetProperty("version").GetInt32()).ShouldBe([1, 2, 3]);
        foreach (var c in candidates)
        {
            c.GetProperty("metrics").GetProperty("auc_pr").GetDouble().ShouldBeInRange(0, 1);
        }

        var champion = root.GetProperty("champion");
        champion.GetProperty("uri").GetString().ShouldBe("models:/quickstart-fraud@champion");
        var versions = VigilProcess.RunInProcess(dir.Path, dir.File("home"), "models", "show", "quickstart-fraud", "--json");
        using (var shown = Document(versions))
        {
            shown.RootElement.GetProperty("aliases").GetProperty("champion").GetInt32().ShouldBe(champion.GetProperty("version").GetInt32());
        }

        File.Exists(root.GetProperty("files").GetProperty("scores").GetString()).ShouldBeTrue();
        Directory.Exists(root.GetProperty("files").GetProperty("model").GetString()).ShouldBeTrue();
        root.GetProperty("flow").GetProperty("succeeded").GetBoolean().ShouldBeTrue();
        root.GetProperty("flow").GetProperty("steps").GetInt32().ShouldBeGreaterThan(0);
        root.GetProperty("promotion").GetProperty("candidate").GetInt32().ShouldBe(root.GetProperty("best").GetProperty("version").GetInt32());
    }

    [Fact]
    public void Alias_delete_and_runs_fail_json_print_what_they_changed()
    {
        fx.Run("models", "alias", "set", "ux", "doomed", "1").ShouldSucceed();
        using (var json = Document(fx.Run("models", "alias", "delete", "ux", "doomed", "--json")))
        {
            json.RootElement.GetProperty("model").GetString().ShouldBe("ux");
            json.RootElement.GetProperty("target").GetString().ShouldBe("doomed");
            json.RootElement.GetProperty("from_version").GetInt32().ShouldBe(1);
            json.RootElement.GetProperty("to_version").ValueKind.ShouldBe(JsonValueKind.Null);
        }

        using var failed = Document(fx.Run("runs", "fail", "--orphans", "--json"));
        failed.RootElement.GetProperty("failed").ValueKind.ShouldBe(JsonValueKind.Array);
        failed.RootElement.GetProperty("failed").GetArrayLength().ShouldBe(0); // the fixture's runs all ended
    }
}
