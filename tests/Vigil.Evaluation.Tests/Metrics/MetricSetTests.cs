namespace Vigil.Evaluation.Tests;

public sealed class MetricSetTests
{
    [Fact]
    public void Standard_lists_the_documented_metrics_in_print_order()
    {
        var (scores, labels) = TestData.Generate(1000, 0.05, 9);
        var set = MetricSet.Standard(scores, labels);

        set.Keys.ShouldBe(["auc_roc", "auc_pr", "recall_at_fpr_0.01", "recall_at_fpr_0.05", "precision_at_100", "precision_at_positives"]);
        MetricSet.StandardNames.ShouldBe(set.Keys);
    }

    [Fact]
    public void Standard_values_equal_the_individual_metrics()
    {
        var (scores, labels) = TestData.Generate(1000, 0.05, 10, decimals: 2);
        var doubleLabels = Array.ConvertAll(labels, l => (double)l);
        var set = MetricSet.Standard(scores, doubleLabels);
        var positives = labels.Sum();

        set[MetricSet.AucRoc].ShouldBe(Metrics.AucRoc(scores, labels));
        set[MetricSet.AucPr].ShouldBe(Metrics.AveragePrecision(scores, labels));
        set[MetricSet.RecallAtFpr1].ShouldBe(Metrics.RecallAtFpr(scores, labels, 0.01));
        set[MetricSet.RecallAtFpr5].ShouldBe(Metrics.RecallAtFpr(scores, labels, 0.05));
        set[MetricSet.PrecisionAt100].ShouldBe(Metrics.PrecisionAtK(scores, labels, 100));
        set[MetricSet.PrecisionAtPositives].ShouldBe(Metrics.PrecisionAtK(scores, labels, positives));
    }

    [Fact]
    public void Precision_at_100_uses_every_row_when_there_are_fewer()
    {
        var set = MetricSet.Standard([0.9, 0.8, 0.1, 0.05], [1, 0, 1, 0]);
        set[MetricSet.PrecisionAt100].ShouldBe(0.5);
        set[MetricSet.PrecisionAtPositives].ShouldBe(0.5);
        set[MetricSet.AucRoc].ShouldBe(0.75);
    }
}
