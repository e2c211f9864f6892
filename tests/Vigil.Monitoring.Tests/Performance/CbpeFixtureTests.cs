using System.Text.Json;
using Vigil.Detectors;

namespace Vigil.Monitoring.Tests.Performance;

/// <summary>
/// The isotonic calibrator and the CBPE estimate against Fixtures/cbpe_fixtures.json, written by
/// eng/peers/cbpe_fixtures.py: scikit-learn 1.2's <c>IsotonicRegression(out_of_bounds="clip")</c> (what NannyML fits on
/// uncalibrated scores) and NannyML's CBPE written out with numpy 1.24. Agreement: 1e-9 relative.
/// </summary>
public sealed class CbpeFixtureTests
{
    private const double Relative = 1e-9;

    private static readonly Lazy<JsonElement> Doc = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "cbpe_fixtures.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    });

    public static TheoryData<string> CalibrationCases() => [.. Doc.Value.GetProperty("calibration").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    public static TheoryData<string> EstimationCases() => [.. Doc.Value.GetProperty("estimation").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(CalibrationCases))]
    public void Isotonic_calibrator_predicts_as_scikit_learn(string name)
    {
        var c = Case("calibration", name);
        var calibrator = IsotonicCalibrator.Fit(Doubles(c, "scores"), Ints(c, "labels"));
        calibrator.X.Count.ShouldBe(c.GetProperty("knots").GetInt32(), "knots as scikit-learn's X_thresholds_");
        var probe = Doubles(c, "probe");
        var expected = Doubles(c, "expected");
        for (var i = 0; i < probe.Length; i++)
        {
            Close(calibrator.Calibrate(probe[i]), expected[i], $"{name} at score {probe[i]:R}");
        }

        var again = IsotonicCalibrator.FromJson(calibrator.ToJson());
        again.X.ShouldBe(calibrator.X);
        again.Y.ShouldBe(calibrator.Y);
        (again.Rows, again.Positives).ShouldBe((calibrator.Rows, calibrator.Positives));
    }

    [Theory]
    [MemberData(nameof(EstimationCases))]
    public void Cbpe_estimate_matches_the_numpy_reference(string name)
    {
        var c = Case("estimation", name);
        var scores = Doubles(c, "scores");
        var e = Cbpe.Estimate(scores, Doubles(c, "probabilities"), c.GetProperty("threshold").GetDouble())!;
        var expected = c.GetProperty("expected");
        e.Rows.ShouldBe(scores.Length);
        Close(e.TruePositives, expected.GetProperty("tp").GetDouble(), "tp");
        Close(e.FalsePositives, expected.GetProperty("fp").GetDouble(), "fp");
        Close(e.FalseNegatives, expected.GetProperty("fn").GetDouble(), "fn");
        Close(e.TrueNegatives, expected.GetProperty("tn").GetDouble(), "tn");
        Close(e.AlertRate, expected.GetProperty("alert_rate").GetDouble(), "alert rate");
        foreach (var (field, actual) in new[] { ("recall", e.Recall), ("precision", e.Precision), ("auc_pr", e.AucPr) })
        {
            var value = expected.GetProperty(field);
            if (value.ValueKind == JsonValueKind.Null)
            {
                double.IsNaN(actual).ShouldBeTrue($"{field} is undefined in the reference");
                e.ToMetrics().ContainsKey(field == "auc_pr" ? "auc_pr" : field + "_at_threshold").ShouldBeFalse();
            }
            else
            {
                Close(actual, value.GetDouble(), field);
            }
        }

        if (expected.TryGetProperty("sklearn_average_precision", out var sk))
        {
            Close(e.AucPr, sk.GetDouble(), "0/1 probabilities: the estimate is sklearn's realized average precision");
        }
    }

    [Fact]
    public void Calibrator_refuses_one_class_and_bad_labels_with_a_clear_message()
    {
        Should.Throw<ArgumentException>(() => IsotonicCalibrator.Fit([0.1, 0.2, 0.3], [0, 0, 0])).Message.ShouldContain("both classes");
        Should.Throw<ArgumentException>(() => IsotonicCalibrator.Fit([0.1, 0.2], [0, 2])).Message.ShouldContain("not 0 or 1");
        Should.Throw<InvalidDataException>(() => IsotonicCalibrator.FromJson("{\"method\":\"platt\"}"u8.ToArray())).Message.ShouldContain("method 'platt'");
        Should.Throw<InvalidDataException>(() => IsotonicCalibrator.FromJson("{\"method\":\"isotonic\",\"rows\":10,\"positives\":2,\"x\":[0.2,0.1],\"y\":[0,1]}"u8.ToArray()))
            .Message.ShouldContain("knot 1");
    }

    private static JsonElement Case(string part, string name) =>
        Doc.Value.GetProperty(part).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static double[] Doubles(JsonElement c, string name) => [.. c.GetProperty(name).EnumerateArray().Select(v => v.GetDouble())];

    private static int[] Ints(JsonElement c, string name) => [.. c.GetProperty(name).EnumerateArray().Select(v => v.GetInt32())];

    private static void Close(double actual, double expected, string what)
    {
        var tolerance = Relative * Math.Max(Math.Abs(expected), 1e-3); // values near 0 compared at 1e-12 absolute
        Math.Abs(actual - expected).ShouldBeLessThanOrEqualTo(tolerance, $"{what}: {actual:R} vs {expected:R}");
    }
}
