namespace Vigil.Tracking.Tests;

/// <summary>
/// The once-only commit of distributed step attempts (<see cref="FlowStepCommitStore"/>), on both backends: however many
/// executions of one attempt run (a worker killed mid-step, its job recovered by another), one commit is stored.
/// </summary>
public abstract class FlowStepCommitStoreTests : IDisposable
{
    private readonly TempDir _home = new();

    protected string Home => _home.Path;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<string> StoreSpecAsync();

    public void Dispose()
    {
        _home.Dispose();
        GC.SuppressFinalize(this);
    }

    private static StepCommit Commit(string runId, int attempt, int execution, string worker, string status = "finished") => new()
    {
        StepRunId = runId,
        Attempt = attempt,
        Execution = execution,
        Worker = worker,
        Status = status,
        OutputsJson = $"[{{\"name\":\"out\",\"file_name\":\"out.txt\",\"sha256\":\"{worker}\",\"size_bytes\":3}}]",
        MetricsJson = "{\"rows\":3}",
        Log = $"ran on {worker}",
    };

    [Fact]
    public async Task Two_executions_of_one_attempt_commit_once_and_the_late_one_is_refused()
    {
        await using var store = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, cancellationToken: Ct);
        var commits = FlowStepCommitStore.For(store);

        // w1 starts the attempt and dies; Quartz recovers the job on w2, which finishes first; w1's late commit loses.
        (await commits.BeginExecutionAsync("run-a", 1, "w1", Ct)).ShouldBe(1);
        (await commits.BeginExecutionAsync("run-a", 1, "w2", Ct)).ShouldBe(2);
        (await commits.FindAsync("run-a", 1, Ct)).ShouldBeNull();
        (await commits.TryCommitAsync(Commit("run-a", 1, 2, "w2"), Ct)).ShouldBeTrue();
        (await commits.TryCommitAsync(Commit("run-a", 1, 1, "w1"), Ct)).ShouldBeFalse();
        (await commits.TryCommitAsync(Commit("run-a", 1, 0, "coordinator", "abandoned"), Ct)).ShouldBeFalse();

        var stored = (await commits.FindAsync("run-a", 1, Ct))!;
        stored.Worker.ShouldBe("w2");
        stored.Execution.ShouldBe(2);
        stored.Status.ShouldBe("finished");
        stored.OutputsJson.ShouldContain("\"sha256\":\"w2\"");
        stored.MetricsJson.ShouldBe("{\"rows\":3}");
        stored.Log.ShouldBe("ran on w2");
        (await commits.ExecutionsAsync("run-a", 1, Ct)).Select(e => e.Worker).ShouldBe(["w1", "w2"]);

        // Another attempt of the same step, and another step, are separate.
        (await commits.BeginExecutionAsync("run-a", 2, "w3", Ct)).ShouldBe(1);
        (await commits.TryCommitAsync(Commit("run-a", 2, 1, "w3", "failed") with { Error = "exit 1", Retryable = true }, Ct)).ShouldBeTrue();
        var failed = (await commits.FindAsync("run-a", 2, Ct))!;
        failed.Status.ShouldBe("failed");
        failed.Error.ShouldBe("exit 1");
        failed.Retryable.ShouldBeTrue();
        (await commits.FindAsync("run-b", 1, Ct)).ShouldBeNull();
        (await commits.ExecutionsAsync("run-b", 1, Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Concurrent_commits_of_one_attempt_store_exactly_one()
    {
        await using var store = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, cancellationToken: Ct);
        var commits = FlowStepCommitStore.For(store);
        var numbers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => commits.BeginExecutionAsync("run-c", 1, $"w{i}", Ct)));
        numbers.Order().ShouldBe([1, 2, 3, 4, 5, 6]);

        var won = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => commits.TryCommitAsync(Commit("run-c", 1, i + 1, $"w{i}"), Ct)));
        won.Count(w => w).ShouldBe(1);
        var winner = Array.IndexOf(won, true);
        (await commits.FindAsync("run-c", 1, Ct))!.Worker.ShouldBe($"w{winner}");
    }

    [Fact]
    public async Task A_distributed_schedule_keeps_its_flag()
    {
        await using var store = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, cancellationToken: Ct);
        var schedules = FlowScheduleStore.For(store);
        await schedules.AddAsync(new FlowSchedule { Name = "d", Flow = "retrain", Cron = "0 0 5 * * ?", CronText = "0 5 * * *", TimeZone = "UTC", Distributed = true }, Ct);
        await schedules.AddAsync(new FlowSchedule { Name = "l", Flow = "retrain", Cron = "0 0 5 * * ?", CronText = "0 5 * * *", TimeZone = "UTC" }, Ct);
        (await schedules.FindAsync("d", Ct))!.Distributed.ShouldBeTrue();
        (await schedules.FindAsync("l", Ct))!.Distributed.ShouldBeFalse();
        await schedules.SetPausedAsync("d", true, Ct);
        (await schedules.ListAsync(Ct)).Single(s => s.Name == "d").Distributed.ShouldBeTrue();
    }
}

/// <summary>The step commit contract on SQLite.</summary>
public sealed class SqliteFlowStepCommitStoreTests : FlowStepCommitStoreTests
{
    protected override Task<string> StoreSpecAsync() => Task.FromResult("sqlite:" + Path.Combine(Home, "vigil.db"));
}

/// <summary>The step commit contract on PostgreSQL (VIGIL_TEST_POSTGRES; skipped without it, failed under CI=true).</summary>
public sealed class PostgresFlowStepCommitStoreTests(PostgresDatabase database) : FlowStepCommitStoreTests, IClassFixture<PostgresDatabase>
{
    private string? _spec;

    protected override async Task<string> StoreSpecAsync() => _spec ??= await database.NewSchemaAsync(Ct);
}
