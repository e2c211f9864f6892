namespace Vigil.Pipelines;

/// <summary>
/// A flow: named parameters with defaults and steps that run in the order written. Built from YAML by
/// <see cref="FlowYaml.Parse"/>, which checks every step against its kind's signature before anything runs.
/// </summary>
/// <param name="Name">The flow's name (a built-in flow's name, or the file's <c>name:</c>).</param>
/// <param name="Description">What the flow does, or empty.</param>
/// <param name="Parameters">Parameter defaults by name, in file order (values are text; <c>--param k=v</c> overrides them).</param>
/// <param name="Steps">The steps, in the order they run.</param>
/// <param name="Source">The YAML the flow was parsed from (stored with each flow run so that resume runs the same flow).</param>
public sealed record FlowDefinition(
    string Name,
    string Description,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<StepDefinition> Steps,
    string Source)
{
    /// <summary>The step named <paramref name="name"/>, or null.</summary>
    public StepDefinition? Step(string name) => Steps.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));
}

/// <summary>One step of a flow: a step kind run with parameters, inputs from earlier steps or files, a retry policy and a timeout.</summary>
/// <param name="Name">Unique within the flow.</param>
/// <param name="Kind">The step kind (<c>uses:</c>), a name in the <see cref="StepRegistry"/>.</param>
/// <param name="With">Parameter templates by name (<c>${params.NAME}</c>, <c>${item}</c> and <c>${item.KEY}</c> are substituted when the step runs).</param>
/// <param name="Inputs">Input name → sources: <c>STEP.OUTPUT</c> of an earlier step, or <c>file:PATH</c> (a template).</param>
/// <param name="Outputs">Outputs the flow file declares (only <c>exec</c> takes them; other kinds declare their own).</param>
/// <param name="Retries">Attempts after the first one when an attempt fails with a retryable error.</param>
/// <param name="Backoff">The delay before the first retry; it doubles on every further retry (no jitter, so runs are reproducible).</param>
/// <param name="Timeout">The limit of one attempt, or null for none.</param>
/// <param name="ForEach">The fan-out: a YAML list or grid, or a template whose text is such YAML; null for a plain step.</param>
/// <param name="Parallel">At most this many foreach items run at once.</param>
/// <param name="Line">The line of the step in the YAML, for messages.</param>
public sealed record StepDefinition(
    string Name,
    string Kind,
    IReadOnlyDictionary<string, string> With,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Inputs,
    IReadOnlyList<string> Outputs,
    int Retries,
    TimeSpan Backoff,
    TimeSpan? Timeout,
    ForEachSource? ForEach,
    int Parallel,
    int Line);

/// <summary>
/// Where a foreach step's items come from: items written in the flow file (<see cref="Items"/>), or a template
/// (<see cref="Template"/>, e.g. <c>${params.candidates}</c>) whose text, after substitution, is parsed as YAML: a list
/// (each entry a scalar or a mapping) or a mapping of names to value lists (every combination, like a search grid).
/// </summary>
/// <param name="Items">The items as written, or null.</param>
/// <param name="Template">The template, or null.</param>
public sealed record ForEachSource(IReadOnlyList<FlowItem>? Items, string? Template);

/// <summary>
/// One foreach item: a scalar (<see cref="Value"/>) or a mapping (<see cref="Fields"/>). <c>${item}</c> is the scalar, or
/// the mapping as <c>k=v,k=v</c> in written order; <c>${item.KEY}</c> is one field.
/// </summary>
/// <param name="Value">The scalar, or null for a mapping.</param>
/// <param name="Fields">The mapping's fields in written order, or null for a scalar.</param>
public sealed record FlowItem(string? Value, IReadOnlyList<KeyValuePair<string, string>>? Fields)
{
    /// <summary>The item's text: the scalar, or <c>k=v,k=v</c>.</summary>
    public override string ToString() => Value ?? string.Join(",", Fields!.Select(kv => $"{kv.Key}={kv.Value}"));
}
