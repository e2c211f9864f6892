using System.Globalization;
using System.Text.Json;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Monitoring;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>
/// CBPE through the CLI: <c>monitor split</c> writes the batch scenario's periods, <c>train --validation</c> stores an
/// isotonic calibrator in a LightGBM bundle, and <c>monitor batches</c> and <c>performance</c> show the estimate, marked
/// as estimated, next to the realized figures; a model without a calibrator says why it has no estimate.
/// </summary>
public sealed class CbpeCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Home => _dir.File("home");

    private string Store => "sqlite:" + Path.Combine(Home, "vigil.db");

    public void Dispose() => _dir.Dispose();

    private VigilResult Run(params string[] args) => VigilProcess.RunInProcess(_dir.Path, Home, args);

    private void TrainCalibrated()
    {
        Run("generate", "transactions", "--rows", "20000", "--days", "30", "--seed", "3", "--out", "tx.parquet").ShouldSucceed();
        var split = Run("monitor", "split", "--data", "tx.parquet", "--out", "split", "--json");
        split.ShouldSucceed();
        using (var doc = JsonDocument.Parse(split.StdOut))
        {
            var rows = new[] { "reference", "validation", "untouched" }.Select(p => doc.RootElement.GetProperty(p).GetProperty("rows").GetInt32()).ToArray();
            rows.Sum().ShouldBe(20000);
            rows[0].ShouldBeInRange(11900, 12100); // 60% in time order (a timestamp run is never cut)
        }

        var train = Run("train", "--data", "split/reference.parquet", "--validation", "split/validation.parquet", "--label", "label", "--kind", "lightgbm",
            "--features", "amount,hour_of_day,merchant_category,tx_count_1d,amount_sum_1d", "--seed", "1", "--estimators", "30", "--out", "model", "--register", "fraud", "--json");
        train.ShouldSucceed();
        using var t = JsonDocument.Parse(train.StdOut);
        var calibration = t.RootElement.GetProperty("calibration");
        calibration.GetProperty("method").GetString().ShouldBe("isotonic");
        calibration.GetProperty("rows").GetInt32().ShouldBe(FrameFile.Read(_dir.File("split/validation.parquet")).RowCount);
    }

    [Fact]
    public void Monitor_batches_shows_the_estimate_of_a_calibrated_model_beside_the_realized_figures()
    {
        TrainCalibrated();
        var bundle = ModelBundle.Load(_dir.File("model"));
        var r = Run("monitor", "batches", "--data", "tx.parquet", "--model", "model", "--json");
        r.ShouldSucceed();
        using var doc = JsonDocument.Parse(r.StdOut);
        doc.RootElement.GetProperty("estimation").GetString()!.ShouldStartWith("estimated (CBPE)");
        var batches = doc.RootElement.GetProperty("batches").EnumerateArray().ToArray();
        batches.Length.ShouldBe(10);
        var frame = FrameFile.Read(_dir.File("tx.parquet"));
        var first = batches[0];
        var estimated = first.GetProperty("estimated");
        foreach (var b in batches)
        {
            b.GetProperty("estimated").GetProperty("auc_pr").GetDouble().ShouldBeInRange(0, 1);
            b.GetProperty("estimated").GetProperty("recall_at_threshold").GetDouble().ShouldBeInRange(0, 1);
            b.GetProperty("realized").TryGetProperty("labelled_positives", out _).ShouldBeTrue(); // realized unchanged beside it
        }

        // The first batch's estimate is Cbpe on that batch's scores, exactly.
        var split = Splits.ByTime(frame, "timestamp");
        var rows = frame.Take(split.Batches.First(b => b.Rows.Length > 0).Rows);
        var expected = Cbpe.Estimate(bundle, bundle.Score(rows))!;
        first.GetProperty("predictions").GetInt64().ShouldBe(rows.RowCount);
        estimated.GetProperty("auc_pr").GetDouble().ShouldBe(expected.AucPr);
        estimated.GetProperty("expected_positives").GetDouble().ShouldBe(expected.ExpectedPositives);

        var table = Run("monitor", "batches", "--data", "tx.parquet", "--model", "model", "--html", "batches.html");
        table.ShouldSucceed();
        table.StdOut.ShouldContain("AUC-PR (est.)");
        table.StdOut.ShouldContain("(est.): estimated by CBPE");
        var html = File.ReadAllText(_dir.File("batches.html"));
        html.ShouldContain("AUC-PR (est.)");
        html.ShouldContain("<b>estimated</b> by CBPE");
    }

    [Fact]
    public async Task Performance_estimates_every_window_of_a_calibrated_model_with_partial_labels()
    {
        TrainCalibrated();
        Run("models", "alias", "set", "fraud", "champion", "1", "--reason", "test").ShouldSucceed();
        var bundle = ModelBundle.Load(_dir.File("model"));
        var current = FrameFile.Read(_dir.File("split/untouched.parquet"));
        var scores = await LogTraffic(bundle, current, requests: 20, perRequest: 100);
        var labels = new System.Text.StringBuilder("request_id,item,label\n");
        for (var i = 0; i < 1000; i++) // the first half of the requests is labelled
        {
            labels.Append(CultureInfo.InvariantCulture, $"req-{i / 100},{i % 100},{current["label"].GetDouble(i)}\n");
        }

        File.WriteAllText(_dir.File("labels.csv"), labels.ToString());
        Run("labels", "ingest", "--file", "labels.csv", "--id-column", "request_id", "--item-column", "item", "--label-column", "label", "--model", "fraud").ShouldSucceed();
        var perf = Run("performance", "--model", "fraud", "--window", "1w", "--json");
        perf.ShouldSucceed();
        using var doc = JsonDocument.Parse(perf.StdOut);
        doc.RootElement.GetProperty("estimation").GetString()!.ShouldStartWith("estimated (CBPE)");
        var total = doc.RootElement.GetProperty("total");
        total.GetProperty("labelled_share").GetDouble().ShouldBe(0.5);
        var expected = Cbpe.Estimate(bundle, scores)!; // over all 2,000 predictions, labelled or not
        total.GetProperty("estimated").GetProperty("auc_pr").GetDouble().ShouldBe(expected.AucPr, 1e-12);
        total.GetProperty("estimated").GetProperty("recall_at_threshold").GetDouble().ShouldBe(expected.Recall, 1e-12);
        var table = Run("performance", "--model", "model", "--name", "fraud", "--window", "1w"); // a bundle path, named as logged
        table.ShouldSucceed();
        table.StdOut.ShouldContain("AUC-PR (est.)");
    }

    [Fact]
    public void Models_without_a_calibrator_say_why_and_bad_calibration_options_are_one_line()
    {
        Run("generate", "transactions", "--rows", "6000", "--days", "30", "--seed", "4", "--out", "tx.csv").ShouldSucceed();
        var train = Run("train", "--data", "tx.csv", "--label", "label", "--kind", "lightgbm", "--features", "amount,hour_of_day", "--estimators", "10", "--out", "plain", "--json");
        train.ShouldSucceed();
        using (var t = JsonDocument.Parse(train.StdOut))
        {
            t.RootElement.GetProperty("calibration").ValueKind.ShouldBe(JsonValueKind.Null);
        }

        var r = Run("monitor", "batches", "--data", "tx.csv", "--model", "plain", "--json");
        r.ShouldSucceed();
        using (var doc = JsonDocument.Parse(r.StdOut))
        {
            doc.RootElement.GetProperty("estimation").GetString()!.ShouldStartWith("no estimate: the model has no calibrator (trained without validation rows");
            doc.RootElement.GetProperty("batches").EnumerateArray().ShouldAllBe(b => !b.GetProperty("estimated").EnumerateObject().Any());
        }

        Run("train", "--data", "tx.csv", "--label", "label", "--features", "amount", "--estimators", "10", "--out", "forest").ShouldSucceed();
        var forest = Run("monitor", "batches", "--data", "tx.csv", "--model", "forest");
        forest.ShouldSucceed();
        forest.StdOut.ShouldContain("no estimate: the model has no calibrator (unsupervised)");
        forest.StdOut.ShouldNotContain("(est.)");

        var fraction = Run("train", "--data", "tx.csv", "--label", "label", "--kind", "lightgbm", "--features", "amount", "--estimators", "10", "--calibration-fraction", "0.25", "--out", "fraction", "--json");
        fraction.ShouldSucceed();
        using (var f = JsonDocument.Parse(fraction.StdOut))
        {
            f.RootElement.GetProperty("calibration").GetProperty("rows").GetInt32().ShouldBe(1500); // stratified 25% of 6,000
        }

        Run("train", "--data", "tx.csv", "--label", "label", "--kind", "lightgbm", "--validation", "nope.csv", "--out", "x").ShouldFailWithOneLine("--validation");
        Run("train", "--data", "tx.csv", "--label", "label", "--kind", "lightgbm", "--calibration-fraction", "1.5", "--out", "x").ShouldFailWithOneLine("--calibration-fraction");
        Run("monitor", "split", "--data", "tx.csv", "--out", "s").ShouldSucceed();
        Run("monitor", "split", "--data", "tx.csv", "--out", "s").ShouldFailWithOneLine("exists");
        Run("monitor", "split", "--data", "tx.csv", "--out", "s2", "--time-column", "nope").ShouldFailWithOneLine("--time-column 'nope'");
    }

    /// <summary>Logs the first requests × perRequest rows of <paramref name="current"/> as model "fraud" over the last hours; returns their scores.</summary>
    private async Task<double[]> LogTraffic(ModelBundle bundle, Frame current, int requests, int perRequest)
    {
        var n = requests * perRequest;
        var rows = current.Take([.. Enumerable.Range(0, n)]);
        var scores = bundle.Score(rows);
        var names = bundle.Transform.InputSchema.Select(c => c.Name).ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        var records = new List<InferenceRecord>();
        for (var r = 0; r < requests; r++)
        {
            var offset = r * perRequest;
            var features = new List<InferenceFeatureColumn>();
            foreach (var name in names)
            {
                var column = rows[name];
                if (column is CategoricalColumn cat)
                {
                    features.Add(new InferenceFeatureColumn(name, null, [.. Enumerable.Range(offset, perRequest).Select(i => cat[i])]));
                }
                else
                {
                    features.Add(new InferenceFeatureColumn(name, [.. Enumerable.Range(offset, perRequest).Select(column.GetDouble)], null));
                }
            }

            records.Add(new InferenceRecord
            {
                LogId = Guid.CreateVersion7().ToString("N"),
                RequestId = "req-" + r.ToString(CultureInfo.InvariantCulture),
                StartUs = now - ((requests - r) * 600_000_000L),
                EndUs = now - ((requests - r) * 600_000_000L) + 1000,
                Route = "v1/predict",
                Model = "fraud",
                Version = 1,
                Status = 200,
                Rows = perRequest,
                ScoredRows = perRequest,
                Items = new InferenceItems
                {
                    Count = perRequest,
                    Status = Enumerable.Repeat(200, perRequest).ToArray(),
                    Score = scores.AsSpan(offset, perRequest).ToArray(),
                    Label = [.. Enumerable.Range(offset, perRequest).Select(i => (sbyte)bundle.Decide(scores[i]))],
                    Rule = new string?[perRequest],
                    Features = [.. features],
                },
            });
        }

        await using (var log = await InferenceLogStore.OpenAsync(Store, Home, TestContext.Current.CancellationToken))
        {
            await log.WriteAsync(records, TestContext.Current.CancellationToken);
        }

        return scores;
    }
}
