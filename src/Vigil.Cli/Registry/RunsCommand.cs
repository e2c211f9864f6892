using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil runs list|show|compare|fail</c>: the tracked training runs.</summary>
internal static class RunsCommand
{
    public static Command Build()
    {
        var cmd = new Command("runs", "List, inspect and compare tracked runs; mark crashed runs FAILED.");
        cmd.Subcommands.Add(BuildList());
        cmd.Subcommands.Add(BuildShow());
        cmd.Subcommands.Add(BuildCompare());
        cmd.Subcommands.Add(BuildFail());
        return cmd;
    }

    private static Command BuildList()
    {
        var experiment = new Option<string?>("--experiment", "-e") { Description = "Only runs of this experiment." };
        var status = new Option<string?>("--status") { Description = "Only runs with this status: running, finished, failed, killed." };
        status.AcceptOnlyFromAmong("running", "finished", "failed", "killed", "RUNNING", "FINISHED", "FAILED", "KILLED");
        var max = new Option<int>("--limit", "-n") { Description = "At most this many runs (newest first).", DefaultValueFactory = _ => 50 };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var parent = new Option<string?>("--parent") { Description = "Only the child runs of this run (a run id or a unique prefix; e.g. the candidates of a search)." };
        var cmd = new Command("list", "List runs, newest first (run ids shortened to a unique prefix on a terminal; whole when piped).") { experiment, status, parent, max, json };
        Deprecated.Option(cmd, "--max", "--limit");
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var statusText = parse.GetValue(status);
            var limit = (int)OptionParsing.Positive("--limit", parse.GetValue(max));
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var parentId = parse.GetValue(parent) is { } p ? await RunIds.ResolveAsync(store, p, ct).ConfigureAwait(false) : null;
            var filter = new RunFilter
            {
                Status = statusText is null ? null : Enum.Parse<RunStatus>(statusText, ignoreCase: true),
                MaxResults = Math.Min(limit, 10_000),
                ParentRunId = parentId,
            };
            var runs = await store.ListRunsAsync(parse.GetValue(experiment), filter, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var r in runs)
                {
                    array.Add(ToJson(r));
                }

                TrackingFormat.WriteJson(array);
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"runs in {Markup.Escape(store.Location)}");
            table.AddColumn(new TableColumn("run id").NoWrap());
            table.AddColumn("experiment");
            table.AddColumn("name");
            table.AddColumn(new TableColumn("status").NoWrap());
            table.AddColumn(new TableColumn("started").NoWrap());
            table.AddColumn(new TableColumn("took").RightAligned().NoWrap());
            table.AddColumn("metrics");
            var shortIds = CliOutput.ShortIds(runs.Select(r => r.RunId));
            foreach (var r in runs)
            {
                table.AddRow(
                    Markup.Escape(CliOutput.Id(r.RunId, shortIds)), Markup.Escape(r.ExperimentName), Markup.Escape(r.Name), r.Status.ToString().ToUpperInvariant(),
                    Terminal.StdoutIsTerminal ? TrackingFormat.ShortTime(r.StartTimeUtc) : TrackingFormat.Time(r.StartTimeUtc), TrackingFormat.Took(r.StartTimeUtc, r.EndTimeUtc),
                    Markup.Escape(string.Join(" ", r.LatestMetrics.Values.OrderBy(m => m.Key, StringComparer.Ordinal).Take(3).Select(m => $"{m.Key}={TrackingFormat.Number(m.Value)}"))));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildShow()
    {
        var id = new Argument<string>("RUN_ID") { Description = "The run id, or a unique prefix of it (at least 4 characters)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var cmd = new Command("show", "Show a run: status, params, metrics, datasets and artifacts.") { id, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var r = await RunIds.GetAsync(store, parse.GetRequiredValue(id), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(r));
                return CliApp.Ok;
            }

            var info = new Table().Border(TableBorder.Rounded).Title($"run {Markup.Escape(r.RunId)}");
            info.AddColumn("field");
            info.AddColumn("value");
            info.AddRow("experiment", Markup.Escape(r.ExperimentName));
            info.AddRow("name", Markup.Escape(r.Name));
            info.AddRow("status", r.Status.ToString().ToUpperInvariant());
            info.AddRow("started", TrackingFormat.Time(r.StartTimeUtc));
            info.AddRow("ended", TrackingFormat.Time(r.EndTimeUtc));
            info.AddRow("code version", Markup.Escape(r.CodeVersion ?? ""));
            info.AddRow("host / pid", Markup.Escape($"{r.Host} / {TrackingFormat.Int(r.ProcessId)}"));
            foreach (var (k, v) in r.Params.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                info.AddRow("param " + Markup.Escape(k), Markup.Escape(v));
            }

            foreach (var (k, v) in r.Tags.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                info.AddRow("tag " + Markup.Escape(k), Markup.Escape(v));
            }

            foreach (var m in r.LatestMetrics.Values.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                info.AddRow("metric " + Markup.Escape(m.Key), TrackingFormat.Number(m.Value));
            }

            foreach (var d in r.Datasets)
            {
                info.AddRow("dataset " + Markup.Escape(d.Name), Markup.Escape($"{d.RowCount.ToString(CultureInfo.InvariantCulture)} rows, sha256 {d.Sha256}, {d.Source}"));
            }

            foreach (var a in r.Artifacts)
            {
                info.AddRow("artifact " + Markup.Escape(a.Name), Markup.Escape($"{a.SizeBytes.ToString(CultureInfo.InvariantCulture)} bytes, sha256 {a.Sha256}"));
            }

            CliOutput.Write(info);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildCompare()
    {
        var ids = new Argument<string[]>("RUN_ID") { Description = "Two or more run ids (or unique prefixes).", Arity = new ArgumentArity(2, 100) };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var cmd = new Command("compare", "Print the metrics (and differing params) of runs side by side.") { ids, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var runs = new List<Run>();
            foreach (var id in parse.GetRequiredValue(ids))
            {
                runs.Add(await RunIds.GetAsync(store, id, ct).ConfigureAwait(false));
            }

            var metricKeys = runs.SelectMany(r => r.LatestMetrics.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var paramKeys = runs.SelectMany(r => r.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Where(k => runs.Select(r => r.Params.GetValueOrDefault(k)).Distinct(StringComparer.Ordinal).Count() > 1).ToList();
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var r in runs)
                {
                    array.Add(new JsonObject
                    {
                        ["run_id"] = r.RunId,
                        ["name"] = r.Name,
                        ["status"] = r.Status.ToString().ToUpperInvariant(),
                        ["metrics"] = TrackingFormat.Map(r.LatestMetrics.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal)),
                        ["params"] = TrackingFormat.Map(r.Params),
                    });
                }

                TrackingFormat.WriteJson(new JsonObject { ["runs"] = array, ["differing_params"] = new JsonArray([.. paramKeys.Select(k => (JsonNode?)JsonValue.Create(k))]) });
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title("run comparison");
            table.AddColumn("");
            var shortIds = CliOutput.ShortIds(runs.Select(r => r.RunId));
            foreach (var r in runs)
            {
                table.AddColumn(new TableColumn(Markup.Escape(CliOutput.Id(r.RunId, shortIds))).RightAligned());
            }

            table.AddRow(["name", .. runs.Select(r => Markup.Escape(r.Name))]);
            table.AddRow(["status", .. runs.Select(r => r.Status.ToString().ToUpperInvariant())]);
            foreach (var k in paramKeys)
            {
                table.AddRow(["param " + Markup.Escape(k), .. runs.Select(r => Markup.Escape(r.Params.GetValueOrDefault(k) ?? "-"))]);
            }

            foreach (var k in metricKeys)
            {
                table.AddRow([Markup.Escape(k), .. runs.Select(r => r.LatestMetrics.TryGetValue(k, out var m) ? TrackingFormat.Number(m.Value) : "-")]);
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildFail()
    {
        var id = new Argument<string?>("RUN_ID") { Description = "The RUNNING run to mark FAILED.", Arity = ArgumentArity.ZeroOrOne };
        var orphans = new Option<bool>("--orphans") { Description = "Instead: mark FAILED every RUNNING run whose process on this host no longer exists." };
        var json = CliOutput.JsonOption("Print the runs marked FAILED as JSON: {\"failed\": [run ids]}.");
        var cmd = new Command("fail", "Mark a run left RUNNING by a crashed process as FAILED.") { id, orphans, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var runId = parse.GetValue(id);
            var all = parse.GetValue(orphans);
            if ((runId is null) == !all)
            {
                throw new CliUsageException("give either a RUN_ID or --orphans");
            }

            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            if (all)
            {
                var failed = await store.FailOrphanedRunsAsync(ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    TrackingFormat.WriteJson(new JsonObject { ["failed"] = new JsonArray([.. failed.Select(f => (JsonNode?)JsonValue.Create(f))]) });
                    return CliApp.Ok;
                }

                Terminal.Out.WriteLine($"marked {failed.Count.ToString(CultureInfo.InvariantCulture)} orphaned run(s) FAILED{(failed.Count > 0 ? ": " + string.Join(", ", failed) : "")}");
                return CliApp.Ok;
            }

            var run = await RunIds.GetAsync(store, runId!, ct).ConfigureAwait(false);
            if (run.Status != RunStatus.Running)
            {
                throw new CliUsageException($"run {run.RunId} is {run.Status.ToString().ToUpperInvariant()}, not RUNNING; only a running run can be marked FAILED");
            }

            await store.EndRunAsync(run.RunId, RunStatus.Failed, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new JsonObject { ["failed"] = new JsonArray(JsonValue.Create(run.RunId)) });
                return CliApp.Ok;
            }

            Terminal.Out.WriteLine($"run {run.RunId} marked FAILED");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static JsonObject ToJson(Run r)
    {
        var datasets = new JsonArray();
        foreach (var d in r.Datasets)
        {
            datasets.Add(new JsonObject { ["name"] = d.Name, ["sha256"] = d.Sha256, ["schema"] = d.Schema, ["rows"] = d.RowCount, ["source"] = d.Source });
        }

        var artifacts = new JsonArray();
        foreach (var a in r.Artifacts)
        {
            artifacts.Add(new JsonObject { ["name"] = a.Name, ["sha256"] = a.Sha256, ["size_bytes"] = a.SizeBytes });
        }

        return new JsonObject
        {
            ["run_id"] = r.RunId,
            ["experiment"] = r.ExperimentName,
            ["name"] = r.Name,
            ["status"] = r.Status.ToString().ToUpperInvariant(),
            ["start_time"] = TrackingFormat.Iso(r.StartTimeUtc),
            ["end_time"] = TrackingFormat.Iso(r.EndTimeUtc),
            ["code_version"] = r.CodeVersion,
            ["host"] = r.Host,
            ["pid"] = r.ProcessId,
            ["parent_run_id"] = r.ParentRunId,
            ["params"] = TrackingFormat.Map(r.Params),
            ["tags"] = TrackingFormat.Map(r.Tags),
            ["metrics"] = TrackingFormat.Map(r.LatestMetrics.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal)),
            ["datasets"] = datasets,
            ["artifacts"] = artifacts,
        };
    }
}
