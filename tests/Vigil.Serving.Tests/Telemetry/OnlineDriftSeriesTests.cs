using Shouldly;
using Vigil.Monitoring;
using Vigil.Monitoring.Statistics;

namespace Vigil.Serving.Tests;

/// <summary>The online drift gauges hold only what the latest report (and the served models) say.</summary>
public sealed class OnlineDriftSeriesTests
{
    private static FeatureDrift Feature(string name, double score) =>
        new(name, "num", "wasserstein", score, 0.1, score >= 0.1, 0, 0, StatScoreKind.Distance);

    private static async Task<string> ExportAsync(ServingMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.WriteAsync(stream, TestContext.Current.CancellationToken);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task A_feature_the_new_report_lacks_loses_its_series_and_an_unserved_model_loses_all()
    {
        var metrics = new ServingMetrics();
        var prediction = new PredictionDrift("jensenshannon", 0.02, 0.1, false, 0.5, 0.01, 0.012, 1000, 500);
        metrics.OnlineDrift("fraud", new DriftReport(false, 0.5, 0.5, [Feature("amount", 0.3), Feature("hour", 0.01)], prediction), 500);
        metrics.OnlineDrift("other", new DriftReport(false, 0, 0.5, [Feature("x", 0.01)]), 10);
        var before = await ExportAsync(metrics);
        before.ShouldContain("vigil_feature_drift{model=\"fraud\",feature=\"hour\",stattest=\"wasserstein\"}");
        before.ShouldContain("vigil_alert_rate{model=\"fraud\"}");

        // The new version dropped "hour", and its report has no prediction part.
        metrics.OnlineDrift("fraud", new DriftReport(false, 0, 0.5, [Feature("amount", 0.02)]), 600);
        var after = await ExportAsync(metrics);
        after.ShouldContain("vigil_feature_drift{model=\"fraud\",feature=\"amount\",stattest=\"wasserstein\"} 0.02");
        after.ShouldNotContain("feature=\"hour\"");
        after.ShouldNotContain("vigil_alert_rate{model=\"fraud\"}");
        after.ShouldNotContain("vigil_score_drift{model=\"fraud\"");
        after.ShouldContain("vigil_feature_drift{model=\"other\",feature=\"x\"");

        metrics.ForgetOnlineDrift(new HashSet<string>(["fraud"]));
        var forgotten = await ExportAsync(metrics);
        forgotten.ShouldNotContain("model=\"other\"");
        forgotten.ShouldContain("vigil_dataset_drift_share{model=\"fraud\"}");
    }
}
