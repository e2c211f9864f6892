using System.Globalization;
using System.Text.Json.Nodes;
using Vigil.Pipelines;
using Vigil.Serving.Tests;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

public sealed class ScheduleCliTests
{
    private const string TickFlow = """
        name: tick
        steps:
          - name: only
            uses: exec
            with: { command: "true" }
        """;

    [Fact]
    public async Task Schedule_add_refuses_a_bad_cron_a_bad_zone_and_an_unknown_param_in_one_line()
    {
        using var dir = new TempDir();
        var flow = dir.File("tick.yaml");
        await File.WriteAllTextAsync(flow, TickFlow, TestContext.Current.CancellationToken);
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * *").ShouldFailWithOneLine("--cron \"0 5 * *\"", "4 fields", "5 fields");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 25 * * *").ShouldFailWithOneLine("--cron \"0 25 * * *\"");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * *", "--timezone", "Nowhere/Land").ShouldFailWithOneLine("--timezone Nowhere/Land");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * *", "--param", "x=1").ShouldFailWithOneLine("--param x", "no such parameter");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * *", "--name", "bad name").ShouldFailWithOneLine("--name bad name");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "remove", "nope").ShouldFailWithOneLine();
    }

    [Fact]
    public async Task Schedule_list_shows_the_cron_as_written_its_quartz_form_and_the_next_fire()
    {
        using var dir = new TempDir();
        var flow = dir.File("tick.yaml");
        await File.WriteAllTextAsync(flow, TickFlow, TestContext.Current.CancellationToken);
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * MON", "--timezone", "Europe/Paris").ShouldSucceed();
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * MON").ShouldFailWithOneLine("schedule 'tick' already exists");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "pause", "tick").ShouldSucceed();
        var list = VigilProcess.RunInProcess(dir.Path, null, "schedule", "list", "--json");
        list.ShouldSucceed();
        var s = JsonNode.Parse(list.StdOut)!.AsArray().Single()!;
        s["name"]!.GetValue<string>().ShouldBe("tick");
        s["flow"]!.GetValue<string>().ShouldBe(flow);
        s["cron"]!.GetValue<string>().ShouldBe("0 5 * * MON");
        s["quartz_cron"]!.GetValue<string>().ShouldBe("0 0 5 ? * MON");
        s["paused"]!.GetValue<bool>().ShouldBeTrue();
        s["next_fire"].ShouldBeNull();

        VigilProcess.RunInProcess(dir.Path, null, "schedule", "resume", "tick").ShouldSucceed();
        s = JsonNode.Parse(VigilProcess.RunInProcess(dir.Path, null, "schedule", "list", "--json").StdOut)!.AsArray().Single()!;
        var next = DateTimeOffset.Parse(s["next_fire"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        next.DayOfWeek.ShouldBe(DayOfWeek.Monday);
        TimeZoneInfo.ConvertTime(next, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris")).Hour.ShouldBe(5);
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "remove", "tick").ShouldSucceed();
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "list", "--json").StdOut.Trim().ShouldBe("[]");
    }

    /// <summary>
    /// The acceptance line: two <c>vigil scheduler</c> processes on one PostgreSQL store (Quartz's clustered job store), an
    /// every-2-seconds schedule for about 20 s: every slot between the first and last fire ran exactly once in the cluster.
    /// A schedule added while they run starts firing; pause and remove stop fires and leave no Quartz trigger.
    /// </summary>
    [Fact]
    public async Task Two_schedulers_on_one_postgres_fire_every_slot_once_and_follow_schedule_changes()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_sched_");
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var flow = dir.File("tick.yaml");
        await File.WriteAllTextAsync(flow, TickFlow, ct);
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "*/2 * * * * ?", "--store", db.ConnectionString).ShouldSucceed();
        await using var store = await StoreFactory.OpenAsync(db.ConnectionString, Path.Combine(dir.Path, "home"), ct);
        await store.GetOrCreateExperimentAsync("flows", ct);

        var schedulers = new[] { Start(dir.Path, db.ConnectionString), Start(dir.Path, db.ConnectionString) };
        string Logs() => string.Join("\n---\n", schedulers.Select(s => s.Log));
        try
        {
            (await WaitForFiresAsync(store, "tick", 1, TimeSpan.FromSeconds(90))).ShouldBeTrue(Logs());
            var t0 = DateTimeOffset.UtcNow;

            // A schedule added while the schedulers run starts firing.
            VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--name", "late", "--cron", "*/2 * * * * ?", "--store", db.ConnectionString).ShouldSucceed();
            (await WaitForFiresAsync(store, "late", 2, TimeSpan.FromSeconds(30))).ShouldBeTrue(Logs());
            await WaitUntilAsync(() => DateTimeOffset.UtcNow > t0.AddSeconds(20), TimeSpan.FromSeconds(30), Logs);

            // Pause one, remove the other: their triggers go, nothing fires after that.
            VigilProcess.RunInProcess(dir.Path, null, "schedule", "pause", "tick", "--store", db.ConnectionString).ShouldSucceed();
            VigilProcess.RunInProcess(dir.Path, null, "schedule", "remove", "late", "--store", db.ConnectionString).ShouldSucceed();
            await WaitUntilAsync(() => Logs().Contains("schedule tick: paused or removed", StringComparison.Ordinal) && Logs().Contains("schedule late: paused or removed", StringComparison.Ordinal), TimeSpan.FromSeconds(20), Logs);
            var removedAt = DateTimeOffset.UtcNow;
            await WaitUntilAsync(() => DateTimeOffset.UtcNow > removedAt.AddSeconds(4), TimeSpan.FromSeconds(10), Logs);
            (await FireTimesAsync(store, "tick")).Where(t => t > removedAt).ShouldBeEmpty(Logs());
            (await FireTimesAsync(store, "late")).Where(t => t > removedAt).ShouldBeEmpty(Logs());
            await using (var c = new Npgsql.NpgsqlConnection(db.ConnectionString))
            {
                await c.OpenAsync(ct);
                await using var q = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM {FlowScheduler.TablePrefix}triggers WHERE trigger_group = '{FlowScheduler.Group}'", c);
                ((long)(await q.ExecuteScalarAsync(ct))!).ShouldBe(0L);
            }
        }
        finally
        {
            foreach (var s in schedulers)
            {
                s.Stop();
            }
        }

        foreach (var s in schedulers)
        {
            s.Process.ExitCode.ShouldBe(0, s.Log);
            s.Log.ShouldNotContain("Exception");
        }

        // Every 2-second slot from the first fire to the last ran exactly once across the two schedulers.
        var ticks = (await FireTimesAsync(store, "tick")).Order().ToList();
        ticks.Count.ShouldBeGreaterThanOrEqualTo(10, Logs());
        ticks.Distinct().Count().ShouldBe(ticks.Count, "a slot fired twice:\n" + Logs());
        for (var i = 1; i < ticks.Count; i++)
        {
            (ticks[i] - ticks[i - 1]).ShouldBe(TimeSpan.FromSeconds(2), $"gap or duplicate between {ticks[i - 1]:O} and {ticks[i]:O}\n{Logs()}");
        }

        var late = (await FireTimesAsync(store, "late")).Order().ToList();
        late.Distinct().Count().ShouldBe(late.Count);
        var runs = await store.ListRunsAsync("flows", new RunFilter { Tags = new Dictionary<string, string> { [FlowScheduler.ScheduleTag] = "tick" }, MaxResults = 1000 }, ct);
        TestContext.Current.SendDiagnosticMessage(
            $"{ticks.Count} tick fires from {ticks[0]:O} to {ticks[^1]:O}; by instance: {string.Join(", ", runs.GroupBy(r => r.Tags[FlowScheduler.InstanceTag]).Select(g => $"{g.Key}={g.Count()}"))}");
    }

    private static async Task<IReadOnlyList<DateTimeOffset>> FireTimesAsync(ITrackingStore store, string schedule)
    {
        var runs = await store.ListRunsAsync("flows", new RunFilter { Tags = new Dictionary<string, string> { [FlowScheduler.ScheduleTag] = schedule }, MaxResults = 1000 }, TestContext.Current.CancellationToken);
        return [.. runs.Select(r => DateTimeOffset.Parse(r.Tags[FlowScheduler.FireTimeTag], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal))];
    }

    private static async Task<bool> WaitForFiresAsync(ITrackingStore store, string schedule, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await FireTimesAsync(store, schedule)).Count >= count)
            {
                return true;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        return false;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> context)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not within {timeout.TotalSeconds} s:\n{context()}");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private static LongRunningVigil Start(string workingDirectory, string store) =>
        LongRunningVigil.Start(workingDirectory, null, "scheduler", "--store", store, "--sync-interval", "1");
}
