using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Vigil.Tracking;

namespace Vigil.Pipelines.Tests.Schedules;

public sealed class FlowSchedulerTests : IAsyncDisposable
{
    private const string TickFlow = """
        name: tick
        params:
          note: ""
        steps:
          - name: only
            uses: exec
            with: { command: "true" }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vigil-sched-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<string> _log = new();

    private string DbPath => Path.Combine(_dir, "vigil.db");

    private async Task<(ITrackingStore Store, FlowScheduleStore Schedules, string Flow)> OpenAsync()
    {
        Directory.CreateDirectory(_dir);
        var flow = Path.Combine(_dir, "tick.yaml");
        await File.WriteAllTextAsync(flow, TickFlow, TestContext.Current.CancellationToken);
        var store = await StoreFactory.OpenAsync("sqlite:" + DbPath, Path.Combine(_dir, "home"));
        await store.GetOrCreateExperimentAsync("flows", TestContext.Current.CancellationToken);
        return (store, FlowScheduleStore.For(store), flow);
    }

    private static FlowSchedule Schedule(string name, string flow, string cron) => new()
    {
        Name = name, Flow = flow, Cron = ScheduleCron.ToQuartz(cron), CronText = cron, TimeZone = "UTC",
        Parameters = new Dictionary<string, string> { ["note"] = name },
    };

    private FlowSchedulerOptions Options() => new()
    {
        SyncInterval = TimeSpan.FromMilliseconds(200),
        IdleWaitTime = TimeSpan.FromSeconds(1),
        Log = _log.Enqueue,
        Runner = new FlowRunnerOptions { WorkDirectory = Path.Combine(_dir, "work") },
    };

    private static async Task<IReadOnlyList<Run>> FiresAsync(ITrackingStore store, string schedule) =>
        await store.ListRunsAsync("flows", new RunFilter { Tags = new Dictionary<string, string> { [FlowScheduler.ScheduleTag] = schedule }, MaxResults = 1000 }, TestContext.Current.CancellationToken);

    private static async Task<IReadOnlyList<Run>> WaitForFiresAsync(ITrackingStore store, string schedule, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var runs = await FiresAsync(store, schedule);
            if (runs.Count >= count || DateTime.UtcNow > deadline)
            {
                return runs;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Schedules_are_added_listed_paused_and_removed_by_name()
    {
        var (store, schedules, flow) = await OpenAsync();
        await using var _ = store;
        var ct = TestContext.Current.CancellationToken;
        await schedules.AddAsync(Schedule("b", flow, "0 5 * * MON"), ct);
        await schedules.AddAsync(Schedule("a", flow, "*/2 * * * * ?"), ct);
        (await Should.ThrowAsync<TrackingException>(() => schedules.AddAsync(Schedule("a", flow, "* * * * *"), ct))).Message.ShouldContain("schedule 'a' already exists");

        var listed = await schedules.ListAsync(ct);
        listed.Select(s => s.Name).ShouldBe(["a", "b"]);
        listed[1].Cron.ShouldBe("0 0 5 ? * MON");
        listed[1].CronText.ShouldBe("0 5 * * MON");
        listed[1].Parameters["note"].ShouldBe("b");

        var before = (await schedules.FindAsync("a", ct))!.Updated;
        await schedules.SetPausedAsync("a", true, ct);
        var paused = (await schedules.FindAsync("a", ct))!;
        paused.Paused.ShouldBeTrue();
        paused.Updated.ShouldBeGreaterThan(before);

        await schedules.RemoveAsync("a", ct);
        (await schedules.FindAsync("a", ct)).ShouldBeNull();
        (await Should.ThrowAsync<TrackingException>(() => schedules.RemoveAsync("a", ct))).Message.ShouldContain("no schedule named 'a'");
        (await Should.ThrowAsync<TrackingException>(() => schedules.SetPausedAsync("zz", true, ct))).Message.ShouldContain("no schedule named 'zz'");
    }

    [Fact]
    public async Task A_schedule_paused_among_more_than_a_query_page_of_schedules_loses_its_trigger()
    {
        // Quartz answers trigger queries 250 at a time unless told otherwise; the sync must see every trigger, or a
        // schedule paused beyond the first page keeps firing.
        var (store, schedules, flow) = await OpenAsync();
        await using var _ = store;
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 300; i++)
        {
            await schedules.AddAsync(Schedule("s" + i.ToString("D3", CultureInfo.InvariantCulture), flow, "0 5 1 1 *"), ct);
        }

        await using var scheduler = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct);
        await scheduler.SyncAsync(ct); // every trigger in place (start-up may have added them already)
        for (var i = 0; i < 300; i += 7)
        {
            await schedules.SetPausedAsync("s" + i.ToString("D3", CultureInfo.InvariantCulture), true, ct);
        }

        (await scheduler.SyncAsync(ct)).ShouldBe(43, string.Join("\n", _log.TakeLast(20)));
        (await scheduler.SyncAsync(ct)).ShouldBe(0);
        _log.ShouldContain(l => l.Contains("schedule s294: paused or removed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task In_process_scheduler_fires_each_slot_once_and_a_pause_stops_it()
    {
        var (store, schedules, flow) = await OpenAsync();
        await using var _ = store;
        var ct = TestContext.Current.CancellationToken;
        await schedules.AddAsync(Schedule("every-second", flow, "* * * * * ?"), ct);
        await using (var scheduler = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var loop = scheduler.RunAsync(cts.Token);
            scheduler.Clustered.ShouldBeFalse();
            var fires = await WaitForFiresAsync(store, "every-second", 3, TimeSpan.FromSeconds(30));
            fires.Count.ShouldBeGreaterThanOrEqualTo(3, string.Join("\n", _log));

            await schedules.SetPausedAsync("every-second", true, ct);
            await WaitForLogAsync("every-second: paused or removed", TimeSpan.FromSeconds(10));
            var removedAt = DateTimeOffset.UtcNow;

            // Watch a few more one-second slots go by: none fires.
            await WaitForAsync(() => Task.FromResult(DateTimeOffset.UtcNow > removedAt.AddSeconds(2.5)), TimeSpan.FromSeconds(10));
            var runs = await FiresAsync(store, "every-second");
            runs.Where(r => FireTime(r) > removedAt).ShouldBeEmpty(string.Join("\n", _log));
            await cts.CancelAsync();
            await loop;
        }

        var all = await FiresAsync(store, "every-second");
        var times = all.Select(FireTime).ToList();
        times.Distinct().Count().ShouldBe(times.Count, "no slot fired twice");
        foreach (var r in all)
        {
            r.Tags[FlowScheduler.InstanceTag].ShouldNotBeNullOrEmpty();
            (await store.GetRunAsync(r.RunId, ct)).Params["note"].ShouldBe("every-second");
        }
    }

    [Fact]
    public async Task A_fire_missed_while_no_scheduler_ran_runs_once_at_start()
    {
        var (store, schedules, flow) = await OpenAsync();
        await using var _ = store;
        var ct = TestContext.Current.CancellationToken;
        await schedules.AddAsync(Schedule("hourly", flow, "0 * * * *"), ct);
        // The schedule was added three hours ago: three hourly fires were missed.
        await using (var c = new SqliteConnection($"Data Source={DbPath}"))
        {
            await c.OpenAsync(ct);
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE flow_schedules SET created_us = created_us - 10800000000, updated_us = updated_us - 10800000000";
            (await cmd.ExecuteNonQueryAsync(ct)).ShouldBe(1);
        }

        var now = DateTimeOffset.UtcNow;
        var latestSlot = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        await using (var scheduler = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct))
        {
            var fires = await WaitForFiresAsync(store, "hourly", 1, TimeSpan.FromSeconds(30));
            fires.Count.ShouldBe(1, string.Join("\n", _log));
            FireTime(fires[0]).ShouldBe(latestSlot);
            await WaitForAsync(async () => (await FiresAsync(store, "hourly"))[0].Status != RunStatus.Running, TimeSpan.FromSeconds(30));
            (await schedules.FindAsync("hourly", ct))!.LastFire.ShouldBe(latestSlot);
        }

        // A second start finds nothing missed: the fire is recorded.
        _log.Clear();
        await using (var again = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct))
        {
            _log.ShouldNotContain(l => l.Contains("was missed", StringComparison.Ordinal));
        }

        (await FiresAsync(store, "hourly")).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_second_scheduler_on_one_sqlite_store_is_refused_until_the_first_stops()
    {
        var (store, _, _) = await OpenAsync();
        await using var _ = store;
        var ct = TestContext.Current.CancellationToken;
        await using (var first = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct))
        {
            var e = await Should.ThrowAsync<FlowException>(() => FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct));
            e.Message.ShouldContain("another vigil scheduler runs on the SQLite store");
        }

        await using var again = await FlowScheduler.StartAsync(store, StepRegistry.CreateDefault(), Options(), ct);
        again.Clustered.ShouldBeFalse();
    }

    private static DateTimeOffset FireTime(Run r) =>
        DateTimeOffset.Parse(r.Tags[FlowScheduler.FireTimeTag], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private async Task WaitForLogAsync(string fragment, TimeSpan timeout) =>
        await WaitForAsync(() => Task.FromResult(_log.Any(l => l.Contains(fragment, StringComparison.Ordinal))), timeout);

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {timeout.TotalSeconds} s");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
