using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>lightgbm</c> kind: gradient-boosted trees trained through ML.NET, scored by Vigil; weights in <c>lightgbm.bin</c>.</summary>
internal sealed class LightGbmDescriptor : SingleFileDescriptor<LightGbmModel, LightGbmOptions>
{
    public const string WeightsFile = "lightgbm.bin";

    private readonly TrainParameter[] _settings;

    public LightGbmDescriptor()
        : base(LightGbmModel.DetectorKind, WeightsFile, s => s.LightGbm, (s, o) => s with { LightGbm = o }, o => o.Validate(),
            new(m => m.ToBytes(), b => LightGbmModel.Read(b), (m, t) => m.WithThreshold(t)))
    {
        _settings =
        [
            Setting("estimators", "a whole number >= 1", o => I(o.Iterations), (o, v) => o with { Iterations = ParseInt(v) })
                .WithCommandLineOption("--estimators", "number of trees (boosting rounds)"),
            Setting("leaves", "a whole number >= 2", o => I(o.Leaves), (o, v) => o with { Leaves = ParseInt(v) })
                .WithCommandLineOption("--leaves", "leaves per tree"),
            Setting("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) })
                .WithCommandLineOption("--learning-rate", "step size"),
            Setting("minRowsPerLeaf", "a whole number >= 1", o => I(o.MinRowsPerLeaf), (o, v) => o with { MinRowsPerLeaf = ParseInt(v) }),
            Setting("minHessianPerLeaf", "a number >= 0", o => D(o.MinHessianPerLeaf), (o, v) => o with { MinHessianPerLeaf = ParseDouble(v) }),
            Setting("l2", "a number >= 0", o => D(o.L2), (o, v) => o with { L2 = ParseDouble(v) }),
            Setting("maxBins", "a whole number >= 2", o => I(o.MaxBins), (o, v) => o with { MaxBins = ParseInt(v) }),
            Setting("unbalanced", "true or false", o => B(o.Unbalanced), (o, v) => o with { Unbalanced = ParseBool(v) })
                .WithCommandLineOption("--unbalanced", "is_unbalance: reweight the classes", isSwitch: true),
            Setting("scalePositiveWeight", "a number > 0", o => D(o.ScalePositiveWeight), (o, v) => o with { ScalePositiveWeight = ParseDouble(v) })
                .WithCommandLineOption("--scale-pos-weight", "weight of positive rows"),
            Setting("seed", "a whole number", o => I(o.Seed), (o, v) => o with { Seed = ParseInt(v) }),
        ];
    }

    public override string Description => "LightGBM gradient boosting (supervised: needs the 0/1 label; score = probability)";

    public override bool Supervised => true;

    public override IReadOnlyList<TrainParameter> Parameters => _settings;

    public override IDetectorModel Fit(DetectorFitContext context) => new LightGbmClassifier(OptionsOf(context.Spec)).Fit(context.Features, context.LabelArray);
}
