using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Pipelines;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil flow run|resume|show|list</c>: runs YAML flows (or the built-in <c>retrain</c>) with their state in the
/// tracking store. <c>run</c> and <c>resume</c> print the flow run id as the first line of stdout, progress on stderr, and
/// the steps at the end; a failed flow ends with exit code 5 and one error line naming the step and the reason.
/// </summary>
internal static class FlowCommand
{
    /// <summary>Exit code of a flow that ran and failed at a step.</summary>
    public const int FlowFailed = 5;

    public static Command Build()
    {
        var flow = new Command("flow", "Run flows of steps (built-in 'retrain' or a YAML file), resume them, and show their state.");
        flow.Subcommands.Add(BuildRun());
        flow.Subcommands.Add(BuildResume());
        flow.Subcommands.Add(BuildShow());
        flow.Subcommands.Add(BuildList());
        return flow;
    }

    private static Option<string[]> ParamOption() => new("--param", "-p")
    {
        Description = "A flow parameter NAME=VALUE (repeatable); overrides the flow's default.",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static Option<bool> JsonOption(string what) => new("--json") { Description = $"Print {what} as JSON." };

    private static Option<bool> DistributedOption() => new("--distributed")
    {
        Description = "Run each step (and foreach item) as a Quartz job on 'vigil worker' processes (PostgreSQL store; the artifact store must be shared: VIGIL_ARTIFACTS az://... or a shared folder).",
    };

    private static Option<double> WorkerTimeoutOption() => new("--worker-timeout")
    {
        Description = "With --distributed: seconds a queued step may wait for a worker to start it before the step fails.",
        DefaultValueFactory = _ => 60,
    };

    /// <summary>The runner: local, or with a step dispatcher to the workers' cluster (--distributed).</summary>
    private static async Task<(FlowRunner Runner, StepDispatcher? Dispatcher)> RunnerAsync(ITrackingStore store, StepRegistry registry, ParseResult parse, Option<bool> distributed, Option<double> workerTimeout, CancellationToken ct)
    {
        var seconds = parse.GetValue(workerTimeout);
        if (!(seconds > 0 && seconds <= 86_400))
        {
            throw new CliUsageException($"--worker-timeout {seconds.ToString(CultureInfo.InvariantCulture)}: expected seconds above 0 and at most 86400");
        }

        if (!parse.GetValue(distributed))
        {
            return (new FlowRunner(store, registry), null);
        }

        if (FlowStepCommitStore.For(store).PostgresConnectionString is null)
        {
            throw new CliUsageException($"--distributed needs a PostgreSQL store (--store postgres://... or VIGIL_STORE); on the {store.Backend} store {store.Location} the flow runs its steps in this process and needs no vigil worker: drop --distributed");
        }

        var dispatcher = await StepDispatcher.CreateAsync(store, new StepDispatcherOptions { WorkerTimeout = TimeSpan.FromSeconds(seconds) }, ct).ConfigureAwait(false);
        Terminal.Note($"distributed: each step runs as a Quartz job on a vigil worker of this store (a step no worker starts within {seconds.ToString("0.###", CultureInfo.InvariantCulture)} s fails); " +
            $"artifacts: {store.Artifacts.Location} (every worker needs this same artifact store)");
        return (new FlowRunner(store, registry, new FlowRunnerOptions { Dispatcher = dispatcher }), dispatcher);
    }

    private static Command BuildRun()
    {
        var name = new Argument<string>("flow") { Description = $"A built-in flow ({string.Join(", ", FlowCatalog.BuiltIn)}) or a flow YAML file." };
        var parameters = ParamOption();
        var data = new Option<string?>("--data") { Description = "retrain: the new data file (.csv, .csv.gz, .parquet); sets --param data." };
        var sampleSize = new Option<long?>("--sample-size") { Description = "retrain: without --data, generate this many transactions; sets --param sample-size." };
        var label = new Option<string?>("--label") { Description = "retrain: the label column; sets --param label." };
        var register = new Option<string?>("--register") { Description = "retrain: the registered model (its champion is the reference and the promotion target); sets --param register." };
        var json = JsonOption("the finished flow run");
        var distributed = DistributedOption();
        var workerTimeout = WorkerTimeoutOption();
        var cmd = new Command("run", "Run a flow; prints the flow run id first, progress while it runs, the steps at the end.")
        {
            name, parameters, data, sampleSize, label, register, json, distributed, workerTimeout,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var registry = StepRegistry.CreateDefault();
            var definition = FlowCatalog.Load(parse.GetRequiredValue(name), registry);
            var values = ParseParams(parse.GetValue(parameters));
            if (parse.GetValue(data) is { } d)
            {
                Shortcut(definition, values, "data", Path.GetFullPath(OptionParsing.ExistingFile("--data", d)), "--data");
            }

            if (parse.GetValue(sampleSize) is { } n)
            {
                Shortcut(definition, values, "sample-size", OptionParsing.Positive("--sample-size", n).ToString(CultureInfo.InvariantCulture), "--sample-size");
            }

            if (parse.GetValue(label) is { } l)
            {
                Shortcut(definition, values, "label", l, "--label");
            }

            if (parse.GetValue(register) is { } r)
            {
                Shortcut(definition, values, "register", r, "--register");
            }

            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var (runner, dispatcher) = await RunnerAsync(store, registry, parse, distributed, workerTimeout, ct).ConfigureAwait(false);
            await using var _ = dispatcher;
            var result = await runner.RunAsync(definition, values, Progress(), ct).ConfigureAwait(false);
            return await FinishAsync(store, registry, result, parse.GetValue(json), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    private static Command BuildResume()
    {
        var id = new Argument<string>("run-id") { Description = "The flow run to resume (see 'vigil flow list')." };
        var parameters = ParamOption();
        var json = JsonOption("the finished flow run");
        var distributed = DistributedOption();
        var workerTimeout = WorkerTimeoutOption();
        var cmd = new Command("resume", "Resume a failed or interrupted flow run as a new run: steps whose inputs and parameters are unchanged are reused, the rest run.")
        {
            id, parameters, json, distributed, workerTimeout,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var registry = StepRegistry.CreateDefault();
            var values = ParseParams(parse.GetValue(parameters));
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var (runner, dispatcher) = await RunnerAsync(store, registry, parse, distributed, workerTimeout, ct).ConfigureAwait(false);
            await using var _ = dispatcher;
            var result = await runner.ResumeAsync(parse.GetRequiredValue(id), values, Progress(), ct).ConfigureAwait(false);
            return await FinishAsync(store, registry, result, parse.GetValue(json), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    private static Command BuildShow()
    {
        var id = new Argument<string>("run-id") { Description = "The flow run." };
        var json = JsonOption("the flow run");
        var cmd = new Command("show", "Show a flow run: its steps, status, durations, attempts, reuse, outputs, and the failed step and why.") { id, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var loaded = await FlowState.LoadAsync(store, StepRegistry.CreateDefault(), parse.GetRequiredValue(id), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(loaded.Record, details: true));
            }
            else
            {
                Print(loaded.Record);
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildList()
    {
        var name = new Option<string?>("--flow") { Description = "Only runs of this flow." };
        var max = new Option<int>("--max") { Description = "At most this many runs, newest first.", DefaultValueFactory = _ => 50 };
        var json = JsonOption("the flow runs");
        var cmd = new Command("list", "List flow runs, newest first, with each step's status, attempts and reuse.") { name, max, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var maxRuns = (int)OptionParsing.Positive("--max", parse.GetValue(max));
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var runs = await FlowState.ListAsync(store, StepRegistry.CreateDefault(), parse.GetValue(name), Math.Min(maxRuns, 10_000), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new JsonArray([.. runs.Select(r => (JsonNode)ToJson(r, details: false))]));
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var c in new[] { "id", "flow", "status", "started", "duration", "steps", "failed step" })
            {
                table.AddColumn(c);
            }

            foreach (var r in runs)
            {
                var done = r.Steps.Count(s => s.Status == "finished");
                var reused = r.Steps.Count(s => s.Reused);
                table.AddRow(r.Id, Markup.Escape(r.Flow), r.Status, TrackingFormat.Time(r.Started), Duration(r.Started, r.Ended),
                    $"{done.ToString(CultureInfo.InvariantCulture)}/{r.Steps.Count.ToString(CultureInfo.InvariantCulture)}{(reused > 0 ? $" ({reused.ToString(CultureInfo.InvariantCulture)} reused)" : "")}",
                    Markup.Escape(r.Error ?? ""));
            }

            Terminal.Out.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static async Task<int> FinishAsync(ITrackingStore store, StepRegistry registry, FlowResult result, bool json, CancellationToken cancellationToken)
    {
        var record = (await FlowState.LoadAsync(store, registry, result.RunId, cancellationToken).ConfigureAwait(false)).Record;
        if (json)
        {
            TrackingFormat.WriteJson(ToJson(record, details: true));
        }
        else
        {
            Print(record);
        }

        if (result.Succeeded)
        {
            return CliApp.Ok;
        }

        Terminal.Error($"flow {record.Flow} run {record.Id} failed: {result.Error} (vigil flow show {record.Id}; vigil flow resume {record.Id} after fixing it)");
        return FlowFailed;
    }

    /// <summary>Progress lines on stderr; the first event puts the flow run id on stdout's first line.</summary>
    private static Progress<FlowEvent> Progress() => new SyncProgress(e =>
    {
        if (e.Kind == FlowEventKind.FlowStarted)
        {
            Terminal.OutWriter.WriteLine(e.RunId);
            Terminal.OutWriter.Flush();
        }

        Terminal.Note($"[{DateTimeOffset.UtcNow.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {e.Message}");
    });

    private static void Print(FlowRunRecord r)
    {
        var now = DateTimeOffset.UtcNow;
        var table = new Table().Border(TableBorder.Rounded)
            .Title(Markup.Escape($"flow {r.Flow} run {r.Id}: {r.Status}{(r.ResumedFrom is null ? "" : $" (resumed from {r.ResumedFrom})")}, {Duration(r.Started, r.Ended)}"));
        var distributed = r.Steps.Any(s => s.Worker is not null || s.Items.Any(i => i.Worker is not null));
        foreach (var c in distributed
            ? new[] { "step", "kind", "status", "attempts", "reused", "duration", "worker", "outputs / reason" }
            : new[] { "step", "kind", "status", "attempts", "reused", "duration", "outputs / reason" })
        {
            table.AddColumn(c);
        }

        foreach (var s in r.Steps)
        {
            var detail = s.Error ?? string.Join(", ", s.Items.Count > 0
                ? [$"{s.Items.Count.ToString(CultureInfo.InvariantCulture)} items ({s.Items.Count(i => i.Reused).ToString(CultureInfo.InvariantCulture)} reused)"]
                : s.Outputs.Select(o => $"{o.Name} {o.Sha256[..12]}"));
            var cells = new List<string>
            {
                Markup.Escape(s.Name), s.Kind, s.Status, s.Attempts.ToString(CultureInfo.InvariantCulture), s.Reused ? $"yes ({s.ReusedFrom?[..8]})" : "no",
                s.DurationSeconds(now) is { } d ? d.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "",
            };
            if (distributed)
            {
                cells.Add(Markup.Escape(Workers(s)));
            }

            cells.Add(Markup.Escape(detail));
            table.AddRow([.. cells]);
            if (distributed)
            {
                foreach (var i in s.Items)
                {
                    table.AddRow(Markup.Escape($"  [{i.Index.ToString(CultureInfo.InvariantCulture)}] {i.Item}"), "", i.Status, i.Attempts.ToString(CultureInfo.InvariantCulture), i.Reused ? "yes" : "no",
                        i.DurationSeconds(now) is { } di ? di.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "", Markup.Escape(Workers(i)),
                        Markup.Escape(i.Error ?? string.Join(", ", i.Outputs.Select(o => $"{o.Name} {o.Sha256[..12]}"))));
                }
            }
        }

        Terminal.Out.Write(table);
        if (r.Error is not null)
        {
            Terminal.Out.WriteLine($"error: {r.Error}");
        }
    }

    /// <summary>The worker of a step (with how many executions when recovered), or the workers of its items.</summary>
    private static string Workers(StepRecord s) =>
        s.Worker is { } w ? w + (s.Recovered ? $" (recovered, {s.Executions.ToString(CultureInfo.InvariantCulture)} executions)" : "")
        : s.Items.Count > 0 ? string.Join(", ", s.Items.Where(i => i.Worker is not null).Select(i => i.Worker!).Distinct(StringComparer.Ordinal))
        : "";

    internal static JsonObject ToJson(FlowRunRecord r, bool details)
    {
        var now = DateTimeOffset.UtcNow;
        JsonObject Step(StepRecord s)
        {
            var o = new JsonObject
            {
                ["name"] = s.Name,
                ["status"] = s.Status,
                ["attempts"] = s.Attempts,
                ["reused"] = s.Reused,
            };
            if (details)
            {
                o["kind"] = s.Kind;
                o["run_id"] = s.RunId;
                o["reused_from"] = s.ReusedFrom;
                o["started"] = TrackingFormat.Iso(s.Started);
                o["ended"] = TrackingFormat.Iso(s.Ended);
                o["duration_s"] = s.DurationSeconds(now);
                o["error"] = s.Error;
                o["outputs"] = new JsonArray([.. s.Outputs.Select(a => (JsonNode)new JsonObject { ["name"] = a.Name, ["file"] = a.FileName, ["sha256"] = a.Sha256, ["size"] = a.SizeBytes })]);
                o["metrics"] = TrackingFormat.Map(s.Metrics);
                o["worker"] = s.Worker;
                o["executions"] = s.Executions;
                o["recovered"] = s.Recovered;
                if (s.Items.Count > 0)
                {
                    o["items"] = new JsonArray([.. s.Items.Select(i =>
                    {
                        var item = Step(i);
                        item["index"] = i.Index;
                        item["item"] = i.Item;
                        return (JsonNode)item;
                    })]);
                }
            }

            return o;
        }

        var json = new JsonObject
        {
            ["id"] = r.Id,
            ["flow"] = r.Flow,
            ["status"] = r.Status,
            ["resumed_from"] = r.ResumedFrom,
            ["started"] = TrackingFormat.Iso(r.Started),
            ["ended"] = TrackingFormat.Iso(r.Ended),
            ["error"] = r.Error,
        };
        if (details)
        {
            json["params"] = TrackingFormat.Map(r.Parameters);
        }

        json["steps"] = new JsonArray([.. r.Steps.Select(s => (JsonNode)Step(s))]);
        return json;
    }

    private static string Duration(DateTimeOffset start, DateTimeOffset? end) =>
        ((end ?? DateTimeOffset.UtcNow) - start).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    internal static Dictionary<string, string> ParseParams(string[]? values)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values ?? [])
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new CliUsageException($"--param {v}: expected NAME=VALUE");
            }

            result[v[..eq].Trim()] = v[(eq + 1)..];
        }

        return result;
    }

    private static void Shortcut(FlowDefinition flow, Dictionary<string, string> values, string parameter, string value, string option)
    {
        if (!flow.Parameters.ContainsKey(parameter))
        {
            throw new CliUsageException($"{option}: flow '{flow.Name}' has no parameter '{parameter}'; use --param NAME=VALUE with one of: {string.Join(", ", flow.Parameters.Keys)}");
        }

        values[parameter] = value;
    }

    /// <summary>Reports on the thread that raised the event, in order (not through a synchronization context).</summary>
    private sealed class SyncProgress(Action<FlowEvent> handler) : Progress<FlowEvent>
    {
        protected override void OnReport(FlowEvent value) => handler(value);
    }
}
