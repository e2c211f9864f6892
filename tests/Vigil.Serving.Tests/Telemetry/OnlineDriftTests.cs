using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Shouldly;
using Vigil.Data;

namespace Vigil.Serving.Tests;

/// <summary>
/// Online drift over real HTTP: <c>fraud-num</c> (five numeric features, reference profile from its 4,000 training
/// rows) is sent every other one of those rows (reference-like traffic: a fresh seed would not do, the generator's
/// per-customer features such as avg_monthly_spend follow the seed's customers, and the first half alone is an earlier
/// period whose tenures are shorter), then the same rows with three features shifted;
/// the gauges exported on /metrics follow the window.
/// </summary>
public sealed partial class OnlineDriftTests
{
    private const int Window = 2000;
    private static readonly string[] Shifted = [TransactionColumns.Amount, TransactionColumns.AvgMonthlySpend, TransactionColumns.CustomerTenureDays];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gauges_stay_low_on_reference_like_traffic_and_rise_on_shifted_traffic()
    {
        await using var server = await ServerHarness.StartAsync(o => o with
        {
            Models = ModelSpec.ParseList("fraud-num/latest"),
            OnlineDriftWindow = Window,
            OnlineDriftSeconds = 1,
        });
        var rows = ServerHarness.Data.Take(Enumerable.Range(0, Window).Select(i => 2 * i).ToArray());

        await SendAsync(server, rows, Window, shift: false);
        var before = await WaitForAsync(server, m => m.WindowItems == Window);

        foreach (var feature in ServerHarness.NumericFeatures)
        {
            before.Features[feature].Stattest.ShouldBe("jensenshannon");
            before.Features[feature].Value.ShouldBeLessThan(0.1, feature); // every other row the profile was built from
        }

        before.DriftShare.ShouldBe(0);
        before.DatasetDrift.ShouldBe(0);
        before.ReferenceAlertRate.ShouldBeInRange(0.001, 0.2);
        Math.Abs(before.AlertRate - before.ReferenceAlertRate).ShouldBeLessThan(0.05);

        await SendAsync(server, rows, Window, shift: true);
        var after = await WaitForAsync(server, m => m.Features[TransactionColumns.Amount].Value > 0.1 && m.DriftShare >= 0.6);

        foreach (var feature in Shifted)
        {
            after.Features[feature].Value.ShouldBeGreaterThan(0.1, feature);
        }

        after.Features[TransactionColumns.HourOfDay].Value.ShouldBeLessThan(0.1); // not shifted
        after.Features[TransactionColumns.NumPrevTx24h].Value.ShouldBeLessThan(0.1);
        after.DriftShare.ShouldBe(0.6, 1e-12); // 3 of 5 features
        after.DatasetDrift.ShouldBe(1);
        after.WindowItems.ShouldBe(Window); // the window slid: only the shifted rows are in it
        after.AlertRate.ShouldBeGreaterThan(before.AlertRate + 0.1); // amounts 8x the usual look anomalous to the forest
        after.ReferenceAlertRate.ShouldBe(before.ReferenceAlertRate);
    }

    [Fact]
    public async Task Turned_off_it_exports_no_drift_gauges()
    {
        await using var server = await ServerHarness.StartAsync(o => o with
        {
            Models = ModelSpec.ParseList("fraud-num/latest"),
            OnlineDrift = false,
            OnlineDriftSeconds = 1,
        });
        await SendAsync(server, ServerHarness.Data, 50, shift: false);

        var model = server.App.Services.GetService(typeof(ModelCache)) is ModelCache cache ? cache.Find("fraud-num") : null;
        model.ShouldNotBeNull();
        model.CurrentDriftWindow.ShouldBeNull();
        var text = await server.Client.GetStringAsync("/metrics", Ct);
        text.ShouldNotContain("vigil_feature_drift{");
        text.ShouldNotContain("vigil_dataset_drift_share{");
    }

    private static async Task SendAsync(ServerHarness server, Frame frame, int count, bool shift)
    {
        const int PerRequest = 250;
        for (var start = 0; start < count; start += PerRequest)
        {
            var instances = new JsonArray();
            for (var row = start; row < Math.Min(count, start + PerRequest); row++)
            {
                var o = new JsonObject();
                foreach (var name in ServerHarness.NumericFeatures)
                {
                    var v = frame[name].GetDouble(row);
                    if (shift && name == TransactionColumns.CustomerTenureDays)
                    {
                        v += 4000;
                    }
                    else if (shift && Array.IndexOf(Shifted, name) >= 0)
                    {
                        v *= 8;
                    }

                    o[name] = v;
                }

                instances.Add(o);
            }

            var (status, body, _) = await server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud-num", ["instances"] = instances }.ToJsonString());
            status.ShouldBe(200, body.ToJsonString());
        }
    }

    /// <summary>Polls /metrics (the gauges update every second) until <paramref name="done"/> holds, for at most 60 s.</summary>
    private static async Task<DriftGauges> WaitForAsync(ServerHarness server, Func<DriftGauges, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string text;
        while (true)
        {
            text = await server.Client.GetStringAsync("/metrics", Ct);
            if (DriftGauges.Parse(text, "fraud-num") is { } gauges && done(gauges))
            {
                return gauges;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the drift gauges never reached the expected state:\n" + text);
            }

            await Task.Delay(100, Ct);
        }
    }

    private sealed record DriftGauges(Dictionary<string, (string Stattest, double Value)> Features, double DriftShare, double DatasetDrift, double AlertRate, double ReferenceAlertRate, double WindowItems)
    {
        public static DriftGauges? Parse(string text, string model)
        {
            var features = new Dictionary<string, (string, double)>(StringComparer.Ordinal);
            foreach (Match m in FeatureLine().Matches(text))
            {
                if (m.Groups["model"].Value == model)
                {
                    features[m.Groups["feature"].Value] = (m.Groups["stattest"].Value, Number(m.Groups["value"].Value));
                }
            }

            var share = Gauge(text, "vigil_dataset_drift_share", model);
            var drift = Gauge(text, "vigil_dataset_drift", model);
            var rate = Gauge(text, "vigil_alert_rate", model);
            var reference = Gauge(text, "vigil_reference_alert_rate", model);
            var items = Gauge(text, "vigil_online_drift_window_items", model);
            return features.Count == ServerHarness.NumericFeatures.Length && share is { } s && drift is { } d && rate is { } r && reference is { } rr && items is { } n
                ? new DriftGauges(features, s, d, r, rr, n)
                : null;
        }

        private static double? Gauge(string text, string name, string model)
        {
            var m = Regex.Match(text, "^" + name + "\\{model=\"" + Regex.Escape(model) + "\"\\} (\\S+)$", RegexOptions.Multiline);
            return m.Success ? Number(m.Groups[1].Value) : null;
        }

        private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("^vigil_feature_drift\\{model=\"(?<model>[^\"]*)\",feature=\"(?<feature>[^\"]*)\",stattest=\"(?<stattest>[^\"]*)\"\\} (?<value>\\S+)$", RegexOptions.Multiline)]
    private static partial Regex FeatureLine();
}
