namespace Vigil.Detectors.Tests.Onnx;

public sealed class OnnxBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-onnx-bundle-tests-").FullName;
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var o in _owned)
        {
            o.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    private ModelBundle Own(ModelBundle bundle)
    {
        _owned.Add((IDisposable)bundle.Detector);
        return bundle;
    }

    [Theory]
    [InlineData("scorer", "m")]
    [InlineData("scorer", "m.zip")]
    [InlineData("classifier", "c")]
    [InlineData("classifier", "c.zip")]
    public void Save_then_load_gives_bit_identical_scores(string name, string file)
    {
        var frame = OnnxFixture.Input();
        var bundle = Own(ModelBundle.FromOnnx(OnnxFixture.Load(name)));
        bundle.Save(PathOf(file));
        var loaded = Own(ModelBundle.Load(PathOf(file)));

        loaded.Manifest.DetectorKind.ShouldBe("onnx");
        loaded.Detector.ShouldBeOfType<OnnxModel>().Schema.ShouldBeEquivalentTo(((OnnxModel)bundle.Detector).Schema);
        loaded.Score(frame).Select(BitConverter.DoubleToInt64Bits).ShouldBe(bundle.Score(frame).Select(BitConverter.DoubleToInt64Bits));
        loaded.Threshold.ShouldBe(bundle.Threshold);
        loaded.Manifest.FeatureSchema.Select(c => c.Name).ShouldBe(OnnxFixture.Schema(name).Features);
    }

    [Fact]
    public void Bundle_holds_the_onnx_bytes_unchanged_and_lists_every_file_with_its_sha256()
    {
        Own(ModelBundle.FromOnnx(OnnxFixture.Load("scorer"))).Save(PathOf("m"));
        var loaded = Own(ModelBundle.Load(PathOf("m")));

        File.ReadAllBytes(Path.Combine(PathOf("m"), "model.onnx")).ShouldBe(File.ReadAllBytes(OnnxFixture.ModelPath("scorer")));
        loaded.Manifest.Files.Keys.Order(StringComparer.Ordinal).ShouldBe(["model.onnx", "onnx.json", "transform.json"]);
        loaded.Manifest.Parameters["onnxSha256"].ShouldBe(loaded.Manifest.Files["model.onnx"].Sha256);
        loaded.Manifest.Parameters["input"].ShouldBe("features");
        loaded.Manifest.Parameters["output"].ShouldBe("score");
        loaded.CanExplain.ShouldBeFalse();
        loaded.Profile.ShouldBeNull(); // made without data: nothing to profile
    }

    [Theory]
    [InlineData("model.onnx")]
    [InlineData("onnx.json")]
    public void Modified_onnx_file_is_reported_as_a_sha256_mismatch(string file)
    {
        Own(ModelBundle.FromOnnx(OnnxFixture.Load("scorer"))).Save(PathOf("m"));
        var path = Path.Combine(PathOf("m"), file);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.File.ShouldBe(file);
        e.Message.ShouldContain($"{file} SHA-256 mismatch");
    }

    [Fact]
    public void Threshold_comes_from_the_schema_else_defaults_to_one_half_and_can_be_changed()
    {
        var schema = OnnxFixture.Schema("scorer");
        schema.Threshold.ShouldBe(1.0);
        Own(ModelBundle.FromOnnx(OnnxFixture.Load("scorer"))).Threshold.ShouldBe(1.0);

        var noThreshold = Own(ModelBundle.FromOnnx(OnnxModel.Load(OnnxFixture.ModelPath("scorer"), schema with { Threshold = null })));
        noThreshold.Threshold.ShouldBe(OnnxModel.DefaultThreshold);

        var changed = Own(noThreshold.WithThreshold(2.5));
        changed.Save(PathOf("t"));
        var loaded = Own(ModelBundle.Load(PathOf("t")));
        loaded.Threshold.ShouldBe(2.5);
        ((OnnxModel)loaded.Detector).Schema.Threshold.ShouldBe(2.5);
        loaded.Score(OnnxFixture.Input()).ShouldBe(noThreshold.Score(OnnxFixture.Input()));
    }

    [Fact]
    public void Train_with_onnx_checks_the_data_and_sets_the_threshold_from_contamination()
    {
        var frame = OnnxFixture.Input();
        var spec = new TrainSpec
        {
            Model = "onnx",
            Label = "label",
            IdColumn = "id",
            Onnx = new OnnxOptions { Model = OnnxFixture.Load("scorer"), Contamination = 0.0625 },
        };

        var bundle = Own(ModelBundle.Train(frame, spec));
        var scores = bundle.Score(frame);

        bundle.Manifest.DetectorKind.ShouldBe("onnx");
        bundle.Manifest.Parameters["contamination"].ShouldBe("0.0625");
        bundle.Manifest.Parameters["trainRows"].ShouldBe("256");
        scores.Count(bundle.IsAnomaly).ShouldBe(16); // 6.25 % of 256 rows
        bundle.Profile.ShouldNotBeNull().Scores.Alerts.ShouldBe(16); // trained on data: profiled, at the new threshold
        bundle.Profile.Features.Select(f => f.Name).ShouldBe(OnnxFixture.Schema("scorer").Features);
        OnnxFixture.MaxError(scores, OnnxFixture.Expected("scorer")).ShouldBeLessThanOrEqualTo(1e-5);

        bundle.Save(PathOf("trained.zip"));
        var loaded = Own(ModelBundle.Load(PathOf("trained.zip")));
        loaded.Threshold.ShouldBe(bundle.Threshold);
        loaded.Score(frame).ShouldBe(scores);
    }

    [Fact]
    public void Train_with_onnx_but_no_model_or_data_without_a_feature_is_refused()
    {
        Should.Throw<ArgumentException>(() => ModelBundle.Train(OnnxFixture.Input(), new TrainSpec { Model = "onnx" }))
            .Message.ShouldContain("the loaded ONNX model");

        var frame = OnnxFixture.Input();
        var without = new Vigil.Data.Frame(frame.Columns.Where(c => c.Name != "amount"));
        var spec = new TrainSpec { Model = "onnx", Onnx = new OnnxOptions { Model = OnnxFixture.Load("scorer") } };
        _owned.Add(spec.Onnx.Model!);
        Should.Throw<SchemaMismatchException>(() => ModelBundle.Train(without, spec)).Message.ShouldContain("amount");
    }

    [Fact]
    public void Bundle_whose_onnx_json_no_longer_fits_the_model_is_refused_naming_the_file()
    {
        Own(ModelBundle.FromOnnx(OnnxFixture.Load("scorer"))).Save(PathOf("m"));
        var dir = PathOf("m");
        var json = File.ReadAllText(Path.Combine(dir, "onnx.json")).Replace("\"score\"", "\"nope\"", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir, "onnx.json"), json);
        RewriteHash(dir, "onnx.json");

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(dir));
        e.File.ShouldBe("onnx.json", e.Message);
        e.Message.ShouldContain("\"output\" names 'nope'");
    }

    /// <summary>Updates bundle.json's size and SHA-256 of <paramref name="file"/> so only the content check remains.</summary>
    private static void RewriteHash(string dir, string file)
    {
        var manifestPath = Path.Combine(dir, "bundle.json");
        var manifest = File.ReadAllText(manifestPath);
        var bytes = File.ReadAllBytes(Path.Combine(dir, file));
        var doc = System.Text.Json.Nodes.JsonNode.Parse(manifest)!;
        doc["files"]![file]!["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        doc["files"]![file]!["size"] = bytes.Length;
        File.WriteAllText(manifestPath, doc.ToJsonString());
    }
}
