using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil quickstart [--dir D]</c>: generate → out-of-time split → train → evaluate → score, end to end.</summary>
internal static class QuickstartCommand
{
    /// <summary>The generated columns the quickstart model learns from (identifiers and the fraud pattern are left out).</summary>
    internal static readonly string[] Features =
    [
        "amount", "hour_of_day", "avg_monthly_spend", "customer_tenure_days", "num_prev_tx_24h",
        "tx_count_7d", "tx_count_30d", "tx_count_same_merchant_1d", "amount_sum_1d", "amount_sum_7d", "amount_sum_30d", "merchant_category",
    ];

    public static Command Build()
    {
        var dir = new Option<string>("--dir") { Description = "Folder for the generated files.", DefaultValueFactory = _ => "vigil-quickstart" };
        var rows = new Option<long>("--rows") { Description = "Transactions to generate.", DefaultValueFactory = _ => 200_000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed for data and model.", DefaultValueFactory = _ => 42 };
        var cmd = new Command("quickstart", "Generate transactions, split out of time, train an isolation forest, evaluate it and score the test period.")
        {
            dir, rows, seed,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction((parse, ct) => RunAsync(parse.GetRequiredValue(dir), OptionParsing.Positive("--rows", parse.GetValue(rows)), parse.GetValue(seed),
            () => storeArgs.OpenAsync(parse, ct), ct));
        return cmd;
    }

    /// <summary>The registry name the quickstart model is registered under.</summary>
    internal const string ModelName = "quickstart-fraud";

    private static async Task<int> RunAsync(string dir, long rows, ulong seed, Func<Task<ITrackingStore>> openStore, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        var dataPath = Path.Combine(dir, "transactions.parquet");
        var trainPath = Path.Combine(dir, "train.parquet");
        var testPath = Path.Combine(dir, "test.parquet");
        var modelPath = Path.Combine(dir, "model");
        var scoresPath = Path.Combine(dir, "scores.csv");
        const int days = 90;
        const int trainDays = 60;
        var gap = TimeSpan.FromDays(7);

        Step($"1/5 generating {rows:N0} card transactions over {days} days (seed {seed})");
        var options = new TransactionGeneratorOptions { Rows = rows, Seed = seed, Days = days, FraudRate = 0.01 };
        var frame = TransactionGenerator.GenerateFrame(options);
        FrameFile.Write(frame, dataPath);

        Step($"2/5 out-of-time split: train on days 1-{trainDays}, skip a {gap.TotalDays:0}-day label-delay gap, test on the rest");
        var trainEnd = options.Start.AddDays(trainDays);
        var split = Splits.OutOfTime(((TimestampColumn)frame["timestamp"]).UnixMicros, trainEnd, gap);
        var train = frame.Take(split.Train);
        var test = frame.Take(split.Test);
        FrameFile.Write(train, trainPath);
        FrameFile.Write(test, testPath);

        Step($"3/5 training an isolation forest on {train.RowCount:N0} rows x {Features.Length} features");
        var bundle = ModelBundle.Train(train, new TrainSpec
        {
            Model = "iforest",
            Label = "label",
            Features = Features,
            Forest = new IsolationForestOptions { Seed = seed, Contamination = 0.01 },
        });

        Step($"4/5 evaluating on the {test.RowCount:N0} out-of-time rows");
        var scores = bundle.Score(test);
        var labels = Labels.From(test, "label");
        var report = EvaluationReport.Create(scores, labels, bundle.Threshold);
        bundle = bundle.WithMetrics(report.Metrics.ToDictionary(kv => "oot_" + kv.Key, kv => kv.Value, StringComparer.Ordinal));
        if (Directory.Exists(modelPath))
        {
            Directory.Delete(modelPath, recursive: true);
        }

        bundle.Save(modelPath);

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = "iforest",
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["rows"] = rows.ToString(CultureInfo.InvariantCulture),
            ["contamination"] = "0.01",
            ["features"] = string.Join(",", Features),
        };
        ModelVersion version;
        await using (var tracking = await TrainTracking.StartAsync(openStore(), "quickstart", ModelName, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                version = (await tracking.CompleteAsync(parameters, trainPath, train, bundle, bundle.Manifest.Metrics, cancellationToken).ConfigureAwait(false))!;
                await tracking.Store.SetAliasAsync(ModelName, "champion", version.Version, Actor.Resolve(), "quickstart", cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await tracking.FailAsync().ConfigureAwait(false);
                throw;
            }
        }

        var championUri = ModelUri.ForAlias(ModelName, "champion").ToString();
        Step($"registered {ModelName} version {version.Version.ToString(CultureInfo.InvariantCulture)} as {championUri}");

        Step("5/5 scoring the test period");
        FrameFile.Write(new Frame([test["transaction_id"], new Float64Column("score", scores), test["label"]]), scoresPath);
        total.Stop();

        static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Rounded).Title("quickstart: isolation forest, out-of-time test");
        table.AddColumn("metric");
        table.AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("train rows", train.RowCount.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("test rows (fraud)", $"{test.RowCount:N0} ({report.Positives:N0})");
        foreach (var (k, v) in report.Metrics)
        {
            table.AddRow(k, F(v));
        }

        table.AddRow("flagged at threshold", (report.AtThreshold.TruePositives + report.AtThreshold.FalsePositives).ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("precision / recall at threshold", $"{F(report.AtThreshold.Precision)} / {F(report.AtThreshold.Recall)}");
        Terminal.Out.Write(table);

        var files = new Table().Border(TableBorder.Rounded).Title($"files in {Markup.Escape(Path.GetFullPath(dir))}");
        files.AddColumn("file");
        files.AddColumn("what");
        files.AddRow(Markup.Escape(dataPath), "all generated transactions (with label and fraud_pattern)");
        files.AddRow(Markup.Escape(trainPath), $"training period (days 1-{trainDays})");
        files.AddRow(Markup.Escape(testPath), "out-of-time test period");
        files.AddRow(Markup.Escape(modelPath), "model bundle (bundle.json + weights, SHA-256 verified on load)");
        files.AddRow(Markup.Escape(scoresPath), "transaction_id, score, label for the test period");
        files.AddRow(Markup.Escape(championUri), $"the registered model (version {version.Version.ToString(CultureInfo.InvariantCulture)}, alias champion)");
        Terminal.Out.Write(files);
        Terminal.Out.MarkupLine($"done in {total.Elapsed.TotalSeconds:F1} s. Next: [bold]./vigil evaluate --model {Markup.Escape(championUri)} --data {Markup.Escape(testPath)} --label label[/]");
        return CliApp.Ok;
    }

    private static void Step(string text) => Terminal.Note(text);
}
