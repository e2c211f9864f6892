using System.Globalization;
using Quartz;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>Settings of a <see cref="StepDispatcher"/>.</summary>
public sealed record StepDispatcherOptions
{
    /// <summary>How long a queued step attempt may wait for a <c>vigil worker</c> to start it before the step fails (default 60 s).</summary>
    public TimeSpan WorkerTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the coordinator reads the store for the attempt's commit (default 250 ms).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The coordinator's side of a distributed flow run (PostgreSQL stores): each step attempt (and each foreach item) becomes
/// a durable Quartz job (with <c>RequestRecovery</c>) in the clustered job store of scheduler <see cref="SchedulerName"/>,
/// whose JobDataMap names the flow run, step, item and attempt; a <c>vigil worker</c> runs it and commits its outputs once
/// (table <c>flow_step_commits</c>). The dispatcher waits for that commit by polling the store; a job no worker starts
/// within <see cref="StepDispatcherOptions.WorkerTimeout"/> fails the step. The coordinator is a Quartz client only: it
/// never starts its scheduler, so it runs no jobs itself.
/// </summary>
public sealed class StepDispatcher : IAsyncDisposable
{
    /// <summary>The Quartz scheduler name of the workers' cluster (tables <c>vigil_qrtz_*</c>, rows with this <c>sched_name</c>).</summary>
    public const string SchedulerName = "vigil-workers";

    /// <summary>The Quartz group of step jobs.</summary>
    public const string JobGroup = "vigil-steps";

    private readonly IScheduler _quartz;
    private readonly FlowStepCommitStore _commits;
    private readonly StepDispatcherOptions _options;
    private readonly string _name;

    private StepDispatcher(IScheduler quartz, FlowStepCommitStore commits, StepDispatcherOptions options, string name)
    {
        _quartz = quartz;
        _commits = commits;
        _options = options;
        _name = name;
    }

    /// <summary>The time a queued attempt waits for a worker.</summary>
    public TimeSpan WorkerTimeout => _options.WorkerTimeout;

    /// <summary>Connects to the workers' Quartz cluster in the database of <paramref name="store"/>.</summary>
    /// <exception cref="FlowException">The store is not PostgreSQL.</exception>
    public static async Task<StepDispatcher> CreateAsync(ITrackingStore store, StepDispatcherOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new StepDispatcherOptions();
        if (options.WorkerTimeout <= TimeSpan.Zero || options.PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "WorkerTimeout and PollInterval must be positive");
        }

        var commits = FlowStepCommitStore.For(store);
        var connection = commits.PostgresConnectionString
            ?? throw new FlowException($"--distributed needs a PostgreSQL store (the {store.Backend} store {store.Location} is one machine's); on SQLite a flow runs its steps in its own process and needs no vigil worker: drop --distributed");
        var name = $"coordinator-{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}";
        var quartz = await QuartzCluster.BuildAsync(SchedulerName, name, connection, 1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        return new StepDispatcher(quartz, commits, options, name);
    }

    /// <summary>Queues the attempt as a Quartz job and waits for its commit; returns its outputs or throws its failure.</summary>
    internal async Task<StepAttemptResult> RunAsync(StepAttemptRequest request, Action<string> log, CancellationToken cancellationToken)
    {
        var jobKey = new JobKey(StepJobPayload.JobName(request), JobGroup);
        var job = JobBuilder.Create<StepJob>()
            .WithIdentity(jobKey)
            .StoreDurably()
            .RequestRecovery()
            .UsingJobData(StepJobPayload.Key, StepJobPayload.Write(request))
            .UsingJobData(StepJobPayload.FlowRunKey, request.FlowRunId)
            .UsingJobData(StepJobPayload.StepKey, request.StepName)
            .UsingJobData(StepJobPayload.ItemKey, request.ItemIndex.ToString(CultureInfo.InvariantCulture))
            .UsingJobData(StepJobPayload.AttemptKey, request.Attempt.ToString(CultureInfo.InvariantCulture))
            .Build();
        var trigger = TriggerBuilder.Create().WithIdentity(jobKey.Name, JobGroup).ForJob(jobKey).StartNow().Build();
        await _quartz.ScheduleJob(job, trigger, new ScheduleJobOptions(), cancellationToken).ConfigureAwait(false);
        StepCommit? commit;
        try
        {
            commit = await WaitAsync(request, log, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A timeout or the flow cancelled: the attempt is given up, so whatever a worker still does for it is discarded.
            await AbandonAsync(request, "the coordinator gave up on the attempt (its timeout, or the flow run was cancelled)").ConfigureAwait(false);
            throw;
        }
        finally
        {
            try
            {
                await _quartz.DeleteJob(jobKey, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SchedulerException)
            {
                // gone already, or the database is away: a leftover job finds its attempt committed and does nothing
            }
        }

        var executions = await _commits.ExecutionsAsync(request.StepRunId, request.Attempt, CancellationToken.None).ConfigureAwait(false);
        foreach (var line in commit.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            log(line);
        }

        return commit.Status switch
        {
            "finished" => new StepAttemptResult(FlowTags.ReadArtifacts(commit.OutputsJson), StepJobPayload.ReadMetrics(commit.MetricsJson), commit.Worker, Math.Max(1, executions.Count)),
            "failed" => throw new RemoteStepException(commit.Error ?? "failed", commit.Retryable, commit.Worker, Math.Max(1, executions.Count)),
            _ => throw new FlowException($"step {request.Label}: attempt {request.Attempt.ToString(CultureInfo.InvariantCulture)} was abandoned ({commit.Error})"),
        };
    }

    private async Task<StepCommit> WaitAsync(StepAttemptRequest request, Action<string> log, CancellationToken cancellationToken)
    {
        var pickupDeadline = DateTimeOffset.UtcNow + _options.WorkerTimeout;
        var seen = 0;
        while (true)
        {
            if (await _commits.FindAsync(request.StepRunId, request.Attempt, cancellationToken).ConfigureAwait(false) is { } commit)
            {
                return commit;
            }

            var executions = await _commits.ExecutionsAsync(request.StepRunId, request.Attempt, cancellationToken).ConfigureAwait(false);
            for (; seen < executions.Count; seen++)
            {
                log(seen == 0
                    ? $"picked up by worker {executions[seen].Worker}"
                    : $"recovered: execution {(seen + 1).ToString(CultureInfo.InvariantCulture)} on worker {executions[seen].Worker} (the previous worker stopped checking in)");
            }

            if (executions.Count == 0 && DateTimeOffset.UtcNow > pickupDeadline)
            {
                var reason = $"no vigil worker took step {request.Label} within {_options.WorkerTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s; start one with `vigil worker` on this store";
                if (await AbandonAsync(request, reason).ConfigureAwait(false))
                {
                    throw new FlowException(reason);
                }

                continue; // a worker committed just now: read it
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> AbandonAsync(StepAttemptRequest request, string reason)
    {
        try
        {
            return await _commits.TryCommitAsync(new StepCommit
            {
                StepRunId = request.StepRunId,
                Attempt = request.Attempt,
                Execution = 0,
                Worker = _name,
                Status = "abandoned",
                Error = reason,
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TrackingException)
        {
            return false;
        }
    }

    /// <summary>Closes the connection to the cluster (queued jobs stay in the store).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _quartz.Shutdown(false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SchedulerException)
        {
        }
    }
}
