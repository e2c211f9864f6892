using Vigil.Detectors;

namespace Vigil.Fx.Tests;

/// <summary>
/// One FISAU bundle trained once for the tests (fixed seeds: generator 7, autoencoder 3) on 15,000 generated deals,
/// with the generated labelled deals after them.
/// </summary>
internal static class FxTestModel
{
    public static readonly FxGeneratorOptions Generator = new() { Rows = 15_000, EvalRows = 6_000, Seed = 7 };

    public static readonly FxTrainOptions Training = new()
    {
        Clients = ["FISAU"],
        Seed = 3,
        Autoencoder = FxTrainOptions.DefaultAutoencoder with { Epochs = 25, MaxDegreeOfParallelism = 2 },
    };

    private static readonly Lazy<(FxGeneratedDeals Deals, ModelBundle Bundle, FxScorer Scorer)> Shared = new(() =>
    {
        var deals = FxDealGenerator.Generate(Generator);
        var bundle = FxTrainer.Train(deals.Training, Training, new FixedTime());
        return (deals, bundle, new FxScorer(bundle));
    });

    public static FxGeneratedDeals Deals => Shared.Value.Deals;

    public static ModelBundle Bundle => Shared.Value.Bundle;

    public static FxScorer Scorer => Shared.Value.Scorer;

    /// <summary>The example deal, field for field.</summary>
    public static FxRawDeal Example => new()
    {
        Client = "FISAU", FxInstrumentType = "FX Forward", BUnit = "0-GLOBAL", Cpty = "CBA", PrimaryCurr = "USD", BuyCurr = "USD", SellCurr = "AUD",
        BuyAmount = 10000000.0, SellAmount = -10000000.0, SpotRate = 1.0, ForwardPoints = 0.0, DealDate = "2025-09-01", MaturityDate = "2025-09-25",
        UniqueId = "FX.FWD.Request.100097", ContLeg = 0,
    };

    /// <summary>A clock fixed at 2026-01-01 so manifests are comparable.</summary>
    public sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}
