namespace Vigil.Detectors.Tests.Catalog;

public sealed class DetectorCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-catalog-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Built_in_kinds_are_registered_first_in_order_with_their_weight_files()
    {
        DetectorCatalog.Kinds.Take(4).ShouldBe(["iforest", "autoencoder", "lightgbm", "onnx"]);
        DetectorCatalog.Get("iforest").WeightFiles.ShouldBe(["forest.bin"]);
        DetectorCatalog.Get("autoencoder").WeightFiles.ShouldBe(["autoencoder.bin"]);
        DetectorCatalog.Get("lightgbm").WeightFiles.ShouldBe(["lightgbm.bin"]);
        DetectorCatalog.Get("onnx").WeightFiles.ShouldBe(["model.onnx", "onnx.json"]);
        DetectorCatalog.Get("lightgbm").Supervised.ShouldBeTrue();
        DetectorCatalog.Get("onnx").LearnsFromData.ShouldBeFalse();
        Should.Throw<ArgumentException>(() => DetectorCatalog.Get("nope")).Message.ShouldContain("known models: iforest, autoencoder, lightgbm, onnx");
    }

    [Fact]
    public void Built_in_parameter_names_and_defaults_are_the_ones_grids_and_run_params_use()
    {
        // The names are a contract with search grids, run params and bundle.json (TrainParameters before the catalog).
        TrainParameters.For("iforest").Select(p => p.Name).ShouldBe(["estimators", "maxSamples", "maxFeatures", "bootstrap", "contamination", "seed"]);
        TrainParameters.For("iforest").Select(p => p.DefaultValue).ShouldBe(["100", "auto", "1", "false", "auto", "0"]);
        TrainParameters.For("lightgbm")[0].Name.ShouldBe("estimators");
        TrainParameters.For("autoencoder").Count.ShouldBe(12);
        TrainParameters.For("onnx").ShouldBeEmpty();
    }

    [Fact]
    public void A_test_only_kind_registered_with_one_call_trains_saves_loads_and_scores_identically()
    {
        MeanDistanceDescriptor.Register();
        var data = TestData.Transactions(3, 600);
        var spec = TrainParameters.Apply(new TrainSpec { Model = "meandistance", Label = "label", IdColumn = "id" }, [new("cutoff", "2.5")]);

        var bundle = new BundleTrainer(spec).Fit(data);

        bundle.Manifest.DetectorKind.ShouldBe("meandistance");
        bundle.Descriptor.ShouldBeSameAs(MeanDistanceDescriptor.Instance);
        bundle.Manifest.Parameters["cutoff"].ShouldBe("2.5");
        bundle.Manifest.Parameters.ContainsKey("meanOfMeans").ShouldBeTrue(); // resolved by its Fit
        bundle.Manifest.Files.Keys.ShouldBe(["transform.json", "meandistance.bin", "profile.json"], ignoreOrder: true);
        bundle.Threshold.ShouldBe(2.5);
        bundle.Profile.ShouldNotBeNull().Scores.Count.ShouldBe(600);

        var scores = bundle.Score(data);
        foreach (var path in new[] { Path.Combine(_dir, "m"), Path.Combine(_dir, "m.zip") })
        {
            bundle.Save(path);
            var loaded = ModelBundle.Load(path);
            loaded.Manifest.DetectorKind.ShouldBe("meandistance");
            loaded.Score(data).Select(BitConverter.DoubleToInt64Bits).ShouldBe(scores.Select(BitConverter.DoubleToInt64Bits));
            loaded.Threshold.ShouldBe(2.5);
        }

        // The outliers of TestData (every 50th row is labelled) are not built in: the score is only checked to be the
        // RMS z-score, whose reasons (z^2 / features per column) add up to its square.
        var reasons = bundle.Explain(data, 7, top: 3);
        reasons.Sum(r => r.Contribution).ShouldBe(scores[7] * scores[7], 1e-9);
        scores.Count(s => bundle.Decide(s) == 1).ShouldBe(scores.Count(bundle.IsAnomaly));
        bundle.WithThreshold(0.5).Threshold.ShouldBe(0.5);
    }

    [Fact]
    public void A_test_only_kind_parameter_is_found_by_name_and_bad_values_are_refused()
    {
        MeanDistanceDescriptor.Register();
        var spec = new TrainSpec { Model = "meandistance" };
        TrainParameters.Describe(spec).ShouldBe(new Dictionary<string, string> { ["cutoff"] = "3" });
        Should.Throw<TrainParameterException>(() => TrainParameters.Find("meandistance", "estimators"))
            .Message.ShouldBe("unknown meandistance parameter 'estimators'; valid parameters: cutoff");
        Should.Throw<TrainParameterException>(() => TrainParameters.Apply(spec, [new("cutoff", "-1")]))
            .Message.ShouldBe("meandistance parameter 'cutoff' = '-1': expected a number > 0");
    }

    [Fact]
    public void Another_descriptor_under_a_registered_name_is_refused_and_the_same_one_is_a_no_op()
    {
        MeanDistanceDescriptor.Register();
        MeanDistanceDescriptor.Register();
        DetectorCatalog.Kinds.Count(k => k == "meandistance").ShouldBe(1);
        Should.Throw<ArgumentException>(() => DetectorCatalog.Register(new Impostor())).Message.ShouldContain("'iforest' is already registered");
        Should.Throw<ArgumentException>(() => DetectorCatalog.Register(new Impostor("../evil"))).Message.ShouldContain("letters, digits");
    }

    [Fact]
    public void A_bundle_of_a_kind_not_registered_is_refused_with_the_known_kinds()
    {
        // The same message whether the kind is a type name or a kind this build simply does not have.
        var path = Path.Combine(_dir, "u");
        ModelBundle.Train(TestData.Transactions(3, 200), new TrainSpec { Label = "label", IdColumn = "id", Forest = new IsolationForestOptions { Estimators = 5 } }).Save(path);
        var manifest = Path.Combine(path, "bundle.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"detectorKind\": \"iforest\"", "\"detectorKind\": \"zscore-from-elsewhere\"", StringComparison.Ordinal));

        Should.Throw<BundleException>(() => ModelBundle.Load(path))
            .Message.ShouldStartWith($"{path}: bundle.json names the unknown detector kind 'zscore-from-elsewhere'; this Vigil reads: iforest, autoencoder, lightgbm, onnx");
    }

    /// <summary>Only its name is ever read: registration refuses it before anything else is called.</summary>
    private sealed class Impostor(string name = "iforest") : DetectorDescriptor
    {
        public override string Name => name;

        public override string Description => "impostor";

        public override IReadOnlyList<TrainParameter> Parameters => [];

        public override IReadOnlyList<string> WeightFiles => ["x.bin"];

        public override IDetectorModel Fit(DetectorFitContext context) => throw new InvalidOperationException("never fitted");

        public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => throw new InvalidOperationException("never read");

        public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => throw new InvalidOperationException("never written");

        public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => throw new InvalidOperationException("never changed");
    }
}
