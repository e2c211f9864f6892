using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Evaluation;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil promote NAME --candidate V --gate "auc_pr&gt;=champion+0.01,..." --data F --label COL [--oot-days D | --oot-start T]</c>:
/// out-of-time comparison of a candidate version with the champion, and a gated alias move.
/// </summary>
internal static class PromoteCommand
{
    /// <summary>Exit code when the gate fails (champion untouched).</summary>
    public const int GateFailed = 3;

    public static Command Build()
    {
        var name = new Argument<string>("NAME") { Description = "The registered model." };
        var candidate = new Option<int>("--candidate") { Description = "The version to promote.", Required = true };
        var gate = new Option<string>("--gate")
        {
            Description = "Comma-separated conditions 'metric OP rhs', OP one of >=, >, <=, <, rhs champion, champion+X, champion-X or a number " +
                "(metrics: " + string.Join(", ", MetricSet.StandardNames) + ").",
            DefaultValueFactory = _ => "auc_pr>=champion",
        };
        var data = new Option<string>("--data", "-d") { Description = "Labelled data: .csv, .csv.gz or .parquet; every row is out of time unless --oot-days or --oot-start picks the latest.", Required = true };
        var label = new Option<string>("--label") { Description = "Label column (1 = fraud/anomaly).", Required = true };
        var timeColumn = new Option<string>("--time-column") { Description = "Timestamp column for --oot-days / --oot-start.", DefaultValueFactory = _ => "timestamp" };
        var ootDays = new Option<double?>("--oot-days") { Description = "Evaluate on the last D days of the data only." };
        var ootStart = new Option<string?>("--oot-start") { Description = "Evaluate on rows at or after this instant only (ISO 8601, e.g. 2026-03-01 or 2026-03-01T00:00:00Z)." };
        var experiment = new Option<string>("--experiment") { Description = "Experiment of the comparison run.", DefaultValueFactory = _ => "promotions" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Compare and print the gate result; change nothing and log no run." };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input." };
        var cmd = new Command("promote",
            $"Compare a candidate version with the current champion on the same out-of-time rows and move 'champion' only when the gate passes " +
            $"(exit code {GateFailed.ToString(CultureInfo.InvariantCulture)} when it fails; the champion is then untouched).")
        {
            name, candidate, gate, data, label, timeColumn, ootDays, ootStart, experiment, dryRun, schema,
        };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            var parsedGate = PromotionGate.Parse(parse.GetRequiredValue(gate));
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var labelName = parse.GetRequiredValue(label);
            var days = parse.GetValue(ootDays);
            var start = parse.GetValue(ootStart);
            if (days is not null && start is not null)
            {
                throw new CliUsageException("give --oot-days or --oot-start, not both");
            }

            var frame = FrameFile.Read(dataPath, TrainCommand.CsvOptions(parse.GetValue(schema)));
            if (!frame.Contains(labelName))
            {
                throw new CliUsageException($"--label {labelName}: no such column in {dataPath}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
            }

            var (oot, window) = OutOfTimeRows.Select(frame, parse.GetRequiredValue(timeColumn), days, start);
            var labels = Labels.From(oot, labelName);
            var modelName = parse.GetRequiredValue(name);
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var context = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["data"] = Path.GetFileName(dataPath),
                ["label"] = labelName,
                ["oot_window"] = window,
            };
            var outcome = await Promotion.RunAsync(store, modelName, parse.GetValue(candidate), parsedGate, oot, labels, context,
                parse.GetRequiredValue(experiment), storeArgs.Actor(parse), parse.GetValue(dryRun), ct).ConfigureAwait(false);

            Terminal.Note($"out-of-time rows: {oot.RowCount.ToString("N0", CultureInfo.InvariantCulture)} ({window})");
            Promotion.Render(outcome, modelName);
            var v = outcome.Candidate.Version.ToString(CultureInfo.InvariantCulture);
            if (outcome.RunId is not null)
            {
                Terminal.Out.MarkupLine($"run: [bold]{outcome.RunId}[/] (experiment {Markup.Escape(parse.GetRequiredValue(experiment))})");
            }

            if (!outcome.Gate.Passed)
            {
                var champion = outcome.Champion is { } c ? $"version {c.Version.ToString(CultureInfo.InvariantCulture)}" : "none";
                Terminal.Out.WriteLine($"{outcome.Gate.Reason}");
                Terminal.Error($"{outcome.Gate.Reason}; {modelName}@champion stays {champion}");
                return GateFailed;
            }

            if (outcome.Moved)
            {
                Terminal.Out.WriteLine(outcome.Champion is null
                    ? $"promoted {modelName} version {v} to champion (there was no champion yet); {outcome.Gate.Reason}"
                    : $"promoted {modelName} version {v} to champion (was version {outcome.Champion.Version.ToString(CultureInfo.InvariantCulture)}); {outcome.Gate.Reason}");
            }
            else
            {
                Terminal.Out.WriteLine($"dry run: {outcome.Gate.Reason}; champion not moved");
            }

            return CliApp.Ok;
        });
        return cmd;
    }
}

/// <summary>Picks the out-of-time rows of a frame: all rows, the last D days, or the rows from a start instant on.</summary>
internal static class OutOfTimeRows
{
    public static (Frame Rows, string Window) Select(Frame frame, string timeColumn, double? days, string? start)
    {
        if (days is null && start is null)
        {
            return (frame, "all rows");
        }

        if (!frame.Contains(timeColumn) || frame[timeColumn] is not TimestampColumn ts)
        {
            throw new CliUsageException(frame.Contains(timeColumn)
                ? $"--time-column {timeColumn}: not a timestamp column"
                : $"--time-column {timeColumn}: no such column; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
        }

        var micros = ts.UnixMicros;
        long min = long.MaxValue, max = long.MinValue;
        foreach (var t in micros)
        {
            if (t == TimestampColumn.Missing)
            {
                continue;
            }

            min = Math.Min(min, t);
            max = Math.Max(max, t);
        }

        DateTimeOffset from;
        if (days is { } d)
        {
            if (!(d > 0))
            {
                throw new CliUsageException($"--oot-days must be > 0, got {d.ToString(CultureInfo.InvariantCulture)}");
            }

            from = TimestampColumn.FromMicros(max).AddDays(-d);
        }
        else if (!DateTimeOffset.TryParse(start, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out from))
        {
            throw new CliUsageException($"--oot-start '{start}': not an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T00:00:00Z");
        }

        var window = $"{timeColumn} >= {from.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}";
        if (from <= TimestampColumn.FromMicros(min))
        {
            return (frame, window);
        }

        try
        {
            var split = Splits.OutOfTime(micros, from, TimeSpan.Zero);
            return (frame.Take(split.Test), window);
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException($"out-of-time window {window}: {e.Message}");
        }
    }
}
