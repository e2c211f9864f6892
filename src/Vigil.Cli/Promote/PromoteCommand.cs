using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vigil.Lifecycle;
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
        var json = CliOutput.JsonOption("Print the result as JSON: model, candidate, champion, moved, dry_run, passed, reason, gate (one check each), metrics, rows, window, run_id. The exit code still says whether the gate passed.");
        var cmd = new Command("promote",
            $"Compare a candidate version with the current champion on the same out-of-time rows and move 'champion' only when the gate passes " +
            $"(exit code {GateFailed.ToString(CultureInfo.InvariantCulture)} when it fails; the champion is then untouched).")
        {
            name, candidate, gate, data, label, timeColumn, ootDays, ootStart, experiment, dryRun, schema, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            var parsedGate = PromotionGate.Parse(parse.GetRequiredValue(gate));
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var days = parse.GetValue(ootDays);
            var start = parse.GetValue(ootStart);
            if (days is not null && start is not null)
            {
                throw new CliUsageException("give --oot-days or --oot-start, not both");
            }

            DateTimeOffset? startTime = null;
            if (start is not null)
            {
                startTime = DateTimeOffset.TryParse(start, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var from)
                    ? from
                    : throw new CliUsageException($"--oot-start '{start}': not an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T00:00:00Z");
            }

            var modelName = parse.GetRequiredValue(name);
            var experimentName = parse.GetRequiredValue(experiment);
            var options = new PromoteOptions
            {
                ModelName = modelName,
                Candidate = parse.GetValue(candidate),
                Gate = parsedGate,
                Data = DataSource.FromFile(dataPath, TrainCommand.Schema(parse.GetValue(schema))),
                Label = parse.GetRequiredValue(label),
                Window = new OutOfTimeWindow { TimeColumn = parse.GetRequiredValue(timeColumn), OotDays = days, OotStart = startTime },
                Experiment = experimentName,
                Actor = storeArgs.Actor(parse),
                DryRun = parse.GetValue(dryRun),
            };
            await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, withStore: true, ct).ConfigureAwait(false);
            var outcome = await lifecycle.Operations.PromoteAsync(options, CliLifecycle.Notes, ct).ConfigureAwait(false);

            Terminal.Note($"out-of-time rows: {outcome.Rows.ToString("N0", CultureInfo.InvariantCulture)} ({outcome.Window})");
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(outcome, modelName, options.DryRun));
                if (!outcome.Gate.Passed)
                {
                    var held = outcome.Champion is { } c ? $"version {c.Version.ToString(CultureInfo.InvariantCulture)}" : "none";
                    Terminal.Error($"{outcome.Gate.Reason}; {modelName}@champion stays {held}");
                    return GateFailed;
                }

                return CliApp.Ok;
            }

            Render(outcome, modelName);
            var v = outcome.Candidate.Version.ToString(CultureInfo.InvariantCulture);
            if (outcome.RunId is not null)
            {
                Terminal.Out.MarkupLine($"run: [bold]{outcome.RunId}[/] (experiment {Markup.Escape(experimentName)})");
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

    /// <summary>The <c>--json</c> document of a promotion.</summary>
    internal static System.Text.Json.Nodes.JsonObject ToJson(PromoteResult o, string name, bool dryRun)
    {
        static System.Text.Json.Nodes.JsonNode? N(double? v) => v is { } x && double.IsFinite(x) ? System.Text.Json.Nodes.JsonValue.Create(x) : null;
        var checks = new System.Text.Json.Nodes.JsonArray();
        foreach (var check in o.Gate.Checks)
        {
            checks.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["condition"] = check.Condition.Text,
                ["metric"] = check.Condition.Metric,
                ["outcome"] = check.Outcome.ToString().ToLowerInvariant(),
                ["candidate"] = N(check.Candidate),
                ["champion"] = N(check.Champion),
                ["bound"] = N(check.Bound),
            });
        }

        return new System.Text.Json.Nodes.JsonObject
        {
            ["model"] = name,
            ["candidate"] = o.Candidate.Version,
            ["champion"] = o.Champion?.Version,
            ["moved"] = o.Moved,
            ["dry_run"] = dryRun,
            ["passed"] = o.Gate.Passed,
            ["reason"] = o.Gate.Reason,
            ["gate"] = checks,
            ["metrics"] = new System.Text.Json.Nodes.JsonObject
            {
                ["candidate"] = TrackingFormat.Map(o.CandidateMetrics),
                ["champion"] = o.ChampionMetrics is null ? null : TrackingFormat.Map(o.ChampionMetrics),
            },
            ["rows"] = o.Rows,
            ["window"] = o.Window,
            ["run_id"] = o.RunId,
        };
    }

    /// <summary>A side-by-side table of the candidate and champion metrics with the gate's checks.</summary>
    public static void Render(PromoteResult o, string name)
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        var v = (int x) => x.ToString(CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(name)}: candidate v{v(o.Candidate.Version)} vs " +
            (o.Champion is null ? "no champion" : $"champion v{v(o.Champion.Version)}") + " (out of time)");
        table.AddColumn("metric");
        table.AddColumn(new TableColumn($"candidate v{v(o.Candidate.Version)}").RightAligned());
        table.AddColumn(new TableColumn(o.Champion is null ? "champion" : $"champion v{v(o.Champion.Version)}").RightAligned());
        foreach (var (k, value) in o.CandidateMetrics)
        {
            table.AddRow(k, F(value), o.ChampionMetrics is { } c && c.TryGetValue(k, out var cv) ? F(cv) : "-");
        }

        CliOutput.Write(table);
        foreach (var check in o.Gate.Checks)
        {
            var mark = check.Outcome switch { GateOutcome.Passed => "pass", GateOutcome.Failed => "FAIL", _ => "skip" };
            Terminal.Out.WriteLine($"  {mark}  {check}");
        }
    }
}
