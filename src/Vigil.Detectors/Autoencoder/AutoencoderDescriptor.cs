using static Vigil.Detectors.ParameterText;

namespace Vigil.Detectors;

/// <summary>The <c>autoencoder</c> kind: dense / multi-input autoencoder; weights in <c>autoencoder.bin</c>.</summary>
internal sealed class AutoencoderDescriptor : SingleFileDescriptor<AutoencoderModel, AutoencoderOptions>
{
    public const string WeightsFile = "autoencoder.bin";

    private readonly TrainParameter[] _settings;

    public AutoencoderDescriptor()
        : base(AutoencoderModel.DetectorKind, WeightsFile, s => s.Autoencoder, (s, o) => s with { Autoencoder = o }, o => o.Validate(),
            new(m => m.ToBytes(), b => AutoencoderModel.Read(b), (m, t) => m.WithThreshold(t)))
    {
        _settings =
        [
            Setting("hiddenLayers", "'auto' or layer widths like 64,32,8,32,64", o => o.HiddenLayers is { } l ? string.Join(",", l.Select(I)) : "auto",
                (o, v) => o with { HiddenLayers = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseLayers(v) })
                .WithCommandLineOption("--hidden", "hidden layer widths (auto = 64,32,b,32,64 with b = clamp(features/2, 2, 8))"),
            Setting("hiddenActivation", "relu, tanh, sigmoid or linear", o => Name(o.HiddenActivation), (o, v) => o with { HiddenActivation = ParseActivation(v) })
                .WithCommandLineOption("--activation", "hidden activation"),
            Setting("outputActivation", "relu, tanh, sigmoid or linear", o => Name(o.OutputActivation), (o, v) => o with { OutputActivation = ParseActivation(v) }),
            Setting("epochs", "a whole number >= 1", o => I(o.Epochs), (o, v) => o with { Epochs = ParseInt(v) })
                .WithCommandLineOption("--epochs", "maximum epochs"),
            Setting("batchSize", "a whole number >= 1", o => I(o.BatchSize), (o, v) => o with { BatchSize = ParseInt(v) })
                .WithCommandLineOption("--batch-size", "rows per mini-batch"),
            Setting("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) })
                .WithCommandLineOption("--learning-rate", "Adam step size"),
            Setting("weightDecay", "a number >= 0", o => D(o.WeightDecay), (o, v) => o with { WeightDecay = ParseDouble(v) }),
            Setting("validationFraction", "a fraction in [0, 0.5]", o => D(o.ValidationFraction), (o, v) => o with { ValidationFraction = ParseDouble(v) })
                .WithCommandLineOption("--validation-fraction", "share of rows held out for early stopping (0 = none)"),
            Setting("patience", "a whole number >= 1", o => I(o.Patience), (o, v) => o with { Patience = ParseInt(v) })
                .WithCommandLineOption("--patience", "epochs without improvement before stopping"),
            Setting("trimFraction", "a fraction in [0, 0.5)", o => D(o.TrimFraction), (o, v) => o with { TrimFraction = ParseDouble(v) })
                .WithCommandLineOption("--trim-fraction", "share of each 32-row shard's worst-reconstructed rows left out of the gradient"),
            Setting("contamination", "a fraction in (0, 0.5]", o => D(o.Contamination), (o, v) => o with { Contamination = ParseDouble(v) }),
            Setting("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
        ];
    }

    public override string Description => "dense autoencoder (unsupervised; score = weighted reconstruction error)";

    public override IReadOnlyList<TrainParameter> Parameters => _settings;

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var model = new Autoencoder(OptionsOf(context.Spec)).Fit(context.Features, context.FeatureGroups(AutoencoderModel.NumericGroup));
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
}
