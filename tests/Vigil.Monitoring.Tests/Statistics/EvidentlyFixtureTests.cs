using System.Globalization;
using System.Text.Json;
using Vigil.Data;
using Vigil.Monitoring.Statistics;

namespace Vigil.Monitoring.Tests.Statistics;

/// <summary>
/// Every statistic against Fixtures/drift_fixtures.json, written by eng/peers/drift_fixtures.py: Evidently's
/// definitions on scipy 1.10 / numpy 1.24 / pandas 1.5 over seeded samples. Scores agree to 1e-9 relative, drift flags
/// exactly, and the default statistic and the missing counts are Evidently's.
/// </summary>
public sealed class EvidentlyFixtureTests
{
    private const double Relative = 1e-9;

    /// <summary>Scores computed as 1 − (a value near 1) carry scipy's own rounding of ~1e-16 absolute.</summary>
    private const double AbsoluteFloor = 1e-14;

    private static readonly Lazy<JsonElement[]> Cases = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "drift_fixtures.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.Clone())];
    });

    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases.Value)
        {
            foreach (var e in c.GetProperty("expected").EnumerateObject())
            {
                data.Add(c.GetProperty("name").GetString()!, e.Name);
            }
        }

        return data;
    }

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases.Value)
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Score_and_drift_flag_match_Evidentlys_definition(string caseName, string stattest)
    {
        var c = Case(caseName);
        var sample = Sample(c);
        var expected = c.GetProperty("expected").GetProperty(stattest);
        var result = DriftAnalyzer.Evaluate("x", sample, StatTestCatalog.Get(stattest), null);

        result.StatTest.ShouldBe(stattest);
        result.Threshold.ShouldBe(expected.GetProperty("threshold").GetDouble());
        var score = expected.GetProperty("score");
        if (score.ValueKind == JsonValueKind.Null)
        {
            double.IsFinite(result.Score).ShouldBeFalse($"{caseName}/{stattest}: expected a non-finite score, got {result.Score}");
        }
        else
        {
            var want = score.GetDouble();
            var tolerance = Math.Max(Relative * Math.Abs(want), AbsoluteFloor);
            Math.Abs(result.Score - want).ShouldBeLessThanOrEqualTo(tolerance, $"{caseName}/{stattest}: {result.Score:R} vs scipy {want:R}");
        }

        result.Drift.ShouldBe(expected.GetProperty("drift").GetBoolean(), $"{caseName}/{stattest} drift flag");
        if (expected.TryGetProperty("ties", out var ties))
        {
            // Evidently's float comparison may count a reshuffle whose distance equals the observed one as smaller
            // (by an ulp); the exact p-value is at most ties/1000 above it, never below.
            var floatScore = expected.GetProperty("evidently_float_score").GetDouble();
            result.Score.ShouldBeGreaterThanOrEqualTo(floatScore - 1e-12);
            (result.Score - floatScore).ShouldBeLessThanOrEqualTo((ties.GetInt32() / 1000.0) + 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Default_stattest_and_missing_counts_are_Evidentlys(string caseName)
    {
        var c = Case(caseName);
        var sample = Sample(c);
        StatTestCatalog.Default(sample).Name.ShouldBe(c.GetProperty("auto").GetString());
        sample.ReferenceMissing.ShouldBe(c.GetProperty("missing_reference").GetInt32());
        sample.CurrentMissing.ShouldBe(c.GetProperty("missing_current").GetInt32());
    }

    private static JsonElement Case(string name) => Cases.Value.Single(c => c.GetProperty("name").GetString() == name);

    internal static DriftSample Sample(JsonElement c)
    {
        var categorical = c.GetProperty("type").GetString() == "cat";
        return DriftAnalyzer.BuildSample(ColumnOf(c.GetProperty("reference"), categorical), ColumnOf(c.GetProperty("current"), categorical), categorical);
    }

    private static Column ColumnOf(JsonElement values, bool categorical)
    {
        if (categorical)
        {
            return new StringColumn("x", [.. values.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? null : v.GetString())]);
        }

        return new Float64Column("x", [.. values.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
            ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture)
            : v.GetDouble())]);
    }
}
