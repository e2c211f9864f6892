using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Spectre.Console;
using Vigil.Pipelines;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil schedule add|list|remove|pause|resume</c>: named cron schedules of flows, stored in the tracking store; and
/// <c>vigil scheduler</c>, which runs them until Ctrl+C (in process on SQLite, a node of Quartz's clustered job store
/// on PostgreSQL).
/// </summary>
internal static partial class ScheduleCommand
{
    public static Command Build()
    {
        var schedule = new Command("schedule", "Schedule flows with cron expressions (stored in the tracking store; 'vigil scheduler' runs them).");
        schedule.Subcommands.Add(BuildAdd());
        schedule.Subcommands.Add(BuildList());
        schedule.Subcommands.Add(BuildSetPaused("pause", true, "Pause a schedule: no fire until it is resumed (takes effect in running schedulers within their sync interval)."));
        schedule.Subcommands.Add(BuildSetPaused("resume", false, "Resume a paused schedule; fires missed while it was paused are not caught up."));
        schedule.Subcommands.Add(BuildRemove());
        return schedule;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    private static Command BuildAdd()
    {
        var flow = new Argument<string>("flow") { Description = $"A built-in flow ({string.Join(", ", FlowCatalog.BuiltIn)}) or a flow YAML file (stored as its full path; read at each fire)." };
        var cron = new Option<string>("--cron") { Description = $"When it fires: {ScheduleCron.Syntax}.", Required = true };
        var name = new Option<string?>("--name") { Description = "The schedule's name (default: the flow's name); letters, digits, '.', '_', '-'." };
        var parameters = new Option<string[]>("--param", "-p") { Description = "A flow parameter NAME=VALUE for every fire (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var zone = new Option<string?>("--timezone") { Description = "The time zone the cron expression is read in: an IANA name such as Europe/Paris (default UTC)." };
        var paused = new Option<bool>("--paused") { Description = "Add it paused (resume it with 'vigil schedule resume NAME')." };
        var distributed = new Option<bool>("--distributed") { Description = "Each fire runs the flow distributed: its steps as Quartz jobs on 'vigil worker' processes (PostgreSQL store)." };
        var json = CliOutput.JsonOption("Print the added schedule as JSON.");
        var cmd = new Command("add", "Add a schedule: run FLOW whenever --cron says (by 'vigil scheduler').") { flow, cron, name, parameters, zone, paused, distributed, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var registry = StepRegistry.CreateDefault();
            var flowArg = parse.GetRequiredValue(flow);
            var definition = FlowCatalog.Load(flowArg, registry);
            var values = FlowCommand.ParseParams(parse.GetValue(parameters));
            foreach (var key in values.Keys.Where(k => !definition.Parameters.ContainsKey(k)))
            {
                throw new CliUsageException($"--param {key}: flow '{definition.Name}' has no such parameter; its params are: {(definition.Parameters.Count == 0 ? "(none)" : string.Join(", ", definition.Parameters.Keys))}");
            }

            var cronText = parse.GetRequiredValue(cron);
            var quartz = ScheduleCron.ToQuartz(cronText);
            var zoneId = parse.GetValue(zone);
            var tz = ScheduleCron.Zone(zoneId);
            var scheduleName = parse.GetValue(name) ?? definition.Name;
            if (!NamePattern().IsMatch(scheduleName))
            {
                throw new CliUsageException($"--name {scheduleName}: a schedule name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }

            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            if (parse.GetValue(distributed) && FlowScheduleStore.For(store).PostgresConnectionString is null)
            {
                throw new CliUsageException($"--distributed needs a PostgreSQL store (--store postgres://... or VIGIL_STORE); on the {store.Backend} store {store.Location} a scheduled flow runs its steps in the scheduler and needs no vigil worker: drop --distributed");
            }

            var added = await FlowScheduleStore.For(store).AddAsync(new FlowSchedule
            {
                Name = scheduleName,
                Flow = File.Exists(flowArg) ? Path.GetFullPath(flowArg) : flowArg,
                Cron = quartz,
                CronText = cronText.Trim(),
                TimeZone = tz == TimeZoneInfo.Utc ? "UTC" : zoneId!.Trim(),
                Parameters = values,
                Paused = parse.GetValue(paused),
                Distributed = parse.GetValue(distributed),
            }, ct).ConfigureAwait(false);
            var next = ScheduleCron.NextFire(added, DateTimeOffset.UtcNow);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(added, DateTimeOffset.UtcNow));
            }
            else
            {
                Terminal.OutWriter.WriteLine($"schedule {added.Name} added: flow {added.Flow}, cron \"{added.CronText}\" (Quartz: {added.Cron}), {added.TimeZone}; " +
                    (added.Paused ? "paused" : $"next fire {Iso(next)}") + " (runs while 'vigil scheduler' runs on this store" +
                    (added.Distributed ? "; distributed: its steps run on 'vigil worker' processes)" : ")"));
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildList()
    {
        var json = CliOutput.JsonOption("Print the schedules as a JSON array.");
        var cmd = new Command("list", "List schedules with their cron, time zone, state, next and last fire.") { json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var schedules = await FlowScheduleStore.For(store).ListAsync(ct).ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow;
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new JsonArray([.. schedules.Select(s => (JsonNode)ToJson(s, now))]));
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var c in new[] { "name", "flow", "cron", "timezone", "state", "next fire", "last fire", "params" })
            {
                table.AddColumn(c);
            }

            foreach (var s in schedules)
            {
                table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Flow), Markup.Escape(s.CronText), Markup.Escape(s.TimeZone), (s.Paused ? "paused" : "active") + (s.Distributed ? ", distributed" : ""),
                    s.Paused ? "" : TrackingFormat.Time(ScheduleCron.NextFire(s, now)), TrackingFormat.Time(s.LastFire),
                    Markup.Escape(string.Join(" ", s.Parameters.Select(kv => $"{kv.Key}={kv.Value}"))));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildSetPaused(string verb, bool paused, string description)
    {
        var name = new Argument<string>("name") { Description = "The schedule." };
        var cmd = new Command(verb, description) { name };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var scheduleName = parse.GetRequiredValue(name);
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var schedules = FlowScheduleStore.For(store);
            await schedules.SetPausedAsync(scheduleName, paused, ct).ConfigureAwait(false);
            var s = (await schedules.FindAsync(scheduleName, ct).ConfigureAwait(false))!;
            Terminal.OutWriter.WriteLine(paused
                ? $"schedule {scheduleName} paused"
                : $"schedule {scheduleName} resumed; next fire {Iso(ScheduleCron.NextFire(s, DateTimeOffset.UtcNow))}");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildRemove()
    {
        var name = new Argument<string>("name") { Description = "The schedule." };
        var cmd = new Command("remove", "Remove a schedule (running schedulers drop its trigger within their sync interval; flow runs it made stay).") { name };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var scheduleName = parse.GetRequiredValue(name);
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            await FlowScheduleStore.For(store).RemoveAsync(scheduleName, ct).ConfigureAwait(false);
            Terminal.OutWriter.WriteLine($"schedule {scheduleName} removed");
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary><c>vigil scheduler</c>.</summary>
    public static Command BuildScheduler()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "At most this many scheduled flow runs at once in this scheduler.", DefaultValueFactory = _ => 4 };
        var sync = new Option<double>("--sync-interval") { Description = "Seconds between reads of the schedule table (an added, paused or removed schedule takes effect within this).", DefaultValueFactory = _ => 3 };
        var cmd = new Command("scheduler",
            "Run the schedules until Ctrl+C (or SIGTERM): in process on a SQLite store (run one), or as a node of Quartz.NET's clustered job store on a PostgreSQL store (run any number; each fire happens once in the cluster). " +
            "A fire missed while no scheduler ran runs once at start. Lines on stderr say what fired and how the flow ended.")
        {
            concurrency, sync,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var n = (int)OptionParsing.Positive("--concurrency", parse.GetValue(concurrency));
            var seconds = parse.GetValue(sync);
            if (!(seconds >= 0.2 && seconds <= 3600))
            {
                throw new CliUsageException($"--sync-interval {seconds.ToString(CultureInfo.InvariantCulture)}: expected seconds between 0.2 and 3600");
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            });
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var log = new object();
            void Log(string line)
            {
                lock (log)
                {
                    Terminal.Note($"[{DateTimeOffset.UtcNow.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {line}");
                }
            }

            await using var scheduler = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), new FlowSchedulerOptions
            {
                Concurrency = n,
                SyncInterval = TimeSpan.FromSeconds(seconds),
                Log = Log,
            }, stop.Token).ConfigureAwait(false);
            Log($"scheduler {scheduler.InstanceId} started on the {store.Backend} store {store.Location} " +
                (scheduler.Clustered ? "(Quartz clustered job store: every scheduler on this store shares the work)" : "(in process: one scheduler per SQLite store)") + "; Ctrl+C stops it");
            await scheduler.RunAsync(stop.Token).ConfigureAwait(false);
            Log($"scheduler {scheduler.InstanceId} stopping");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static string Iso(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "never";

    internal static JsonObject ToJson(FlowSchedule s, DateTimeOffset now) => new()
    {
        ["name"] = s.Name,
        ["flow"] = s.Flow,
        ["cron"] = s.CronText,
        ["quartz_cron"] = s.Cron,
        ["timezone"] = s.TimeZone,
        ["params"] = TrackingFormat.Map(s.Parameters),
        ["paused"] = s.Paused,
        ["distributed"] = s.Distributed,
        ["next_fire"] = TrackingFormat.Iso(ScheduleCron.NextFire(s, now)),
        ["last_fire"] = TrackingFormat.Iso(s.LastFire),
        ["created"] = TrackingFormat.Iso(s.Created),
        ["updated"] = TrackingFormat.Iso(s.Updated),
    };
}
