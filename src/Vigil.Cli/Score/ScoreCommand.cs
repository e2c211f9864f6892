using System.CommandLine;
using Spectre.Console;
using Vigil.Data;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary><c>vigil score --model BUNDLE --data F --out F.csv|F.parquet</c>: streams the data through a bundle.</summary>
internal static class ScoreCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model", "-m") { Description = "Model bundle (directory or .zip) or registry URI: models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/Production.", Required = true };
        var data = new Option<string>("--data", "-d") { Description = "Data to score: .csv, .csv.gz or .parquet (streamed; may exceed memory).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Scores file: .csv, .csv.gz or .parquet.", Required = true };
        var id = new Option<string?>("--id") { Description = $"Identifier column to copy to the output (default: the first of {string.Join(", ", ScoreFileOptions.IdCandidates)} present)." };
        var keep = new Option<string?>("--keep") { Description = "Comma-separated extra columns to copy to the output (e.g. label)." };
        var chunk = new Option<int>("--chunk-rows") { Description = "Rows per streamed chunk.", DefaultValueFactory = _ => ScoreFileOptions.DefaultChunkRows };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input, e.g. 'merchant_id:categorical'." };
        var onBadValue = CliData.BadValueOption();
        var json = CliOutput.JsonOption("Print the result as JSON: model (reference, name, version, kind), output, rows, flagged, threshold, skipped_rows, seconds.");

        var cmd = new Command("score", "Score data with a model bundle; writes [id,] score, is_anomaly per row.")
        {
            model, data, output, id, keep, chunk, schema, onBadValue, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var bundlePath = parse.GetRequiredValue(model);
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var outPath = parse.GetRequiredValue(output);
            FrameFile.FormatOf(outPath);
            var options = new ScoreFileOptions
            {
                Model = bundlePath,
                Data = dataPath,
                Output = outPath,
                IdColumn = parse.GetValue(id),
                Keep = OptionParsing.List(parse.GetValue(keep)) ?? [],
                ChunkRows = (int)OptionParsing.Positive("--chunk-rows", parse.GetValue(chunk)),
                Schema = TrainCommand.Schema(parse.GetValue(schema)),
                OnBadValue = parse.GetValue(onBadValue),
            };
            await using var lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, CliLifecycle.IsRegistryUri(bundlePath), cancellationToken).ConfigureAwait(false);
            ScoreFileResult result;
            if (Terminal.Interactive)
            {
                result = await Terminal.Err.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("scoring");
                        task.IsIndeterminate = true;
                        var r = await lifecycle.Operations.ScoreFileAsync(options, new CliProgress(p =>
                        {
                            if (p.Stage == LifecycleStages.Score)
                            {
                                task.Description = $"scored {p.Done:N0} rows";
                            }
                        }), cancellationToken).ConfigureAwait(false);
                        task.IsIndeterminate = false;
                        task.Value = task.MaxValue;
                        return r;
                    }).ConfigureAwait(false);
            }
            else
            {
                result = await lifecycle.Operations.ScoreFileAsync(options, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
            }

            CliData.NoteSkipped(result.SkippedRows, result.FirstSkipped);
            if (parse.GetValue(json))
            {
                var version = result.Model.Version;
                TrackingFormat.WriteJson(new System.Text.Json.Nodes.JsonObject
                {
                    ["model"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["reference"] = result.Model.Reference,
                        ["name"] = version?.ModelName,
                        ["version"] = version?.Version,
                        ["kind"] = result.Model.Bundle.Manifest.DetectorKind,
                    },
                    ["output"] = Path.GetFullPath(result.Output),
                    ["rows"] = result.Rows,
                    ["flagged"] = result.Flagged,
                    ["threshold"] = double.IsFinite(result.Model.Bundle.Threshold) ? result.Model.Bundle.Threshold : null,
                    ["skipped_rows"] = result.SkippedRows,
                    ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
                });
                return CliApp.Ok;
            }

            Terminal.MarkupLine(
                $"scored [bold]{result.Rows:N0}[/] rows ({result.Flagged:N0} flagged at threshold {result.Model.Bundle.Threshold:G6}) in {result.Elapsed.TotalSeconds:F2} s; " +
                $"wrote [bold]{Markup.Escape(outPath)}[/]");
            return CliApp.Ok;
        });
        return cmd;
    }
}
