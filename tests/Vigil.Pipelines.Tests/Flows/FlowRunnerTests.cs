using System.Collections.Concurrent;
using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Pipelines.Tests.Flows;

/// <summary>A store in a temporary folder and a registry with the built-in kinds plus the test kinds below.</summary>
internal sealed class FlowFixture : IAsyncDisposable
{
    private FlowFixture(string dir, ITrackingStore store, TestKinds kinds)
    {
        Dir = dir;
        Store = store;
        Kinds = kinds;
        Registry = StepRegistry.CreateDefault().Add(kinds.Count).Add(kinds.Flaky).Add(kinds.Hang).Add(kinds.Concurrent).Add(kinds.Fail);
        Runner = new FlowRunner(store, Registry, new FlowRunnerOptions { WorkDirectory = Path.Combine(dir, "work") });
    }

    public string Dir { get; }

    public ITrackingStore Store { get; }

    public TestKinds Kinds { get; }

    public StepRegistry Registry { get; }

    public FlowRunner Runner { get; }

    public static async Task<FlowFixture> CreateAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vigil-flow-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var store = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(dir, "vigil.db"), Path.Combine(dir, "home"));
        return new FlowFixture(dir, store, new TestKinds());
    }

    public FlowDefinition Parse(string yaml) => FlowYaml.Parse(yaml, "test.yaml", Registry);

    /// <summary>Parses <paramref name="yaml"/> and runs it (the arrange-and-act of most flow tests).</summary>
    public Task<FlowResult> RunAsync(string yaml, IReadOnlyDictionary<string, string>? parameters = null, IProgress<FlowEvent>? progress = null) =>
        Runner.RunAsync(Parse(yaml), parameters, progress, TestContext.Current.CancellationToken);

    /// <summary>The first output of <paramref name="step"/> (its JSON report or result), parsed.</summary>
    public async Task<System.Text.Json.Nodes.JsonNode> OutputJsonAsync(FlowResult result, string step)
    {
        var output = result.Steps.First(s => s.Name == step).Outputs[0];
        var ct = TestContext.Current.CancellationToken;
        return System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(await Store.Artifacts.GetVerifiedPathAsync(output.Sha256, "test", ct), ct))!;
    }

    /// <summary>A one-step flow whose <c>flaky</c> step <c>shaky</c> fails <paramref name="failures"/> times with the given retry policy.</summary>
    public Task<FlowResult> RunShakyAsync(int retries, string backoff, int failures, IProgress<FlowEvent>? progress = null) =>
        RunAsync($$"""
            name: retry
            steps:
              - name: shaky
                uses: flaky
                retries: {{retries}}
                backoff: {{backoff}}
                with: { failures: {{failures}} }
            """, null, progress);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Step kinds that count their executions, fail on purpose, hang, or measure their own concurrency.</summary>
internal sealed class TestKinds
{
    public CountKind Count { get; } = new();

    public FlakyKind Flaky { get; } = new();

    public HangKind Hang { get; } = new();

    public ConcurrentKind Concurrent { get; } = new();

    public FailKind Fail { get; } = new();

    /// <summary>Writes <c>text</c> (and the input's content, when connected) to <c>out</c>; counts executions per step name.</summary>
    internal sealed class CountKind : StepKind
    {
        public ConcurrentDictionary<string, int> Runs { get; } = new();

        public override string Name => "count";

        public override string Description => "test: writes its text";

        public override IReadOnlyList<StepParameter> Parameters => [new("text", "what to write", "x")];

        public override IReadOnlyList<StepPort> Inputs => [new("in", "optional input", Required: false, Many: true)];

        public override IReadOnlyList<StepPort> Outputs => [new("out", "text")];

        public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
        {
            Runs.AddOrUpdate(context.Label, 1, (_, n) => n + 1);
            var text = context.String("text");
            if (context.HasInput("in"))
            {
                foreach (var p in await context.InputPathsAsync("in", cancellationToken))
                {
                    text += "<" + await File.ReadAllTextAsync(p, cancellationToken);
                }
            }

            await context.WriteOutputTextAsync("out", "out.txt", text, cancellationToken);
            context.Metric("length", text.Length);
        }
    }

    /// <summary>Fails its first <c>failures</c> attempts with a retryable error, then writes its output.</summary>
    internal sealed class FlakyKind : StepKind
    {
        public ConcurrentDictionary<string, int> Attempts { get; } = new();

        public override string Name => "flaky";

        public override string Description => "test: fails first";

        public override IReadOnlyList<StepParameter> Parameters => [new("failures", "attempts that fail", "1")];

        public override IReadOnlyList<StepPort> Outputs => [new("out", "text")];

        public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
        {
            var n = Attempts.AddOrUpdate(context.Label, 1, (_, k) => k + 1);
            if (n <= context.Long("failures"))
            {
                throw new IOException($"disk hiccup {n.ToString(CultureInfo.InvariantCulture)}");
            }

            await context.WriteOutputTextAsync("out", "out.txt", "ok", cancellationToken);
        }
    }

    /// <summary>Waits until cancelled (a step that never finishes on its own).</summary>
    internal sealed class HangKind : StepKind
    {
        public override string Name => "hang";

        public override string Description => "test: hangs";

        public override Task ExecuteAsync(StepContext context, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
    }

    /// <summary>
    /// Tracks how many items run at once: each item waits (with a deadline) until <c>expect</c> items run together or every
    /// item has started, so the bound is reached when it can be, and records the highest concurrency seen.
    /// </summary>
    internal sealed class ConcurrentKind : StepKind
    {
        private int _current;
        private int _started;

        public int Max { get; private set; }

        public override string Name => "concurrent";

        public override string Description => "test: measures concurrency";

        public override IReadOnlyList<StepParameter> Parameters => [new("expect", "concurrency to wait for"), new("items", "item count"), new("value", "this item's value")];

        public override IReadOnlyList<StepPort> Outputs => [new("out", "the item's value")];

        public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _current);
            var started = Interlocked.Increment(ref _started);
            lock (this)
            {
                Max = Math.Max(Max, now);
            }

            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (Volatile.Read(ref _current) < context.Long("expect") && Volatile.Read(ref _started) < context.Long("items") && DateTime.UtcNow < deadline)
                {
                    await Task.Yield();
                    await Task.Delay(5, cancellationToken);
                }

                lock (this)
                {
                    Max = Math.Max(Max, Volatile.Read(ref _current));
                }

                await context.WriteOutputTextAsync("out", "out.txt", context.String("value"), cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _current);
            }

            _ = started;
        }
    }

    /// <summary>Fails with a failed check (not retried) while <see cref="Failing"/> is true.</summary>
    internal sealed class FailKind : StepKind
    {
        public bool Failing { get; set; } = true;

        public int Runs { get; private set; }

        public override string Name => "check";

        public override string Description => "test: a check";

        public override IReadOnlyList<StepPort> Inputs => [new("in", "input")];

        public override IReadOnlyList<StepPort> Outputs => [new("out", "text")];

        public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
        {
            Runs++;
            if (Failing)
            {
                throw new StepFailedException("amount: 12% of values outside the reference range");
            }

            await context.WriteOutputTextAsync("out", "out.txt", "checked", cancellationToken);
        }
    }
}

public sealed class FlowRunnerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retries_with_exponential_backoff_until_an_attempt_succeeds()
    {
        await using var f = await FlowFixture.CreateAsync();
        var events = new ConcurrentQueue<FlowEvent>();
        var result = await f.RunShakyAsync(retries: 3, backoff: "100ms", failures: 2, new SyncProgress(events.Enqueue));

        result.Status.ShouldBe("finished");
        var step = result.Steps.ShouldHaveSingleItem();
        step.Attempts.ShouldBe(3);
        f.Kinds.Flaky.Attempts["shaky"].ShouldBe(3);
        // Exponential backoff from 100 ms: the first retry waits 0.1 s, the second 0.2 s (no jitter).
        var retries = events.Where(e => e.Kind == FlowEventKind.StepRetrying).Select(e => e.Message).ToList();
        retries.Count.ShouldBe(2);
        retries[0].ShouldContain("attempt 1 failed (disk hiccup 1); retrying in 0.1 s");
        retries[1].ShouldContain("attempt 2 failed (disk hiccup 2); retrying in 0.2 s");

        var run = await f.Store.GetRunAsync(step.RunId!, Ct);
        run.Status.ShouldBe(RunStatus.Finished);
        run.LatestMetrics["attempts"].Value.ShouldBe(3);
        run.ParentRunId.ShouldBe(result.RunId);
    }

    [Fact]
    public async Task Retries_give_up_after_the_last_attempt_with_its_reason()
    {
        await using var f = await FlowFixture.CreateAsync();
        var result = await f.RunShakyAsync(retries: 1, backoff: "10ms", failures: 5);

        result.Status.ShouldBe("failed");
        result.Error.ShouldBe("step shaky failed: disk hiccup 2");
        result.Steps.ShouldHaveSingleItem().Attempts.ShouldBe(2);
    }

    [Fact]
    public async Task A_step_over_its_timeout_fails_with_the_timeout_as_reason()
    {
        await using var f = await FlowFixture.CreateAsync();
        var result = await f.RunAsync("""
            name: slow
            steps:
              - name: stuck
                uses: hang
                timeout: 200ms
                retries: 1
                backoff: 10ms
            """);

        result.Status.ShouldBe("failed");
        var step = result.Steps.ShouldHaveSingleItem();
        step.Attempts.ShouldBe(2); // a timeout is retried like any transient failure
        step.Error.ShouldBe("timed out after 0.2 s");
        (await f.Store.GetRunAsync(step.RunId!, Ct)).Status.ShouldBe(RunStatus.Failed);
    }

    [Fact]
    public async Task Foreach_runs_at_most_parallel_items_at_once_and_joins_outputs_in_item_order()
    {
        await using var f = await FlowFixture.CreateAsync();
        var result = await f.RunAsync("""
            name: fan
            steps:
              - name: fan
                uses: concurrent
                foreach: [a, b, c, d, e, f]
                parallel: 2
                with: { expect: 2, items: 6, value: "${item}" }
              - name: join
                uses: count
                inputs: { in: fan.out }
                with: { text: joined }
            """);

        result.Status.ShouldBe("finished", result.Error);
        f.Kinds.Concurrent.Max.ShouldBe(2);
        var fan = result.Steps[0];
        fan.Items.Count.ShouldBe(6);
        fan.Outputs.Count.ShouldBe(6);
        var joined = await File.ReadAllTextAsync(await f.Store.Artifacts.GetVerifiedPathAsync(result.Steps[1].Outputs.ShouldHaveSingleItem().Sha256, "test", Ct), Ct);
        joined.ShouldBe("joined<a<b<c<d<e<f");
        var itemRuns = await f.Store.ListRunsAsync("flows", new RunFilter { ParentRunId = fan.RunId }, Ct);
        itemRuns.Count.ShouldBe(6);
    }

    [Fact]
    public async Task A_failed_check_stops_the_flow_at_once_with_its_reason_and_no_retry()
    {
        await using var f = await FlowFixture.CreateAsync();
        var result = await f.RunAsync(ChainYaml);

        result.Status.ShouldBe("failed");
        result.Error.ShouldBe("step check failed: amount: 12% of values outside the reference range");
        f.Kinds.Fail.Runs.ShouldBe(1); // retries: 3, but a failed check is not retried
        var loaded = await FlowState.LoadAsync(f.Store, f.Registry, result.RunId, Ct);
        loaded.Record.Status.ShouldBe("failed");
        loaded.Record.Steps.Select(s => s.Status).ShouldBe(["finished", "failed", "pending"]);
        loaded.Record.Steps[1].Error.ShouldBe("amount: 12% of values outside the reference range");
        loaded.Record.Steps[1].Attempts.ShouldBe(1);
    }

    private const string ChainYaml = """
        name: chain
        params: { text: hello }
        steps:
          - name: make
            uses: count
            with: { text: "${params.text}" }
          - name: check
            uses: check
            retries: 3
            backoff: 10ms
            inputs: { in: make.out }
          - name: after
            uses: count
            inputs: { in: check.out }
        """;

    [Fact]
    public async Task Resume_after_a_failed_step_reuses_finished_steps_with_the_same_outputs_and_runs_the_rest()
    {
        await using var f = await FlowFixture.CreateAsync();
        var first = await f.Runner.RunAsync(f.Parse(ChainYaml), null, null, Ct);
        first.Status.ShouldBe("failed");
        var made = first.Steps[0].Outputs.ShouldHaveSingleItem();

        f.Kinds.Fail.Failing = false; // the cause is fixed
        var resumed = await f.Runner.ResumeAsync(first.RunId, null, null, Ct);

        resumed.Status.ShouldBe("finished", resumed.Error);
        resumed.RunId.ShouldNotBe(first.RunId);
        f.Kinds.Count.Runs["make"].ShouldBe(1); // not run again
        resumed.Steps[0].Reused.ShouldBeTrue();
        resumed.Steps[0].ReusedFrom.ShouldBe(first.Steps[0].RunId);
        resumed.Steps[0].Outputs.ShouldHaveSingleItem().Sha256.ShouldBe(made.Sha256);
        resumed.Steps[1].Reused.ShouldBeFalse();
        resumed.Steps[2].Status.ShouldBe("finished");
        var record = (await FlowState.LoadAsync(f.Store, f.Registry, resumed.RunId, Ct)).Record;
        record.ResumedFrom.ShouldBe(first.RunId);
        record.Steps.Select(s => (s.Name, s.Status, s.Reused)).ShouldBe([("make", "finished", true), ("check", "finished", false), ("after", "finished", false)]);
        record.Steps[0].Outputs.ShouldHaveSingleItem().Sha256.ShouldBe(made.Sha256);
    }

    [Fact]
    public async Task Resume_with_a_changed_parameter_reruns_the_steps_whose_inputs_change()
    {
        await using var f = await FlowFixture.CreateAsync();
        f.Kinds.Fail.Failing = false;
        var first = await f.Runner.RunAsync(f.Parse(ChainYaml), null, null, Ct);
        first.Status.ShouldBe("finished");

        var resumed = await f.Runner.ResumeAsync(first.RunId, new Dictionary<string, string> { ["text"] = "changed" }, null, Ct);

        resumed.Status.ShouldBe("finished");
        // make's text changed, so make and check (whose input is make's output) run again; check writes the same
        // bytes as before, so after's input hash is unchanged and after is reused.
        resumed.Steps.Select(s => s.Reused).ShouldBe([false, false, true]);
        f.Kinds.Count.Runs["make"].ShouldBe(2);
        resumed.Steps[0].Outputs[0].Sha256.ShouldNotBe(first.Steps[0].Outputs[0].Sha256);
    }

    [Fact]
    public async Task Resume_of_a_foreach_reuses_the_items_that_finished()
    {
        await using var f = await FlowFixture.CreateAsync();
        var yaml = """
            name: items
            steps:
              - name: each
                uses: flaky
                foreach: [{failures: 0}, {failures: 0}, {failures: 9}]
                parallel: 1
                with: { failures: "${item.failures}" }
            """;

        // One at a time, so items 0 and 1 have finished when item 2 fails (side by side, the failure stops the items still
        // running, by design, and which ones those are is a race).
        var first = await f.Runner.RunAsync(f.Parse(yaml), null, null, Ct);
        first.Status.ShouldBe("failed");
        first.Error!.ShouldContain("item 2 (failures=9): disk hiccup 1");

        f.Kinds.Flaky.Attempts["each[2]"] = 100; // from now on item 2 succeeds
        var resumed = await f.Runner.ResumeAsync(first.RunId, null, null, Ct);

        resumed.Status.ShouldBe("finished", resumed.Error);
        resumed.Steps[0].Items.Select(i => i.Reused).ShouldBe([true, true, false]);
        f.Kinds.Flaky.Attempts["each[0]"].ShouldBe(1);
        f.Kinds.Flaky.Attempts["each[1]"].ShouldBe(1);
    }

    [Theory]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: nope\n", "test.yaml line 3: step 'a': unknown step kind 'nope'; kinds are:")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: count\n    with: { txt: 1 }\n", "'count' has no parameter 'txt'; its parameters are: text")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: check\n    inputs: { in: b.out }\n", "input 'in' = 'b.out' is neither STEP.OUTPUT of an earlier step nor file:PATH")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: count\n  - name: b\n    uses: check\n    inputs: { in: a.data }\n", "step 'a' has no output 'data'; its outputs are: out")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: count\n    with: { text: \"${params.nope}\" }\n", "'${params.nope}' names no flow parameter")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: count\n    timeout: soon\n", "'timeout': 'soon' is not a duration like 500ms, 30s, 5m or 2h")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: check\n", "'check' needs input 'in'")]
    [InlineData("name: x\nsteps:\n  - name: a\n    uses: count\n    parallel: 2\n", "'parallel' applies to a foreach step only")]
    public void A_bad_flow_file_is_refused_before_anything_runs_with_the_reason(string yaml, string message)
    {
        var registry = StepRegistry.CreateDefault().Add(new TestKinds.CountKind()).Add(new TestKinds.FailKind());
        Should.Throw<FlowException>(() => FlowYaml.Parse(yaml, "test.yaml", registry)).Message.ShouldContain(message);
    }

    [Fact]
    public void The_built_in_retrain_flow_parses_with_its_steps_in_order()
    {
        var flow = FlowCatalog.Load("retrain", StepRegistry.CreateDefault());
        flow.Steps.Select(s => s.Name).ShouldBe(["ingest", "validate", "drift", "split", "candidates", "evaluate", "leaderboard", "promote", "score", "write-scores", "write-metrics", "sync", "notify"]);
        flow.Step("candidates")!.ForEach.ShouldNotBeNull();
        flow.Parameters.Keys.ShouldContain("sample-size");
    }

    [Fact]
    public async Task An_unknown_flow_parameter_is_refused_naming_the_flow_parameters()
    {
        await using var f = await FlowFixture.CreateAsync();
        var e = await Should.ThrowAsync<FlowException>(() => f.Runner.RunAsync(f.Parse(ChainYaml), new Dictionary<string, string> { ["txt"] = "x" }, null, Ct));
        e.Message.ShouldBe("--param txt: flow 'chain' has no such parameter; its params are: text");
    }

    private sealed class SyncProgress(Action<FlowEvent> handler) : IProgress<FlowEvent>
    {
        public void Report(FlowEvent value) => handler(value);
    }
}
