using System.Text.Json;

namespace Vigil.Pipelines;

/// <summary>The state of one step (or one foreach item) of a flow run, as the tracking store holds it.</summary>
public sealed record StepRecord
{
    /// <summary>The step's name (for an item: the step's name).</summary>
    public required string Name { get; init; }

    /// <summary>The step kind.</summary>
    public string Kind { get; init; } = string.Empty;

    /// <summary>The step's run (null while pending).</summary>
    public string? RunId { get; init; }

    /// <summary><c>pending</c>, <c>running</c>, <c>finished</c>, <c>failed</c>, <c>killed</c> or <c>interrupted</c> (its process died).</summary>
    public required string Status { get; init; }

    /// <summary>Attempts made (a foreach step: over all its items).</summary>
    public int Attempts { get; init; }

    /// <summary>True when the step was not run but its outputs were taken from an earlier run with the same inputs and parameters.</summary>
    public bool Reused { get; init; }

    /// <summary>The step run whose outputs were reused, or null.</summary>
    public string? ReusedFrom { get; init; }

    /// <summary>Why the step failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>When the step started, or null.</summary>
    public DateTimeOffset? Started { get; init; }

    /// <summary>When it ended, or null.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>The hash of its kind, parameters and input hashes (what resume compares).</summary>
    public string? Key { get; init; }

    /// <summary>Its committed outputs (a foreach step: every item's, in item order).</summary>
    public IReadOnlyList<StepArtifact> Outputs { get; init; } = [];

    /// <summary>Its metrics.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The items of a foreach step, by index; empty otherwise.</summary>
    public IReadOnlyList<StepRecord> Items { get; init; } = [];

    /// <summary>The item's index for an item record, else -1.</summary>
    public int Index { get; init; } = -1;

    /// <summary>The item's text for an item record, else null.</summary>
    public string? Item { get; init; }

    /// <summary>The <c>vigil worker</c> that ran it (a step of a distributed flow run), or null when it ran in the flow's own process.</summary>
    public string? Worker { get; init; }

    /// <summary>How many times a worker started its last attempt (more than 1: a worker died mid-step and the job was recovered); 0 when it ran locally.</summary>
    public int Executions { get; init; }

    /// <summary>True when its last attempt was recovered: started again by another worker after one died mid-step.</summary>
    public bool Recovered => Executions > 1;

    /// <summary>Seconds between start and end (or now while running), or null.</summary>
    public double? DurationSeconds(DateTimeOffset now) => Started is { } s ? ((Ended ?? now) - s).TotalSeconds : null;
}

/// <summary>A flow run as the tracking store holds it: the parent run and its steps, in the flow's order.</summary>
public sealed record FlowRunRecord
{
    /// <summary>The flow run's id.</summary>
    public required string Id { get; init; }

    /// <summary>The flow's name.</summary>
    public required string Flow { get; init; }

    /// <summary><c>running</c>, <c>finished</c>, <c>failed</c>, <c>killed</c> or <c>interrupted</c>.</summary>
    public required string Status { get; init; }

    /// <summary>The flow run this one resumed, or null.</summary>
    public string? ResumedFrom { get; init; }

    /// <summary>Start.</summary>
    public DateTimeOffset Started { get; init; }

    /// <summary>End, or null.</summary>
    public DateTimeOffset? Ended { get; init; }

    /// <summary>The failed step and why, or null.</summary>
    public string? Error { get; init; }

    /// <summary>The flow parameters the run used.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Every step of the flow in order; those not reached are <c>pending</c>.</summary>
    public IReadOnlyList<StepRecord> Steps { get; init; } = [];
}

/// <summary>The tag and experiment names flow runs are stored under.</summary>
internal static class FlowTags
{
    public const string Experiment = "flows";
    public const string Kind = "vigil.flow.kind";
    public const string FlowName = "vigil.flow.name";
    public const string Step = "vigil.flow.step";
    public const string StepKind = "vigil.flow.step_kind";
    public const string Key = "vigil.flow.key";
    public const string Reused = "vigil.flow.reused";
    public const string ReusedFrom = "vigil.flow.reused_from";
    public const string Outputs = "vigil.flow.outputs";
    public const string Attempts = "vigil.flow.attempts";
    public const string Error = "vigil.flow.error";
    public const string ResumedFrom = "vigil.flow.resumed_from";
    public const string ItemIndex = "vigil.flow.item";
    public const string ItemText = "vigil.flow.item_text";
    public const string Inputs = "vigil.flow.inputs";
    public const string Distributed = "vigil.flow.distributed";
    public const string Worker = "vigil.worker";
    public const string WorkerExecutions = "vigil.worker.executions";
    public const string WorkerRecovered = "vigil.worker.recovered";
    public const string DefinitionArtifact = "flow.yaml";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string WriteArtifacts(IEnumerable<StepArtifact> artifacts) => JsonSerializer.Serialize(artifacts.ToList(), Json);

    public static IReadOnlyList<StepArtifact> ReadArtifacts(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<StepArtifact>>(json, Json) ?? [];
}
