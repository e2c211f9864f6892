using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>Settings of <see cref="FxTrainer.Train"/>.</summary>
public sealed record FxTrainOptions
{
    /// <summary>The clients (tenants) the bundle serves; only their deals are used. Required.</summary>
    public IReadOnlyList<string> Clients { get; init; } = [];

    /// <summary>The training quantiles of the thresholds.</summary>
    public FxQuantiles Quantiles { get; init; } = new();

    /// <summary>Months without a deal of the pair that fire the year-gap rule; default 12.</summary>
    public int YearGapMonths { get; init; } = 12;

    /// <summary>
    /// The system prompt for the optional LLM explanation of an anomaly, stored in the bundle (<c>fx.json</c>) so it is
    /// versioned with the model; null: the server's default prompt.
    /// </summary>
    public string? ExplanationPrompt { get; init; }

    /// <summary>Seed of the autoencoder (weights, validation split, shuffling): the same seed gives the same bundle files.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// The autoencoder settings (its <see cref="AutoencoderOptions.Seed"/> is replaced by <see cref="Seed"/>). The default
    /// suits clean deal histories: inputs in [0, 1] (one-hot and min-max) reconstructed through a sigmoid, no
    /// standardisation (it would blow up rare categories), no trimmed loss.
    /// </summary>
    public AutoencoderOptions Autoencoder { get; init; } = DefaultAutoencoder;

    /// <summary>The default autoencoder settings (see <see cref="Autoencoder"/>).</summary>
    public static AutoencoderOptions DefaultAutoencoder { get; } = new()
    {
        HiddenLayers = [48, 16, 48],
        OutputActivation = Activation.Sigmoid,
        Standardize = false,
        TrimFraction = 0,
        Epochs = 40,
        BatchSize = 64,
        LearningRate = 0.003,
        ValidationFraction = 0.1,
        Patience = 5,
        Contamination = 0.005,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Clients.Count == 0)
        {
            throw new ArgumentException("clients must name at least one client.", nameof(Clients));
        }

        if (YearGapMonths < 1)
        {
            throw new ArgumentException($"year-gap-months must be >= 1 (was {YearGapMonths}).", nameof(YearGapMonths));
        }

        Quantiles.Validate();
        (Autoencoder with { Seed = Seed }).Validate();
    }
}

/// <summary>
/// Trains one client's FX bundle from its deals: the rule tables (currency groups, pairs, year-gap dates), the FaceValue
/// and TDays ranges at the configured training quantiles, the feature transform (one-hot categoricals, min-max FaceValue
/// and TDays) and the multi-input autoencoder with a reconstruction threshold per input group, all in one data-only
/// <see cref="ModelBundle"/> of kind <c>fx</c>.
/// </summary>
public static class FxTrainer
{
    /// <summary>Trains on the valid deals of <paramref name="options"/>'s clients among <paramref name="deals"/>.</summary>
    /// <param name="deals">Deals of any clients; others are ignored.</param>
    /// <param name="options">What to train.</param>
    /// <param name="time">Clock of the manifest's creation time; the system clock when null.</param>
    /// <param name="trainingRunId">The tracking run recorded in the manifest.</param>
    /// <exception cref="FxDataException">No deal of the clients.</exception>
    public static ModelBundle Train(IReadOnlyList<FxDeal> deals, FxTrainOptions options, TimeProvider? time = null, string? trainingRunId = null)
    {
        ArgumentNullException.ThrowIfNull(deals);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        FxDescriptor.Register();
        var clients = new HashSet<string>(options.Clients, StringComparer.Ordinal);
        var mine = new List<FxDeal>();
        foreach (var d in deals)
        {
            if (clients.Contains(d.Client))
            {
                mine.Add(d);
            }
        }

        if (mine.Count == 0)
        {
            throw new FxDataException($"no deal of client {string.Join(", ", options.Clients)} in the data ({deals.Count} deals of other clients)");
        }

        var tables = FxTables.Fit(mine, [.. clients], options.Quantiles, options.YearGapMonths) with { ExplanationPrompt = options.ExplanationPrompt };
        var spec = new TrainSpec
        {
            Model = FxModel.DetectorKind,
            Features = [.. FxFields.Categoricals, .. FxFields.Numerics],
            Transform = new FeatureTransformOptions { Scaling = Scaling.MinMax, MissingPolicy = MissingPolicy.Error, MaxCategories = 10_000 },
            TrainingRunId = trainingRunId,
        };
        var request = new FxFitRequest(tables, options.Autoencoder with { Seed = options.Seed });
        var features = FxDealFrame.Features(mine);
        return FxDescriptor.WithPending(request, () => new BundleTrainer(spec, time).Fit(features));
    }
}
