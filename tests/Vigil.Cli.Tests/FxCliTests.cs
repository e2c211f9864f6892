using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary><c>vigil fx generate | train | score | evaluate</c> in process, through the registry like a user would.</summary>
public sealed class FxCliTests
{
    private const string Example =
        "Client,FX_Instrument_Type,BUnit,Cpty,PrimaryCurr,BuyCurr,SellCurr,BuyAmount,SellAmount,SpotRate,ForwardPoints,DealDate,MaturityDate,UniqueId,ContLeg\n" +
        "FISAU,FX Forward,0-GLOBAL,CBA,USD,USD,AUD,10000000.0,-10000000.0,1.0,0.0,2025-09-01,2025-09-25,FX.FWD.Request.100097,0\n" +
        "FISAU,FX Forward,0-GLOBAL,CBA,USD,USD,AUD,48500000.0,-73000000.0,1.5,0.0,2025-09-01,2025-09-25,FX.FWD.Request.100098,0\n" +
        "FISAU,FX Forward,0-GLOBAL,CBA,USD,USD,AUD,10000000.0,-10000000.0,1.0,0.0,2025-9-01,2025-09-25,FX.FWD.Request.100099,0\n" +
        "FISNZ,FX Forward,0-GLOBAL,CBA,USD,USD,AUD,10000000.0,-10000000.0,1.0,0.0,2025-09-01,2025-09-25,FX.FWD.Request.100100,0\n";

    [Fact]
    public void Generate_train_register_score_and_evaluate_one_client()
    {
        using var dir = new TempDir();
        var gen = VigilProcess.Run(dir.Path, "fx", "generate", "--rows", "8000", "--seed", "5", "--out", "deals.parquet", "--eval-out", "labelled.csv", "--eval-rows", "3000");
        gen.ShouldSucceed();
        gen.StdOut.ShouldContain("wrote 8,000 deals to deals.parquet");
        gen.StdOut.ShouldContain("labelled deals");

        var train = VigilProcess.Run(dir.Path, "fx", "train", "--data", "deals.parquet", "--client", "FISAU", "--epochs", "15", "--register", "fx-FISAU");
        train.ShouldSucceed();
        train.StdOut.ShouldContain("trained fx for FISAU on ");
        train.StdOut.ShouldContain("registered fx-FISAU version 1 (models:/fx-FISAU/1)");

        // The registry and `vigil models` read fx bundles like any other kind.
        var versions = VigilProcess.Run(dir.Path, "models", "versions", "fx-FISAU", "--json");
        versions.ShouldSucceed();
        using (var json = JsonDocument.Parse(versions.StdOut))
        {
            json.RootElement.GetArrayLength().ShouldBe(1);
            json.RootElement[0].GetProperty("feature_schema").GetString()!.ShouldContain("FaceValue:float64");
        }

        File.WriteAllText(dir.File("example.csv"), Example);
        var score = VigilProcess.Run(dir.Path, "fx", "score", "--model", "models:/fx-FISAU/1", "--data", "example.csv", "--out", "decisions.csv");
        score.ShouldSucceed();
        score.StdOut.ShouldContain("decided 2 of 4 deals");
        var lines = File.ReadAllLines(dir.File("decisions.csv"));
        lines[0].ShouldBe("Client,UniqueId,ContLeg,Anomaly,Reason,status_code,error,check,score");
        lines[1].ShouldStartWith("FISAU,FX.FWD.Request.100097,0,No,\"\",200,,,");
        lines[2].ShouldContain(",Yes,\"FaceValue 48,500,000 USD is above the usual ");
        lines[2].ShouldContain("for 0-GLOBAL/CBA/USD\",200,,amount,");
        lines[3].ShouldContain("400,DealDate: '2025-9-01' is not a date in YYYY-MM-DD form");
        lines[4].ShouldContain("400,Client: FISNZ is not served by this model (it serves FISAU)");

        var evaluate = VigilProcess.Run(dir.Path, "fx", "evaluate", "--model", "models:/fx-FISAU/1", "--data", "labelled.csv", "--json");
        evaluate.ShouldSucceed();
        using var report = JsonDocument.Parse(evaluate.StdOut);
        var root = report.RootElement;
        var kinds = root.GetProperty("kinds");
        foreach (var kind in new[] { "missing_group", "unseen_pair", "year_gap", "amount", "tenor", "pattern" })
        {
            kinds.GetProperty(kind).GetProperty("count").GetInt32().ShouldBeGreaterThan(0, kind);
            kinds.GetProperty(kind).GetProperty("recall").GetDouble().ShouldBeGreaterThanOrEqualTo(0.8, kind);
        }

        root.GetProperty("false_positive_rate").GetDouble().ShouldBeLessThan(0.05);
        root.GetProperty("skipped_other_clients").GetInt32().ShouldBeGreaterThan(0);
        var confusion = root.GetProperty("confusion");
        (confusion.GetProperty("tp").GetInt32() + confusion.GetProperty("fn").GetInt32() + confusion.GetProperty("fp").GetInt32() + confusion.GetProperty("tn").GetInt32())
            .ShouldBe(root.GetProperty("scored").GetInt32());

        var text = VigilProcess.Run(dir.Path, "fx", "evaluate", "--model", "models:/fx-FISAU/1", "--data", "labelled.csv");
        text.ShouldSucceed();
        text.StdOut.ShouldContain("deals of other clients");
        text.StdOut.ShouldContain("false positive rate on ");
    }

    [Fact]
    public void User_errors_exit_2_with_one_line()
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, "fx", "generate", "--rows", "500", "--out", "d.csv").ShouldSucceed();
        VigilProcess.Run(dir.Path, "fx", "train", "--data", "d.csv", "--client", "NOPE", "--out", "m")
            .ShouldFailWithOneLine("no deal of client NOPE in the data");
        VigilProcess.Run(dir.Path, "fx", "train", "--data", "d.csv", "--client", "FISAU")
            .ShouldFailWithOneLine("give --out BUNDLE");
        VigilProcess.Run(dir.Path, "fx", "train", "--data", "d.csv", "--client", "FISAU", "--out", "m", "--reconstruction-quantile", "1.5")
            .ShouldFailWithOneLine("--reconstruction-quantile must be in [0, 1] (was 1.5)");
        VigilProcess.Run(dir.Path, "fx", "train", "--data", "d.csv", "--client", "FISAU", "--out", "m", "--amount-quantile", "0.2")
            .ShouldFailWithOneLine("--amount-quantile must be in [0.5, 1] (was 0.2); the lower quantile is 1 minus it");
        VigilProcess.Run(dir.Path, "fx", "evaluate", "--model", "absent.zip", "--data", "d.csv").ExitCode.ShouldBe(2);
        VigilProcess.Run(dir.Path, "fx", "generate", "--rows", "0", "--out", "z.csv").ShouldFailWithOneLine("--rows");
        VigilProcess.Run(dir.Path, "fx", "import", "--tables", "absent.json", "--onnx", "absent.onnx", "--client", "FISAU", "--out", "b.zip")
            .ShouldFailWithOneLine("absent.json: file not found");
        VigilProcess.Run(dir.Path, "fx", "import", "--tables", "absent.json", "--onnx", "absent.onnx", "--client", "FISAU")
            .ShouldFailWithOneLine("give --out BUNDLE");
    }

    [Fact]
    public void Help_lists_the_fx_commands()
    {
        using var dir = new TempDir();
        var help = VigilProcess.Run(dir.Path, "fx", "--help");
        help.ShouldSucceed();
        foreach (var sub in new[] { "generate", "train", "score", "evaluate", "import" })
        {
            help.StdOut.ShouldContain(sub);
        }
    }

    [Fact]
    public void Generate_train_and_score_json_are_one_document_each_with_their_fields()
    {
        using var dir = new TempDir();
        var gen = VigilProcess.Run(dir.Path, "fx", "generate", "--rows", "3000", "--seed", "5", "--out", "deals.parquet", "--eval-out", "labelled.csv", "--eval-rows", "2000", "--json");
        gen.ShouldSucceed();
        using (var json = JsonDocument.Parse(gen.StdOut))
        {
            var root = json.RootElement;
            root.GetProperty("output").GetString().ShouldBe(dir.File("deals.parquet"));
            root.GetProperty("deals").GetInt32().ShouldBe(3000);
            root.GetProperty("eval_output").GetString().ShouldBe(dir.File("labelled.csv"));
            root.GetProperty("eval_deals").GetInt32().ShouldBe(2000);
            root.GetProperty("eval_anomalies").GetInt32().ShouldBeInRange(1, 1999);
            root.GetProperty("seed").GetUInt64().ShouldBe(5UL);
        }

        var train = VigilProcess.Run(dir.Path, "fx", "train", "--data", "deals.parquet", "--client", "FISAU", "--epochs", "3", "--out", "m", "--register", "fx-j", "--json");
        train.ShouldSucceed();
        train.StdErr.ShouldContain("fitting tables");
        using (var json = JsonDocument.Parse(train.StdOut))
        {
            var root = json.RootElement;
            root.GetProperty("kind").GetString().ShouldBe("fx");
            root.GetProperty("clients").EnumerateArray().Select(c => c.GetString()).ShouldBe(["FISAU"]);
            root.GetProperty("rows").GetInt64().ShouldBeGreaterThan(0);
            root.GetProperty("features").GetInt32().ShouldBeGreaterThan(0);
            root.GetProperty("input_groups").GetInt32().ShouldBeGreaterThan(0);
            root.GetProperty("bundle").GetString().ShouldBe(dir.File("m"));
            root.GetProperty("run_id").GetString()!.Length.ShouldBe(32);
            root.GetProperty("model").GetProperty("name").GetString().ShouldBe("fx-j");
            root.GetProperty("model").GetProperty("version").GetInt32().ShouldBe(1);
            root.GetProperty("model").GetProperty("uri").GetString().ShouldBe("models:/fx-j/1");
        }

        File.WriteAllText(dir.File("example.csv"), Example);
        var score = VigilProcess.Run(dir.Path, "fx", "score", "--model", "models:/fx-j/1", "--data", "example.csv", "--out", "decisions.csv", "--json");
        score.ShouldSucceed();
        using (var json = JsonDocument.Parse(score.StdOut))
        {
            var root = json.RootElement;
            root.GetProperty("model").GetString().ShouldBe("models:/fx-j/1");
            root.GetProperty("output").GetString().ShouldBe(dir.File("decisions.csv"));
            root.GetProperty("deals").GetInt32().ShouldBe(4);
            root.GetProperty("decided").GetInt32().ShouldBe(2);
            root.GetProperty("refused").GetInt32().ShouldBe(2);
            root.GetProperty("anomalies").GetInt32().ShouldBeInRange(0, 2);
        }
    }
}
