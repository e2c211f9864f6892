using System.Globalization;
using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary>
/// <c>vigil import onnx</c> and <c>vigil train --model onnx</c> on the PyTorch fixtures of eng/make-onnx-fixture.sh
/// (copied from tests/Vigil.Detectors.Tests/Onnx/Fixtures); the expected scores are torch's own outputs.
/// </summary>
public sealed class OnnxImportCliTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "OnnxFixtures");

    private static string F(string name) => Path.Combine(Fixtures, name);

    [Fact]
    public void Import_register_then_score_by_registry_uri_reproduces_the_torch_outputs()
    {
        using var dir = new TempDir();
        var import = VigilProcess.Run(dir.Path, "import", "onnx", F("scorer.onnx"), "--onnx-schema", F("scorer.schema.json"), "--register", "torch-scorer");
        import.ShouldSucceed();
        import.StdOut.ShouldContain("imported onnx scorer.onnx: 6 features");
        import.StdOut.ShouldContain("registered torch-scorer version 1 (models:/torch-scorer/1)");

        var score = VigilProcess.Run(dir.Path, "score", "--model", "models:/torch-scorer/1", "--data", F("onnx-input.csv"), "--out", "scores.csv");
        score.ShouldSucceed();

        var (ids, scores, flags) = ReadScores(dir.File("scores.csv"));
        var expected = File.ReadAllLines(F("scorer.expected.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        ids.ShouldBe(expected.Select(e => e[0]));
        for (var i = 0; i < scores.Length; i++)
        {
            var e = double.Parse(expected[i][1], CultureInfo.InvariantCulture);
            scores[i].ShouldBe(e, 1e-5, $"row {ids[i]}");
            flags[i].ShouldBe(scores[i] > 1.0); // the schema's threshold
        }

        var versions = VigilProcess.Run(dir.Path, "models", "versions", "torch-scorer", "--json");
        versions.ShouldSucceed();
        using var json = JsonDocument.Parse(versions.StdOut);
        json.RootElement.GetArrayLength().ShouldBe(1);
        json.RootElement[0].GetProperty("feature_schema").GetString()!.ShouldContain("velocity_1h:float64");
    }

    [Fact]
    public void Train_with_model_onnx_writes_the_same_kind_of_bundle_with_training_metrics()
    {
        using var dir = new TempDir();
        var train = VigilProcess.Run(dir.Path, "train", "--kind", "onnx", "--onnx", F("classifier.onnx"), "--onnx-schema", F("classifier.schema.json"),
            "--data", F("onnx-input.csv"), "--label", "label", "--id", "id", "--out", "clf.zip");
        train.ShouldSucceed();
        train.StdOut.ShouldContain("trained onnx on 256 rows x 6 features");
        train.StdOut.ShouldContain("train_auc_roc=1.0000");

        VigilProcess.Run(dir.Path, "score", "--model", "clf.zip", "--data", F("onnx-input.csv"), "--out", "s.csv").ShouldSucceed();
        var (_, scores, _) = ReadScores(dir.File("s.csv"));
        var expected = File.ReadAllLines(F("classifier.expected.csv")).Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i].ShouldBe(expected[i], 1e-5);
        }
    }

    [Fact]
    public void Bad_schema_missing_file_and_invalid_onnx_exit_2_with_one_line_naming_the_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("wrong-input.json"), """{"features": ["amount", "hour", "merchant_risk", "velocity_1h", "distance_km", "account_age_days"], "input": "x", "output": "score"}""");
        File.WriteAllText(dir.File("junk.onnx"), "not a model");

        VigilProcess.Run(dir.Path, "import", "onnx", F("scorer.onnx"), "--onnx-schema", "wrong-input.json", "--out", "m")
            .ShouldFailWithOneLine("wrong-input.json", "\"input\" names 'x'", "'features' float32 [batch, 6]");
        VigilProcess.Run(dir.Path, "import", "onnx", "absent.onnx", "--onnx-schema", F("scorer.schema.json"), "--out", "m")
            .ShouldFailWithOneLine("absent.onnx", "file not found");
        VigilProcess.Run(dir.Path, "import", "onnx", "junk.onnx", "--onnx-schema", F("scorer.schema.json"), "--out", "m")
            .ShouldFailWithOneLine("junk.onnx", "is not a valid ONNX model");
        Directory.Exists(dir.File("m")).ShouldBeFalse();
    }

    private static (string[] Ids, double[] Scores, bool[] Flags) ReadScores(string path)
    {
        var lines = File.ReadAllLines(path);
        lines[0].ShouldBe("id,score,is_anomaly");
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        return (
            rows.Select(r => r[0]).ToArray(),
            rows.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)).ToArray(),
            rows.Select(r => r[2] == "1").ToArray());
    }

    [Fact]
    public void Import_json_has_kind_features_bundle_and_the_registered_version()
    {
        using var dir = new TempDir();
        var import = VigilProcess.Run(dir.Path, "import", "onnx", F("scorer.onnx"), "--onnx-schema", F("scorer.schema.json"), "--out", "m.zip", "--register", "torch-json", "--json");
        import.ShouldSucceed();
        using var json = JsonDocument.Parse(import.StdOut);
        var root = json.RootElement;

        root.GetProperty("kind").GetString().ShouldBe("onnx");
        root.GetProperty("source").GetString().ShouldBe(F("scorer.onnx"));
        root.GetProperty("features").GetArrayLength().ShouldBe(6);
        root.GetProperty("bundle").GetString().ShouldBe(dir.File("m.zip"));
        File.Exists(dir.File("m.zip")).ShouldBeTrue();
        root.GetProperty("threshold").GetDouble().ShouldBe(1.0); // the schema's threshold
        root.GetProperty("experiment").GetString().ShouldBe("default");
        root.GetProperty("run_id").GetString()!.Length.ShouldBe(32);
        root.GetProperty("model").GetProperty("uri").GetString().ShouldBe("models:/torch-json/1");
    }
}
