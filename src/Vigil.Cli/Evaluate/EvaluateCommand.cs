using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary><c>vigil evaluate --model BUNDLE --data F --label COL [--json]</c>.</summary>
internal static class EvaluateCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model", "-m") { Description = "Model bundle (directory or .zip) or registry URI: models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/Production.", Required = true };
        var data = new Option<string>("--data", "-d") { Description = "Labelled data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string>("--label") { Description = "Label column (1 = fraud/anomaly, 0 = normal).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the metrics as one JSON object." };
        var k = new Option<int>("--k") { Description = "k for precision@k.", DefaultValueFactory = _ => 100 };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input." };
        var onBadValue = CliData.BadValueOption();

        var cmd = new Command("evaluate", "Score labelled data with a bundle and print fraud metrics.") { model, data, label, json, k, schema, onBadValue };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var modelRef = parse.GetRequiredValue(model);
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var options = new EvaluateOptions
            {
                Model = modelRef,
                Data = DataSource.FromFile(dataPath, TrainCommand.Schema(parse.GetValue(schema)), parse.GetValue(onBadValue)),
                Label = parse.GetRequiredValue(label),
                K = (int)OptionParsing.Positive("--k", parse.GetValue(k)),
            };
            await using var lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, CliLifecycle.IsRegistryUri(modelRef), cancellationToken).ConfigureAwait(false);
            var result = await lifecycle.Operations.EvaluateAsync(options, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
            var bundle = result.Model.Bundle;
            CliData.NoteSkipped(options.Data);
            if (parse.GetValue(json))
            {
                Terminal.OutWriter.WriteLine(JsonSerializer.Serialize(result.Report.ToJsonObject(dataPath, bundle.Manifest.DetectorKind), TrackingFormat.Compact));
                return CliApp.Ok;
            }

            Render(result.Report, dataPath, bundle);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static void Render(EvaluationReport r, string dataPath, ModelBundle bundle)
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(bundle.Manifest.DetectorKind)} on {Markup.Escape(Path.GetFileName(dataPath))}");
        table.AddColumn("metric");
        table.AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("rows", r.Rows.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("positives", $"{r.Positives.ToString("N0", CultureInfo.InvariantCulture)} ({(double)r.Positives / r.Rows:P2})");
        foreach (var (key, value) in r.Metrics)
        {
            table.AddRow(key, F(value));
        }

        var cm = r.AtThreshold;
        table.AddRow("threshold", r.Threshold.ToString("G6", CultureInfo.InvariantCulture));
        table.AddRow("flagged at threshold", (cm.TruePositives + cm.FalsePositives).ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("precision at threshold", F(cm.Precision));
        table.AddRow("recall at threshold", F(cm.Recall));
        table.AddRow("FPR at threshold", F(cm.Fpr));
        CliOutput.Write(table);

        var matrix = new Table().Border(TableBorder.Rounded).Title("confusion matrix at threshold");
        matrix.AddColumn(string.Empty);
        matrix.AddColumn(new TableColumn("flagged").RightAligned());
        matrix.AddColumn(new TableColumn("not flagged").RightAligned());
        matrix.AddRow("fraud (1)", cm.TruePositives.ToString("N0", CultureInfo.InvariantCulture), cm.FalseNegatives.ToString("N0", CultureInfo.InvariantCulture));
        matrix.AddRow("normal (0)", cm.FalsePositives.ToString("N0", CultureInfo.InvariantCulture), cm.TrueNegatives.ToString("N0", CultureInfo.InvariantCulture));
        CliOutput.Write(matrix);
    }
}
