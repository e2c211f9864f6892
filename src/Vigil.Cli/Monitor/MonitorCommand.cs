using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Vigil.Data;
using Vigil.Monitoring;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil monitor batches --data tx.parquet --model M --time-column timestamp [--label label]</c>: the batch scenario
/// (time split, 10 sequential batches, drift and performance per batch, one report).
/// </summary>
internal static class MonitorCommand
{
    public static Command Build()
    {
        var cmd = new Command("monitor", "Monitoring scenarios over data files.");
        cmd.Subcommands.Add(BuildBatches());
        cmd.Subcommands.Add(BuildSplit());
        return cmd;
    }

    /// <summary>
    /// <c>vigil monitor split --data tx.parquet --out DIR</c>: writes the batch scenario's time split as files
    /// (<c>reference</c>, <c>validation</c>, <c>untouched</c>), so that a model can be trained on the reference period and
    /// calibrated on the validation period (<c>vigil train --data DIR/reference.parquet --validation DIR/validation.parquet</c>)
    /// exactly as <c>monitor batches</c> splits.
    /// </summary>
    private static Command BuildSplit()
    {
        var data = new Option<string>("--data", "-d") { HelpName = "FILE", Description = "The data: .csv, .csv.gz or .parquet with a timestamp column.", Required = true };
        var outDir = new Option<string>("--out", "-o") { HelpName = "DIR", Description = "The folder to write reference, validation and untouched files to (created when missing).", Required = true };
        var time = new Option<string>("--time-column") { HelpName = "COL", Description = "The timestamp column.", DefaultValueFactory = _ => "timestamp" };
        var referenceShare = new Option<double>("--reference-fraction") { Description = "Share of rows (in time order) in the reference period.", DefaultValueFactory = _ => 0.6 };
        var validationShare = new Option<double>("--validation-fraction") { Description = "Share of rows in the validation period; the rest is untouched.", DefaultValueFactory = _ => 0.2 };
        var format = new Option<string>("--format") { HelpName = "parquet|csv", Description = "The files' format.", DefaultValueFactory = _ => "parquet" };
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"reference\": {\"path\", \"rows\"}, \"validation\": {...}, \"untouched\": {...}}." };
        var cmd = new Command("split", "Write the time split of 'monitor batches' (reference / validation / untouched) as files: train on the reference, calibrate on the validation rows.")
        {
            data, outDir, time, referenceShare, validationShare, format, json,
        };
        cmd.SetAction(parse =>
        {
            var path = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var ext = parse.GetRequiredValue(format).ToLowerInvariant() switch
            {
                "parquet" => ".parquet",
                "csv" => ".csv",
                var other => throw new CliUsageException($"--format '{other}': expected parquet or csv"),
            };
            var options = new TimeSplitOptions
            {
                ReferenceFraction = OptionParsing.Fraction("--reference-fraction", parse.GetValue(referenceShare), allowOne: false),
                ValidationFraction = OptionParsing.Fraction("--validation-fraction", parse.GetValue(validationShare), allowOne: false),
            };
            var frame = FrameFile.Read(path);
            var timeColumn = parse.GetRequiredValue(time);
            if (!frame.Contains(timeColumn))
            {
                throw new CliUsageException($"--time-column '{timeColumn}': no such column; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
            }

            TimeSplit split;
            try
            {
                split = Splits.ByTime(frame, timeColumn, options);
            }
            catch (ArgumentException e)
            {
                throw new CliUsageException($"--data {Path.GetFileName(path)}: {e.Message}");
            }

            var dir = parse.GetRequiredValue(outDir);
            Directory.CreateDirectory(dir);
            var parts = new (string Name, int[] Rows)[] { ("reference", split.Reference), ("validation", split.Validation), ("untouched", split.Untouched) };
            var written = new List<(string Name, string File, int Rows)>();
            foreach (var (name, rows) in parts)
            {
                var file = Path.Combine(dir, name + ext);
                if (File.Exists(file) || Directory.Exists(file))
                {
                    throw new CliUsageException($"--out: {file} exists; choose an empty folder");
                }

                written.Add((name, file, rows.Length));
            }

            foreach (var ((_, rows), (_, file, _)) in parts.Zip(written))
            {
                FrameFile.Write(frame.Take(rows), file);
            }

            if (parse.GetValue(json))
            {
                using var stream = new MemoryStream();
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    foreach (var (name, file, rows) in written)
                    {
                        w.WriteStartObject(name);
                        w.WriteString("path", Path.GetFullPath(file));
                        w.WriteNumber("rows", rows);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                Terminal.OutWriter.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
                return CliApp.Ok;
            }

            foreach (var (name, file, rows) in written)
            {
                Terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {rows:N0} rows -> {file}"));
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildBatches()
    {
        var data = new Option<string>("--data", "-d") { HelpName = "FILE", Description = "The data: .csv, .csv.gz or .parquet with a timestamp column.", Required = true };
        var model = new Option<string>("--model", "-m") { HelpName = "MODEL", Description = "A bundle or models:/NAME@ALIAS (trained on the reference period).", Required = true };
        var time = new Option<string>("--time-column") { HelpName = "COL", Description = "The timestamp column.", DefaultValueFactory = _ => "timestamp" };
        var label = new Option<string?>("--label") { HelpName = "COL", Description = "The 0/1 label column: realized performance per batch (default: 'label' when the data has it)." };
        var batches = new Option<int>("--batches") { Description = "Sequential batches of the untouched period.", DefaultValueFactory = _ => 10 };
        var referenceShare = new Option<double>("--reference-fraction") { Description = "Share of rows (in time order) in the reference period.", DefaultValueFactory = _ => 0.6 };
        var validationShare = new Option<double>("--validation-fraction") { Description = "Share of rows in the validation period; the rest is untouched.", DefaultValueFactory = _ => 0.2 };
        var stattest = new Option<string>("--stattest") { HelpName = "auto|NAME", Description = "The drift statistic (auto: Evidently's choice per column).", DefaultValueFactory = _ => "auto" };
        var k = new Option<int>("--k") { Description = "k for precision@k.", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"model\", \"threshold\", \"estimation\", \"batches\": [{window, start, end, predictions, alert_rate, labelled_share, realized, estimated: {auc_pr, recall_at_threshold, precision_at_threshold, expected_positives}, drift}]}." };
        var html = new Option<string?>("--html") { HelpName = "FILE", Description = "Write the HTML report (a line per batch, drift and performance over batches)." };
        var cmd = new Command("batches", "Split data by time into reference / validation / untouched, score 10 sequential batches, and report drift and performance per batch.")
        {
            data, model, time, label, batches, referenceShare, validationShare, stattest, k, json, html,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var path = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var modelRef = parse.GetRequiredValue(model);
            var batchCount = (int)OptionParsing.Positive("--batches", parse.GetValue(batches));
            var stat = parse.GetValue(stattest);
            if (stat is not null && !stat.Equals("auto", StringComparison.OrdinalIgnoreCase))
            {
                Monitoring.Statistics.StatTestCatalog.Get(stat);
            }

            Lifecycle.LoadedModel loaded;
            await using (var lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, CliLifecycle.IsRegistryUri(modelRef), cancellationToken).ConfigureAwait(false))
            {
                loaded = await lifecycle.Operations.LoadModelAsync(modelRef, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
            }

            var frame = FrameFile.Read(path);
            var labelName = parse.GetValue(label) ?? (frame.Contains("label") ? "label" : null);
            var options = new BatchMonitorOptions
            {
                TimeColumn = parse.GetRequiredValue(time),
                Label = labelName,
                Split = new TimeSplitOptions
                {
                    ReferenceFraction = OptionParsing.Fraction("--reference-fraction", parse.GetValue(referenceShare), allowOne: false),
                    ValidationFraction = OptionParsing.Fraction("--validation-fraction", parse.GetValue(validationShare), allowOne: false),
                    BatchCount = batchCount,
                },
                Drift = new DriftOptions { StatTest = stat },
                K = (int)OptionParsing.Positive("--k", parse.GetValue(k)),
            };
            var report = BatchMonitor.Run(frame, loaded.Bundle, options, Path.GetFileName(path), loaded.Reference);
            if (parse.GetValue(html) is { } htmlPath)
            {
                HtmlReport.Write(report, htmlPath);
                Terminal.Note($"report written to {htmlPath}");
            }

            if (parse.GetValue(json))
            {
                using var stream = new MemoryStream();
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    w.WriteString("model", loaded.Reference);
                    w.WriteNumber("threshold", loaded.Bundle.Threshold);
                    w.WriteString("estimation", Cbpe.Describe(loaded.Bundle));
                    ReportJson.WriteWindows(w, "batches", report.Windows);
                    w.WriteEndObject();
                }

                Terminal.OutWriter.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(report.Title));
            var estimated = loaded.Bundle.Calibrator is not null;
            string[] estimatedColumns = estimated ? ["AUC-PR (est.)", "recall@thr (est.)"] : [];
            foreach (var c in (string[])["batch", "rows", "alert rate", "drifted features", "dataset drift", "prediction drift", "AUC-PR", "recall@thr", .. estimatedColumns])
            {
                table.AddColumn(c is "batch" ? new TableColumn(c) : new TableColumn(c).RightAligned());
            }

            foreach (var w in report.Windows)
            {
                var d = w.Drift!;
                string[] cells =
                [
                    Markup.Escape(w.Label),
                    w.Predictions.ToString("N0", CultureInfo.InvariantCulture),
                    w.AlertRate.ToString("P2", CultureInfo.InvariantCulture),
                    $"{d.Features.Count(f => f.Drift).ToString(CultureInfo.InvariantCulture)}/{d.Features.Count.ToString(CultureInfo.InvariantCulture)}",
                    d.DatasetDrift ? "[red]yes[/]" : "no",
                    d.Prediction is { Drift: true } ? "[red]yes[/]" : "no",
                    w.Realized.TryGetValue("auc_pr", out var ap) ? ap.ToString("F4", CultureInfo.InvariantCulture) : "-",
                    w.Realized.TryGetValue("recall_at_threshold", out var rc) ? rc.ToString("F4", CultureInfo.InvariantCulture) : "-",
                ];
                if (estimated)
                {
                    cells = [.. cells, Est(w, "auc_pr"), Est(w, "recall_at_threshold")];
                }

                table.AddRow(cells);
            }

            Terminal.Out.Write(table);
            Terminal.Out.WriteLine(estimated ? "(est.): estimated by CBPE from the calibrated probabilities of the batch's predictions, without its labels." : Cbpe.Describe(loaded.Bundle));
            return CliApp.Ok;
        });
        return cmd;
    }

    private static string Est(ReportWindow w, string name) =>
        w.Estimated.TryGetValue(name, out var v) && double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "-";
}
