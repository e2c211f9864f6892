using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>iforest</c> kind: isolation forest with scikit-learn semantics; weights in <c>forest.bin</c>.</summary>
internal sealed class IsolationForestDescriptor : DetectorDescriptor
{
    public const string WeightsFile = "forest.bin";

    private static readonly TrainParameter[] Settings =
    [
        P("estimators", "a whole number >= 1", o => I(o.Estimators), (o, v) => o with { Estimators = ParseInt(v) }),
        P("maxSamples", "'auto', a row count or a fraction like 0.5", o => o.MaxSamples.ToString(), (o, v) => o with { MaxSamples = MaxSamples.Parse(v) }),
        P("maxFeatures", "a fraction in (0, 1] or a whole count", o => D(o.MaxFeatures), (o, v) => o with { MaxFeatures = ParseDouble(v) }),
        P("bootstrap", "true or false", o => B(o.Bootstrap), (o, v) => o with { Bootstrap = ParseBool(v) }),
        P("contamination", "'auto' or a fraction in (0, 0.5]", o => o.Contamination is { } c ? D(c) : "auto",
            (o, v) => o with { Contamination = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseDouble(v) }),
        P("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
    ];

    public override string Name => IsolationForestModel.DetectorKind;

    public override string Description => "isolation forest (unsupervised; scikit-learn semantics, score in (0, 1])";

    public override IReadOnlyList<TrainParameter> Parameters => Settings;

    public override IReadOnlyList<string> WeightFiles { get; } = [WeightsFile];

    public override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(spec.Forest);
        spec.Forest.Validate();
    }

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var forest = new IsolationForest(context.Spec.Forest).Fit(context.Features);
        context.Resolved["maxSamplesResolved"] = I(forest.MaxSamples);
        return forest;
    }

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => files[WeightsFile] = Expect<IsolationForestModel>(detector).ToBytes();

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => IsolationForestModel.Read(files[WeightsFile]);

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => Expect<IsolationForestModel>(detector).WithThreshold(threshold);

    private static TrainParameter P(string name, string expects, Func<IsolationForestOptions, string> get, Func<IsolationForestOptions, string, IsolationForestOptions> set) =>
        new(IsolationForestModel.DetectorKind, name, expects, s => get(s.Forest), (s, v) => s with { Forest = set(s.Forest, v) });
}
