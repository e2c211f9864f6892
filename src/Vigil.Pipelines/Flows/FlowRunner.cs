using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Vigil.Data;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>What a <see cref="FlowEvent"/> reports.</summary>
public enum FlowEventKind
{
    /// <summary>The flow run exists (the first event; <see cref="FlowEvent.RunId"/> is its id).</summary>
    FlowStarted,
    /// <summary>A step (or a foreach item) started an attempt.</summary>
    StepStarted,
    /// <summary>A step's output was taken from an earlier run instead of running it.</summary>
    StepReused,
    /// <summary>An attempt failed and will be retried after a delay.</summary>
    StepRetrying,
    /// <summary>A step (or item) finished.</summary>
    StepFinished,
    /// <summary>A step (or item) failed for good.</summary>
    StepFailed,
    /// <summary>A line the step logged.</summary>
    StepLog,
    /// <summary>The flow run ended (finished, failed or killed).</summary>
    FlowEnded,
}

/// <summary>A progress event of a flow run.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="RunId">The flow run.</param>
/// <param name="Step">The step (<c>STEP</c> or <c>STEP[i]</c> for an item), or null.</param>
/// <param name="Message">One readable line.</param>
public sealed record FlowEvent(FlowEventKind Kind, string RunId, string? Step, string Message);

/// <summary>How a flow run ended.</summary>
/// <param name="RunId">The flow run.</param>
/// <param name="Status"><c>finished</c>, <c>failed</c> or <c>killed</c>.</param>
/// <param name="Error">The failed step and why, or null.</param>
/// <param name="Steps">Every step reached, in order.</param>
public sealed record FlowResult(string RunId, string Status, string? Error, IReadOnlyList<StepRecord> Steps)
{
    /// <summary>True when every step finished.</summary>
    public bool Succeeded => Status == "finished";
}

/// <summary>Settings of a <see cref="FlowRunner"/>.</summary>
public sealed record FlowRunnerOptions
{
    /// <summary>The folder for attempts' scratch files (default: a folder under the system temp folder).</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "vigil-flows");

    /// <summary>The clock for durations.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// When set, every step attempt (and foreach item) runs as a Quartz job on a <c>vigil worker</c> through this dispatcher
    /// (a distributed flow run, PostgreSQL stores); null (the default): steps run in this process.
    /// </summary>
    public StepDispatcher? Dispatcher { get; init; }
}

/// <summary>
/// Runs flows. Each flow run is a run in the <c>flows</c> experiment (params = the flow's parameters, the flow file as
/// artifact <c>flow.yaml</c>); each step a child run (its resolved params, metrics, <c>log.txt</c>, attempts, failure
/// reason, committed outputs, and whether it was reused); each foreach item a child of its step's run. Steps run in the
/// order written; a foreach step runs its items at most <see cref="StepDefinition.Parallel"/> at a time and joins their
/// outputs in item order. A step's outputs are content-addressed files in the artifact store, committed once, when an
/// attempt succeeds. <see cref="ResumeAsync"/> starts a new flow run that reuses every step (and foreach item) of an
/// earlier run that finished with the same kind, parameters and input hashes, and runs the rest.
/// </summary>
public sealed class FlowRunner
{
    private readonly ITrackingStore _store;
    private readonly StepRegistry _registry;
    private readonly FlowRunnerOptions _options;

    /// <summary>A runner over <paramref name="store"/> with the step kinds of <paramref name="registry"/>.</summary>
    public FlowRunner(ITrackingStore store, StepRegistry registry, FlowRunnerOptions? options = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _options = options ?? new FlowRunnerOptions();
    }

    /// <summary>
    /// Runs <paramref name="flow"/> with its parameter defaults overridden by <paramref name="parameters"/> (each must be a
    /// parameter of the flow). A failing step ends the flow FAILED with the step and reason in the result, not an exception;
    /// cancellation ends it KILLED and throws.
    /// </summary>
    /// <exception cref="FlowException">A parameter the flow does not have.</exception>
    public Task<FlowResult> RunAsync(FlowDefinition flow, IReadOnlyDictionary<string, string>? parameters = null, IProgress<FlowEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        return ExecuteAsync(flow, Merge(flow, parameters), null, null, progress, cancellationToken);
    }

    /// <summary>
    /// As <see cref="RunAsync(FlowDefinition, IReadOnlyDictionary{string, string}?, IProgress{FlowEvent}?, CancellationToken)"/>,
    /// with <paramref name="tags"/> set on the flow run when it is created (e.g. the schedule and fire time of a scheduled run).
    /// </summary>
    /// <exception cref="FlowException">A parameter the flow does not have.</exception>
    public Task<FlowResult> RunAsync(FlowDefinition flow, IReadOnlyDictionary<string, string>? parameters, IReadOnlyDictionary<string, string> tags, IProgress<FlowEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(tags);
        return ExecuteAsync(flow, Merge(flow, parameters), null, null, progress, cancellationToken, tags);
    }

    /// <summary>
    /// Resumes flow run <paramref name="runId"/> as a new flow run: the same flow file and parameters (overridden by
    /// <paramref name="parameters"/>); every step whose kind, parameters and input hashes are unchanged and that finished
    /// in that run is reused (same outputs, not run again), the rest run. A run whose process died on this host is first
    /// marked failed ("interrupted"); a run still running is refused.
    /// </summary>
    /// <exception cref="FlowException">Not a flow run, or it is still running.</exception>
    public async Task<FlowResult> ResumeAsync(string runId, IReadOnlyDictionary<string, string>? parameters = null, IProgress<FlowEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        var previous = await FlowState.LoadAsync(_store, _registry, runId, cancellationToken).ConfigureAwait(false);
        if (previous.Record.Status == "running")
        {
            var run = await _store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
            throw new FlowException($"flow run {runId} is still running (process {run.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "?"} on {run.Host ?? "?"}); " +
                "wait for it, or end it first (vigil runs fail ID) if that process is gone");
        }

        if (previous.Record.Status == "interrupted")
        {
            await FlowState.MarkInterruptedAsync(_store, previous, cancellationToken).ConfigureAwait(false);
        }

        var merged = new Dictionary<string, string>(previous.Record.Parameters, StringComparer.Ordinal);
        foreach (var (k, v) in parameters ?? new Dictionary<string, string>())
        {
            if (!previous.Definition.Parameters.ContainsKey(k))
            {
                throw new FlowException($"--param {k}: flow '{previous.Definition.Name}' has no such parameter; its params are: {string.Join(", ", previous.Definition.Parameters.Keys)}");
            }

            merged[k] = v;
        }

        return await ExecuteAsync(previous.Definition, merged, runId, previous.Record, progress, cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, string> Merge(FlowDefinition flow, IReadOnlyDictionary<string, string>? parameters)
    {
        var merged = new Dictionary<string, string>(flow.Parameters, StringComparer.Ordinal);
        foreach (var (k, v) in parameters ?? new Dictionary<string, string>())
        {
            if (!flow.Parameters.ContainsKey(k))
            {
                throw new FlowException($"--param {k}: flow '{flow.Name}' has no such parameter; its params are: {(flow.Parameters.Count == 0 ? "(none)" : string.Join(", ", flow.Parameters.Keys))}");
            }

            merged[k] = v;
        }

        return merged;
    }

    private async Task<FlowResult> ExecuteAsync(
        FlowDefinition flow, IReadOnlyDictionary<string, string> parameters, string? resumedFrom, FlowRunRecord? previous, IProgress<FlowEvent>? progress, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? extraTags = null)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in extraTags ?? new Dictionary<string, string>())
        {
            tags[k] = v;
        }

        tags[FlowTags.Kind] = "flow";
        tags[FlowTags.FlowName] = flow.Name;
        if (_options.Dispatcher is not null)
        {
            tags[FlowTags.Distributed] = "true";
        }

        if (resumedFrom is not null)
        {
            tags[FlowTags.ResumedFrom] = resumedFrom;
        }

        var parent = await _store.CreateRunAsync(FlowTags.Experiment, flow.Name, tags, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        var context = new FlowRunContext(flow, parent.RunId, _store, new ModelLifecycle(_store, _options.Time), parameters, progress);
        try
        {
            if (parameters.Count > 0)
            {
                await _store.LogParamsAsync(parent.RunId, parameters, CancellationToken.None).ConfigureAwait(false);
            }

            using (var yaml = new MemoryStream(Encoding.UTF8.GetBytes(flow.Source)))
            {
                await _store.LogArtifactAsync(parent.RunId, FlowTags.DefinitionArtifact, yaml, CancellationToken.None).ConfigureAwait(false);
            }

            context.Report(FlowEventKind.FlowStarted, null, resumedFrom is null
                ? $"flow {flow.Name}: run {parent.RunId} ({flow.Steps.Count.ToString(CultureInfo.InvariantCulture)} steps)"
                : $"flow {flow.Name}: run {parent.RunId} resumes {resumedFrom}");

            foreach (var step in flow.Steps)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var prior = previous?.Steps.FirstOrDefault(s => s.Name == step.Name);
                var record = await RunStepAsync(context, step, prior, cancellationToken).ConfigureAwait(false);
                context.Completed(step.Name, record);
                if (record.Status != "finished")
                {
                    var error = $"step {step.Name} failed: {record.Error}";
                    await _store.SetTagsAsync(parent.RunId, new Dictionary<string, string> { [FlowTags.Error] = error }, CancellationToken.None).ConfigureAwait(false);
                    await _store.EndRunAsync(parent.RunId, RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
                    context.Report(FlowEventKind.FlowEnded, null, $"flow {flow.Name} failed: {error}");
                    return new FlowResult(parent.RunId, "failed", error, context.CompletedSteps);
                }
            }

            await _store.EndRunAsync(parent.RunId, RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
            context.Report(FlowEventKind.FlowEnded, null, $"flow {flow.Name} finished");
            return new FlowResult(parent.RunId, "finished", null, context.CompletedSteps);
        }
        catch (Exception e)
        {
            var cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
            await TryEndAsync(parent.RunId, cancelled ? RunStatus.Killed : RunStatus.Failed, cancelled ? "cancelled" : Reason(e)).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<StepRecord> RunStepAsync(FlowRunContext flow, StepDefinition step, StepRecord? prior, CancellationToken cancellationToken)
    {
        var kind = _registry.Find(step.Kind) ?? throw new FlowException($"step {step.Name}: unknown step kind '{step.Kind}'");
        var started = _options.Time.GetUtcNow();
        IReadOnlyList<FlowItem>? items;
        IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> inputs;
        string baseKey;
        string? state;
        try
        {
            items = StepAttempt.Items(flow, step);
            inputs = await ResolveInputsAsync(flow, step, cancellationToken).ConfigureAwait(false);
            var resolved = flow.ResolveParameters(kind, step, null);
            state = await kind.StateAsync(_store, resolved, cancellationToken).ConfigureAwait(false);
            baseKey = Key(kind, step, resolved, inputs, null, state);
        }
        catch (VigilException e)
        {
            // A step that cannot even be set up (a missing input file, a bad foreach parameter) fails with a run of its own.
            var run = await _store.CreateRunAsync(FlowTags.Experiment, step.Name, StepTags(step, "step"), parentRunId: flow.RunId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            await _store.SetTagsAsync(run.RunId, new Dictionary<string, string> { [FlowTags.Error] = e.Message, [FlowTags.Attempts] = "0" }, CancellationToken.None).ConfigureAwait(false);
            await _store.EndRunAsync(run.RunId, RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
            flow.Report(FlowEventKind.StepFailed, step.Name, $"{step.Name}: failed: {e.Message}");
            return new StepRecord { Name = step.Name, Kind = step.Kind, RunId = run.RunId, Status = "failed", Error = e.Message, Started = started, Ended = _options.Time.GetUtcNow() };
        }

        if (items is null)
        {
            return await RunTaskAsync(flow, kind, step, flow.RunId, "step", null, -1, inputs, baseKey, prior, cancellationToken).ConfigureAwait(false);
        }

        var itemKeys = items.Select((item, i) => Key(kind, step, flow.ResolveParameters(kind, step, item), inputs, item.ToString(), state)).ToList();
        var stepKey = Hash(baseKey + "|" + string.Join("|", itemKeys));
        if (prior is { Status: "finished" } && prior.Key == stepKey && await AllPresentAsync(prior.Outputs, cancellationToken).ConfigureAwait(false))
        {
            return await ReuseAsync(flow, step, flow.RunId, "step", null, -1, stepKey, prior, cancellationToken).ConfigureAwait(false);
        }

        var tags = StepTags(step, "step");
        tags[FlowTags.Key] = stepKey;
        tags[FlowTags.Reused] = "false";
        var stepRun = await _store.CreateRunAsync(FlowTags.Experiment, step.Name, tags, parentRunId: flow.RunId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        await _store.LogParamsAsync(stepRun.RunId, new Dictionary<string, string>
        {
            ["foreach.items"] = items.Count.ToString(CultureInfo.InvariantCulture),
            ["foreach.parallel"] = step.Parallel.ToString(CultureInfo.InvariantCulture),
        }, CancellationToken.None).ConfigureAwait(false);
        flow.Report(FlowEventKind.StepStarted, step.Name, $"{step.Name}: foreach over {items.Count.ToString(CultureInfo.InvariantCulture)} items, {step.Parallel.ToString(CultureInfo.InvariantCulture)} at a time");
        var records = new StepRecord[items.Count];
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = step.Parallel, CancellationToken = cancellationToken }, async (i, ct) =>
            {
                var priorItem = prior?.Items.FirstOrDefault(x => x.Index == i);
                records[i] = await RunTaskAsync(flow, kind, step, stepRun.RunId, "item", items[i], i, inputs, itemKeys[i], priorItem, ct).ConfigureAwait(false);
                if (records[i].Status != "finished")
                {
                    throw new StepItemFailed(records[i]);
                }
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && ((e as StepItemFailed)?.Record ?? records.FirstOrDefault(r => r is { Status: "failed" })) is not null)
        {
            // The first failed item stops the others (their runs end KILLED; resume runs them again).
            var failed = (e as StepItemFailed)?.Record ?? records.First(r => r is { Status: "failed" })!;
            var error = $"item {failed.Index.ToString(CultureInfo.InvariantCulture)} ({failed.Item}): {failed.Error}";
            await EndStepAsync(stepRun.RunId, RunStatus.Failed, error, records).ConfigureAwait(false);
            return Summarize(step, stepRun.RunId, "failed", error, started, records, stepKey);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await EndStepAsync(stepRun.RunId, RunStatus.Killed, "cancelled", records).ConfigureAwait(false);
            throw;
        }

        // The join: every item's outputs, in item order.
        var outputs = records.SelectMany(r => r.Outputs).ToList();
        await _store.SetTagsAsync(stepRun.RunId, new Dictionary<string, string>
        {
            [FlowTags.Outputs] = FlowTags.WriteArtifacts(outputs),
            [FlowTags.Attempts] = records.Sum(r => r.Attempts).ToString(CultureInfo.InvariantCulture),
        }, CancellationToken.None).ConfigureAwait(false);
        await LogMetricsAsync(stepRun.RunId, new Dictionary<string, double>
        {
            ["items"] = items.Count,
            ["items_reused"] = records.Count(r => r.Reused),
            ["attempts"] = records.Sum(r => r.Attempts),
            ["duration_s"] = (_options.Time.GetUtcNow() - started).TotalSeconds,
        }).ConfigureAwait(false);
        await _store.EndRunAsync(stepRun.RunId, RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
        flow.Report(FlowEventKind.StepFinished, step.Name, $"{step.Name}: finished {items.Count.ToString(CultureInfo.InvariantCulture)} items ({records.Count(r => r.Reused).ToString(CultureInfo.InvariantCulture)} reused) in {Seconds(started)}");
        return Summarize(step, stepRun.RunId, "finished", null, started, records, stepKey) with { Outputs = outputs };
    }

    private StepRecord Summarize(StepDefinition step, string runId, string status, string? error, DateTimeOffset started, StepRecord?[] items, string key) => new()
    {
        Name = step.Name,
        Kind = step.Kind,
        RunId = runId,
        Status = status,
        Error = error,
        Attempts = items.Sum(r => r?.Attempts ?? 0),
        Reused = items.All(r => r is { Reused: true }),
        Started = started,
        Ended = _options.Time.GetUtcNow(),
        Key = key,
        Items = [.. items.OfType<StepRecord>()],
    };

    private async Task EndStepAsync(string runId, RunStatus status, string error, StepRecord?[] items)
    {
        await TryTagAsync(runId, new Dictionary<string, string>
        {
            [FlowTags.Error] = error,
            [FlowTags.Attempts] = items.Sum(r => r?.Attempts ?? 0).ToString(CultureInfo.InvariantCulture),
        }).ConfigureAwait(false);
        await TryEndAsync(runId, status, null).ConfigureAwait(false);
    }

    /// <summary>Runs one step or one foreach item: reuse, or attempts under the retry policy and timeout, then commits outputs.</summary>
    private async Task<StepRecord> RunTaskAsync(
        FlowRunContext flow, StepKind kind, StepDefinition step, string parentRunId, string level, FlowItem? item, int index,
        IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> inputs, string key, StepRecord? prior, CancellationToken cancellationToken)
    {
        var label = index < 0 ? step.Name : $"{step.Name}[{index.ToString(CultureInfo.InvariantCulture)}]";
        if (prior is { Status: "finished" } && prior.Key == key && await AllPresentAsync(prior.Outputs, cancellationToken).ConfigureAwait(false))
        {
            return await ReuseAsync(flow, step, parentRunId, level, item, index, key, prior, cancellationToken).ConfigureAwait(false);
        }

        var parameters = flow.ResolveParameters(kind, step, item);
        var tags = StepTags(step, level);
        tags[FlowTags.Key] = key;
        tags[FlowTags.Reused] = "false";
        tags[FlowTags.Inputs] = FlowTags.WriteArtifacts(inputs.SelectMany(kv => kv.Value.Select(a => a with { Name = kv.Key })));
        if (item is not null)
        {
            tags[FlowTags.ItemIndex] = index.ToString(CultureInfo.InvariantCulture);
            tags[FlowTags.ItemText] = item.ToString();
        }

        var run = await _store.CreateRunAsync(FlowTags.Experiment, label, tags, parentRunId: parentRunId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        var started = _options.Time.GetUtcNow();
        var log = new ConcurrentQueue<string>();
        void Log(string line)
        {
            log.Enqueue($"{_options.Time.GetUtcNow().UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {line}");
            flow.Report(FlowEventKind.StepLog, label, $"{label}: {line}");
        }

        var attempts = 0;
        var errors = new List<string>();
        try
        {
            if (parameters.Count > 0)
            {
                await _store.LogParamsAsync(run.RunId, parameters, CancellationToken.None).ConfigureAwait(false);
            }

            var pipeline = Pipeline(step, label, errors, flow, cancellationToken);
            var done = await pipeline.ExecuteAsync(async ct =>
            {
                var attempt = Interlocked.Increment(ref attempts);
                var request = new StepAttemptRequest(flow.RunId, step.Name, run.RunId, index, attempt, parameters, inputs, step.Timeout);
                if (_options.Dispatcher is { } dispatcher)
                {
                    flow.Report(FlowEventKind.StepStarted, label, $"{label}: queued for a vigil worker ({kind.Name}, attempt {attempt.ToString(CultureInfo.InvariantCulture)})");
                    return await dispatcher.RunAsync(request, Log, ct).ConfigureAwait(false);
                }

                flow.Report(FlowEventKind.StepStarted, label, $"{label}: started ({kind.Name}, attempt {attempt.ToString(CultureInfo.InvariantCulture)})");
                return await StepAttempt.RunAsync(flow, kind, step, item, request, _options.WorkDirectory, Log, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);

            // Commit: the outputs (already content-addressed in the artifact store) recorded once on the step's run.
            var outputs = done.Outputs;
            foreach (var o in outputs)
            {
                await _store.RecordArtifactAsync(run.RunId, $"outputs/{o.Name}/{o.FileName}", new StoredArtifact(o.Sha256, o.SizeBytes), CancellationToken.None).ConfigureAwait(false);
            }

            var metrics = new Dictionary<string, double>(done.Metrics, StringComparer.Ordinal)
            {
                ["attempts"] = attempts,
                ["duration_s"] = (_options.Time.GetUtcNow() - started).TotalSeconds,
            };
            await LogMetricsAsync(run.RunId, metrics).ConfigureAwait(false);
            var doneTags = new Dictionary<string, string>
            {
                [FlowTags.Outputs] = FlowTags.WriteArtifacts(outputs),
                [FlowTags.Attempts] = attempts.ToString(CultureInfo.InvariantCulture),
            };
            if (done.Worker is not null)
            {
                doneTags[FlowTags.Worker] = done.Worker;
                doneTags[FlowTags.WorkerExecutions] = done.Executions.ToString(CultureInfo.InvariantCulture);
                doneTags[FlowTags.WorkerRecovered] = done.Executions > 1 ? "true" : "false";
            }

            await _store.SetTagsAsync(run.RunId, doneTags, CancellationToken.None).ConfigureAwait(false);
            await SaveLogAsync(run.RunId, log).ConfigureAwait(false);
            await _store.EndRunAsync(run.RunId, RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
            flow.Report(FlowEventKind.StepFinished, label, $"{label}: finished in {Seconds(started)}" +
                (done.Worker is null ? "" : $" on worker {done.Worker}{(done.Executions > 1 ? $" (recovered: {done.Executions.ToString(CultureInfo.InvariantCulture)} executions)" : "")}") +
                (attempts > 1 ? $" after {attempts.ToString(CultureInfo.InvariantCulture)} attempts" : "") +
                (outputs.Count > 0 ? $"; {string.Join(", ", outputs.Select(o => $"{o.Name} sha256:{o.Sha256[..12]}"))}" : ""));
            return new StepRecord
            {
                Name = step.Name, Kind = step.Kind, RunId = run.RunId, Status = "finished", Attempts = attempts, Started = started, Ended = _options.Time.GetUtcNow(),
                Key = key, Outputs = outputs, Metrics = metrics, Index = index, Item = item?.ToString(), Worker = done.Worker, Executions = done.Executions,
            };
        }
        catch (Exception e)
        {
            var cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
            var reason = cancelled ? "cancelled" : Reason(e, step);
            Log($"failed: {reason}");
            var failedTags = new Dictionary<string, string>
            {
                [FlowTags.Error] = reason,
                [FlowTags.Attempts] = attempts.ToString(CultureInfo.InvariantCulture),
            };
            if (e is RemoteStepException remote)
            {
                failedTags[FlowTags.Worker] = remote.Worker;
                failedTags[FlowTags.WorkerExecutions] = remote.Executions.ToString(CultureInfo.InvariantCulture);
                failedTags[FlowTags.WorkerRecovered] = remote.Executions > 1 ? "true" : "false";
            }

            await TryTagAsync(run.RunId, failedTags).ConfigureAwait(false);
            try
            {
                await LogMetricsAsync(run.RunId, new Dictionary<string, double> { ["attempts"] = attempts, ["duration_s"] = (_options.Time.GetUtcNow() - started).TotalSeconds }).ConfigureAwait(false);
                await SaveLogAsync(run.RunId, log).ConfigureAwait(false);
            }
            catch (TrackingException)
            {
            }

            await TryEndAsync(run.RunId, cancelled ? RunStatus.Killed : RunStatus.Failed, null).ConfigureAwait(false);
            if (cancelled)
            {
                throw;
            }

            flow.Report(FlowEventKind.StepFailed, label, $"{label}: failed after {attempts.ToString(CultureInfo.InvariantCulture)} attempt{(attempts == 1 ? "" : "s")}: {reason}");
            return new StepRecord
            {
                Name = step.Name, Kind = step.Kind, RunId = run.RunId, Status = "failed", Attempts = attempts, Error = reason, Started = started,
                Ended = _options.Time.GetUtcNow(), Key = key, Index = index, Item = item?.ToString(),
            };
        }
    }

    /// <summary>
    /// Whether a second attempt may succeed: I/O, the store, a timeout, an external command or a webhook failing, or a bug
    /// that may be transient; not bad input or a failed check (a <see cref="VigilException"/> other than the store's, an
    /// argument error), and not the flow being cancelled.
    /// </summary>
    internal static bool IsRetryable(Exception e, CancellationToken flowToken) => e switch
    {
        OperationCanceledException when flowToken.IsCancellationRequested => false,
        RemoteStepException remote => remote.Retryable,
        TrackingException => true,
        VigilException or ArgumentException => false,
        _ => true,
    };

    private ResiliencePipeline<StepAttemptResult> Pipeline(StepDefinition step, string label, List<string> errors, FlowRunContext flow, CancellationToken flowToken)
    {
        var builder = new ResiliencePipelineBuilder<StepAttemptResult>();
        if (step.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<StepAttemptResult>
            {
                MaxRetryAttempts = step.Retries,
                Delay = step.Backoff,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                ShouldHandle = new PredicateBuilder<StepAttemptResult>().Handle<Exception>(e => IsRetryable(e, flowToken)),
                OnRetry = args =>
                {
                    var reason = args.Outcome.Exception is { } ex ? Reason(ex, step) : "failed";
                    lock (errors)
                    {
                        errors.Add(reason);
                    }

                    flow.Report(FlowEventKind.StepRetrying, label,
                        $"{label}: attempt {(args.AttemptNumber + 1).ToString(CultureInfo.InvariantCulture)} failed ({reason}); retrying in {args.RetryDelay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
                    return default;
                },
            });
        }

        if (step.Timeout is { } timeout)
        {
            builder.AddTimeout(timeout);
        }

        return builder.Build();
    }

    private async Task<StepRecord> ReuseAsync(FlowRunContext flow, StepDefinition step, string parentRunId, string level, FlowItem? item, int index, string key, StepRecord prior, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var label = index < 0 ? step.Name : $"{step.Name}[{index.ToString(CultureInfo.InvariantCulture)}]";
        var origin = prior.ReusedFrom ?? prior.RunId!;
        var tags = StepTags(step, level);
        tags[FlowTags.Key] = key;
        tags[FlowTags.Reused] = "true";
        tags[FlowTags.ReusedFrom] = origin;
        tags[FlowTags.Outputs] = FlowTags.WriteArtifacts(prior.Outputs);
        tags[FlowTags.Attempts] = "0";
        if (item is not null)
        {
            tags[FlowTags.ItemIndex] = index.ToString(CultureInfo.InvariantCulture);
            tags[FlowTags.ItemText] = item.ToString();
        }

        var now = _options.Time.GetUtcNow();
        var run = await _store.CreateRunAsync(FlowTags.Experiment, label, tags, parentRunId: parentRunId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        foreach (var o in prior.Outputs.Where(o => index >= 0 || prior.Items.Count == 0))
        {
            await _store.RecordArtifactAsync(run.RunId, $"outputs/{o.Name}/{o.FileName}", new StoredArtifact(o.Sha256, o.SizeBytes), CancellationToken.None).ConfigureAwait(false);
        }

        var metrics = prior.Metrics.Where(kv => kv.Key is not ("attempts" or "duration_s")).ToDictionary(StringComparer.Ordinal);
        metrics["attempts"] = 0;
        await LogMetricsAsync(run.RunId, metrics).ConfigureAwait(false);
        await _store.EndRunAsync(run.RunId, RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
        flow.Report(FlowEventKind.StepReused, label, $"{label}: reused from run {origin} (inputs and parameters unchanged)" +
            (prior.Outputs.Count > 0 && prior.Items.Count == 0 ? $"; {string.Join(", ", prior.Outputs.Select(o => $"{o.Name} sha256:{o.Sha256[..12]}"))}" : ""));
        return prior with { RunId = run.RunId, Reused = true, ReusedFrom = origin, Attempts = 0, Started = now, Ended = now, Error = null, Metrics = metrics, Worker = null, Executions = 0 };
    }

    private async Task<IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>>> ResolveInputsAsync(FlowRunContext flow, StepDefinition step, CancellationToken cancellationToken)
    {
        var inputs = new Dictionary<string, IReadOnlyList<StepArtifact>>(StringComparer.Ordinal);
        foreach (var (name, sources) in step.Inputs)
        {
            var list = new List<StepArtifact>();
            foreach (var source in sources)
            {
                if (source.StartsWith("file:", StringComparison.Ordinal))
                {
                    var path = flow.Substitute(source["file:".Length..], null, step.Name).Trim();
                    if (path.Length == 0)
                    {
                        continue; // an optional file parameter left empty
                    }

                    if (!File.Exists(path))
                    {
                        throw new StepFailedException($"step {step.Name}: input '{name}': file {path} does not exist");
                    }

                    var stored = await _store.Artifacts.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
                    list.Add(new StepArtifact(name, Path.GetFileName(path), stored.Sha256, stored.SizeBytes));
                }
                else
                {
                    var dot = source.IndexOf('.', StringComparison.Ordinal);
                    list.AddRange(flow.OutputsOf(source[..dot], source[(dot + 1)..]));
                }
            }

            if (list.Count > 0)
            {
                inputs[name] = list;
            }
        }

        var kind = _registry.Find(step.Kind)!;
        foreach (var port in kind.Inputs.Where(p => p.Required && !inputs.ContainsKey(p.Name)))
        {
            throw new StepFailedException($"step {step.Name}: input '{port.Name}' ({port.Description}) is empty");
        }

        return inputs;
    }

    private async Task<bool> AllPresentAsync(IReadOnlyList<StepArtifact> outputs, CancellationToken cancellationToken)
    {
        foreach (var o in outputs)
        {
            if (!await _store.Artifacts.ContainsAsync(o.Sha256, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What resume compares: the kind, the resolved parameters, the input hashes, the item and the kind's outside state.</summary>
    private static string Key(StepKind kind, StepDefinition step, IReadOnlyDictionary<string, string> parameters, IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> inputs, string? item, string? state)
    {
        var sb = new StringBuilder();
        if (state is not null)
        {
            sb.Append("state=").Append(state).Append('\n');
        }

        sb.Append("kind=").Append(kind.Name).Append('\n');
        foreach (var (k, v) in parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append("param ").Append(k).Append('=').Append(v).Append('\n');
        }

        foreach (var (k, list) in inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var a in list)
            {
                sb.Append("input ").Append(k).Append('=').Append(a.Sha256).Append(' ').Append(a.FileName).Append('\n');
            }
        }

        if (kind.FlowDeclaresPorts)
        {
            sb.Append("outputs=").Append(string.Join(",", step.Outputs)).Append('\n');
        }

        if (item is not null)
        {
            sb.Append("item=").Append(item).Append('\n');
        }

        return Hash(sb.ToString());
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static Dictionary<string, string> StepTags(StepDefinition step, string level) => new(StringComparer.Ordinal)
    {
        [FlowTags.Kind] = level,
        [FlowTags.Step] = step.Name,
        [FlowTags.StepKind] = step.Kind,
    };

    private Task LogMetricsAsync(string runId, IReadOnlyDictionary<string, double> metrics)
    {
        var now = _options.Time.GetUtcNow();
        var points = metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new MetricPoint(kv.Key, kv.Value, 0, now)).ToList();
        return points.Count == 0 ? Task.CompletedTask : _store.LogMetricsAsync(runId, points, CancellationToken.None);
    }

    private async Task SaveLogAsync(string runId, ConcurrentQueue<string> log)
    {
        if (log.IsEmpty)
        {
            return;
        }

        using var text = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', log) + "\n"));
        await _store.LogArtifactAsync(runId, "log.txt", text, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task TryTagAsync(string runId, Dictionary<string, string> tags)
    {
        try
        {
            await _store.SetTagsAsync(runId, tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TrackingException)
        {
        }
    }

    private async Task TryEndAsync(string runId, RunStatus status, string? error)
    {
        try
        {
            if (error is not null)
            {
                await _store.SetTagsAsync(runId, new Dictionary<string, string> { [FlowTags.Error] = error }, CancellationToken.None).ConfigureAwait(false);
            }

            await _store.EndRunAsync(runId, status, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TrackingException)
        {
            // Already ended, or the store fails too: the original error is what the caller reports.
        }
    }

    private string Seconds(DateTimeOffset started) =>
        (_options.Time.GetUtcNow() - started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    /// <summary>The failure reason of an exception: its message for a known error, its type too for anything else.</summary>
    internal static string Reason(Exception e, StepDefinition? step = null)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            e = agg.InnerExceptions[0];
        }

        return e switch
        {
            TimeoutRejectedException => $"timed out after {step?.Timeout?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) ?? "?"} s",
            VigilException or StepAttemptException or RemoteStepException or ArgumentException or IOException or InvalidDataException or FormatException or HttpRequestException => OneLine(e.Message),
            _ => $"internal error: {e.GetType().Name}: {OneLine(e.Message)}",
        };
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private sealed class StepItemFailed(StepRecord record) : Exception(record.Error)
    {
        public StepRecord Record { get; } = record;
    }
}

/// <summary>The state of one flow run while it executes: its parameters, the outputs of finished steps, and progress.</summary>
internal sealed class FlowRunContext(
    FlowDefinition definition, string runId, ITrackingStore store, ModelLifecycle lifecycle, IReadOnlyDictionary<string, string> parameters, IProgress<FlowEvent>? progress)
{
    private readonly List<StepRecord> _completed = [];
    private readonly object _progressLock = new();

    public FlowDefinition Definition { get; } = definition;

    public string RunId { get; } = runId;

    public ITrackingStore Store { get; } = store;

    public ModelLifecycle Lifecycle { get; } = lifecycle;

    public IReadOnlyDictionary<string, string> Parameters { get; } = parameters;

    public IReadOnlyList<StepRecord> CompletedSteps
    {
        get
        {
            lock (_completed)
            {
                return [.. _completed];
            }
        }
    }

    public void Completed(string name, StepRecord record)
    {
        lock (_completed)
        {
            _completed.Add(record);
        }
    }

    public IReadOnlyList<StepArtifact> OutputsOf(string step, string output)
    {
        lock (_completed)
        {
            var record = _completed.First(r => r.Name == step);
            return [.. record.Outputs.Where(o => o.Name == output)];
        }
    }

    public void Report(FlowEventKind kind, string? step, string message)
    {
        if (progress is null)
        {
            return;
        }

        lock (_progressLock)
        {
            progress.Report(new FlowEvent(kind, RunId, step, message));
        }
    }

    /// <summary>The step's parameters: the kind's defaults, then the flow's <c>with</c> values with templates substituted.</summary>
    public Dictionary<string, string> ResolveParameters(StepKind kind, StepDefinition step, FlowItem? item)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in kind.Parameters.Where(p => p.Default is not null))
        {
            resolved[p.Name] = p.Default!;
        }

        foreach (var (k, v) in step.With)
        {
            resolved[k] = Substitute(v, item, step.Name);
        }

        return resolved;
    }

    /// <summary>Replaces <c>${params.X}</c>, <c>${item}</c>, <c>${item.K}</c>, <c>${flow.name}</c>; leaves <c>${inputs.X}</c> and <c>${outputs.X}</c> to the step.</summary>
    public string Substitute(string template, FlowItem? item, string step) =>
        FlowYaml.TemplatePattern().Replace(template, m =>
        {
            var reference = m.Groups[1].Value.Trim();
            if (reference.StartsWith("params.", StringComparison.Ordinal))
            {
                return Parameters.TryGetValue(reference["params.".Length..], out var v) ? v : throw new FlowException($"step {step}: '{m.Value}' names no flow parameter");
            }

            if (item is null && (reference == "item" || reference.StartsWith("item.", StringComparison.Ordinal)))
            {
                return m.Value; // a foreach step's parameters before an item is chosen (its base key)
            }

            if (reference == "item")
            {
                return item!.ToString();
            }

            if (reference.StartsWith("item.", StringComparison.Ordinal))
            {
                var key = reference["item.".Length..];
                var field = item?.Fields?.FirstOrDefault(f => f.Key == key);
                return field?.Key is null
                    ? throw new StepFailedException($"step {step}: foreach item '{item}' has no field '{key}'")
                    : field.Value.Value;
            }

            return reference switch
            {
                "flow.name" => Definition.Name,
                "flow.run" or "run.id" => RunId,
                _ => m.Value,
            };
        });
}
