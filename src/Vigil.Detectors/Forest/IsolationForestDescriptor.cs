using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>iforest</c> kind: isolation forest with scikit-learn semantics; weights in <c>forest.bin</c>.</summary>
internal sealed class IsolationForestDescriptor : SingleFileDescriptor<IsolationForestModel, IsolationForestOptions>
{
    public const string WeightsFile = "forest.bin";

    private readonly TrainParameter[] _settings;

    public IsolationForestDescriptor()
        : base(IsolationForestModel.DetectorKind, WeightsFile, s => s.Forest, (s, o) => s with { Forest = o }, o => o.Validate(),
            new(m => m.ToBytes(), b => IsolationForestModel.Read(b), (m, t) => m.WithThreshold(t)))
    {
        _settings =
        [
            Setting("estimators", "a whole number >= 1", o => I(o.Estimators), (o, v) => o with { Estimators = ParseInt(v) })
                .WithCommandLineOption("--estimators", "number of trees"),
            Setting("maxSamples", "'auto', a row count or a fraction like 0.5", o => o.MaxSamples.ToString(), (o, v) => o with { MaxSamples = MaxSamples.Parse(v) })
                .WithCommandLineOption("--max-samples", "rows per tree ('auto' = min(256, n))"),
            Setting("maxFeatures", "a fraction in (0, 1] or a whole count", o => D(o.MaxFeatures), (o, v) => o with { MaxFeatures = ParseDouble(v) })
                .WithCommandLineOption("--max-features", "share of features per tree"),
            Setting("bootstrap", "true or false", o => B(o.Bootstrap), (o, v) => o with { Bootstrap = ParseBool(v) })
                .WithCommandLineOption("--bootstrap", "sample rows with replacement", isSwitch: true),
            Setting("contamination", "'auto' or a fraction in (0, 0.5]", o => o.Contamination is { } c ? D(c) : "auto",
                (o, v) => o with { Contamination = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseDouble(v) })
                .WithCommandLineOption("--contamination", "expected anomaly share, which sets the threshold from training scores ('auto' = 0.5)"),
            Setting("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
        ];
    }

    public override string Description => "isolation forest (unsupervised; scikit-learn semantics, score in (0, 1])";

    public override IReadOnlyList<TrainParameter> Parameters => _settings;

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var forest = new IsolationForest(OptionsOf(context.Spec)).Fit(context.TrainingRows);
        context.Resolved["maxSamplesResolved"] = I(forest.MaxSamples);
        return forest;
    }
}
