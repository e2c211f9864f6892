using Vigil.Data;
using Vigil.Detectors;
using Vigil.Monitoring.Statistics;
using Vigil.Tracking;

namespace Vigil.Monitoring.Tests.Profiles;

/// <summary>
/// Profile mode: logged items counted into a bundle's fixed reference bins. A small isolation forest is trained once
/// (fixed seeds) on three features: <c>amount</c> (normal, mean 100), <c>stable</c> (uniform) and <c>channel</c>
/// (three categories); current traffic shifts <c>amount</c> only.
/// </summary>
public sealed class ProfileDriftTests
{
    private static readonly Lazy<ModelBundle> Model = new(() => Reports.ModelCache.Bundle);

    [Fact]
    public void Only_the_shifted_feature_drifts_and_the_alert_rate_rises()
    {
        var bundle = Model.Value;
        var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        drift.Add(Chunk(bundle, Rows(2000, shift: 60, seed: 2)));
        var report = drift.Report();

        report.Features.Select(f => f.Name).ShouldBe(["amount", "stable", "channel"]);
        report.Features.Select(f => f.Drift).ShouldBe([true, false, false]);
        report.Features.Select(f => f.StatTest).ShouldBe(["jensenshannon", "jensenshannon", "jensenshannon"]); // > 1,000 reference rows
        report.Features.Select(f => f.Type).ShouldBe(["num", "num", "cat"]);
        report.DriftShare.ShouldBe(1.0 / 3, 1e-15);
        report.DatasetDrift.ShouldBeFalse();
        var p = report.Prediction.ShouldNotBeNull();
        p.CurrentCount.ShouldBe(2000);
        p.AlertRateReference.ShouldBe(bundle.Profile!.Scores.AlertRate);
        p.AlertRateCurrent.ShouldBeGreaterThan(p.AlertRateReference + 0.05);
        p.Drift.ShouldBeTrue();
    }

    [Fact]
    public void Unshifted_traffic_does_not_drift()
    {
        var bundle = Model.Value;
        var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        drift.Add(Chunk(bundle, Rows(2000, shift: 0, seed: 3)));
        var report = drift.Report();
        report.Features.ShouldAllBe(f => !f.Drift); // JS over 20 bins of 2,000 rows: sampling noise alone is about 0.04-0.06
        report.Prediction!.Drift.ShouldBeFalse();
    }

    [Fact]
    public void Score_grows_monotonically_with_the_shift()
    {
        var bundle = Model.Value;
        var scores = new List<double>();
        foreach (var shift in new[] { 0.0, 5, 10, 20, 40 })
        {
            var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold, ["amount"]);
            drift.Add(Chunk(bundle, Rows(2000, shift, seed: 4)));
            scores.Add(drift.Report().Features[0].Score);
        }

        for (var i = 1; i < scores.Count; i++)
        {
            scores[i].ShouldBeGreaterThan(scores[i - 1], string.Join(", ", scores));
        }
    }

    [Fact]
    public void Streaming_in_chunks_gives_the_same_report_as_one_chunk()
    {
        var bundle = Model.Value;
        var rows = Rows(1000, shift: 30, seed: 5);
        var whole = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        whole.Add(Chunk(bundle, rows));
        var parts = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        parts.Add(Chunk(bundle, rows.Take(Enumerable.Range(0, 400).ToArray())));
        parts.Add(Chunk(bundle, rows.Take(Enumerable.Range(400, 600).ToArray())));
        parts.Report().ShouldBe(whole.Report(), new ReportComparer());
        parts.Items.ShouldBe(1000);
    }

    [Fact]
    public void Missing_values_and_unseen_categories_are_counted_not_dropped()
    {
        var bundle = Model.Value;
        var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold, ["amount", "channel"]);
        var chunk = Chunk(bundle, Rows(100, 0, seed: 6));
        for (var i = 0; i < 30; i++)
        {
            chunk.Features[0].Numbers![i] = double.NaN;
            chunk.Features[2].Texts![i] = i < 10 ? null : "kiosk";
        }

        drift.Add(chunk);
        var report = drift.Report();
        report.Features[0].MissingShareCurrent.ShouldBe(0.3);
        report.Features[1].MissingShareCurrent.ShouldBe(0.1);
        var channel = drift.Histograms()[1];
        channel.Bins[^1].ShouldBe("(other)");
        channel.Current[^1].ShouldBe(20.0 / 90, 1e-12); // "kiosk" is not a reference category
    }

    [Fact]
    public void Statistics_that_need_the_rows_are_refused_by_name()
    {
        var bundle = Model.Value;
        var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        drift.Add(Chunk(bundle, Rows(50, 0, seed: 7)));
        Should.Throw<DriftException>(() => drift.Report(new DriftOptions { StatTest = "ks" })).Message.ShouldContain("stattest 'ks' needs the reference rows");
        Should.Throw<DriftException>(() => drift.Report(new DriftOptions { StatTest = "TVD" }));
        drift.Report(new DriftOptions { StatTest = "psi" }).Features[0].StatTest.ShouldBe("psi");
        Should.Throw<DriftException>(() => new ProfileDrift(bundle.Profile!, bundle.Threshold, ["nope"])).Message.ShouldContain("unknown column 'nope'");
    }

    /// <summary>Rows of the three features; <paramref name="shift"/> moves amount's mean.</summary>
    internal static Frame Rows(int n, double shift, int seed)
    {
        var rng = new Random(seed);
        var amount = new double[n];
        var stable = new double[n];
        var channel = new string?[n];
        string[] channels = ["app", "pos", "web"];
        for (var i = 0; i < n; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            amount[i] = 100 + shift + (20 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            stable[i] = rng.NextDouble() * 10;
            channel[i] = channels[rng.Next(3)];
        }

        return new Frame([new Float64Column("amount", amount), new Float64Column("stable", stable), CategoricalColumn.FromValues("channel", channel)]);
    }

    /// <summary>The rows as the server logs them: every item decided by the model, with its score and label.</summary>
    internal static InferenceItemChunk Chunk(ModelBundle bundle, Frame rows, long startUs = 1_700_000_000_000_000)
    {
        var n = rows.RowCount;
        var scores = bundle.Score(rows);
        var channel = (CategoricalColumn)rows["channel"];
        var texts = new string?[n];
        var labels = new sbyte[n];
        for (var i = 0; i < n; i++)
        {
            texts[i] = channel[i];
            labels[i] = (sbyte)bundle.Decide(scores[i]);
        }

        return new InferenceItemChunk
        {
            Count = n,
            Model = "m",
            LogId = Enumerable.Repeat("l", n).ToArray(),
            RequestId = Enumerable.Range(0, n).Select(i => "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            Item = new int[n],
            StartUs = Enumerable.Range(0, n).Select(i => startUs + i).ToArray(),
            Version = new int?[n],
            Status = Enumerable.Repeat(200, n).ToArray(),
            Score = scores,
            Label = labels,
            Rule = new string?[n],
            Features =
            [
                new InferenceFeatureColumn("amount", ((Float64Column)rows["amount"]).Values.ToArray(), null),
                new InferenceFeatureColumn("stable", ((Float64Column)rows["stable"]).Values.ToArray(), null),
                new InferenceFeatureColumn("channel", null, texts),
            ],
        };
    }

    internal sealed class ReportComparer : IEqualityComparer<DriftReport>
    {
        public bool Equals(DriftReport? x, DriftReport? y) =>
            x!.DatasetDrift == y!.DatasetDrift && x.DriftShare == y.DriftShare && x.Features.SequenceEqual(y.Features) && x.Prediction == y.Prediction;

        public int GetHashCode(DriftReport obj) => 0;
    }
}
