using Vigil.Data;

namespace Vigil.Pipelines;

/// <summary>A parameter of a step kind.</summary>
/// <param name="Name">The name used under <c>with:</c>.</param>
/// <param name="Description">What it does.</param>
/// <param name="Default">The value when the flow does not give one; null makes the parameter required.</param>
public sealed record StepParameter(string Name, string Description, string? Default = null)
{
    /// <summary>True when a flow must give the parameter.</summary>
    public bool Required => Default is null;
}

/// <summary>An input or output of a step kind.</summary>
/// <param name="Name">The name used under <c>inputs:</c> (or by later steps as <c>STEP.NAME</c>).</param>
/// <param name="Description">What it holds.</param>
/// <param name="Required">For an input: whether the flow must connect it.</param>
/// <param name="Many">For an input: whether it takes several artifacts (e.g. every model of a foreach).</param>
public sealed record StepPort(string Name, string Description, bool Required = true, bool Many = false);

/// <summary>
/// A kind of step: a name, typed parameters, inputs and outputs, and the work. Flows name it under <c>uses:</c>; a new
/// kind is one subclass plus one <see cref="StepRegistry.Add"/> line. The engine resolves parameters and inputs, runs
/// <see cref="ExecuteAsync"/> under the step's retry policy and timeout, and commits the outputs the attempt wrote to the
/// artifact store only when the attempt succeeded.
/// </summary>
public abstract class StepKind
{
    /// <summary>The name flows use under <c>uses:</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One line on what the step does.</summary>
    public abstract string Description { get; }

    /// <summary>The parameters; unknown names under <c>with:</c> are refused unless <see cref="AcceptsExtraParameters"/>.</summary>
    public virtual IReadOnlyList<StepParameter> Parameters => [];

    /// <summary>The inputs; unknown names under <c>inputs:</c> are refused unless <see cref="FlowDeclaresPorts"/>.</summary>
    public virtual IReadOnlyList<StepPort> Inputs => [];

    /// <summary>The name of an output entry of the flow file: <c>result</c> for <c>result</c> or <c>result.csv</c>.</summary>
    public static string OutputName(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var dot = entry.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? entry : entry[..dot];
    }

    /// <summary>The outputs every successful attempt must write.</summary>
    public virtual IReadOnlyList<StepPort> Outputs => [];

    /// <summary>True when parameters beyond <see cref="Parameters"/> are passed through (checked by the step when it runs).</summary>
    public virtual bool AcceptsExtraParameters => false;

    /// <summary>True when the flow file declares the inputs and outputs (the <c>exec</c> step).</summary>
    public virtual bool FlowDeclaresPorts => false;

    /// <summary>
    /// Outside state the step's result depends on besides its parameters and inputs (e.g. which version is the champion),
    /// as text that becomes part of the step's key: resume reuses the step only when it is unchanged. Null: none.
    /// </summary>
    public virtual Task<string?> StateAsync(Vigil.Tracking.ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        Task.FromResult<string?>(null);

    /// <summary>
    /// Does the work of one attempt: reads <see cref="StepContext.Parameters"/> and inputs, writes every output through
    /// <see cref="StepContext.OutputPath"/>, logs metrics. Throw <see cref="StepFailedException"/> for a failure that a retry
    /// cannot fix (bad data, a failed check); any other exception is retried while attempts remain.
    /// </summary>
    public abstract Task ExecuteAsync(StepContext context, CancellationToken cancellationToken);
}

/// <summary>
/// A step failed for a reason that a retry cannot change (a failed validation check, a missing column): the flow stops
/// at once with <see cref="Exception.Message"/> as the step's failure reason.
/// </summary>
public sealed class StepFailedException(string message) : VigilException(message);

/// <summary>
/// A step attempt failed for a reason another attempt may not share (an external command's non-zero exit, a webhook
/// answering 503): retried while attempts remain, reported with <see cref="Exception.Message"/>.
/// </summary>
public sealed class StepAttemptException(string message) : Exception(message);

/// <summary>A flow file, a flow parameter or a flow run is not valid; the message says where and why.</summary>
public sealed class FlowException(string message) : VigilException(message);

/// <summary>The step kinds flows can use, by name.</summary>
public sealed class StepRegistry
{
    private readonly Dictionary<string, StepKind> _kinds = new(StringComparer.Ordinal);

    /// <summary>Adds a kind; its name must be new.</summary>
    public StepRegistry Add(StepKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (!_kinds.TryAdd(kind.Name, kind))
        {
            throw new ArgumentException($"step kind '{kind.Name}' is registered twice", nameof(kind));
        }

        return this;
    }

    /// <summary>Every kind, by name.</summary>
    public IReadOnlyList<StepKind> All => [.. _kinds.Values.OrderBy(k => k.Name, StringComparer.Ordinal)];

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public StepKind? Find(string name) => _kinds.GetValueOrDefault(name);

    /// <summary>
    /// The built-in kinds: generate, ingest, validate, drift, split, train, search, evaluate, leaderboard, promote,
    /// notify, exec, score, lake-write, lake-read and metrics-sync. <paramref name="http"/> is the client of <c>notify</c> (default: a shared one).
    /// </summary>
    public static StepRegistry CreateDefault(HttpClient? http = null) => new StepRegistry()
        .Add(new Steps.GenerateStep())
        .Add(new Steps.IngestStep())
        .Add(new Steps.ValidateStep())
        .Add(new Steps.DriftStep())
        .Add(new Steps.SplitStep())
        .Add(new Steps.TrainStep())
        .Add(new Steps.SearchStep())
        .Add(new Steps.EvaluateStep())
        .Add(new Steps.LeaderboardStep())
        .Add(new Steps.PromoteStep())
        .Add(new Steps.NotifyStep(http))
        .Add(new Steps.ExecStep())
        .Add(new Steps.ScoreStep())
        .Add(new Steps.LakeWriteStep())
        .Add(new Steps.LakeReadStep())
        .Add(new Steps.MetricsSyncStep());
}
