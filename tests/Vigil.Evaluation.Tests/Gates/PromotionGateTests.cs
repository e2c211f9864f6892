namespace Vigil.Evaluation.Tests.Gates;

public sealed class PromotionGateTests
{
    private static readonly Dictionary<string, double> Champion = new() { ["auc_pr"] = 0.69, ["recall_at_fpr_0.05"] = 0.80, ["auc_roc"] = 0.95 };

    [Fact]
    public void Parses_relative_and_absolute_conditions_with_every_operator()
    {
        var gate = PromotionGate.Parse(" auc_pr >= champion+0.01, recall_at_fpr_0.05>champion , auc_roc<=1, precision_at_100<champion-0.5,auc_pr>0.1");
        gate.Conditions.Select(c => (c.Metric, c.Operator, c.RelativeToChampion, c.Value)).ShouldBe(
        [
            ("auc_pr", GateOperator.GreaterOrEqual, true, 0.01),
            ("recall_at_fpr_0.05", GateOperator.Greater, true, 0.0),
            ("auc_roc", GateOperator.LessOrEqual, false, 1.0),
            ("precision_at_100", GateOperator.Less, true, -0.5),
            ("auc_pr", GateOperator.Greater, false, 0.1),
        ]);
        gate.ToString().ShouldBe("auc_pr>=champion+0.01,recall_at_fpr_0.05>champion,auc_roc<=1,precision_at_100<champion-0.5,auc_pr>0.1");
    }

    [Fact]
    public void Passes_when_every_condition_holds_and_the_reason_shows_the_values()
    {
        var gate = PromotionGate.Parse("auc_pr>=champion+0.01,recall_at_fpr_0.05>=champion");
        var result = gate.Evaluate(new Dictionary<string, double> { ["auc_pr"] = 0.71, ["recall_at_fpr_0.05"] = 0.80 }, Champion);
        result.Passed.ShouldBeTrue();
        result.Failures.ShouldBeEmpty();
        result.Reason.ShouldBe("gate passed: auc_pr 0.7100>=0.6900+0.01; recall_at_fpr_0.05 0.8000>=0.8000");
    }

    [Fact]
    public void Fails_naming_only_the_failed_condition_with_both_values()
    {
        var gate = PromotionGate.Parse("auc_pr>=champion+0.01,recall_at_fpr_0.05>=champion");
        var result = gate.Evaluate(new Dictionary<string, double> { ["auc_pr"] = 0.695, ["recall_at_fpr_0.05"] = 0.9 }, Champion);
        result.Passed.ShouldBeFalse();
        result.Failures.Single().Condition.Metric.ShouldBe("auc_pr");
        result.Failures.Single().Candidate.ShouldBe(0.695);
        result.Failures.Single().Champion.ShouldBe(0.69);
        result.Reason.ShouldBe("gate failed: auc_pr 0.6950<0.6900+0.01");
    }

    [Fact]
    public void Equality_within_rounding_passes_greater_or_equal_but_not_greater()
    {
        var candidate = new Dictionary<string, double> { ["auc_pr"] = 0.7 };
        PromotionGate.Parse("auc_pr>=champion+0.01").Evaluate(candidate, Champion).Passed.ShouldBeTrue(); // 0.69 + 0.01 != 0.7 in binary
        PromotionGate.Parse("auc_pr>champion+0.01").Evaluate(candidate, Champion).Passed.ShouldBeFalse();
    }

    [Fact]
    public void Without_a_champion_relative_conditions_are_skipped_and_absolute_ones_still_apply()
    {
        var gate = PromotionGate.Parse("auc_pr>=champion+0.01,auc_roc>=0.9");
        var ok = gate.Evaluate(new Dictionary<string, double> { ["auc_pr"] = 0.1, ["auc_roc"] = 0.91 }, null);
        ok.Passed.ShouldBeTrue();
        ok.Checks[0].Outcome.ShouldBe(GateOutcome.Skipped);
        ok.Reason.ShouldBe("gate passed (no champion yet): auc_roc 0.9100>=0.9");
        ok.Checks[0].ToString().ShouldBe("auc_pr>=champion+0.01 skipped (no champion)");
        PromotionGate.Parse("auc_pr>=champion").Evaluate(new Dictionary<string, double> { ["auc_pr"] = 0.1 }, null).Reason.ShouldBe("gate passed (no champion yet)");
        gate.Evaluate(new Dictionary<string, double> { ["auc_pr"] = 0.1, ["auc_roc"] = 0.5 }, null).Passed.ShouldBeFalse();
    }

    [Fact]
    public void A_missing_or_NaN_candidate_value_fails()
    {
        var gate = PromotionGate.Parse("auc_pr>=0");
        gate.Evaluate(new Dictionary<string, double> { ["auc_pr"] = double.NaN }, Champion).Passed.ShouldBeFalse();
        gate.Evaluate(new Dictionary<string, double>(), Champion).Reason.ShouldBe("gate failed: auc_pr NaN<0");
    }

    [Theory]
    [InlineData("", "the gate has no condition")]
    [InlineData("auc_pr>=champion,", "gate condition 2 '': empty")]
    [InlineData("auc_pr=champion", "gate condition 1 'auc_pr=champion': expected 'metric OP rhs'")]
    [InlineData("aucpr>=champion", "gate condition 1 'aucpr>=champion': unknown metric 'aucpr'; known metrics: auc_roc, auc_pr,")]
    [InlineData("auc_pr>=champ+0.01", "gate condition 1 'auc_pr>=champ+0.01': the right-hand side must be")]
    [InlineData("auc_pr>=champion*2", "the right-hand side must be")]
    [InlineData("auc_roc>=0.9,auc_pr>=NaN", "gate condition 2 'auc_pr>=NaN': the right-hand side")]
    [InlineData("auc_pr>=", "gate condition 1 'auc_pr>=': the right-hand side")]
    public void Bad_syntax_names_the_condition(string text, string message)
    {
        Should.Throw<PromotionGateException>(() => PromotionGate.Parse(text)).Message.ShouldContain(message);
    }
}
