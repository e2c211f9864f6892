using System.Globalization;
using System.Text.Json.Nodes;
using Vigil.Pipelines;
using Vigil.Serving.Tests;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary><c>vigil worker</c> and distributed flow runs (<c>vigil flow run --distributed</c>), with real processes on PostgreSQL.</summary>
public sealed class WorkerCliTests
{
    /// <summary>Six items of about 2 s each, then a join of their outputs.</summary>
    private const string FanFlow = """
        name: fan
        steps:
          - name: items
            uses: exec
            foreach: [a, b, c, d, e, f]
            parallel: 6
            outputs: [out.txt]
            with: { command: "sleep 2; echo ${item} > ${outputs.out}" }
          - name: join
            uses: exec
            inputs: { parts: items.out }
            outputs: [all.txt]
            with: { command: "cat ${inputs.parts} > ${outputs.all}" }
        """;

    private const string OneStepFlow = """
        name: one
        steps:
          - name: only
            uses: exec
            with: { command: "true" }
        """;

    private static string? LastLine(string log) => log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    [Fact]
    public async Task Worker_and_distributed_runs_are_refused_on_a_sqlite_store_in_one_line()
    {
        using var dir = new TempDir();
        var flow = dir.File("one.yaml");
        await File.WriteAllTextAsync(flow, OneStepFlow, TestContext.Current.CancellationToken);
        VigilProcess.RunInProcess(dir.Path, null, "worker").ShouldFailWithOneLine("vigil worker needs a PostgreSQL store", "need no worker");
        VigilProcess.RunInProcess(dir.Path, null, "flow", "run", flow, "--distributed").ShouldFailWithOneLine("--distributed needs a PostgreSQL store", "needs no vigil worker");
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "0 5 * * *", "--distributed").ShouldFailWithOneLine("--distributed needs a PostgreSQL store");
        VigilProcess.RunInProcess(dir.Path, null, "worker", "--concurrency", "0").ShouldFailWithOneLine("--concurrency");
        VigilProcess.RunInProcess(dir.Path, null, "flow", "run", flow, "--worker-timeout", "-1").ShouldFailWithOneLine("--worker-timeout -1");
    }

    [Fact]
    public async Task A_distributed_step_no_worker_takes_fails_with_the_reason_and_the_hint()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_noworker_");
        using var dir = new TempDir();
        var flow = dir.File("one.yaml");
        await File.WriteAllTextAsync(flow, OneStepFlow, TestContext.Current.CancellationToken);
        var result = VigilProcess.RunProcess(dir.Path, null, "flow", "run", flow, "--distributed", "--worker-timeout", "2", "--store", db.ConnectionString);
        result.ExitCode.ShouldBe(FlowCommand.FlowFailed, result.StdErr);
        result.StdErr.ShouldContain("no vigil worker took step only within 2 s; start one with `vigil worker`");
        result.StdErr.ShouldNotContain("Exception");
    }

    [Fact]
    public async Task A_distributed_schedule_fires_flow_runs_whose_steps_a_worker_runs()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_dsched_");
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var flow = dir.File("one.yaml");
        await File.WriteAllTextAsync(flow, OneStepFlow, ct);
        var env = new Dictionary<string, string> { ["VIGIL_ARTIFACTS"] = dir.File("shared-artifacts") };
        VigilProcess.RunInProcess(dir.Path, null, "schedule", "add", flow, "--cron", "*/2 * * * * ?", "--distributed", "--store", db.ConnectionString).ShouldSucceed();
        var list = JsonNode.Parse(VigilProcess.RunInProcess(dir.Path, null, "schedule", "list", "--json", "--store", db.ConnectionString).StdOut)!.AsArray();
        list.Single()!["distributed"]!.GetValue<bool>().ShouldBeTrue();

        var scheduler = LongRunningVigil.Start(dir.Path, env, "scheduler", "--store", db.ConnectionString, "--sync-interval", "1");
        var worker = LongRunningVigil.Start(dir.Path, env, "worker", "--name", "solo", "--store", db.ConnectionString);
        try
        {
            (await scheduler.WaitForAsync("ran flow one (distributed) as run", TimeSpan.FromSeconds(60))).ShouldBeTrue(scheduler.Log + "\n---\n" + worker.Log);
        }
        finally
        {
            VigilProcess.RunInProcess(dir.Path, null, "schedule", "pause", "one", "--store", db.ConnectionString).ShouldSucceed();
            scheduler.Stop();
            worker.Stop();
        }

        scheduler.Process.ExitCode.ShouldBe(0, scheduler.Log);
        worker.Process.ExitCode.ShouldBe(0, worker.Log);
        var line = scheduler.Log.Split('\n').First(l => l.Contains("ran flow one (distributed) as run", StringComparison.Ordinal));
        line.ShouldEndWith(": finished");
        var runId = line.Split(" as run ")[1].Split(':')[0];
        var shown = VigilProcess.RunProcess(dir.Path, env, "flow", "show", runId, "--json", "--store", db.ConnectionString); // the flow file is in the shared artifacts
        shown.ShouldSucceed();
        var show = JsonNode.Parse(shown.StdOut)!;
        show["steps"]![0]!["worker"]!.GetValue<string>().ShouldBe("solo");
        show["steps"]![0]!["recovered"]!.GetValue<bool>().ShouldBeFalse();
        worker.Log.ShouldContain($"step only of flow run {runId} (attempt 1): finished");
    }

    /// <summary>
    /// The acceptance line: three <c>vigil worker</c> processes and <c>vigil flow run --distributed</c> on one PostgreSQL
    /// store and one shared artifact folder. The foreach items spread over the workers; the worker running an item is
    /// killed with SIGKILL mid-step; Quartz's cluster recovery reruns that item on another worker; the flow finishes with
    /// every step attempt committed exactly once, and <c>flow show --json</c> says which worker ran what and which item was recovered.
    /// </summary>
    [Fact]
    public async Task Three_workers_share_a_foreach_and_a_killed_worker_s_step_is_recovered_and_committed_once()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_workers_");
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var flowFile = dir.File("fan.yaml");
        await File.WriteAllTextAsync(flowFile, FanFlow, ct);
        var shared = dir.File("shared-artifacts");
        Dictionary<string, string> Env(string home) => new() { ["VIGIL_ARTIFACTS"] = shared, ["VIGIL_HOME"] = dir.File(home) };

        var workers = new[] { "w1", "w2", "w3" }.ToDictionary(
            n => n, n => LongRunningVigil.Start(dir.Path, Env("home-" + n), "worker", "--name", n, "--store", db.ConnectionString));
        LongRunningVigil? run = null;
        string Logs() => string.Join("\n---\n", workers.Select(w => $"{w.Key}:\n{w.Value.Log}").Append($"flow run:\n{run?.Log}"));
        string? killed = null;
        try
        {
            foreach (var w in workers.Values)
            {
                (await w.WaitForAsync("started on the postgres store", TimeSpan.FromSeconds(60))).ShouldBeTrue(Logs());
            }

            run = LongRunningVigil.Start(dir.Path, Env("home-coordinator"), "flow", "run", flowFile, "--distributed", "--store", db.ConnectionString);

            // Kill -9 the first worker seen running an item, mid-step (each item sleeps 2 s).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (killed is null && DateTime.UtcNow < deadline)
            {
                killed = workers.FirstOrDefault(w => LastLine(w.Value.Log) is { } last && last.Contains("step items[", StringComparison.Ordinal) && last.Contains(": running (execution 1)", StringComparison.Ordinal)).Key;
                await Task.Delay(50, ct);
            }

            killed.ShouldNotBeNull(Logs());
            workers[killed].Process.Kill(); // SIGKILL
            await workers[killed].Process.WaitForExitAsync(ct);
            var killedItem = workers[killed].Log.Split('\n').Last(l => l.Contains(": running (execution 1)", StringComparison.Ordinal));
            killedItem = killedItem[(killedItem.IndexOf("step items[", StringComparison.Ordinal) + "step ".Length)..];
            killedItem = killedItem[..(killedItem.IndexOf(']', StringComparison.Ordinal) + 1)];

            (await run.WaitForAsync("flow fan finished", TimeSpan.FromSeconds(90))).ShouldBeTrue(Logs());
            await run.Process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            run.Process.ExitCode.ShouldBe(0, Logs());
            var runId = run.StdOut.Split('\n')[0].Trim();

            // flow show --json tells the story: who ran each item, which one was recovered.
            var show = VigilProcess.RunProcess(dir.Path, Env("home-viewer"), "flow", "show", runId, "--json", "--store", db.ConnectionString);
            show.ShouldSucceed();
            var doc = JsonNode.Parse(show.StdOut)!;
            doc["status"]!.GetValue<string>().ShouldBe("finished");
            var items = doc["steps"]![0]!["items"]!.AsArray();
            items.Count.ShouldBe(6);
            foreach (var item in items)
            {
                item!["status"]!.GetValue<string>().ShouldBe("finished", Logs());
                item["worker"]!.GetValue<string>().ShouldBeOneOf("w1", "w2", "w3");
                item["outputs"]!.AsArray().Count.ShouldBe(1);
            }

            items.Select(i => i!["worker"]!.GetValue<string>()).Distinct().Count().ShouldBeGreaterThan(1, "the items ran on one worker only:\n" + Logs());
            var index = int.Parse(killedItem["items[".Length..^1], CultureInfo.InvariantCulture);
            var recovered = items.Single(i => i!["index"]!.GetValue<int>() == index)!;
            recovered["recovered"]!.GetValue<bool>().ShouldBeTrue(Logs());
            recovered["executions"]!.GetValue<int>().ShouldBeGreaterThanOrEqualTo(2);
            recovered["worker"]!.GetValue<string>().ShouldNotBe(killed);
            recovered["attempts"]!.GetValue<int>().ShouldBe(1); // a recovered execution is the same attempt, not a retry
            // (Another item shows recovered only if its worker stalled past the check-in threshold on a loaded machine; it still committed once.)
            var join = doc["steps"]![1]!;
            join["status"]!.GetValue<string>().ShouldBe("finished");
            join["worker"]!.GetValue<string>().ShouldNotBe(killed);

            // The join read every item's committed output, in item order, from the shared artifact store.
            var allSha = join["outputs"]![0]!["sha256"]!.GetValue<string>();
            (await File.ReadAllTextAsync(Path.Combine(shared, "sha256", allSha[..2], allSha), ct)).ShouldBe("a\nb\nc\nd\ne\nf\n");

            // In the store: one commit per step attempt (7), two executions for the killed item, no Quartz job left behind.
            await using var store = await StoreFactory.OpenAsync(db.ConnectionString, dir.File("home-viewer"), ct);
            var commits = FlowStepCommitStore.For(store);
            foreach (var item in items.Append(join))
            {
                var stepRun = item!["run_id"]!.GetValue<string>();
                var commit = (await commits.FindAsync(stepRun, 1, ct)).ShouldNotBeNull();
                commit.Status.ShouldBe("finished");
                commit.Worker.ShouldBe(item["worker"]!.GetValue<string>());
                (await commits.FindAsync(stepRun, 2, ct)).ShouldBeNull();
                var executions = await commits.ExecutionsAsync(stepRun, 1, ct);
                executions.Count.ShouldBe(item!["executions"]!.GetValue<int>());
                executions.Count.ShouldBeGreaterThanOrEqualTo(item == recovered ? 2 : 1);
                var artifacts = (await store.GetRunAsync(stepRun, ct)).Artifacts;
                artifacts.Count(a => a.Name.StartsWith("outputs/", StringComparison.Ordinal)).ShouldBe(1);
            }

            await using var c = new Npgsql.NpgsqlConnection(db.ConnectionString);
            await c.OpenAsync(ct);
            await using (var q = new Npgsql.NpgsqlCommand("SELECT count(*) FROM flow_step_commits", c))
            {
                ((long)(await q.ExecuteScalarAsync(ct))!).ShouldBe(7L);
            }

            var jobsLeft = -1L;
            for (var i = 0; i < 50 && jobsLeft != 0; i++)
            {
                await using var q = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM {FlowScheduler.TablePrefix}job_details WHERE job_group = '{StepDispatcher.JobGroup}'", c);
                jobsLeft = (long)(await q.ExecuteScalarAsync(ct))!;
                await Task.Delay(100, ct);
            }

            jobsLeft.ShouldBe(0L, Logs());
        }
        finally
        {
            foreach (var w in workers.Values)
            {
                w.Stop();
            }

            run?.Stop();
        }

        foreach (var (name, w) in workers.Where(w => w.Key != killed))
        {
            w.Process.ExitCode.ShouldBe(0, w.Log);
            w.Log.ShouldContain($"worker {name} stopped after");
            w.Log.ShouldNotContain("Exception");
        }

        TestContext.Current.SendDiagnosticMessage($"killed {killed}; by worker: {string.Join(", ", workers.Select(w => $"{w.Key}={w.Value.Log.Split('\n').Count(l => l.Contains("; committed", StringComparison.Ordinal))}"))}");
    }
}
