using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;

namespace Vigil.Cli;

/// <summary><c>vigil train --data F [--label COL] --model iforest [--seed S] --out BUNDLE</c>.</summary>
internal static class TrainCommand
{
    public static Command Build()
    {
        var data = new Option<string>("--data", "-d") { Description = "Training data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string?>("--label") { Description = "Label column (1 = fraud/anomaly); never used as a feature. With it, training metrics are stored in the bundle." };
        var model = new Option<string>("--model", "-m") { Description = "Detector kind.", DefaultValueFactory = _ => "iforest" };
        model.AcceptOnlyFromAmong("iforest");
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed and data give the same model.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file.", Required = true };
        var id = new Option<string?>("--id") { Description = "Identifier column to exclude from the features." };
        var features = new Option<string?>("--features") { Description = "Comma-separated feature columns (default: every numeric and categorical column but label and id)." };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated columns never to use as features." };
        var estimators = new Option<int>("--estimators") { Description = "Number of trees.", DefaultValueFactory = _ => 100 };
        var maxSamples = new Option<string>("--max-samples") { Description = "Rows per tree: 'auto' (min(256, n)), a count, or a fraction in (0, 1].", DefaultValueFactory = _ => "auto" };
        var maxFeatures = new Option<double>("--max-features") { Description = "Fraction of features per tree, in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var bootstrap = new Option<bool>("--bootstrap") { Description = "Sample rows with replacement." };
        var contamination = new Option<string>("--contamination") { Description = "'auto' (threshold 0.5) or the expected anomaly fraction in (0, 0.5], which sets the threshold from training scores.", DefaultValueFactory = _ => "auto" };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input, e.g. 'merchant_id:categorical,amount:float64'." };

        var cmd = new Command("train", "Train a detector and save it as a model bundle.")
        {
            data, label, model, seed, output, id, features, exclude, estimators, maxSamples, maxFeatures, bootstrap, contamination, schema,
        };
        cmd.SetAction(parse =>
        {
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var outPath = parse.GetRequiredValue(output);
            var forest = new IsolationForestOptions
            {
                Estimators = (int)OptionParsing.Positive("--estimators", parse.GetValue(estimators)),
                MaxSamples = ParseMaxSamples(parse.GetRequiredValue(maxSamples)),
                MaxFeatures = OptionParsing.Fraction("--max-features", parse.GetValue(maxFeatures)),
                Bootstrap = parse.GetValue(bootstrap),
                Contamination = ParseContamination(parse.GetRequiredValue(contamination)),
                Seed = parse.GetValue(seed),
            };
            forest.Validate();

            var labelName = parse.GetValue(label);
            var spec = new TrainSpec
            {
                Model = parse.GetRequiredValue(model),
                Label = labelName,
                IdColumn = parse.GetValue(id),
                Features = OptionParsing.List(parse.GetValue(features)),
                Exclude = OptionParsing.List(parse.GetValue(exclude))?.ToHashSet(StringComparer.Ordinal),
                Forest = forest,
            };

            var total = Stopwatch.StartNew();
            var frame = FrameFile.Read(dataPath, CsvOptions(parse.GetValue(schema)));
            var readSeconds = total.Elapsed.TotalSeconds;
            if (labelName is not null && !frame.Contains(labelName))
            {
                throw new CliUsageException($"--label {labelName}: no such column in {dataPath}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
            }

            var fit = Stopwatch.StartNew();
            var bundle = ModelBundle.Train(frame, spec);
            fit.Stop();

            IReadOnlyDictionary<string, double>? metrics = null;
            if (labelName is not null)
            {
                var labels = Labels.From(frame, labelName);
                if (Labels.HasBothClasses(labels))
                {
                    metrics = MetricSet.Standard(bundle.Score(frame), labels)
                        .ToDictionary(kv => "train_" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
                    bundle = bundle.WithMetrics(metrics);
                }
            }

            bundle.Save(outPath);
            total.Stop();

            var m = bundle.Manifest;
            Terminal.Out.MarkupLine(
                $"trained [bold]{Markup.Escape(m.DetectorKind)}[/] on {frame.RowCount:N0} rows x {m.FeatureSchema.Count} features " +
                $"(read {readSeconds:F2} s, fit {fit.Elapsed.TotalSeconds:F2} s); threshold {m.Threshold.ToString("G6", CultureInfo.InvariantCulture)}");
            if (metrics is not null)
            {
                Terminal.Out.MarkupLine("training metrics: " + string.Join(", ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("F4", CultureInfo.InvariantCulture)}")));
            }

            Terminal.Out.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
            return CliApp.Ok;
        });
        return cmd;
    }

    internal static CsvReadOptions? CsvOptions(string? schema) =>
        schema is null ? null : new CsvReadOptions { Schema = FrameSchema.Parse(schema) };

    private static MaxSamples ParseMaxSamples(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return MaxSamples.Auto;
        }

        if (text.Contains('.', StringComparison.Ordinal) &&
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
        {
            return MaxSamples.Fraction(OptionParsing.Fraction("--max-samples", fraction));
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count > 0)
        {
            return MaxSamples.Count(count);
        }

        throw new CliUsageException($"--max-samples must be 'auto', a positive count or a fraction like 0.5, got '{text}'");
    }

    private static double? ParseContamination(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) && c > 0 && c <= 0.5)
        {
            return c;
        }

        throw new CliUsageException($"--contamination must be 'auto' or a fraction in (0, 0.5], got '{text}'");
    }
}
