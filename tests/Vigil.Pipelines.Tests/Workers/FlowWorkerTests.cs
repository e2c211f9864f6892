using System.Collections.Concurrent;
using Vigil.Serving.Tests;
using Vigil.Tracking;

namespace Vigil.Pipelines.Tests.Workers;

/// <summary>The worker's side of a distributed step, in process: run the attempt, commit it once, discard a duplicate.</summary>
public sealed class FlowWorkerTests : IDisposable
{
    private const string MakeFlow = """
        name: make
        steps:
          - name: make
            uses: exec
            outputs: [x.txt]
            with: { command: "sleep 0.3; echo made > ${outputs.x}" }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vigil-worker-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<string> _log = new();

    public FlowWorkerTests() => Directory.CreateDirectory(_dir);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_worker_is_refused_on_a_sqlite_store()
    {
        await using var store = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(_dir, "vigil.db"), Path.Combine(_dir, "home"), Ct);
        var e = await Should.ThrowAsync<FlowException>(() => FlowWorker.StartAsync(store, StepRegistry.CreateDefault(), cancellationToken: Ct));
        e.Message.ShouldStartWith("vigil worker needs a PostgreSQL store");
        e.Message.ShouldContain("need no worker");
        var d = await Should.ThrowAsync<FlowException>(() => StepDispatcher.CreateAsync(store, cancellationToken: Ct));
        d.Message.ShouldStartWith("--distributed needs a PostgreSQL store");
    }

    [Fact]
    public async Task Two_executions_of_one_attempt_commit_once_and_the_late_one_discards_its_outputs()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_worker_");
        await using var store = await StoreFactory.OpenAsync(db.ConnectionString, Path.Combine(_dir, "home"), Ct);
        var registry = StepRegistry.CreateDefault();
        var flowFile = Path.Combine(_dir, "make.yaml");
        await File.WriteAllTextAsync(flowFile, MakeFlow, Ct);

        // A flow run in the store (run locally) gives the worker a flow file, a step run and its resolved parameters.
        var local = await new FlowRunner(store, registry, new FlowRunnerOptions { WorkDirectory = Path.Combine(_dir, "work") }).RunAsync(FlowCatalog.Load(flowFile, registry), cancellationToken: Ct);
        local.Succeeded.ShouldBeTrue(local.Error);
        var stepRun = local.Steps[0].RunId!;
        var parameters = (await store.GetRunAsync(stepRun, Ct)).Params;
        var payload = StepJobPayload.Write(new StepAttemptRequest(local.RunId, "make", stepRun, -1, 7, parameters, new Dictionary<string, IReadOnlyList<StepArtifact>>(), null));

        await using var worker = await FlowWorker.StartAsync(store, registry, new FlowWorkerOptions { Name = "t1", WorkDirectory = Path.Combine(_dir, "w"), Log = _log.Enqueue }, Ct);

        // Two executions of attempt 7 at once (as after a recovery that raced the original): both run, one commits.
        await Task.WhenAll(worker.RunJobAsync(payload, "job-a", false, Ct), worker.RunJobAsync(payload, "job-b", true, Ct));
        var commits = FlowStepCommitStore.For(store);
        var commit = (await commits.FindAsync(stepRun, 7, Ct)).ShouldNotBeNull();
        commit.Status.ShouldBe("finished", string.Join("\n", _log));
        commit.Worker.ShouldBe("t1");
        var outputs = FlowTags.ReadArtifacts(commit.OutputsJson);
        outputs.ShouldHaveSingleItem().Name.ShouldBe("x");
        outputs[0].Sha256.ShouldBe(local.Steps[0].Outputs[0].Sha256); // the same content, content-addressed
        (await store.Artifacts.ContainsAsync(outputs[0].Sha256, Ct)).ShouldBeTrue();
        (await commits.ExecutionsAsync(stepRun, 7, Ct)).Count.ShouldBe(2);
        _log.Count(l => l.EndsWith("; committed", StringComparison.Ordinal)).ShouldBe(1, string.Join("\n", _log));
        _log.Count(l => l.Contains("outputs discarded", StringComparison.Ordinal)).ShouldBe(1, string.Join("\n", _log));

        // A third execution after the commit does nothing.
        await worker.RunJobAsync(payload, "job-c", true, Ct);
        _log.ShouldContain(l => l.Contains("skipped, already finished by t1", StringComparison.Ordinal));
        (await commits.ExecutionsAsync(stepRun, 7, Ct)).Count.ShouldBe(2);
        worker.Running.ShouldBe(0);
        worker.Ran.ShouldBe(3);
    }
}
