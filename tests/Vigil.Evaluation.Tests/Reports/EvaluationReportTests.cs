using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Evaluation.Tests;

public sealed class EvaluationReportTests
{
    [Fact]
    public void Bundle_report_does_not_flag_a_score_exactly_at_the_threshold_as_the_server_does()
    {
        // A small isolation forest on generated transactions; its threshold is then set to the score of row 0, so that
        // row sits exactly on the threshold. The server labels it 0 (score > threshold is an anomaly), so must evaluate.
        var data = TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 400, Seed = 11 });
        var trained = ModelBundle.Train(data, new TrainSpec { Model = "iforest", Label = TransactionColumns.Label, IdColumn = TransactionColumns.TransactionId, Forest = new IsolationForestOptions { Seed = 5, Estimators = 20 } });
        var scores = trained.Score(data);
        var bundle = trained.WithThreshold(scores[0]);
        var labels = new int[scores.Length];
        labels[0] = 1;
        labels[1] = 1;

        var report = EvaluationReport.Create(scores, labels, bundle, k: 10);

        bundle.IsAnomaly(scores[0]).ShouldBeFalse();
        var above = scores.Count(s => s > scores[0]);
        var atOrAbove = scores.Count(s => s >= scores[0]);
        atOrAbove.ShouldBeGreaterThan(above);
        (report.AtThreshold.TruePositives + report.AtThreshold.FalsePositives).ShouldBe(above);
        report.AtThreshold.TruePositives.ShouldBe(scores[1] > scores[0] ? 1 : 0);
        report.AtThreshold.FalseNegatives.ShouldBe(scores[1] > scores[0] ? 1 : 2);
        report.Threshold.ShouldBe(scores[0]);

        // The plain threshold overload keeps its documented >= semantics (the metrics' convention).
        var plain = EvaluationReport.Create(scores, labels, scores[0], k: 10);
        (plain.AtThreshold.TruePositives + plain.AtThreshold.FalsePositives).ShouldBe(atOrAbove);
    }
}
