using System.Diagnostics;
using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>Reads flow runs back from the tracking store: <c>flow show</c>, <c>flow list</c> and resume.</summary>
public static class FlowState
{
    /// <summary>A flow run with its definition (parsed from the <c>flow.yaml</c> stored with it) and its steps.</summary>
    /// <param name="Record">The run and its steps.</param>
    /// <param name="Definition">The flow as it ran.</param>
    public sealed record Loaded(FlowRunRecord Record, FlowDefinition Definition);

    /// <summary>Loads flow run <paramref name="runId"/>.</summary>
    /// <exception cref="FlowException">The run is not a flow run.</exception>
    /// <exception cref="TrackingException">No such run.</exception>
    public static async Task<Loaded> LoadAsync(ITrackingStore store, StepRegistry registry, string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var run = await store.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (!run.Tags.TryGetValue(FlowTags.Kind, out var kind) || kind != "flow")
        {
            throw new FlowException($"run {runId} is not a flow run (it is in experiment '{run.ExperimentName}'); see vigil flow list");
        }

        string yaml;
        await using (var stream = await store.OpenArtifactAsync(runId, FlowTags.DefinitionArtifact, cancellationToken).ConfigureAwait(false))
        using (var reader = new StreamReader(stream))
        {
            yaml = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }

        var definition = FlowYaml.Parse(yaml, $"flow.yaml of run {runId}", registry);
        return new Loaded(await RecordAsync(store, run, definition, cancellationToken).ConfigureAwait(false), definition);
    }

    /// <summary>The newest flow runs first (at most <paramref name="max"/>), optionally of one flow.</summary>
    public static async Task<IReadOnlyList<FlowRunRecord>> ListAsync(ITrackingStore store, StepRegistry registry, string? flow = null, int max = 50, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (await store.FindExperimentAsync(FlowTags.Experiment, cancellationToken).ConfigureAwait(false) is null)
        {
            return [];
        }

        var tags = new Dictionary<string, string> { [FlowTags.Kind] = "flow" };
        if (flow is not null)
        {
            tags[FlowTags.FlowName] = flow;
        }

        var runs = await store.ListRunsAsync(FlowTags.Experiment, new RunFilter { Tags = tags, MaxResults = max }, cancellationToken).ConfigureAwait(false);
        var records = new List<FlowRunRecord>(runs.Count);
        foreach (var run in runs)
        {
            records.Add((await LoadAsync(store, registry, run.RunId, cancellationToken).ConfigureAwait(false)).Record);
        }

        return records;
    }

    private static async Task<FlowRunRecord> RecordAsync(ITrackingStore store, Run run, FlowDefinition definition, CancellationToken cancellationToken)
    {
        var children = await store.ListRunsAsync(FlowTags.Experiment, new RunFilter { ParentRunId = run.RunId, MaxResults = 10_000 }, cancellationToken).ConfigureAwait(false);
        var steps = new List<StepRecord>();
        foreach (var step in definition.Steps)
        {
            // The latest run of the step (a step runs once per flow run; the newest wins if a store holds more).
            var stepRun = children.Where(c => c.Tags.GetValueOrDefault(FlowTags.Step) == step.Name).OrderByDescending(c => c.StartTimeUtc).FirstOrDefault();
            if (stepRun is null)
            {
                steps.Add(new StepRecord { Name = step.Name, Kind = step.Kind, Status = "pending" });
                continue;
            }

            IReadOnlyList<StepRecord> items = [];
            if (step.ForEach is not null)
            {
                var itemRuns = await store.ListRunsAsync(FlowTags.Experiment, new RunFilter { ParentRunId = stepRun.RunId, MaxResults = 10_000 }, cancellationToken).ConfigureAwait(false);
                items = [.. itemRuns.Select(r => ToRecord(step, r, [])).OrderBy(r => r.Index)];
            }

            steps.Add(ToRecord(step, stepRun, items));
        }

        return new FlowRunRecord
        {
            Id = run.RunId,
            Flow = run.Tags.GetValueOrDefault(FlowTags.FlowName) ?? run.Name,
            Status = Status(run),
            ResumedFrom = run.Tags.GetValueOrDefault(FlowTags.ResumedFrom),
            Started = run.StartTimeUtc,
            Ended = run.EndTimeUtc,
            Error = run.Tags.GetValueOrDefault(FlowTags.Error) ?? (Status(run) == "interrupted" ? "interrupted: the process running the flow ended without finishing it" : null),
            Parameters = run.Params,
            Steps = steps,
        };
    }

    private static StepRecord ToRecord(StepDefinition step, Run run, IReadOnlyList<StepRecord> items)
    {
        var status = Status(run);
        var attempts = int.TryParse(run.Tags.GetValueOrDefault(FlowTags.Attempts), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) ? a
            : items.Count > 0 ? items.Sum(i => i.Attempts)
            : run.LatestMetrics.TryGetValue("attempts", out var m) ? (int)m.Value : status is "running" or "interrupted" ? 1 : 0;
        return new StepRecord
        {
            Name = step.Name,
            Kind = step.Kind,
            RunId = run.RunId,
            Status = status,
            Attempts = attempts,
            Reused = run.Tags.GetValueOrDefault(FlowTags.Reused) == "true",
            ReusedFrom = run.Tags.GetValueOrDefault(FlowTags.ReusedFrom),
            Error = run.Tags.GetValueOrDefault(FlowTags.Error) ?? (status == "interrupted" ? "interrupted: the process running the step ended without finishing it" : null),
            Started = run.StartTimeUtc,
            Ended = run.EndTimeUtc,
            Key = run.Tags.GetValueOrDefault(FlowTags.Key),
            Outputs = FlowTags.ReadArtifacts(run.Tags.GetValueOrDefault(FlowTags.Outputs)),
            Metrics = run.LatestMetrics.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal),
            Items = items,
            Index = int.TryParse(run.Tags.GetValueOrDefault(FlowTags.ItemIndex), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : -1,
            Item = run.Tags.GetValueOrDefault(FlowTags.ItemText),
            Worker = run.Tags.GetValueOrDefault(FlowTags.Worker),
            Executions = int.TryParse(run.Tags.GetValueOrDefault(FlowTags.WorkerExecutions), NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : 0,
        };
    }

    /// <summary>The status word of a run; a running one whose process is gone from this host is <c>interrupted</c>.</summary>
    internal static string Status(Run run) => run.Status switch
    {
        RunStatus.Finished => "finished",
        RunStatus.Failed => "failed",
        RunStatus.Killed => "killed",
        _ => IsOrphan(run) ? "interrupted" : "running",
    };

    private static bool IsOrphan(Run run)
    {
        if (run.ProcessId is not { } pid || !string.Equals(run.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>Marks an interrupted flow run and its interrupted step and item runs FAILED with the reason.</summary>
    internal static async Task MarkInterruptedAsync(ITrackingStore store, Loaded flow, CancellationToken cancellationToken)
    {
        const string Reason = "interrupted: the process running it ended without finishing it";
        foreach (var step in flow.Record.Steps)
        {
            foreach (var r in step.Items.Append(step).Where(r => r.Status == "interrupted" && r.RunId is not null))
            {
                await store.SetTagsAsync(r.RunId!, new Dictionary<string, string> { [FlowTags.Error] = Reason }, cancellationToken).ConfigureAwait(false);
                await store.SetRunStatusAsync(r.RunId!, RunStatus.Failed, cancellationToken).ConfigureAwait(false);
            }
        }

        await store.SetTagsAsync(flow.Record.Id, new Dictionary<string, string> { [FlowTags.Error] = Reason }, cancellationToken).ConfigureAwait(false);
        await store.SetRunStatusAsync(flow.Record.Id, RunStatus.Failed, cancellationToken).ConfigureAwait(false);
    }
}
