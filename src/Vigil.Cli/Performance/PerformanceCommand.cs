using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Vigil.Monitoring;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil performance --model NAME --window 1d [--since 30d] [--json] [--html F]</c>: realized performance per window
/// of a served model from its logged predictions and the labels ingested for them, and, when the model has a score
/// calibrator, performance estimated before labels arrive (CBPE) per window, marked as estimated.
/// </summary>
internal static class PerformanceCommand
{
    public static Command Build()
    {
        var window = new Option<string>("--window", "-w") { HelpName = "DURATION", Description = "The window width: 15m, 1h, 1d, 1w ...", DefaultValueFactory = _ => "1d" };
        var since = new Option<string?>("--since") { HelpName = "TIME", Description = "Predictions logged from this time (ISO-8601 or a duration back).", DefaultValueFactory = _ => "30d" };
        var until = new Option<string?>("--until") { HelpName = "TIME", Description = "Predictions logged before this time." };
        var k = new Option<int>("--k") { Description = "k for precision@k.", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print JSON: model, threshold, estimation, windows [{window, start, end, predictions, alert_rate, labelled_share, realized: {...}, estimated: {auc_pr, recall_at_threshold, precision_at_threshold, expected_positives}}], total." };
        var html = new Option<string?>("--html") { HelpName = "FILE", Description = "Also write an HTML report (alert rate and performance over time)." };
        var cmd = new Command("performance", "Realized performance of a served model per time window, from its logged predictions and ingested labels; estimated (CBPE) before labels arrive when the model has a calibrator.")
        {
            window, since, until, k, json, html,
        };
        var source = new MonitoringSource().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var nowUs = now.ToUnixTimeMilliseconds() * 1000;
            var windowText = parse.GetRequiredValue(window);
            var back = LogsCommand.ParseTime("--window", windowText, now);
            if (back is null || !char.IsAsciiLetter(windowText.Trim()[^1]) || nowUs - back.Value <= 0)
            {
                throw new CliUsageException($"--window '{windowText}': expected a duration such as 1h, 1d or 1w");
            }

            var windowUs = nowUs - back.Value;
            var sinceUs = LogsCommand.ParseTime("--since", parse.GetValue(since), now);
            var untilUs = LogsCommand.ParseTime("--until", parse.GetValue(until), now);
            var kValue = (int)OptionParsing.Positive("--k", parse.GetValue(k));
            var reference = MonitoringSource.Reference(parse.GetRequiredValue(source.Model));
            var model = source.LogName(parse, reference);
            var loaded = await source.LoadAsync(parse, reference, cancellationToken).ConfigureAwait(false);
            await using var store = await source.OpenStoreAsync(parse, cancellationToken).ConfigureAwait(false);
            var labels = await store.ReadLabelsAsync(model, cancellationToken).ConfigureAwait(false);
            var performance = new RealizedPerformance(loaded.Bundle, labels, windowUs, kValue);
            long first = long.MaxValue, last = long.MinValue;
            await foreach (var chunk in source.Items(parse, store, model, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
            {
                performance.Add(chunk);
                for (var i = 0; i < chunk.Count; i++)
                {
                    first = Math.Min(first, chunk.StartUs[i]);
                    last = Math.Max(last, chunk.StartUs[i]);
                }
            }

            var windows = performance.Windows();
            if (windows.Count == 0)
            {
                throw new CliUsageException($"the inference log ({(parse.GetValue(source.Parquet) is { } p ? "parquet " + p : store.Description)}) holds no scored predictions of model '{model}' in the window asked");
            }

            var total = performance.Total(sinceUs ?? first, untilUs ?? (last + 1));
            if (parse.GetValue(html) is { } htmlPath)
            {
                HtmlReport.Write(new MonitoringReport
                {
                    Title = $"Performance: {model}",
                    Reference = loaded.Reference,
                    Current = $"{total.Predictions.ToString("N0", CultureInfo.InvariantCulture)} logged predictions, {total.LabelledShare.ToString("P1", CultureInfo.InvariantCulture)} labelled",
                    Windows = windows,
                    Notes = ["Realized metrics come from the labels ingested so far (labelled share per window); a window whose labels are one class has no AUC.", Cbpe.Describe(loaded.Bundle)],
                    Created = now,
                }, htmlPath);
                Terminal.Note($"report written to {htmlPath}");
            }

            if (parse.GetValue(json))
            {
                using var stream = new MemoryStream();
                using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    w.WriteStartObject();
                    w.WriteString("model", model);
                    if (loaded.Version is { } v)
                    {
                        w.WriteNumber("version", v.Version);
                    }

                    w.WriteNumber("threshold", loaded.Bundle.Threshold);
                    w.WriteString("window", windowText);
                    w.WriteString("estimation", Cbpe.Describe(loaded.Bundle));
                    ReportJson.WriteWindows(w, "windows", windows);
                    w.WritePropertyName("total");
                    ReportJson.WriteWindow(w, total);
                    w.WriteEndObject();
                }

                Terminal.OutWriter.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(model)}: realized performance per {Markup.Escape(windowText)} (threshold {loaded.Bundle.Threshold.ToString("G6", CultureInfo.InvariantCulture)})");
            var estimated = loaded.Bundle.Calibrator is not null;
            string[] estimatedColumns = estimated ? ["AUC-PR (est.)", "recall@thr (est.)", "precision@thr (est.)"] : [];
            foreach (var c in (string[])["window", "predictions", "alert rate", "labelled", "AUC-PR", "recall@thr", "precision@thr", $"precision@{kValue}", .. estimatedColumns])
            {
                table.AddColumn(c == "window" ? new TableColumn(c) : new TableColumn(c).RightAligned());
            }

            foreach (var row in windows.Append(total))
            {
                string[] cells =
                [
                    Markup.Escape(row.Label),
                    row.Predictions.ToString("N0", CultureInfo.InvariantCulture),
                    Pct(row.AlertRate),
                    Pct(row.LabelledShare),
                    Metric(row.Realized, "auc_pr"),
                    Metric(row.Realized, "recall_at_threshold"),
                    Metric(row.Realized, "precision_at_threshold"),
                    Metric(row.Realized, $"precision_at_{kValue.ToString(CultureInfo.InvariantCulture)}"),
                ];
                if (estimated)
                {
                    cells = [.. cells, Metric(row.Estimated, "auc_pr"), Metric(row.Estimated, "recall_at_threshold"), Metric(row.Estimated, "precision_at_threshold")];
                }

                table.AddRow(cells);
            }

            Terminal.Out.Write(table);
            Terminal.Out.WriteLine(estimated ? "(est.): estimated by CBPE from the calibrated probabilities of all the window's predictions, before labels arrive." : Cbpe.Describe(loaded.Bundle));
            return CliApp.Ok;
        });
        return cmd;
    }

    private static string Pct(double v) => double.IsFinite(v) ? v.ToString("P2", CultureInfo.InvariantCulture) : "-";

    private static string Metric(IReadOnlyDictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out var v) && double.IsFinite(v) ? v.ToString("F4", CultureInfo.InvariantCulture) : "-";
}
