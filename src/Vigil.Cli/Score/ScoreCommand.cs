using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Cli;

/// <summary><c>vigil score --model BUNDLE --data F --out F.csv|F.parquet</c>: streams the data through a bundle.</summary>
internal static class ScoreCommand
{
    /// <summary>Column names recognised as a row identifier when --id is not given, in order of preference.</summary>
    private static readonly string[] IdCandidates = ["id", "transaction_id", "event_id", "row_id", "deal_id"];

    public static Command Build()
    {
        var model = new Option<string>("--model", "-m") { Description = "Model bundle (directory or .zip) or registry URI: models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/Production.", Required = true };
        var data = new Option<string>("--data", "-d") { Description = "Data to score: .csv, .csv.gz or .parquet (streamed; may exceed memory).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Scores file: .csv, .csv.gz or .parquet.", Required = true };
        var id = new Option<string?>("--id") { Description = $"Identifier column to copy to the output (default: the first of {string.Join(", ", IdCandidates)} present)." };
        var keep = new Option<string?>("--keep") { Description = "Comma-separated extra columns to copy to the output (e.g. label)." };
        var chunk = new Option<int>("--chunk-rows") { Description = "Rows per streamed chunk.", DefaultValueFactory = _ => 131_072 };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input, e.g. 'merchant_id:categorical'." };

        var cmd = new Command("score", "Score data with a model bundle; writes [id,] score, is_anomaly per row.")
        {
            model, data, output, id, keep, chunk, schema,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var bundlePath = parse.GetRequiredValue(model);
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var outPath = parse.GetRequiredValue(output);
            FrameFile.FormatOf(outPath);
            var chunkRows = (int)OptionParsing.Positive("--chunk-rows", parse.GetValue(chunk));
            var (bundle, _) = await ModelLocator.LoadAsync(bundlePath, parse.GetValue(storeArgs.Store), cancellationToken).ConfigureAwait(false);
            var job = new ScoreJob(bundle, dataPath, outPath, parse.GetValue(id), OptionParsing.List(parse.GetValue(keep)) ?? [], chunkRows,
                TrainCommand.CsvOptions(parse.GetValue(schema)));

            var sw = Stopwatch.StartNew();
            long rows;
            if (Terminal.Interactive)
            {
                rows = 0;
                Terminal.Err.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("scoring");
                        task.IsIndeterminate = true;
                        rows = job.Run(n => task.Description = $"scored {n:N0} rows");
                        task.IsIndeterminate = false;
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                rows = job.Run(null);
            }

            sw.Stop();
            Terminal.Out.MarkupLine(
                $"scored [bold]{rows:N0}[/] rows ({job.Flagged:N0} flagged at threshold {bundle.Threshold:G6}) in {sw.Elapsed.TotalSeconds:F2} s; " +
                $"wrote [bold]{Markup.Escape(outPath)}[/]");
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>Reads chunks, scores them and writes the result columns; memory stays bounded by a chunk.</summary>
    private sealed class ScoreJob(ModelBundle bundle, string dataPath, string outPath, string? idColumn, IReadOnlyList<string> keep, int chunkRows, CsvReadOptions? csv)
    {
        public long Flagged { get; private set; }

        public long Run(Action<long>? progress)
        {
            IFrameWriter? writer = null;
            string? id = idColumn;
            long rows = 0;
            var full = Path.GetFullPath(outPath);
            var temp = Path.Combine(Path.GetDirectoryName(full)!, $".vigil-{Environment.ProcessId}-{Path.GetFileName(full)}");
            var done = false;
            try
            {
                foreach (var chunk in FrameFile.ReadChunks(dataPath, chunkRows, csv))
                {
                    if (writer is null)
                    {
                        id ??= Array.Find(IdCandidates, chunk.Contains);
                        if (id is not null && !chunk.Contains(id))
                        {
                            throw new CliUsageException($"--id {id}: no such column in {dataPath}");
                        }

                        foreach (var k in keep)
                        {
                            if (!chunk.Contains(k))
                            {
                                throw new CliUsageException($"--keep {k}: no such column in {dataPath}");
                            }
                        }
                    }

                    var scores = new double[chunk.RowCount];
                    bundle.Score(chunk, scores);
                    var flags = new double[scores.Length];
                    for (var i = 0; i < scores.Length; i++)
                    {
                        if (bundle.IsAnomaly(scores[i]))
                        {
                            flags[i] = 1;
                            Flagged++;
                        }
                    }

                    var cols = new List<Column>(keep.Count + 3);
                    if (id is not null)
                    {
                        cols.Add(chunk[id]);
                    }

                    foreach (var k in keep)
                    {
                        if (!string.Equals(k, id, StringComparison.Ordinal))
                        {
                            cols.Add(chunk[k]);
                        }
                    }

                    cols.Add(new Float64Column("score", scores));
                    cols.Add(new Float64Column("is_anomaly", flags));
                    var result = new Frame(cols);
                    writer ??= FrameFile.OpenWriter(temp, result.Schema);
                    writer.Write(result);
                    rows += chunk.RowCount;
                    progress?.Invoke(rows);
                }

                if (writer is null)
                {
                    throw new CliUsageException($"--data {dataPath}: the file has no rows to score");
                }

                writer.Dispose();
                File.Move(temp, full, overwrite: true);
                done = true;
            }
            finally
            {
                if (!done)
                {
                    writer?.Dispose();
                    File.Delete(temp);
                }
            }

            return rows;
        }
    }
}
