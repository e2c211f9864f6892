namespace Vigil.Fx.Tests;

/// <summary>The acceptance figures on the shared model's generated labelled set (thresholds fitted on training quantiles only).</summary>
public sealed class FxEvaluationTests
{
    private static FxEvaluationResult Result { get; } = FxEvaluation.Evaluate(FxTestModel.Scorer, FxDealGenerator.LabelledFrame(FxTestModel.Deals.Evaluation));

    [Fact]
    public void Only_the_models_client_is_scored_and_the_others_are_counted()
    {
        var fisau = FxTestModel.Deals.Evaluation.Count(d => d.Deal.Client == "FISAU");
        Result.Scored.ShouldBe(fisau);
        Result.SkippedOtherClients.ShouldBe(FxTestModel.Deals.Evaluation.Count - fisau);
        Result.Invalid.ShouldBe(0);
        Result.Kinds.Keys.Order().ShouldBe(FxAnomalyKinds.All.Skip(1).Order());
    }

    [Theory]
    [InlineData(FxAnomalyKinds.MissingGroup)]
    [InlineData(FxAnomalyKinds.UnseenPair)]
    [InlineData(FxAnomalyKinds.YearGap)]
    public void Every_injected_rule_anomaly_is_flagged_by_its_own_rule(string kind)
    {
        var k = Result.Kinds[kind];
        k.Count.ShouldBeGreaterThan(20);
        k.RightCheck.ShouldBe(k.Count);
    }

    [Theory]
    [InlineData(FxAnomalyKinds.Amount, 0.95)]
    [InlineData(FxAnomalyKinds.Tenor, 0.95)]
    [InlineData(FxAnomalyKinds.Pattern, 0.8)]
    public void Threshold_kinds_reach_their_recall(string kind, double recall)
    {
        var k = Result.Kinds[kind];
        k.Count.ShouldBeGreaterThan(20);
        k.Recall.ShouldBeGreaterThanOrEqualTo(recall);
    }

    [Fact]
    public void False_positives_on_normal_deals_stay_at_or_below_one_percent()
    {
        Result.Normal.ShouldBeGreaterThan(1_500);
        Result.FalsePositiveRate.ShouldBeLessThanOrEqualTo(0.01);
        (Result.TruePositives + Result.FalseNegatives + Result.FalsePositives + Result.TrueNegatives).ShouldBe(Result.Scored);
    }
}
