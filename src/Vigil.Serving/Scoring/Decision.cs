using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>
/// What the server decided for one item of a request, whatever the protocol: the detector's score and label (the
/// threshold is compared here, once, with the bundle's <see cref="ModelBundle.IsAnomaly"/>), or the pre-model rule
/// that decided it alone, or why the item could not be decided. Protocol writers and the inference log read it.
/// </summary>
public readonly struct Decision
{
    internal Decision(ServedModel model, int status, double score, int label, IReadOnlyList<FeatureContribution>? reasons, string? rule, string? ruleReason, ItemError? error)
    {
        Model = model;
        Status = status;
        Score = score;
        Label = label;
        Reasons = reasons;
        Rule = rule;
        RuleReason = ruleReason;
        Error = error;
    }

    /// <summary>The model version that decided (or would have decided) the item.</summary>
    public ServedModel Model { get; }

    /// <summary>The served model name.</summary>
    public string ModelName => Model.Name;

    /// <summary>The registry version of the model.</summary>
    public int ModelVersion => Model.Version;

    /// <summary>The model's threshold: an item is an anomaly when its score is strictly greater.</summary>
    public double Threshold => Model.Bundle.Threshold;

    /// <summary>200 when decided (by the model or a rule), 400 when the item is invalid, 500 when it failed unexpectedly.</summary>
    public int Status { get; }

    /// <summary>The detector's score, or NaN when the model did not score the item (invalid, or decided by a rule).</summary>
    public double Score { get; }

    /// <summary>1 anomaly, 0 normal, -1 not decided.</summary>
    public int Label { get; }

    /// <summary>True when the item was decided (by the model or a rule).</summary>
    public bool IsDecided => Label >= 0;

    /// <summary>The top per-feature reasons of a model decision, or null (reasons off, a detector without reasons, or no model decision).</summary>
    public IReadOnlyList<FeatureContribution>? Reasons { get; }

    /// <summary>The name of the pre-model rule that decided the item, or null when the model decided (or nothing did).</summary>
    public string? Rule { get; }

    /// <summary>The deciding rule's reason, or null.</summary>
    public string? RuleReason { get; }

    /// <summary>Why the item was not decided (the field at fault and what is wrong), or null.</summary>
    public ItemError? Error { get; }
}
