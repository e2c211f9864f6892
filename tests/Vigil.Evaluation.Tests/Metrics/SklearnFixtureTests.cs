using System.Text.Json;

namespace Vigil.Evaluation.Tests;

public sealed class SklearnFixtureTests
{
    private const double Tolerance = 1e-12;

    public static TheoryData<string> Cases => MetricFixtures.TheoryNames();

    [Fact]
    public void Fixture_file_holds_every_documented_kind_of_case()
    {
        var names = MetricFixtures.Names;
        names.Count.ShouldBeGreaterThanOrEqualTo(12);
        names.ShouldContain("all_tied");
        names.ShouldContain("heavy_ties_rounded_1_decimal");
        names.ShouldContain("imbalanced_1pct_5000");
        names.ShouldContain("perfect");
        names.ShouldContain("inverted");
        names.ShouldContain("tiny_n2");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AucRoc_matches_sklearn_roc_auc_score(string name)
    {
        var (scores, labels, c) = Load(name);
        Metrics.AucRoc(scores, labels).ShouldBe(c.GetProperty("auc_roc").GetDouble(), Tolerance);
        Metrics.AucRoc(scores, AsDoubles(labels)).ShouldBe(c.GetProperty("auc_roc").GetDouble(), Tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AveragePrecision_matches_sklearn_average_precision_score(string name)
    {
        var (scores, labels, c) = Load(name);
        Metrics.AveragePrecision(scores, labels).ShouldBe(c.GetProperty("auc_pr").GetDouble(), Tolerance);
        Metrics.AveragePrecision(scores, AsDoubles(labels)).ShouldBe(c.GetProperty("auc_pr").GetDouble(), Tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RocCurve_matches_sklearn_roc_curve_without_dropping_points(string name)
    {
        var (scores, labels, c) = Load(name);
        var roc = c.GetProperty("roc");
        var curve = Metrics.RocCurve(scores, labels);

        ShouldMatch(curve.FalsePositiveRates, roc.GetProperty("fpr").Doubles());
        ShouldMatch(curve.TruePositiveRates, roc.GetProperty("tpr").Doubles());
        curve.Thresholds[0].ShouldBe(double.PositiveInfinity);
        ShouldMatch(curve.Thresholds[1..], roc.GetProperty("thresholds_after_first").Doubles());
        curve.Count.ShouldBe(curve.FalsePositiveRates.Length);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrecisionRecallCurve_matches_sklearn_precision_recall_curve(string name)
    {
        var (scores, labels, c) = Load(name);
        var pr = c.GetProperty("pr");
        var curve = Metrics.PrecisionRecallCurve(scores, AsDoubles(labels));

        ShouldMatch(curve.Precisions, pr.GetProperty("precision").Doubles());
        ShouldMatch(curve.Recalls, pr.GetProperty("recall").Doubles());
        ShouldMatch(curve.Thresholds, pr.GetProperty("thresholds").Doubles());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RecallAtFpr_matches_max_tpr_with_fpr_within_budget(string name)
    {
        var (scores, labels, c) = Load(name);
        foreach (var level in c.GetProperty("recall_at_fpr").EnumerateArray())
        {
            var maxFpr = level.GetProperty("max_fpr").GetDouble();
            var expected = level.GetProperty("recall").GetDouble();
            Metrics.RecallAtFpr(scores, labels, maxFpr).ShouldBe(expected, Tolerance, $"max FPR {maxFpr}");
            Metrics.RecallAtFpr(scores, AsDoubles(labels), maxFpr).ShouldBe(expected, Tolerance, $"max FPR {maxFpr}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThresholdForFpr_is_the_highest_threshold_reaching_that_recall_within_budget(string name)
    {
        var (scores, labels, c) = Load(name);
        foreach (var level in c.GetProperty("recall_at_fpr").EnumerateArray())
        {
            var maxFpr = level.GetProperty("max_fpr").GetDouble();
            var threshold = Metrics.ThresholdForFpr(scores, labels, maxFpr);
            var reference = level.GetProperty("threshold");
            var expected = reference.ValueKind == JsonValueKind.Null ? double.PositiveInfinity : reference.GetDouble();
            threshold.ShouldBe(expected, $"max FPR {maxFpr}");

            var matrix = Metrics.ConfusionMatrixAt(scores, labels, threshold);
            matrix.Recall.ShouldBe(level.GetProperty("recall").GetDouble(), Tolerance);
            matrix.Fpr.ShouldBeLessThanOrEqualTo(maxFpr);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrecisionAtK_matches_the_tie_averaged_reference(string name)
    {
        var (scores, labels, c) = Load(name);
        foreach (var entry in c.GetProperty("precision_at_k").EnumerateArray())
        {
            var k = entry.GetProperty("k").GetInt32();
            var expected = entry.GetProperty("precision").GetDouble();
            Metrics.PrecisionAtK(scores, labels, k).ShouldBe(expected, Tolerance, $"k = {k}");
            Metrics.PrecisionAtK(scores, AsDoubles(labels), k).ShouldBe(expected, Tolerance, $"k = {k}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConfusionMatrixAt_matches_sklearn_confusion_matrix_and_scores(string name)
    {
        var (scores, labels, c) = Load(name);
        foreach (var entry in c.GetProperty("confusion").EnumerateArray())
        {
            var threshold = entry.GetProperty("threshold").GetDouble();
            foreach (var m in new[] { Metrics.ConfusionMatrixAt(scores, labels, threshold), Metrics.ConfusionMatrixAt(scores, AsDoubles(labels), threshold) })
            {
                m.TruePositives.ShouldBe(entry.GetProperty("tp").GetInt64());
                m.FalsePositives.ShouldBe(entry.GetProperty("fp").GetInt64());
                m.TrueNegatives.ShouldBe(entry.GetProperty("tn").GetInt64());
                m.FalseNegatives.ShouldBe(entry.GetProperty("fn").GetInt64());
                m.Precision.ShouldBe(entry.GetProperty("precision").GetDouble(), Tolerance);
                m.Recall.ShouldBe(entry.GetProperty("recall").GetDouble(), Tolerance);
                m.F1.ShouldBe(entry.GetProperty("f1").GetDouble(), Tolerance);
                m.Fpr.ShouldBe(entry.GetProperty("fpr").GetDouble(), Tolerance);
                m.Total.ShouldBe(scores.Length);
            }
        }
    }

    private static (double[] Scores, int[] Labels, JsonElement Case) Load(string name)
    {
        var c = MetricFixtures.Case(name);
        return (c.GetProperty("scores").Doubles(), c.GetProperty("labels").Ints(), c);
    }

    private static double[] AsDoubles(int[] labels) => Array.ConvertAll(labels, l => (double)l);

    private static void ShouldMatch(double[] actual, double[] expected)
    {
        actual.Length.ShouldBe(expected.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            actual[i].ShouldBe(expected[i], Tolerance, $"at index {i}");
        }
    }
}
