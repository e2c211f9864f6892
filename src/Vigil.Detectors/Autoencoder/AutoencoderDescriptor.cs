using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>autoencoder</c> kind: dense / multi-input autoencoder; weights in <c>autoencoder.bin</c>.</summary>
internal sealed class AutoencoderDescriptor : DetectorDescriptor
{
    public const string WeightsFile = "autoencoder.bin";

    private static readonly TrainParameter[] Settings =
    [
        P("hiddenLayers", "'auto' or layer widths like 64,32,8,32,64", o => o.HiddenLayers is { } l ? string.Join(",", l.Select(I)) : "auto",
            (o, v) => o with { HiddenLayers = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseLayers(v) }),
        P("hiddenActivation", "relu, tanh, sigmoid or linear", o => Name(o.HiddenActivation), (o, v) => o with { HiddenActivation = ParseActivation(v) }),
        P("outputActivation", "relu, tanh, sigmoid or linear", o => Name(o.OutputActivation), (o, v) => o with { OutputActivation = ParseActivation(v) }),
        P("epochs", "a whole number >= 1", o => I(o.Epochs), (o, v) => o with { Epochs = ParseInt(v) }),
        P("batchSize", "a whole number >= 1", o => I(o.BatchSize), (o, v) => o with { BatchSize = ParseInt(v) }),
        P("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) }),
        P("weightDecay", "a number >= 0", o => D(o.WeightDecay), (o, v) => o with { WeightDecay = ParseDouble(v) }),
        P("validationFraction", "a fraction in [0, 0.5]", o => D(o.ValidationFraction), (o, v) => o with { ValidationFraction = ParseDouble(v) }),
        P("patience", "a whole number >= 1", o => I(o.Patience), (o, v) => o with { Patience = ParseInt(v) }),
        P("trimFraction", "a fraction in [0, 0.5)", o => D(o.TrimFraction), (o, v) => o with { TrimFraction = ParseDouble(v) }),
        P("contamination", "a fraction in (0, 0.5]", o => D(o.Contamination), (o, v) => o with { Contamination = ParseDouble(v) }),
        P("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
    ];

    public override string Name => AutoencoderModel.DetectorKind;

    public override string Description => "dense autoencoder (unsupervised; score = weighted reconstruction error)";

    public override IReadOnlyList<TrainParameter> Parameters => Settings;

    public override IReadOnlyList<string> WeightFiles { get; } = [WeightsFile];

    public override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(spec.Autoencoder);
        spec.Autoencoder.Validate();
    }

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var model = new Autoencoder(context.Spec.Autoencoder).Fit(context.Features, context.FeatureGroups(AutoencoderModel.NumericGroup));
        var resolved = context.Resolved;
        resolved["layers"] = string.Join(",", model.LayerSizes);
        resolved["groups"] = string.Join(",", model.GroupNames);
        resolved["groupWeights"] = string.Join(",", model.GroupWeights.Select(D));
        if (model.Training is { } t)
        {
            resolved["epochsRun"] = I(t.EpochsRun);
            resolved["bestEpoch"] = I(t.BestEpoch);
            resolved["bestValidationLoss"] = D(t.BestValidationLoss);
        }

        return model;
    }

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => files[WeightsFile] = Expect<AutoencoderModel>(detector).ToBytes();

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => AutoencoderModel.Read(files[WeightsFile]);

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => Expect<AutoencoderModel>(detector).WithThreshold(threshold);

    private static TrainParameter P(string name, string expects, Func<AutoencoderOptions, string> get, Func<AutoencoderOptions, string, AutoencoderOptions> set) =>
        new(AutoencoderModel.DetectorKind, name, expects, s => get(s.Autoencoder), (s, v) => s with { Autoencoder = set(s.Autoencoder, v) });
}
