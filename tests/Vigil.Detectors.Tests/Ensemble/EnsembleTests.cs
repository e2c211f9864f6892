namespace Vigil.Detectors.Tests.Ensemble;

public sealed class EnsembleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-ensemble-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec Spec = new()
    {
        Model = "ensemble",
        Label = "label",
        IdColumn = "id",
        Forest = new IsolationForestOptions { Estimators = 50 },
        Autoencoder = new AutoencoderOptions { HiddenLayers = [8, 3, 8], Epochs = 5 },
        Ensemble = new EnsembleOptions { Seed = 4, Contamination = 0.05 },
    };

    [Theory]
    [InlineData("ens")]
    [InlineData("ens.zip")]
    public void Save_then_load_gives_bit_identical_scores_and_stores_both_members(string name)
    {
        var frame = TestData.Transactions(41, 1200);
        var bundle = ModelBundle.Train(frame, Spec);
        var path = Path.Combine(_dir, name);
        bundle.Save(path);
        var loaded = ModelBundle.Load(path);

        loaded.Manifest.DetectorKind.ShouldBe("ensemble");
        loaded.Manifest.Files.Keys.ShouldContain("ensemble.bin");
        loaded.Manifest.Files.Keys.ShouldContain("forest.bin");
        loaded.Manifest.Files.Keys.ShouldContain("autoencoder.bin");
        loaded.Score(frame).Select(BitConverter.DoubleToInt64Bits).ShouldBe(bundle.Score(frame).Select(BitConverter.DoubleToInt64Bits));
        loaded.Threshold.ShouldBe(bundle.Threshold);
    }

    [Fact]
    public void The_same_seed_gives_the_same_scores_and_another_seed_other_scores()
    {
        var frame = TestData.Transactions(42, 800);
        var a = ModelBundle.Train(frame, Spec).Score(frame);
        ModelBundle.Train(frame, Spec).Score(frame).ShouldBe(a);
        ModelBundle.Train(frame, Spec with { Ensemble = Spec.Ensemble with { Seed = 5 } }).Score(frame).ShouldNotBe(a);
    }

    [Fact]
    public void The_threshold_flags_the_contamination_share_of_the_training_rows()
    {
        var frame = TestData.Transactions(43, 2000);
        var bundle = ModelBundle.Train(frame, Spec);
        var flagged = bundle.Score(frame).Count(s => s > bundle.Threshold) / 2000.0;
        flagged.ShouldBeInRange(0.04, 0.06);
    }

    [Fact]
    public void The_score_is_the_mean_of_the_members_ranks_among_the_training_scores()
    {
        var frame = TestData.Transactions(44, 1000);
        var bundle = ModelBundle.Train(frame, Spec);
        var model = (EnsembleModel)bundle.Detector;
        var x = bundle.Transform.Transform(frame);
        var forest = model.Forest.Score(x);
        var autoencoder = model.Autoencoder.Score(x);
        var scores = model.ScoreAll(x);

        // every training row lies inside both reference ranges, so each rank is in [0, 1] and is the share of training
        // rows below it, up to the 1/1024 spacing of the stored quantiles
        for (var i = 0; i < 1000; i += 37)
        {
            var forestShare = forest.Count(s => s < forest[i]) / 999.0;
            var autoencoderShare = autoencoder.Count(s => s < autoencoder[i]) / 999.0;
            scores[i].ShouldBe(0.5 * (forestShare + autoencoderShare), 0.01);
        }
    }

    [Fact]
    public void Rank_is_monotone_and_keeps_the_order_beyond_the_training_range()
    {
        double[] q = [1, 2, 2, 2, 3, 4];
        var probes = new[] { -10.0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 50, 5000 };
        var ranks = probes.Select(p => EnsembleModel.Rank(q, p)).ToArray();
        for (var i = 1; i < ranks.Length; i++)
        {
            ranks[i].ShouldBeGreaterThan(ranks[i - 1], $"rank({probes[i]}) > rank({probes[i - 1]})");
        }

        EnsembleModel.Rank(q, 1).ShouldBe(0);
        EnsembleModel.Rank(q, 4).ShouldBe(1);
        EnsembleModel.Rank(q, 2).ShouldBe(0.4); // the middle of the run of 2s at positions 1..3 of 5
        EnsembleModel.Rank(q, 3.5).ShouldBe(0.9);
    }

    [Fact]
    public void A_truncated_ensemble_file_is_refused_naming_the_file()
    {
        var path = Path.Combine(_dir, "m");
        ModelBundle.Train(TestData.Transactions(45, 400), Spec).Save(path);
        var file = Path.Combine(path, "ensemble.bin");
        var original = File.ReadAllBytes(file);
        File.WriteAllBytes(file, original[..40]);
        static string Sha(byte[] b) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(b));
        var manifest = Path.Combine(path, "bundle.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest).Replace(Sha(original), Sha(original[..40]), StringComparison.Ordinal))!;
        var entry = node.AsObject().First(p => p.Key.Equals("files", StringComparison.OrdinalIgnoreCase)).Value!["ensemble.bin"]!.AsObject();
        foreach (var key in entry.Select(p => p.Key).Where(k => k.Equals("size", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            entry[key] = 40;
        }

        File.WriteAllText(manifest, node.ToJsonString());
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(path));
        e.Message.ShouldContain("ensemble.bin");
    }

    [Fact]
    public void The_catalog_lists_the_kind_with_its_settings()
    {
        DetectorCatalog.Get("ensemble").WeightFiles.ShouldBe(["ensemble.bin", "forest.bin", "autoencoder.bin"]);
        TrainParameters.For("ensemble").Select(p => p.Name).ShouldBe(["estimators", "epochs", "trimFraction", "contamination", "seed"]);
        var spec = TrainParameters.Apply(new TrainSpec { Model = "ensemble" }, [new("estimators", "30"), new("trimFraction", "0.2"), new("seed", "9")]);
        spec.Forest.Estimators.ShouldBe(30);
        spec.Autoencoder.TrimFraction.ShouldBe(0.2);
        spec.Ensemble.Seed.ShouldBe(9UL);
        Should.Throw<ArgumentException>(() => TrainParameters.Apply(new TrainSpec { Model = "ensemble" }, [new("contamination", "0.9")])).Message.ShouldContain("Contamination must be in (0, 0.5]");
    }
}
