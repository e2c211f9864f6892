namespace Vigil.Evaluation.Tests;

public sealed class MetricPropertyTests
{
    public static TheoryData<ulong, int> Seeds => new() { { 1, -1 }, { 2, 1 }, { 3, 2 }, { 4, 0 }, { 5, -1 } };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AucRoc_equals_the_mann_whitney_pair_count(ulong seed, int decimals)
    {
        var (scores, labels) = TestData.Generate(400, 0.2, seed, decimals);
        Metrics.AucRoc(scores, labels).ShouldBe(TestData.BruteForceAuc(scores, labels), 1e-12);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AucRoc_of_negated_scores_is_one_minus_AucRoc(ulong seed, int decimals)
    {
        var (scores, labels) = TestData.Generate(500, 0.1, seed, decimals);
        var negated = Array.ConvertAll(scores, s => -s);
        Metrics.AucRoc(negated, labels).ShouldBe(1.0 - Metrics.AucRoc(scores, labels), 1e-12);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Ranking_metrics_are_invariant_under_strictly_increasing_transforms(ulong seed, int decimals)
    {
        var (scores, labels) = TestData.Generate(500, 0.1, seed, decimals);
        var transformed = Array.ConvertAll(scores, s => Math.Exp(3 * s) - 7);

        Metrics.AucRoc(transformed, labels).ShouldBe(Metrics.AucRoc(scores, labels));
        Metrics.AveragePrecision(transformed, labels).ShouldBe(Metrics.AveragePrecision(scores, labels));
        Metrics.RecallAtFpr(transformed, labels, 0.05).ShouldBe(Metrics.RecallAtFpr(scores, labels, 0.05));
        Metrics.PrecisionAtK(transformed, labels, 37).ShouldBe(Metrics.PrecisionAtK(scores, labels, 37));
        Metrics.RocCurve(transformed, labels).TruePositiveRates.ShouldBe(Metrics.RocCurve(scores, labels).TruePositiveRates);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Metrics_do_not_depend_on_row_order(ulong seed, int decimals)
    {
        var (scores, labels) = TestData.Generate(300, 0.3, seed, decimals);
        var reversedScores = scores.Reverse().ToArray();
        var reversedLabels = labels.Reverse().ToArray();

        Metrics.AucRoc(reversedScores, reversedLabels).ShouldBe(Metrics.AucRoc(scores, labels), 1e-15);
        Metrics.AveragePrecision(reversedScores, reversedLabels).ShouldBe(Metrics.AveragePrecision(scores, labels), 1e-15);
        Metrics.PrecisionAtK(reversedScores, reversedLabels, 50).ShouldBe(Metrics.PrecisionAtK(scores, labels, 50), 1e-15);
    }

    [Fact]
    public void Perfect_ranking_scores_one_and_inverted_ranking_zero()
    {
        double[] scores = [0.9, 0.8, 0.3, 0.2, 0.1];
        int[] labels = [1, 1, 0, 0, 0];
        int[] inverted = [0, 0, 1, 1, 1];

        Metrics.AucRoc(scores, labels).ShouldBe(1.0);
        Metrics.AveragePrecision(scores, labels).ShouldBe(1.0);
        Metrics.RecallAtFpr(scores, labels, 0.0).ShouldBe(1.0);
        Metrics.ThresholdForFpr(scores, labels, 0.0).ShouldBe(0.8);
        Metrics.AucRoc(scores, inverted).ShouldBe(0.0);
        Metrics.RecallAtFpr(scores, inverted, 0.5).ShouldBe(0.0);
        Metrics.ThresholdForFpr(scores, inverted, 0.5).ShouldBe(double.PositiveInfinity);
    }

    [Fact]
    public void All_tied_scores_give_chance_auc_and_base_rate_precision()
    {
        double[] scores = [2, 2, 2, 2];
        int[] labels = [1, 0, 0, 0];

        Metrics.AucRoc(scores, labels).ShouldBe(0.5);
        Metrics.AveragePrecision(scores, labels).ShouldBe(0.25);
        Metrics.PrecisionAtK(scores, labels, 1).ShouldBe(0.25);
        Metrics.RecallAtFpr(scores, labels, 0.99).ShouldBe(0.0);
        Metrics.RecallAtFpr(scores, labels, 1.0).ShouldBe(1.0);
    }

    [Fact]
    public void PrecisionAtK_averages_over_the_tied_group_at_the_boundary()
    {
        // Top row is a positive at 0.9; the next three rows tie at 0.5 and hold one positive.
        double[] scores = [0.5, 0.9, 0.5, 0.1, 0.5];
        int[] labels = [0, 1, 1, 1, 0];

        Metrics.PrecisionAtK(scores, labels, 1).ShouldBe(1.0);
        Metrics.PrecisionAtK(scores, labels, 2).ShouldBe((1 + (1.0 / 3)) / 2, 1e-15);
        Metrics.PrecisionAtK(scores, labels, 4).ShouldBe(0.5);
        Metrics.PrecisionAtK(scores, labels, 5).ShouldBe(0.6);
    }

    [Fact]
    public void ThresholdForFpr_prefers_the_lowest_fpr_among_thresholds_with_the_same_recall()
    {
        // At 0.7 both positives are caught with FPR 0; dropping to 0.6 and 0.5 adds only negatives.
        double[] scores = [0.9, 0.7, 0.6, 0.5, 0.1];
        int[] labels = [1, 1, 0, 0, 0];

        Metrics.ThresholdForFpr(scores, labels, 0.7).ShouldBe(0.7);
        var m = Metrics.ConfusionMatrixAt(scores, labels, 0.7);
        m.ShouldBe(new ConfusionMatrix(2, 0, 3, 0));
        m.Fpr.ShouldBe(0.0);
    }

    [Fact]
    public void ConfusionMatrix_rates_are_zero_when_undefined()
    {
        var nothingFlagged = Metrics.ConfusionMatrixAt([0.1, 0.2], [0, 1], double.PositiveInfinity);
        nothingFlagged.ShouldBe(new ConfusionMatrix(0, 0, 1, 1));
        nothingFlagged.Precision.ShouldBe(0.0);
        nothingFlagged.F1.ShouldBe(0.0);

        var noNegatives = Metrics.ConfusionMatrixAt([0.1, 0.2], [1, 1], 0.15);
        noNegatives.Fpr.ShouldBe(0.0);
        noNegatives.Recall.ShouldBe(0.5);

        var noPositives = Metrics.ConfusionMatrixAt([0.1, 0.2], [0, 0], double.NegativeInfinity);
        noPositives.Recall.ShouldBe(0.0);
        noPositives.Fpr.ShouldBe(1.0);
        noPositives.Flagged.ShouldBe(2);
    }

    [Fact]
    public void AveragePrecision_is_one_when_every_row_is_positive()
    {
        Metrics.AveragePrecision([0.3, 0.1, 0.2], [1, 1, 1]).ShouldBe(1.0);
    }

    [Fact]
    public void Metrics_handle_a_million_rows()
    {
        var (scores, labels) = TestData.Generate(1_000_000, 0.01, 42, decimals: 3);
        var auc = Metrics.AucRoc(scores, labels);
        auc.ShouldBeInRange(0.6, 0.8);
        Metrics.AucRoc(Array.ConvertAll(scores, s => -s), labels).ShouldBe(1 - auc, 1e-12);
    }
}
