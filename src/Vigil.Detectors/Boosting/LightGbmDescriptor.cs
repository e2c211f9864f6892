using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>lightgbm</c> kind: gradient-boosted trees trained through ML.NET, scored by Vigil; weights in <c>lightgbm.bin</c>.</summary>
internal sealed class LightGbmDescriptor : DetectorDescriptor
{
    public const string WeightsFile = "lightgbm.bin";

    private static readonly TrainParameter[] Settings =
    [
        P("iterations", "a whole number >= 1", o => I(o.Iterations), (o, v) => o with { Iterations = ParseInt(v) }),
        P("leaves", "a whole number >= 2", o => I(o.Leaves), (o, v) => o with { Leaves = ParseInt(v) }),
        P("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) }),
        P("minRowsPerLeaf", "a whole number >= 1", o => I(o.MinRowsPerLeaf), (o, v) => o with { MinRowsPerLeaf = ParseInt(v) }),
        P("minHessianPerLeaf", "a number >= 0", o => D(o.MinHessianPerLeaf), (o, v) => o with { MinHessianPerLeaf = ParseDouble(v) }),
        P("l2", "a number >= 0", o => D(o.L2), (o, v) => o with { L2 = ParseDouble(v) }),
        P("maxBins", "a whole number >= 2", o => I(o.MaxBins), (o, v) => o with { MaxBins = ParseInt(v) }),
        P("unbalanced", "true or false", o => B(o.Unbalanced), (o, v) => o with { Unbalanced = ParseBool(v) }),
        P("scalePositiveWeight", "a number > 0", o => D(o.ScalePositiveWeight), (o, v) => o with { ScalePositiveWeight = ParseDouble(v) }),
        P("seed", "a whole number", o => I(o.Seed), (o, v) => o with { Seed = ParseInt(v) }),
    ];

    public override string Name => LightGbmModel.DetectorKind;

    public override string Description => "LightGBM gradient boosting (supervised: needs the 0/1 label; score = probability)";

    public override bool Supervised => true;

    public override IReadOnlyList<TrainParameter> Parameters => Settings;

    public override IReadOnlyList<string> WeightFiles { get; } = [WeightsFile];

    public override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(spec.LightGbm);
        spec.LightGbm.Validate();
    }

    public override IDetectorModel Fit(DetectorFitContext context) => new LightGbmClassifier(context.Spec.LightGbm).Fit(context.Features, context.LabelArray);

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => files[WeightsFile] = Expect<LightGbmModel>(detector).ToBytes();

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => LightGbmModel.Read(files[WeightsFile]);

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => Expect<LightGbmModel>(detector).WithThreshold(threshold);

    private static TrainParameter P(string name, string expects, Func<LightGbmOptions, string> get, Func<LightGbmOptions, string, LightGbmOptions> set) =>
        new(LightGbmModel.DetectorKind, name, expects, s => get(s.LightGbm), (s, v) => s with { LightGbm = set(s.LightGbm, v) });
}
