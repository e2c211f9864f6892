namespace Vigil.Fx.Tests;

public sealed class FxDealGeneratorTests
{
    [Fact]
    public void Same_seed_gives_the_same_deals_and_another_seed_others()
    {
        var options = new FxGeneratorOptions { Rows = 2_000, EvalRows = 500, Seed = 11 };
        var a = FxDealGenerator.Generate(options);
        var b = FxDealGenerator.Generate(options);
        a.Training.ShouldBe(b.Training);
        a.Evaluation.ShouldBe(b.Evaluation);
        FxDealGenerator.Generate(options with { Seed = 12 }).Training.ShouldNotBe(a.Training);
    }

    [Fact]
    public void Every_anomaly_kind_is_injected_and_labelled()
    {
        var deals = FxTestModel.Deals;
        deals.Evaluation.Select(d => d.Kind).Distinct().Order().ShouldBe(FxAnomalyKinds.All.Order());
        var frame = FxDealGenerator.LabelledFrame(deals.Evaluation);
        for (var i = 0; i < frame.RowCount; i++)
        {
            var kind = frame[FxFields.AnomalyKind].FormatValue(i);
            frame[FxFields.IsAnomaly].GetDouble(i).ShouldBe(kind == FxAnomalyKinds.None ? 0 : 1);
        }
    }

    [Fact]
    public void First_client_FISAU_has_CBA_dealing_USD_AUD_forwards_in_0_GLOBAL()
    {
        var deals = FxTestModel.Deals.Training;
        FxDealGenerator.ClientNames[0].ShouldBe("FISAU");
        deals.Select(d => d.Client).Distinct().Order().ShouldBe(["FISAU", "FISNZ", "FISUK"]);
        var cba = deals.Where(d => d.Client == "FISAU" && d.Cpty == "CBA").ToList();
        cba.Count.ShouldBeGreaterThan(100);
        cba.ShouldAllBe(d => d.FxInstrumentType == "FX Forward" && d.BUnit == "0-GLOBAL" && d.PrimaryCurr == "USD");
        cba.ShouldContain(d => d.BuyCurr == "USD" && d.SellCurr == "AUD");
        cba.ShouldAllBe(d => d.FaceValue >= 0.5e6 && d.FaceValue <= 12e6);
    }

    [Fact]
    public void Every_generated_deal_is_valid_and_training_precedes_evaluation()
    {
        var g = FxTestModel.Deals;
        var (deals, errors) = FxDealFrame.Read(FxDealFrame.ToFrame(g.Training));
        errors.ShouldAllBe(e => e == null);
        deals.Length.ShouldBe(FxTestModel.Generator.Rows);
        g.Training.Max(d => d.DealDate).ShouldBeLessThan(new DateOnly(2025, 9, 1));
        g.Evaluation.Min(d => d.Deal.DealDate).ShouldBeGreaterThanOrEqualTo(new DateOnly(2025, 9, 1));
        g.Evaluation.ShouldAllBe(d => d.Deal.SellAmount < 0 && d.Deal.BuyAmount > 0);
    }

    [Fact]
    public void Pattern_anomalies_keep_usual_values_field_by_field()
    {
        // Each field of a pattern deal appears in normal deals; only the counterparty/instrument combination is new.
        var training = FxTestModel.Deals.Training;
        var seen = training.Select(d => (d.Client, d.Cpty, d.FxInstrumentType)).ToHashSet();
        var instruments = training.Select(d => d.FxInstrumentType).ToHashSet();
        foreach (var p in FxTestModel.Deals.Evaluation.Where(d => d.Kind == FxAnomalyKinds.Pattern))
        {
            instruments.ShouldContain(p.Deal.FxInstrumentType);
            seen.ShouldNotContain((p.Deal.Client, p.Deal.Cpty, p.Deal.FxInstrumentType));
        }
    }
}
