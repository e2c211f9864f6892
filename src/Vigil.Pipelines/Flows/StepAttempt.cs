using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>Everything one attempt of a step (or of a foreach item) needs, wherever it runs.</summary>
/// <param name="FlowRunId">The flow run.</param>
/// <param name="StepName">The step as named in the flow.</param>
/// <param name="StepRunId">The run of the step (of the item, for a foreach step).</param>
/// <param name="ItemIndex">The foreach item's index, or -1.</param>
/// <param name="Attempt">1 for the first attempt.</param>
/// <param name="Parameters">The resolved parameters.</param>
/// <param name="Inputs">The connected inputs (files in the artifact store).</param>
/// <param name="Timeout">The step's timeout per attempt, or null.</param>
internal sealed record StepAttemptRequest(
    string FlowRunId, string StepName, string StepRunId, int ItemIndex, int Attempt,
    IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> Inputs, TimeSpan? Timeout)
{
    public string Label => ItemIndex < 0 ? StepName : $"{StepName}[{ItemIndex.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>What a successful attempt produced: its outputs (already in the artifact store) and metrics, and where it ran.</summary>
/// <param name="Outputs">The outputs in declared order, content-addressed in the artifact store.</param>
/// <param name="Metrics">The metrics the step recorded.</param>
/// <param name="Worker">The worker that ran it, or null when it ran in the flow's process.</param>
/// <param name="Executions">How many executions the attempt took on workers (0 locally).</param>
internal sealed record StepAttemptResult(IReadOnlyList<StepArtifact> Outputs, IReadOnlyDictionary<string, double> Metrics, string? Worker, int Executions);

/// <summary>
/// Runs one attempt of a step: a fresh scratch folder, the step kind with its <see cref="StepContext"/>, the declared
/// outputs checked and put into the content-addressed artifact store. The unit both the flow's own process (local mode)
/// and a <c>vigil worker</c> (distributed mode) call; recording the outputs on the step's run (the commit) is the caller's.
/// </summary>
internal static class StepAttempt
{
    public static async Task<StepAttemptResult> RunAsync(
        FlowRunContext flow, StepKind kind, StepDefinition step, FlowItem? item, StepAttemptRequest request, string workRoot, Action<string> log, CancellationToken cancellationToken)
    {
        var work = Path.Combine(workRoot, request.StepRunId, request.Attempt.ToString(CultureInfo.InvariantCulture));
        TryDeleteDirectory(work);
        Directory.CreateDirectory(work);
        try
        {
            var context = new StepContext(flow, step, request.StepRunId, item, request.ItemIndex, request.Attempt, request.Parameters, request.Inputs, work, log);
            await kind.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
            CheckOutputs(kind, step, context, request.Label);
            var outputs = new List<StepArtifact>();
            foreach (var (name, path) in context.WrittenOutputs.OrderBy(kv => DeclaredOrder(kind, step, kv.Key)))
            {
                var stored = await flow.Store.Artifacts.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
                outputs.Add(new StepArtifact(name, Path.GetFileName(path), stored.Sha256, stored.SizeBytes));
            }

            return new StepAttemptResult(outputs, new Dictionary<string, double>(context.Metrics, StringComparer.Ordinal), null, 0);
        }
        finally
        {
            TryDeleteDirectory(work); // the outputs are in the artifact store now, or the attempt failed and leaves nothing
        }
    }

    /// <summary>The foreach items of a step, as the flow run resolves them (the same on the coordinator and on a worker).</summary>
    public static IReadOnlyList<FlowItem>? Items(FlowRunContext flow, StepDefinition step) =>
        step.ForEach is null ? null : step.ForEach.Items ?? FlowYaml.ParseItems(flow.Substitute(step.ForEach.Template!, null, step.Name), $"step '{step.Name}'");

    private static void CheckOutputs(StepKind kind, StepDefinition step, StepContext context, string label)
    {
        IReadOnlyList<string> declared = kind.FlowDeclaresPorts ? [.. step.Outputs.Select(StepKind.OutputName)] : [.. kind.Outputs.Select(o => o.Name)];
        foreach (var name in declared)
        {
            if (!context.WrittenOutputs.TryGetValue(name, out var path) || !File.Exists(path))
            {
                throw new StepFailedException($"step {label} did not write its output '{name}'");
            }
        }
    }

    private static int DeclaredOrder(StepKind kind, StepDefinition step, string name)
    {
        List<string> declared = kind.FlowDeclaresPorts ? [.. step.Outputs.Select(StepKind.OutputName)] : [.. kind.Outputs.Select(o => o.Name)];
        var i = declared.IndexOf(name);
        return i < 0 ? int.MaxValue : i;
    }

    internal static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
