using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>
/// The <c>ensemble</c> kind: isolation forest + autoencoder, rank-averaged (see <see cref="EnsembleModel"/>); a robust
/// default for unlabelled data. Files: <c>ensemble.bin</c> (threshold and reference quantiles), <c>forest.bin</c> and
/// <c>autoencoder.bin</c> (the members, in their own kinds' formats).
/// </summary>
internal sealed class EnsembleDescriptor : DetectorDescriptor
{
    public const string EnsembleFile = "ensemble.bin";

    private readonly TrainParameter[] _settings;

    public EnsembleDescriptor()
    {
        _settings =
        [
            new TrainParameter(Name, "estimators", "a whole number >= 1", s => I(s.Forest.Estimators), (s, v) => s with { Forest = s.Forest with { Estimators = ParseInt(v) } })
                .WithCommandLineOption("--estimators", "trees of the isolation forest member"),
            new TrainParameter(Name, "epochs", "a whole number >= 1", s => I(s.Autoencoder.Epochs), (s, v) => s with { Autoencoder = s.Autoencoder with { Epochs = ParseInt(v) } })
                .WithCommandLineOption("--epochs", "maximum epochs of the autoencoder member"),
            new TrainParameter(Name, "trimFraction", "a fraction in [0, 0.5)", s => D(s.Autoencoder.TrimFraction), (s, v) => s with { Autoencoder = s.Autoencoder with { TrimFraction = ParseDouble(v) } })
                .WithCommandLineOption("--trim-fraction", "trimmed-loss share of the autoencoder member"),
            new TrainParameter(Name, "contamination", "a fraction in (0, 0.5]", s => D(s.Ensemble.Contamination), (s, v) => s with { Ensemble = s.Ensemble with { Contamination = ParseDouble(v) } })
                .WithCommandLineOption("--contamination", "expected anomaly share, which sets the threshold from training scores"),
            new TrainParameter(Name, "seed", "a whole number >= 0", s => I(s.Ensemble.Seed), (s, v) => s with { Ensemble = s.Ensemble with { Seed = ParseULong(v) } }),
        ];
    }

    public override string Name => EnsembleModel.DetectorKind;

    public override string Description => "isolation forest + autoencoder, rank-averaged (unsupervised; a robust default for unlabelled data)";

    public override IReadOnlyList<TrainParameter> Parameters => _settings;

    public override IReadOnlyList<string> WeightFiles { get; } = [EnsembleFile, IsolationForestDescriptor.WeightsFile, AutoencoderDescriptor.WeightsFile];

    public override bool GivesReasons => false;

    public override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Ensemble.Validate();
        spec.Forest.Validate();
        spec.Autoencoder.Validate();
    }

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var spec = context.Spec;
        var seed = spec.Ensemble.Seed;
        var x = context.Features;
        var forest = new IsolationForest(spec.Forest with { Seed = seed }).Fit(x);
        var autoencoder = new Autoencoder(spec.Autoencoder with { Seed = seed }).Fit(x, context.FeatureGroups(AutoencoderModel.NumericGroup));
        var forestScores = forest.Score(x);
        var autoencoderScores = autoencoder.Score(x);
        var forestReference = EnsembleModel.Quantiles(forestScores, EnsembleModel.ReferencePoints);
        var autoencoderReference = EnsembleModel.Quantiles(autoencoderScores, EnsembleModel.ReferencePoints);
        var model = new EnsembleModel(forest, autoencoder, forestReference, autoencoderReference, 0);
        var scores = model.ScoreAll(x);

        var resolved = context.Resolved;
        resolved["maxSamplesResolved"] = I(forest.MaxSamples);
        resolved["layers"] = string.Join(",", autoencoder.LayerSizes);
        if (autoencoder.Training is { } t)
        {
            resolved["epochsRun"] = I(t.EpochsRun);
        }

        return model.WithThreshold(global::Vigil.Detectors.Autoencoder.Quantile(scores, 1 - spec.Ensemble.Contamination));
    }

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files)
    {
        var model = Expect<EnsembleModel>(detector);
        files[EnsembleFile] = model.ToBytes();
        files[IsolationForestDescriptor.WeightsFile] = model.Forest.ToBytes();
        files[AutoencoderDescriptor.WeightsFile] = model.Autoencoder.ToBytes();
    }

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath)
    {
        var forest = Member(() => IsolationForestModel.Read(files[IsolationForestDescriptor.WeightsFile]), IsolationForestDescriptor.WeightsFile, bundlePath);
        var autoencoder = Member(() => AutoencoderModel.Read(files[AutoencoderDescriptor.WeightsFile]), AutoencoderDescriptor.WeightsFile, bundlePath);
        return EnsembleModel.Read(files[EnsembleFile], forest, autoencoder);
    }

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => Expect<EnsembleModel>(detector).WithThreshold(threshold);

    private static T Member<T>(Func<T> read, string file, string bundlePath)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(bundlePath, file, e.Message, e);
        }
    }
}
