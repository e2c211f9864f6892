using System.Globalization;
using Quartz;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>Settings of a <see cref="FlowScheduler"/>.</summary>
public sealed record FlowSchedulerOptions
{
    /// <summary>How often the schedule table is read into Quartz triggers (default 3 s): the delay before an added, paused, resumed or removed schedule takes effect.</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long Quartz waits for work when it has none (default 1 s, Quartz's minimum; its own default is 30 s).</summary>
    public TimeSpan IdleWaitTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a clustered scheduler records that it is alive (default 2 s); a node silent for longer is considered dead and its in-progress work recovered.</summary>
    public TimeSpan ClusterCheckinInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many flow runs may run at once in this scheduler (default 4).</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>This scheduler's id in the cluster (default: host name, process id and a random suffix).</summary>
    public string? InstanceId { get; init; }

    /// <summary>Where readable lines go (fires, flow results, sync changes); null: nowhere.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Settings of the flow runner each fire uses.</summary>
    public FlowRunnerOptions? Runner { get; init; }

    /// <summary>Settings of the step dispatcher of distributed schedules' fires (their steps run on <c>vigil worker</c> processes).</summary>
    public StepDispatcherOptions? Dispatcher { get; init; }
}

/// <summary>
/// Runs the flow schedules of a tracking store with Quartz.NET. On SQLite the scheduler is in process (Quartz's RAM
/// store; a second scheduler on the same SQLite file is refused). On PostgreSQL it is a node of a cluster: Quartz's clustered ADO.NET job store
/// in the same database (tables prefixed <c>vigil_qrtz_</c>, created on first use), so any number of schedulers may run
/// and each trigger fires once in the cluster. Each schedule is one cron trigger, synced from table
/// <c>flow_schedules</c> at start and every <see cref="FlowSchedulerOptions.SyncInterval"/>: an added or resumed
/// schedule gets a trigger, a paused or removed one loses it. Each fire runs the flow as a normal flow run whose tags
/// name the schedule (<c>vigil.schedule</c>), the scheduled fire time (<c>vigil.schedule.fire_time</c>) and the
/// scheduler that ran it (<c>vigil.schedule.instance</c>). Misfire policy: fires missed while no scheduler ran (since
/// the later of the schedule's last change and its last fire) run once when a scheduler stores the trigger, as the
/// latest missed slot, then the schedule proceeds; a trigger Quartz finds late while running is fire-and-proceed (runs
/// once, late). A resumed schedule does not catch up the fires missed while it was paused.
/// </summary>
public sealed class FlowScheduler : IAsyncDisposable
{
    /// <summary>The Quartz group of schedule triggers and jobs.</summary>
    public const string Group = "vigil-schedules";

    /// <summary>The table prefix of Quartz's tables in a PostgreSQL store.</summary>
    public const string TablePrefix = "vigil_qrtz_";

    /// <summary>The tag naming the schedule of a scheduled flow run.</summary>
    public const string ScheduleTag = "vigil.schedule";

    /// <summary>The tag holding the scheduled fire time (ISO 8601, UTC) of a scheduled flow run.</summary>
    public const string FireTimeTag = "vigil.schedule.fire_time";

    /// <summary>The tag naming the scheduler instance that ran a scheduled flow run.</summary>
    public const string InstanceTag = "vigil.schedule.instance";

    internal const string ContextKey = "vigil.flow-scheduler";
    private const string VersionKey = "version";
    internal const string CatchUpKey = "catch_up";

    private readonly ITrackingStore _store;
    private readonly FlowScheduleStore _schedules;
    private readonly StepRegistry _registry;
    private readonly FlowSchedulerOptions _options;
    private readonly IScheduler _quartz;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _dispatcherLock = new(1, 1);
    private FileStream? _sqliteLock;
    private StepDispatcher? _dispatcher;

    private FlowScheduler(ITrackingStore store, FlowScheduleStore schedules, StepRegistry registry, FlowSchedulerOptions options, IScheduler quartz, string instanceId, bool clustered)
    {
        _store = store;
        _schedules = schedules;
        _registry = registry;
        _options = options;
        _quartz = quartz;
        InstanceId = instanceId;
        Clustered = clustered;
    }

    /// <summary>This scheduler's instance id.</summary>
    public string InstanceId { get; }

    /// <summary>True on a PostgreSQL store (a node of Quartz's clustered job store), false in process (SQLite).</summary>
    public bool Clustered { get; }

    /// <summary>Starts a scheduler over <paramref name="store"/> and syncs the schedules once.</summary>
    public static async Task<FlowScheduler> StartAsync(ITrackingStore store, StepRegistry registry, FlowSchedulerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new FlowSchedulerOptions();
        if (options.Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Concurrency must be at least 1");
        }

        var schedules = FlowScheduleStore.For(store);
        var connection = schedules.PostgresConnectionString;

        // In process (SQLite) two schedulers would both fire every slot: the second is refused.
        FileStream? sqliteLock = null;
        if (connection is null)
        {
            var lockPath = store.Location + ".scheduler.lock";
            try
            {
                sqliteLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                throw new FlowException($"another vigil scheduler runs on the SQLite store {store.Location} (it holds {lockPath}); run one per SQLite store, or use a PostgreSQL store for several");
            }
        }

        var instanceId = options.InstanceId ?? $"{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}";
        IScheduler quartz;
        try
        {
            quartz = await QuartzCluster.BuildAsync("vigil", instanceId, connection, options.Concurrency, options.IdleWaitTime, options.ClusterCheckinInterval, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            sqliteLock?.Dispose();
            throw;
        }

        var scheduler = new FlowScheduler(store, schedules, registry, options, quartz, instanceId, connection is not null) { _sqliteLock = sqliteLock };
        quartz.Context[ContextKey] = scheduler;
        try
        {
            await scheduler.SyncAsync(cancellationToken).ConfigureAwait(false);
            await quartz.Start(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await scheduler.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return scheduler;
    }

    /// <summary>Syncs the schedules every <see cref="FlowSchedulerOptions.SyncInterval"/> until <paramref name="cancellationToken"/> is cancelled, then stops (running flows end KILLED).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.SyncInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await SyncAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TrackingException or SchedulerException or System.Data.Common.DbException or TimeoutException)
                {
                    Log($"sync failed (retrying in {_options.SyncInterval.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s): {FlowRunner.Reason(e)}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Makes Quartz's triggers match the schedule table: a trigger for every schedule that is not paused (replaced when the
    /// schedule changed), none for the others. Returns how many triggers it added, replaced or removed.
    /// </summary>
    public async Task<int> SyncAsync(CancellationToken cancellationToken = default)
    {
        var wanted = (await _schedules.ListAsync(cancellationToken).ConfigureAwait(false)).Where(s => !s.Paused).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var changes = 0;
        var existing = await _quartz.QueryTriggers(new TriggerQuery { Group = GroupMatcher<TriggerKey>.GroupEquals(Group), Take = PagedQuery.All } /* every trigger, not the first page of 250 */, cancellationToken).ConfigureAwait(false);
        foreach (var header in existing.Items)
        {
            if (!wanted.ContainsKey(header.Key.Name))
            {
                await _quartz.UnscheduleJob(header.Key, cancellationToken).ConfigureAwait(false);
                await _quartz.DeleteJob(new JobKey(header.Key.Name, Group), cancellationToken).ConfigureAwait(false);
                Log($"schedule {header.Key.Name}: paused or removed; its trigger is gone");
                changes++;
            }
        }

        foreach (var schedule in wanted.Values)
        {
            var version = Version(schedule);
            var key = new TriggerKey(schedule.Name, Group);
            var current = await _quartz.GetTrigger(key, cancellationToken).ConfigureAwait(false);
            if (current is not null && current.JobDataMap.TryGetValue(VersionKey, out var v) && v as string == version)
            {
                continue;
            }

            var jobKey = new JobKey(schedule.Name, Group);
            if (!await _quartz.Exists(jobKey, cancellationToken).ConfigureAwait(false))
            {
                var job = JobBuilder.Create<ScheduledFlowJob>().WithIdentity(jobKey).StoreDurably().Build();
                try
                {
                    await _quartz.AddJob(job, new AddJobOptions { Replace = false }, cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectAlreadyExistsException)
                {
                    // another node added it first
                }
            }

            // Fires are counted from the later of the last change and the last fire.
            var start = schedule.LastFire is { } last && last > schedule.Updated ? last.AddMilliseconds(1) : schedule.Updated;
            var trigger = TriggerBuilder.Create()
                .WithIdentity(key)
                .ForJob(jobKey)
                .UsingJobData(VersionKey, version)
                .StartAt(start)
                .WithSchedule(CronScheduleBuilder.Create(schedule.Cron)
                    .InTimeZone(ScheduleCron.Zone(schedule.TimeZone))
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed))
                .Build();
            var outcome = await _quartz.ScheduleTrigger(trigger, current is null ? TriggerConflict.Keep : TriggerConflict.Replace, cancellationToken).ConfigureAwait(false);
            if (outcome.Outcome == ScheduleOutcome.Kept)
            {
                continue; // another node stored it first
            }

            Log($"schedule {schedule.Name}: {(current is null ? "trigger added" : "trigger replaced (the schedule changed)")} ({schedule.CronText}, {schedule.TimeZone}); next fire {Iso(outcome.NextFireTimeUtc)}");
            changes++;

            // Misfire policy: fires missed since `start` (no scheduler ran) run once, now, as the latest missed slot. Only the
            // node whose trigger was stored does this, so a cluster catches up once.
            if (LatestMissed(schedule, start, outcome.NextFireTimeUtc) is { } missed)
            {
                Log($"schedule {schedule.Name}: fire at {Iso(missed)} was missed while no scheduler ran; running it once now");
                await _quartz.TriggerJob(jobKey, new JobDataMap { [CatchUpKey] = Iso(missed) }, cancellationToken).ConfigureAwait(false);
            }
        }

        return changes;
    }

    /// <summary>Runs one fire of schedule <paramref name="name"/> (called by the Quartz job).</summary>
    internal async Task FireAsync(string name, DateTimeOffset scheduledFireTime, CancellationToken jobToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(jobToken, _stopping.Token);
        var ct = linked.Token;
        var schedule = await _schedules.FindAsync(name, ct).ConfigureAwait(false);
        if (schedule is null || schedule.Paused)
        {
            Log($"schedule {name}: fire at {Iso(scheduledFireTime)} skipped ({(schedule is null ? "removed" : "paused")})");
            return;
        }

        await _schedules.RecordFireAsync(name, scheduledFireTime, ct).ConfigureAwait(false);
        try
        {
            var flow = FlowCatalog.Load(schedule.Flow, _registry);
            var runnerOptions = _options.Runner ?? new FlowRunnerOptions();
            if (schedule.Distributed)
            {
                runnerOptions = runnerOptions with { Dispatcher = await DispatcherAsync(ct).ConfigureAwait(false) };
            }

            var runner = new FlowRunner(_store, _registry, runnerOptions);
            var tags = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ScheduleTag] = name,
                [FireTimeTag] = Iso(scheduledFireTime),
                [InstanceTag] = InstanceId,
            };
            var result = await runner.RunAsync(flow, schedule.Parameters, tags, null, ct).ConfigureAwait(false);
            Log($"schedule {name}: fire at {Iso(scheduledFireTime)} ran flow {flow.Name}{(schedule.Distributed ? " (distributed)" : "")} as run {result.RunId}: {result.Status}{(result.Error is null ? "" : $" ({result.Error})")}");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Log($"schedule {name}: fire at {Iso(scheduledFireTime)} stopped with the scheduler (the flow run ends KILLED; vigil flow resume continues it)");
        }
        catch (Exception e)
        {
            Log($"schedule {name}: fire at {Iso(scheduledFireTime)} failed: {FlowRunner.Reason(e)}");
        }
    }

    /// <summary>The one dispatcher of this scheduler's distributed fires (created on the first).</summary>
    private async Task<StepDispatcher> DispatcherAsync(CancellationToken cancellationToken)
    {
        await _dispatcherLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _dispatcher ??= await StepDispatcher.CreateAsync(_store, _options.Dispatcher, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _dispatcherLock.Release();
        }
    }

    /// <summary>Stops the scheduler: running flows are cancelled (they end KILLED).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _quartz.Shutdown(true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SchedulerException)
        {
        }

        if (_dispatcher is not null)
        {
            await _dispatcher.DisposeAsync().ConfigureAwait(false);
            _dispatcher = null;
        }

        _dispatcherLock.Dispose();

        _stopping.Dispose();
        if (_sqliteLock is not null)
        {
            await _sqliteLock.DisposeAsync().ConfigureAwait(false);
            _sqliteLock = null;
        }
    }

    /// <summary>The latest fire time of the schedule after <paramref name="start"/> and before both now and the trigger's first fire, or null.</summary>
    private static DateTimeOffset? LatestMissed(FlowSchedule schedule, DateTimeOffset start, DateTimeOffset firstFire)
    {
        var cron = new CronExpression(schedule.Cron, ScheduleCron.Zone(schedule.TimeZone));
        var now = DateTimeOffset.UtcNow;
        DateTimeOffset? missed = null;
        var t = cron.GetNextValidTimeAfter(start);
        for (var i = 0; i < 100_000 && t is { } f && f < firstFire && f <= now; i++)
        {
            missed = f;
            t = cron.GetNextValidTimeAfter(f);
        }

        return missed;
    }

    private static string Version(FlowSchedule s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Updated.ToUnixTimeMilliseconds()}|{s.Cron}|{s.TimeZone}");

    internal static string Iso(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) ?? "never";

    private void Log(string line) => _options.Log?.Invoke(line);
}

/// <summary>The Quartz job of a schedule: runs one fire through the <see cref="FlowScheduler"/> of the node that fired it.</summary>
internal sealed class ScheduledFlowJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var scheduler = (FlowScheduler)context.Scheduler.Context[FlowScheduler.ContextKey]!;
        var fireTime = context.MergedJobDataMap.TryGetValue(FlowScheduler.CatchUpKey, out var catchUp) && catchUp is string text
            ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal)
            : context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        await scheduler.FireAsync(context.JobDetail.Key.Name, fireTime, cancellationToken).ConfigureAwait(false);
    }
}
