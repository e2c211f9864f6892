using System.Globalization;
using System.Text.Json;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>
/// A registered isolation forest ("fraud", champion) whose inference log holds one day of traffic in which
/// <c>amount</c> is three times larger than in training; trained and logged once for the monitoring CLI tests.
/// </summary>
public sealed class MonitoringFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public MonitoringFixture()
    {
        Run("generate", "transactions", "--rows", "6000", "--seed", "9", "--out", "tx.csv").ShouldSucceed();
        Run("train", "--data", "tx.csv", "--label", "label", "--seed", "1", "--estimators", "25",
            "--features", "amount,hour_of_day,merchant_category", "--out", "model", "--register", "fraud").ShouldSucceed();
        Run("models", "alias", "set", "fraud", "champion", "1", "--reason", "test").ShouldSucceed();
        Bundle = ModelBundle.Load(_dir.File("model"));
        Frame = FrameFile.Read(_dir.File("tx.csv"));
        LogTraffic(amountFactor: 3, rows: 3000).GetAwaiter().GetResult();
    }

    public string Dir => _dir.Path;

    public string Home => _dir.File("home");

    public string Store => "sqlite:" + Path.Combine(Home, "vigil.db");

    public ModelBundle Bundle { get; }

    public Frame Frame { get; }

    internal VigilResult Run(params string[] args) => VigilProcess.RunInProcess(_dir.Path, Home, args);

    public void Dispose() => _dir.Dispose();

    /// <summary>Logs the first <paramref name="rows"/> rows as 30 requests spread over the last hours, amount scaled.</summary>
    private async Task LogTraffic(double amountFactor, int rows)
    {
        var amount = new double[rows];
        var hour = new double[rows];
        var merchant = new string?[rows];
        var cat = (CategoricalColumn)Frame["merchant_category"];
        for (var i = 0; i < rows; i++)
        {
            amount[i] = Frame["amount"].GetDouble(i) * amountFactor;
            hour[i] = Frame["hour_of_day"].GetDouble(i);
            merchant[i] = cat[i];
        }

        var current = new Frame([new Float64Column("amount", amount), new Float64Column("hour_of_day", hour), CategoricalColumn.FromValues("merchant_category", merchant)]);
        var scores = Bundle.Score(current);

        // the same rows with their labels and where they were logged: the labels file and what `vigil evaluate` reads
        const int perRequestRows = 100;
        var requestIds = new string?[rows];
        var itemIndex = new double[rows];
        var label = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            requestIds[i] = "req-" + (i / perRequestRows).ToString(CultureInfo.InvariantCulture);
            itemIndex[i] = i % perRequestRows;
            label[i] = Frame["label"].GetDouble(i);
        }

        FrameFile.Write(new Frame([.. current.Columns, new Float64Column("label", label), CategoricalColumn.FromValues("request_id", requestIds), new Float64Column("item", itemIndex)]),
            _dir.File("current.csv"));
        await using var log = await InferenceLogStore.OpenAsync(Store, Home, TestContext.Current.CancellationToken);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        var records = new List<InferenceRecord>();
        const int perRequest = 100;
        for (var r = 0; r < rows / perRequest; r++)
        {
            var n = perRequest;
            var offset = r * perRequest;
            var labels = new sbyte[n];
            for (var i = 0; i < n; i++)
            {
                labels[i] = (sbyte)Bundle.Decide(scores[offset + i]);
            }

            records.Add(new InferenceRecord
            {
                LogId = Guid.CreateVersion7().ToString("N"),
                RequestId = "req-" + r.ToString(CultureInfo.InvariantCulture),
                StartUs = now - ((30 - r) * 600_000_000L), // one request every 10 minutes over the last 5 hours
                EndUs = now - ((30 - r) * 600_000_000L) + 1000,
                Route = "v1/predict",
                Model = "fraud",
                Version = 1,
                Status = 200,
                Rows = n,
                ScoredRows = n,
                Items = new InferenceItems
                {
                    Count = n,
                    Status = Enumerable.Repeat(200, n).ToArray(),
                    Score = scores.AsSpan(offset, n).ToArray(),
                    Label = labels,
                    Rule = new string?[n],
                    Features =
                    [
                        new InferenceFeatureColumn("amount", amount.AsSpan(offset, n).ToArray(), null),
                        new InferenceFeatureColumn("hour_of_day", hour.AsSpan(offset, n).ToArray(), null),
                        new InferenceFeatureColumn("merchant_category", null, merchant.AsSpan(offset, n).ToArray()),
                    ],
                },
            });
        }

        await log.WriteAsync(records, TestContext.Current.CancellationToken);
    }
}

/// <summary><c>vigil drift</c> in profile mode (the inference log against the bundle's profile) and with a model in file mode.</summary>
public sealed class MonitoringCliTests(MonitoringFixture fx) : IClassFixture<MonitoringFixture>
{
    [Fact]
    public void Profile_mode_flags_the_scaled_feature_and_reports_prediction_drift_as_json()
    {
        var html = Path.Combine(fx.Dir, "profile-report.html");
        var r = fx.Run("drift", "--model", "models:/fraud@champion", "--since", "1d", "--json", "--html", html);
        r.ShouldSucceed();
        using var doc = JsonDocument.Parse(r.StdOut);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["dataset_drift", "drift_share", "threshold_share", "features", "prediction"]);
        var features = root.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        features.Keys.ShouldBe(["amount", "hour_of_day", "merchant_category"]);
        features["amount"].GetProperty("drift").GetBoolean().ShouldBeTrue();
        features["hour_of_day"].GetProperty("drift").GetBoolean().ShouldBeFalse();
        features["merchant_category"].GetProperty("drift").GetBoolean().ShouldBeFalse();
        features["merchant_category"].GetProperty("type").GetString().ShouldBe("cat");
        var prediction = root.GetProperty("prediction");
        prediction.EnumerateObject().Select(p => p.Name).ShouldBe(["stattest", "score", "drift", "alert_rate_reference", "alert_rate_current"]);
        prediction.GetProperty("alert_rate_reference").GetDouble().ShouldBe(fx.Bundle.Profile!.Scores.AlertRate);
        prediction.GetProperty("alert_rate_current").GetDouble().ShouldBeGreaterThan(prediction.GetProperty("alert_rate_reference").GetDouble());
        var page = File.ReadAllText(html);
        page.ShouldContain("Data drift by feature");
        page.ShouldContain("3,000 logged items");
    }

    [Fact]
    public void Profile_mode_fails_on_drift_with_exit_4_and_refuses_row_statistics()
    {
        fx.Run("drift", "--model", "models:/fraud@champion", "--drift-share", "0.3", "--fail-on-drift").ExitCode.ShouldBe(4);
        fx.Run("drift", "--model", "models:/fraud@champion", "--fail-on-drift").ExitCode.ShouldBe(0);
        fx.Run("drift", "--model", "models:/fraud@champion", "--stattest", "ks").ShouldFailWithOneLine("stattest 'ks' needs the reference rows");
        LastLineError(fx.Run("drift", "--model", "models:/fraud@champion", "--until", "2000-01-01"), "holds no decided items of model 'fraud'");
        LastLineError(fx.Run("drift", "--model", "models:/nope@champion"), "nope");
        fx.Run("drift").ShouldFailWithOneLine("give --reference and --current");
        fx.Run("drift", "-r", "tx.csv").ShouldFailWithOneLine("needs both --reference and --current");
    }

    /// <summary>Exit 2 and the error on the last stderr line (after the note naming the resolved model), no stack trace.</summary>
    private static void LastLineError(VigilResult r, string fragment)
    {
        r.ExitCode.ShouldBe(2, r.StdErr);
        var lines = r.StdErr.TrimEnd().Split('\n');
        lines[^1].ShouldStartWith("vigil: error: ");
        lines[^1].ShouldContain(fragment);
        r.StdErr.ShouldNotContain("   at ");
    }

    [Fact]
    public void Realized_performance_from_ingested_labels_equals_evaluate_on_the_same_rows()
    {
        var ingest = fx.Run("labels", "ingest", "--file", "current.csv", "--id-column", "request_id", "--item-column", "item", "--label-column", "label", "--model", "fraud", "--json");
        ingest.ShouldSucceed();
        using (var doc = JsonDocument.Parse(ingest.StdOut))
        {
            doc.RootElement.GetProperty("matched").GetInt32().ShouldBe(3000);
            doc.RootElement.GetProperty("unmatched").GetInt32().ShouldBe(0);
        }

        var perf = fx.Run("performance", "--model", "fraud", "--window", "1w", "--json");
        perf.ShouldSucceed();
        var evaluate = fx.Run("evaluate", "--model", "model", "--data", "current.csv", "--label", "label", "--json");
        evaluate.ShouldSucceed();
        using var p = JsonDocument.Parse(perf.StdOut);
        using var e = JsonDocument.Parse(evaluate.StdOut);
        var total = p.RootElement.GetProperty("total");
        total.GetProperty("predictions").GetInt64().ShouldBe(3000);
        total.GetProperty("labelled_share").GetDouble().ShouldBe(1);
        var realized = total.GetProperty("realized");
        foreach (var metric in new[] { "auc_pr", "auc_roc", "precision_at_100" })
        {
            realized.GetProperty(metric).GetDouble().ShouldBe(e.RootElement.GetProperty(metric).GetDouble(), metric); // exactly
        }

        realized.GetProperty("recall_at_threshold").GetDouble().ShouldBe(e.RootElement.GetProperty("confusion").GetProperty("recall").GetDouble());
        realized.GetProperty("precision_at_threshold").GetDouble().ShouldBe(e.RootElement.GetProperty("confusion").GetProperty("precision").GetDouble());
        total.GetProperty("estimated").EnumerateObject().ShouldBeEmpty();

        var hourly = fx.Run("performance", "--model", "models:/fraud@champion", "--window", "1h", "--json", "--html", Path.Combine(fx.Dir, "perf.html"));
        hourly.ShouldSucceed();
        using var h = JsonDocument.Parse(hourly.StdOut);
        var windows = h.RootElement.GetProperty("windows").EnumerateArray().ToArray();
        windows.Length.ShouldBeInRange(5, 6); // 30 requests, one every 10 minutes
        windows.Sum(w => w.GetProperty("predictions").GetInt64()).ShouldBe(3000);
        File.ReadAllText(Path.Combine(fx.Dir, "perf.html")).ShouldContain("Over time");
    }

    [Fact]
    public void Labels_that_match_no_prediction_are_counted_and_bad_input_is_one_line()
    {
        File.WriteAllText(Path.Combine(fx.Dir, "stray.csv"), "request_id,label\nreq-0,1\nnope-1,0\nnope-2,1\n");
        var r = fx.Run("labels", "ingest", "--file", "stray.csv", "--id-column", "request_id", "--label-column", "label", "--model", "fraud", "--json");
        r.ShouldSucceed();
        using var doc = JsonDocument.Parse(r.StdOut);
        doc.RootElement.GetProperty("matched").GetInt32().ShouldBe(1);
        doc.RootElement.GetProperty("unmatched").GetInt32().ShouldBe(2);
        doc.RootElement.GetProperty("first_unmatched").EnumerateArray().Select(x => x.GetString()).ShouldBe(["nope-1", "nope-2"]);
        File.WriteAllText(Path.Combine(fx.Dir, "bad.csv"), "request_id,label\nreq-0,7\n");
        fx.Run("labels", "ingest", "--file", "bad.csv", "--id-column", "request_id", "--label-column", "label", "--model", "fraud").ExitCode.ShouldBe(2);
        fx.Run("labels", "ingest", "--file", "stray.csv", "--id-column", "nope", "--label-column", "label", "--model", "fraud").ShouldFailWithOneLine("--id-column 'nope': no such column");
        fx.Run("performance", "--model", "fraud", "--window", "soon").ShouldFailWithOneLine("--window 'soon'");
    }

    [Fact]
    public void Monitor_batches_reports_drift_and_performance_for_ten_batches()
    {
        var html = Path.Combine(fx.Dir, "batches.html");
        var r = fx.Run("monitor", "batches", "--data", "tx.csv", "--model", "model", "--json", "--html", html);
        r.ShouldSucceed();
        using var doc = JsonDocument.Parse(r.StdOut);
        var batches = doc.RootElement.GetProperty("batches").EnumerateArray().ToArray();
        batches.Length.ShouldBe(10);
        batches.Sum(b => b.GetProperty("predictions").GetInt64()).ShouldBe(1200); // the untouched 20% of 6,000 rows
        foreach (var b in batches)
        {
            var drift = b.GetProperty("drift");
            drift.GetProperty("features").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ShouldBe(["amount", "hour_of_day", "merchant_category"]);
            drift.GetProperty("prediction").GetProperty("alert_rate_current").GetDouble().ShouldBe(b.GetProperty("alert_rate").GetDouble(), 1e-15);
            b.GetProperty("labelled_share").GetDouble().ShouldBe(1);
        }

        batches.Count(b => b.GetProperty("realized").TryGetProperty("auc_pr", out _)).ShouldBeGreaterThan(0);
        var page = File.ReadAllText(html);
        page.ShouldContain("batch 10 (");
        fx.Run("monitor", "batches", "--data", "tx.csv", "--model", "model", "--time-column", "nope").ShouldFailWithOneLine("--time-column 'nope'");
    }

    [Fact]
    public void File_mode_with_a_model_adds_prediction_drift()
    {
        var r = fx.Run("drift", "-r", "tx.csv", "-c", "tx.csv", "--model", "model", "--columns", "amount,hour_of_day", "--json");
        r.ShouldSucceed();
        using var doc = JsonDocument.Parse(r.StdOut);
        var p = doc.RootElement.GetProperty("prediction");
        p.GetProperty("stattest").GetString().ShouldBe("wasserstein"); // 6,000 reference rows
        p.GetProperty("score").GetDouble().ShouldBe(0);
        p.GetProperty("drift").GetBoolean().ShouldBeFalse();
        var scores = fx.Bundle.Score(fx.Frame);
        var alerts = scores.Count(s => s > fx.Bundle.Threshold) / (double)scores.Length;
        p.GetProperty("alert_rate_reference").GetDouble().ShouldBe(alerts);
        p.GetProperty("alert_rate_current").GetDouble().ShouldBe(alerts);
    }
}
