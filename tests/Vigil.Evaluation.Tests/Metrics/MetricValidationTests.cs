namespace Vigil.Evaluation.Tests;

public sealed class MetricValidationTests
{
    [Fact]
    public void Label_other_than_0_or_1_is_rejected_with_its_index_and_value()
    {
        var ex = Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 2]));
        ex.Message.ShouldContain("index 3");
        ex.Message.ShouldContain("is 2");
        ex.ParamName.ShouldBe("labels");
    }

    [Fact]
    public void Fractional_or_missing_double_label_is_rejected_with_its_index()
    {
        Should.Throw<ArgumentException>(() => Metrics.AveragePrecision([0.1, 0.2], [1.0, 0.5])).Message.ShouldContain("index 1 is 0.5");
        Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, 0.2], [double.NaN, 1.0])).Message.ShouldContain("index 0 is NaN");
        Should.Throw<ArgumentException>(() => Metrics.ConfusionMatrixAt([0.1, 0.2], [1.0, -1.0], 0.1)).Message.ShouldContain("index 1 is -1");
        Should.Throw<ArgumentException>(() => Metrics.ConfusionMatrixAt([0.1, 0.2], [1, 3], 0.1)).Message.ShouldContain("index 1 is 3");
    }

    [Fact]
    public void Non_finite_score_is_rejected_with_its_index()
    {
        var ex = Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, double.NaN, 0.3], [0, 1, 0]));
        ex.Message.ShouldContain("index 1");
        ex.ParamName.ShouldBe("scores");
        Should.Throw<ArgumentException>(() => Metrics.RocCurve([double.PositiveInfinity, 0.3], [0, 1])).Message.ShouldContain("index 0");
        Should.Throw<ArgumentException>(() => Metrics.ConfusionMatrixAt([0.3, double.NaN], [0, 1], 0.2)).Message.ShouldContain("index 1");
    }

    [Fact]
    public void Single_class_makes_roc_metrics_undefined_like_sklearn()
    {
        var ex = Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, 0.2, 0.3], [0, 0, 0]));
        ex.Message.ShouldContain("only one class");
        Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, 0.2], [1, 1]));
        Should.Throw<ArgumentException>(() => Metrics.RocCurve([0.1, 0.2], [1, 1]));
        Should.Throw<ArgumentException>(() => Metrics.RecallAtFpr([0.1, 0.2], [0.0, 0.0], 0.05));
        Should.Throw<ArgumentException>(() => MetricSet.Standard([0.1, 0.2], [0, 0]));
    }

    [Fact]
    public void Precision_recall_metrics_need_a_positive_row()
    {
        Should.Throw<ArgumentException>(() => Metrics.AveragePrecision([0.1, 0.2], [0, 0])).Message.ShouldContain("without positive rows");
        Should.Throw<ArgumentException>(() => Metrics.PrecisionRecallCurve([0.1, 0.2], [0, 0]));
    }

    [Fact]
    public void Mismatched_or_empty_inputs_are_rejected()
    {
        Should.Throw<ArgumentException>(() => Metrics.AucRoc([0.1, 0.2], [0])).Message.ShouldContain("2 scores but 1 labels");
        Should.Throw<ArgumentException>(() => Metrics.AucRoc([], ReadOnlySpan<int>.Empty)).Message.ShouldContain("empty");
    }

    [Fact]
    public void Out_of_range_k_fpr_and_nan_threshold_are_rejected()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.PrecisionAtK([0.1, 0.2], [0, 1], 0));
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.PrecisionAtK([0.1, 0.2], [0, 1], 3));
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.RecallAtFpr([0.1, 0.2], [0, 1], 1.5));
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.ThresholdForFpr([0.1, 0.2], [0, 1], double.NaN));
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.ConfusionMatrixAt([0.1, 0.2], [0, 1], double.NaN));
    }
}
