using System.Collections.Concurrent;
using System.Globalization;
using Quartz;
using Vigil.Data;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>Settings of a <see cref="FlowWorker"/>.</summary>
public sealed record FlowWorkerOptions
{
    /// <summary>How many step jobs this worker runs at once (default 1).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>The worker's name in the cluster and in the <c>vigil.worker</c> tag (default: host name, process id and a random suffix).</summary>
    public string? Name { get; init; }

    /// <summary>How long Quartz waits for work when it has none (default 1 s).</summary>
    public TimeSpan IdleWaitTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the worker records in the cluster that it is alive (default 2 s); a worker silent for longer is taken for dead and its step jobs recovered by another.</summary>
    public TimeSpan ClusterCheckinInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The folder for attempts' scratch files (default: a folder under the system temp folder).</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "vigil-worker");

    /// <summary>Where readable lines go (what the worker runs and how each job ended); null: nowhere.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A <c>vigil worker</c>: a node of the Quartz cluster <see cref="StepDispatcher.SchedulerName"/> in the PostgreSQL
/// store's database that runs the step jobs distributed flow runs queue. For each job it loads the flow run from the store,
/// runs the step attempt with the same <see cref="StepContext"/> the local runner gives it (inputs from the artifact
/// store, outputs written to it, content-addressed) and commits the outcome once (<see cref="FlowStepCommitStore"/>): a
/// duplicate execution of an attempt already committed discards its outputs. A worker killed mid-step leaves its job to
/// Quartz's cluster recovery: another worker runs the attempt again from its start.
/// </summary>
public sealed class FlowWorker : IAsyncDisposable
{
    internal const string ContextKey = "vigil.flow-worker";

    private readonly ITrackingStore _store;
    private readonly StepRegistry _registry;
    private readonly FlowWorkerOptions _options;
    private readonly FlowStepCommitStore _commits;
    private readonly IScheduler _quartz;
    private readonly CancellationTokenSource _abandon = new();
    private readonly ConcurrentDictionary<string, string> _running = new(StringComparer.Ordinal);
    private int _ran;
    private bool _abandoned;

    private FlowWorker(ITrackingStore store, StepRegistry registry, FlowWorkerOptions options, FlowStepCommitStore commits, IScheduler quartz, string name)
    {
        _store = store;
        _registry = registry;
        _options = options;
        _commits = commits;
        _quartz = quartz;
        Name = name;
    }

    /// <summary>The worker's name (tag <c>vigil.worker</c> on the steps it runs).</summary>
    public string Name { get; }

    /// <summary>The step jobs running now.</summary>
    public int Running => _running.Count;

    /// <summary>The step jobs this worker finished (committed, failed or discarded).</summary>
    public int Ran => Volatile.Read(ref _ran);

    /// <summary>Starts a worker on <paramref name="store"/>.</summary>
    /// <exception cref="FlowException">The store is not PostgreSQL (local mode needs no worker).</exception>
    public static async Task<FlowWorker> StartAsync(ITrackingStore store, StepRegistry registry, FlowWorkerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new FlowWorkerOptions();
        if (options.Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Concurrency must be at least 1");
        }

        var commits = FlowStepCommitStore.For(store);
        var connection = commits.PostgresConnectionString
            ?? throw new FlowException($"vigil worker needs a PostgreSQL store (--store postgres://... or VIGIL_STORE); on the {store.Backend} store {store.Location} flows run their steps in their own process and need no worker");
        var name = options.Name ?? $"{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}";
        var quartz = await QuartzCluster.BuildAsync(StepDispatcher.SchedulerName, name, connection, options.Concurrency, options.IdleWaitTime, options.ClusterCheckinInterval, cancellationToken,
            misfireThreshold: TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var worker = new FlowWorker(store, registry, options, commits, quartz, name);
        quartz.Context[ContextKey] = worker;
        await quartz.Start(cancellationToken).ConfigureAwait(false);
        return worker;
    }

    /// <summary>
    /// Stops taking jobs, waits up to <paramref name="grace"/> for the running ones to finish, then abandons those still
    /// running: their step is cancelled and not committed, and the jobs stay with this (now silent) node, so the cluster
    /// recovers them on another worker. Returns how many were abandoned; after abandoning, end the process without
    /// <see cref="DisposeAsync"/> so the jobs are not marked complete.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan grace, CancellationToken abandonNow = default)
    {
        await _quartz.Standby(CancellationToken.None).ConfigureAwait(false);
        var deadline = DateTimeOffset.UtcNow + grace;
        while (!_running.IsEmpty && DateTimeOffset.UtcNow < deadline && !abandonNow.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, abandonNow).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var left = _running.Count;
        if (left > 0)
        {
            _abandoned = true;
            await _abandon.CancelAsync().ConfigureAwait(false);
        }

        return left;
    }

    /// <summary>Runs one step job (called by <see cref="StepJob"/>).</summary>
    internal async Task RunJobAsync(string payload, string jobName, bool recovering, CancellationToken jobToken)
    {
        var request = StepJobPayload.Read(payload);
        var label = $"step {request.Label} of flow run {request.FlowRunId} (attempt {request.Attempt.ToString(CultureInfo.InvariantCulture)})";
        if (await _commits.FindAsync(request.StepRunId, request.Attempt, jobToken).ConfigureAwait(false) is { } already)
        {
            Log($"{label}: skipped, already {already.Status} by {already.Worker}");
            Interlocked.Increment(ref _ran);
            return;
        }

        var execution = await _commits.BeginExecutionAsync(request.StepRunId, request.Attempt, Name, jobToken).ConfigureAwait(false);
        _running[jobName] = label;
        var started = DateTimeOffset.UtcNow;
        var lines = new ConcurrentQueue<string>();
        Log($"{label}: running (execution {execution.ToString(CultureInfo.InvariantCulture)}{(recovering || execution > 1 ? ", recovered from a worker that stopped" : "")})");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(jobToken, _abandon.Token);
        if (request.Timeout is { } timeout)
        {
            cts.CancelAfter(timeout + TimeSpan.FromSeconds(5)); // the coordinator gives up at the timeout; stop the work too
        }

        using var watch = StartWatch(request, cts);
        StepCommit commit;
        try
        {
            FlowState.Loaded loaded;
            try
            {
                loaded = await FlowState.LoadAsync(_store, _registry, request.FlowRunId, cts.Token).ConfigureAwait(false);
            }
            catch (VigilException e) when (e is not FlowException)
            {
                throw new FlowException($"{e.Message} (worker {Name} reads artifacts from {_store.Artifacts.Location}: the coordinator and every worker need the same shared artifact store, VIGIL_ARTIFACTS)");
            }

            var step = loaded.Definition.Steps.FirstOrDefault(s => s.Name == request.StepName)
                ?? throw new FlowException($"flow run {request.FlowRunId} has no step '{request.StepName}'");
            var kind = _registry.Find(step.Kind) ?? throw new FlowException($"step {step.Name}: unknown step kind '{step.Kind}' (is this worker older than the coordinator?)");
            var flow = new FlowRunContext(loaded.Definition, request.FlowRunId, _store, new ModelLifecycle(_store), loaded.Record.Parameters, null);
            foreach (var s in loaded.Record.Steps.Where(s => s.Status == "finished"))
            {
                flow.Completed(s.Name, s);
            }

            FlowItem? item = null;
            if (request.ItemIndex >= 0)
            {
                var items = StepAttempt.Items(flow, step) ?? throw new FlowException($"step {step.Name} is not a foreach step");
                item = request.ItemIndex < items.Count ? items[request.ItemIndex] : throw new FlowException($"step {step.Name} has no item {request.ItemIndex.ToString(CultureInfo.InvariantCulture)}");
            }

            void StepLog(string line) => lines.Enqueue($"{DateTimeOffset.UtcNow.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} [{Name}] {line}");
            var result = await StepAttempt.RunAsync(flow, kind, step, item, request, Path.Combine(_options.WorkDirectory, execution.ToString(CultureInfo.InvariantCulture)), StepLog, cts.Token).ConfigureAwait(false);
            commit = new StepCommit
            {
                StepRunId = request.StepRunId, Attempt = request.Attempt, Execution = execution, Worker = Name, Status = "finished",
                OutputsJson = FlowTags.WriteArtifacts(result.Outputs), MetricsJson = StepJobPayload.MetricsJson(result.Metrics), Log = string.Join('\n', lines),
            };
        }
        catch (Exception e) when (_abandoned)
        {
            // Shutting down past the grace period: no commit; the job stays with this node, which stops checking in, so the
            // cluster gives it to another worker. Never complete it here.
            _running.TryRemove(jobName, out _);
            Log($"{label}: abandoned at shutdown ({(e is OperationCanceledException ? "cancelled" : FlowRunner.Reason(e))}); another worker reruns it after the cluster check-in interval");
            await Task.Delay(Timeout.Infinite, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        catch (Exception e)
        {
            var superseded = await _commits.FindAsync(request.StepRunId, request.Attempt, CancellationToken.None).ConfigureAwait(false);
            var reason = superseded is not null ? $"stopped: the attempt is already {superseded.Status} ({superseded.Error ?? superseded.Worker})"
                : e is OperationCanceledException && !jobToken.IsCancellationRequested ? $"timed out after {request.Timeout?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s"
                : FlowRunner.Reason(e);
            commit = new StepCommit
            {
                StepRunId = request.StepRunId, Attempt = request.Attempt, Execution = execution, Worker = Name, Status = "failed",
                Error = reason, Retryable = FlowRunner.IsRetryable(e, CancellationToken.None), Log = string.Join('\n', lines),
            };
        }

        try
        {
            var committed = await _commits.TryCommitAsync(commit, CancellationToken.None).ConfigureAwait(false);
            var took = (DateTimeOffset.UtcNow - started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
            Log(committed
                ? $"{label}: {commit.Status} in {took} s{(commit.Error is null ? "" : $": {commit.Error}")}; committed"
                : $"{label}: {commit.Status} in {took} s, but the attempt was already committed (another execution, or the coordinator gave up); outputs discarded");
        }
        finally
        {
            _running.TryRemove(jobName, out _);
            Interlocked.Increment(ref _ran);
        }
    }

    /// <summary>Cancels the attempt once it is committed elsewhere (the coordinator gave up on it, or another execution won).</summary>
    private Watch StartWatch(StepAttemptRequest request, CancellationTokenSource attempt)
    {
        var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(1000, stop.Token).ConfigureAwait(false);
                    if (await _commits.FindAsync(request.StepRunId, request.Attempt, stop.Token).ConfigureAwait(false) is not null)
                    {
                        await attempt.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (TrackingException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        });
        return new Watch(stop);
    }

    /// <summary>Stops the worker's Quartz node, waiting for running jobs.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _quartz.Shutdown(!_abandoned, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SchedulerException)
        {
        }
    }

    private void Log(string line) => _options.Log?.Invoke(line);

    internal void LogFailure(string jobName, Exception e)
    {
        _running.TryRemove(jobName, out _);
        Log($"step job {jobName}: could not run or commit it: {FlowRunner.Reason(e)}");
    }

    private sealed class Watch(CancellationTokenSource stop) : IDisposable
    {
        public void Dispose()
        {
            stop.Cancel();
            stop.Dispose();
        }
    }
}

/// <summary>The Quartz job of one step attempt: runs it through the <see cref="FlowWorker"/> of the node that fired it.</summary>
internal sealed class StepJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var worker = (FlowWorker)context.Scheduler.Context[FlowWorker.ContextKey]!;
        var payload = context.MergedJobDataMap.GetString(StepJobPayload.Key) ?? throw new JobExecutionException("step job without its data");
        try
        {
            await worker.RunJobAsync(payload, context.JobDetail.Key.Name, context.Recovering, cancellationToken).ConfigureAwait(false);
            await context.Scheduler.DeleteJob(context.JobDetail.Key, CancellationToken.None).ConfigureAwait(false); // committed: the durable job is done
        }
        catch (Exception e) when (e is not OperationCanceledException and not SchedulerException)
        {
            // The store failed before the attempt could be committed: say so; the coordinator's step timeout covers the attempt.
            worker.LogFailure(context.JobDetail.Key.Name, e);
        }
    }
}
