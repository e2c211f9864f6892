using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// Settings of the dense autoencoder detector. The network is <c>input → HiddenLayers… → input</c>; it is
/// trained with Adam on mini-batches to minimise the weighted mean squared reconstruction error, with early
/// stopping on a seeded validation split. The same seed and data give bit-identical weights whatever the
/// thread count.
/// </summary>
public sealed record AutoencoderOptions
{
    /// <summary>Hidden layer widths, encoder then decoder (e.g. <c>[64, 32, 8, 32, 64]</c>). Null = <see cref="DefaultHiddenLayers"/> for the input width.</summary>
    public IReadOnlyList<int>? HiddenLayers { get; init; }

    /// <summary>Activation of the hidden layers; default <see cref="Activation.Tanh"/> (it saturates, so extreme inputs are not extrapolated).</summary>
    public Activation HiddenActivation { get; init; } = Activation.Tanh;

    /// <summary>Activation of the output layer; default <see cref="Activation.Linear"/> (use <see cref="Activation.Sigmoid"/> for unstandardised [0, 1] inputs).</summary>
    public Activation OutputActivation { get; init; } = Activation.Linear;

    /// <summary>
    /// Standardise each feature with its training mean and standard deviation before the network (as PyOD's
    /// autoencoder does); reconstruction errors are then measured in standard deviations. Default true.
    /// </summary>
    public bool Standardize { get; init; } = true;

    /// <summary>
    /// Divide each feature's squared error by its mean squared error on the training rows (after training), so the
    /// score measures how unusual each error is for that feature; relationships the network normally reconstructs
    /// well then count most. Default false (it scored lower on ADBench).
    /// </summary>
    public bool NormalizeErrors { get; init; }

    /// <summary>
    /// Share of each gradient shard's rows with the largest reconstruction error that give no gradient (a trimmed
    /// loss, so that anomalies in unlabelled training data are not learned), in [0, 0.5). Default 0.1: chosen from training
    /// data only by <c>vigil bench autoencoder-defaults</c> (synthetic anomalies in contaminated training rows and in
    /// held-out ones; see that protocol in the README).
    /// </summary>
    public double TrimFraction { get; init; } = 0.1;

    /// <summary>The maximum number of passes over the training rows; default 100.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Rows per mini-batch; default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam step size; default 0.001.</summary>
    public double LearningRate { get; init; } = 0.001;

    /// <summary>Adam's first-moment decay; default 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's second-moment decay; default 0.999.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam's epsilon; default 1e-8.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>L2 penalty added to the gradient of every weight (not biases), as PyTorch's Adam <c>weight_decay</c>; default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Share of the training rows held out (seeded) to decide early stopping, in [0, 0.5]; 0 = no early stopping. Default 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Stop after this many epochs without a lower validation loss and restore the best weights; default 10.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>
    /// Expected share of anomalies in (0, 0.5]: the threshold is the <c>(1 - Contamination)</c> quantile (linear
    /// interpolation) of the training rows' scores. Default 0.1, as PyOD.
    /// </summary>
    public double Contamination { get; init; } = 0.1;

    /// <summary>
    /// Weight of each input group in the score and the loss: the group <c>"numeric"</c> holds every numeric
    /// feature, and each categorical column is a group named after the column. Unlisted groups weigh 1.
    /// </summary>
    public IReadOnlyDictionary<string, double>? GroupWeights { get; init; }

    /// <summary>Seed of weight initialisation, validation split and shuffling.</summary>
    public ulong Seed { get; init; }

    /// <summary>Threads used to train and score; null = all cores. Results do not depend on it.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>The default hidden layers for <paramref name="inputs"/> features: <c>[64, 32, b, 32, 64]</c> with bottleneck <c>b = clamp(inputs / 2, 2, 8)</c>.</summary>
    public static IReadOnlyList<int> DefaultHiddenLayers(int inputs)
    {
        var bottleneck = Math.Clamp(inputs / 2, 2, 8);
        return [64, 32, bottleneck, 32, 64];
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (HiddenLayers is { } layers)
        {
            if (layers.Count == 0)
            {
                throw Bad(nameof(HiddenLayers), "must list at least one layer width");
            }

            foreach (var width in layers)
            {
                if (width < 1 || width > 65_536)
                {
                    throw Bad(nameof(HiddenLayers), $"widths must be in [1, 65536] (found {width})");
                }
            }
        }

        if (!Enum.IsDefined(HiddenActivation))
        {
            throw Bad(nameof(HiddenActivation), $"has the unknown value {(int)HiddenActivation}");
        }

        if (!Enum.IsDefined(OutputActivation))
        {
            throw Bad(nameof(OutputActivation), $"has the unknown value {(int)OutputActivation}");
        }

        if (Epochs < 1)
        {
            throw Bad(nameof(Epochs), $"must be >= 1 (was {Epochs})");
        }

        if (BatchSize < 1)
        {
            throw Bad(nameof(BatchSize), $"must be >= 1 (was {BatchSize})");
        }

        Positive(nameof(LearningRate), LearningRate);
        Positive(nameof(Epsilon), Epsilon);
        if (!(Beta1 >= 0 && Beta1 < 1))
        {
            throw Bad(nameof(Beta1), $"must be in [0, 1) (was {F(Beta1)})");
        }

        if (!(Beta2 >= 0 && Beta2 < 1))
        {
            throw Bad(nameof(Beta2), $"must be in [0, 1) (was {F(Beta2)})");
        }

        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay)))
        {
            throw Bad(nameof(WeightDecay), $"must be >= 0 (was {F(WeightDecay)})");
        }

        if (!(ValidationFraction >= 0 && ValidationFraction <= 0.5))
        {
            throw Bad(nameof(ValidationFraction), $"must be in [0, 0.5] (was {F(ValidationFraction)})");
        }

        if (!(TrimFraction >= 0 && TrimFraction < 0.5))
        {
            throw Bad(nameof(TrimFraction), $"must be in [0, 0.5) (was {F(TrimFraction)})");
        }

        if (Patience < 1)
        {
            throw Bad(nameof(Patience), $"must be >= 1 (was {Patience})");
        }

        if (!(Contamination > 0 && Contamination <= 0.5))
        {
            throw Bad(nameof(Contamination), $"must be in (0, 0.5] (was {F(Contamination)})");
        }

        if (GroupWeights is { } weights)
        {
            foreach (var (group, weight) in weights)
            {
                if (!(weight >= 0 && double.IsFinite(weight)))
                {
                    throw Bad(nameof(GroupWeights), $"weight of group '{group}' must be finite and >= 0 (was {F(weight)})");
                }
            }
        }

        if (MaxDegreeOfParallelism is { } p && p < 1)
        {
            throw Bad(nameof(MaxDegreeOfParallelism), $"must be >= 1 or null (was {p})");
        }
    }

    private static void Positive(string option, double value)
    {
        if (!(value > 0 && double.IsFinite(value)))
        {
            throw Bad(option, $"must be a finite value > 0 (was {F(value)})");
        }
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static ArgumentException Bad(string option, string message) =>
        new($"AutoencoderOptions.{option} {message}.", option);
}
