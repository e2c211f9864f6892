using Vigil.Data;

namespace Vigil.Detectors.Tests.Bundles;

public sealed class DetectorBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-detector-bundle-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec Spec = new()
    {
        Label = "label",
        IdColumn = "id",
        Autoencoder = new AutoencoderOptions { HiddenLayers = [8, 3, 8], Epochs = 5, Seed = 2 },
        LightGbm = new LightGbmOptions { Iterations = 20, MinRowsPerLeaf = 5, Threads = 1 },
    };

    private string PathOf(string name) => Path.Combine(_dir, name);

    public static TheoryData<string, string> KindsAndPaths => new()
    {
        { "iforest", "if" },
        { "iforest", "if.zip" },
        { "autoencoder", "ae" },
        { "autoencoder", "ae.zip" },
        { "lightgbm", "gbm" },
        { "lightgbm", "gbm.zip" },
    };

    [Theory]
    [MemberData(nameof(KindsAndPaths))]
    public void Save_then_load_gives_bit_identical_scores(string kind, string name)
    {
        var frame = TestData.Transactions(31, 1200);
        var bundle = ModelBundle.Train(frame, Spec with { Model = kind });
        bundle.Save(PathOf(name));
        var loaded = ModelBundle.Load(PathOf(name));

        loaded.Manifest.DetectorKind.ShouldBe(kind);
        loaded.Detector.Kind.ShouldBe(kind);
        var expected = bundle.Score(frame);
        var actual = loaded.Score(frame);
        actual.Select(BitConverter.DoubleToInt64Bits).ShouldBe(expected.Select(BitConverter.DoubleToInt64Bits));
        loaded.Threshold.ShouldBe(bundle.Threshold);
        loaded.Explain(frame, 7, 3).ShouldBe(bundle.Explain(frame, 7, 3));
    }

    [Theory]
    [InlineData("autoencoder", "autoencoder.bin")]
    [InlineData("lightgbm", "lightgbm.bin")]
    public void Flipped_byte_in_the_weights_is_reported_as_a_sha256_mismatch(string kind, string file)
    {
        ModelBundle.Train(TestData.Transactions(32, 400), Spec with { Model = kind }).Save(PathOf("m"));
        var path = Path.Combine(PathOf("m"), file);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldContain($"{file} SHA-256 mismatch");
        e.File.ShouldBe(file);
    }

    [Fact]
    public void Lightgbm_without_a_label_is_refused_with_a_clear_message()
    {
        var e = Should.Throw<ArgumentException>(() => ModelBundle.Train(TestData.Transactions(33, 100), Spec with { Model = "lightgbm", Label = null }));
        e.Message.ShouldContain("supervised");
        e.Message.ShouldContain("label column");
    }

    [Fact]
    public void Autoencoder_groups_numeric_features_and_each_categorical_column()
    {
        var bundle = ModelBundle.Train(TestData.Transactions(34, 500), Spec with { Model = "autoencoder" });
        var model = (AutoencoderModel)bundle.Detector;
        model.GroupNames.ShouldBe(["numeric", "country"]);
        model.FeatureGroups.Count(g => g == 1).ShouldBe(6); // 5 countries + the other slot
        bundle.Manifest.Parameters["groups"].ShouldBe("numeric,country");
        bundle.Manifest.Files.Keys.ShouldBe(["transform.json", "autoencoder.bin", "profile.json"], ignoreOrder: true);
    }

    [Fact]
    public void Explain_maps_one_hot_slots_back_to_the_categorical_column_and_sums_to_the_score()
    {
        var frame = TestData.Transactions(35, 600);
        var bundle = ModelBundle.Train(frame, Spec with { Model = "autoencoder" });
        var reasons = bundle.Explain(frame, 3, top: 10);
        reasons.Select(r => r.Feature).ShouldBe(["amount", "hour", "country"], ignoreOrder: true);
        reasons.Sum(r => r.Contribution).ShouldBe(bundle.Score(frame)[3], 1e-9);
        for (var i = 1; i < reasons.Count; i++)
        {
            Math.Abs(reasons[i - 1].Contribution).ShouldBeGreaterThanOrEqualTo(Math.Abs(reasons[i].Contribution));
        }

        bundle.Explain(frame, 3, top: 1).Count.ShouldBe(1);
    }

    [Fact]
    public void Explain_names_the_feature_that_makes_a_row_anomalous()
    {
        var frame = TestData.Transactions(36, 1500);
        var bundle = ModelBundle.Train(frame, Spec with { Model = "autoencoder", Autoencoder = Spec.Autoencoder with { Epochs = 20 } });
        var amount = ((Float64Column)frame["amount"]).Values.ToArray();
        amount[10] = 100_000; // far outside the training range
        var changed = new Frame([.. frame.Columns.Select(c => c.Name == "amount" ? new Float64Column("amount", amount) : c)]);
        bundle.Explain(changed, 10, 1)[0].Feature.ShouldBe("amount");
    }

    [Fact]
    public void Isolation_forest_bundles_name_the_feature_that_makes_a_row_anomalous()
    {
        var frame = TestData.Transactions(37, 1000);
        var bundle = ModelBundle.Train(frame, Spec with { Model = "iforest" });
        bundle.CanExplain.ShouldBeTrue();
        var amount = ((Float64Column)frame["amount"]).Values.ToArray();
        amount[10] = 100_000; // far outside the training range
        var changed = new Frame([.. frame.Columns.Select(c => c.Name == "amount" ? new Float64Column("amount", amount) : c)]);
        var reasons = bundle.Explain(changed, 10, top: 10);
        reasons[0].Feature.ShouldBe("amount");
        reasons[0].Contribution.ShouldBeGreaterThan(0);
        reasons.Select(r => r.Feature).ShouldBe(["amount", "hour", "country"], ignoreOrder: true);
        reasons.Sum(r => r.Contribution).ShouldBe(1 + Math.Log2(bundle.Score(changed)[10]), 1e-9);
    }

    [Fact]
    public void Isolation_forest_reasons_survive_save_and_load_through_explain_features()
    {
        var frame = TestData.Transactions(39, 600);
        var bundle = ModelBundle.Train(frame, Spec with { Model = "iforest" });
        bundle.Save(PathOf("reasons"));
        var loaded = ModelBundle.Load(PathOf("reasons"));
        var width = bundle.Transform.OutputCount;
        var features = new float[frame.RowCount * width];
        bundle.Transform.Transform(frame, features);
        for (var row = 0; row < 40; row++)
        {
            var expected = bundle.ExplainFeatures(features.AsSpan(row * width, width), 3);
            expected.Count.ShouldBe(3);
            loaded.ExplainFeatures(features.AsSpan(row * width, width), 3).ShouldBe(expected);
            loaded.Explain(frame, row, 3).ShouldBe(expected);
        }

        // Scoring while explaining (the server's path for requests with reasons): the same reasons and the same score.
        loaded.ScoresWhileExplaining.ShouldBeTrue();
        var scores = loaded.Score(frame);
        for (var row = 0; row < 40; row++)
        {
            loaded.TryScoreAndExplain(features.AsSpan(row * width, width), 3, out var score, out var reasons).ShouldBeTrue();
            score.ShouldBe(scores[row]);
            reasons.ShouldBe(loaded.ExplainFeatures(features.AsSpan(row * width, width), 3));
        }
    }

    [Theory]
    [InlineData("autoencoder")]
    [InlineData("lightgbm")]
    public void With_threshold_survives_save_and_load(string kind)
    {
        var bundle = ModelBundle.Train(TestData.Transactions(38, 400), Spec with { Model = kind }).WithThreshold(0.25);
        bundle.Save(PathOf("t"));
        ModelBundle.Load(PathOf("t")).Threshold.ShouldBe(0.25);
    }
}
