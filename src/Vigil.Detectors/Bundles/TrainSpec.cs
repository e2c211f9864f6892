namespace Vigil.Detectors;

/// <summary>What <see cref="ModelBundle.Train"/> should build.</summary>
public sealed record TrainSpec
{
    /// <summary>The detector kind; only <c>"iforest"</c> so far.</summary>
    public string Model { get; init; } = IsolationForestModel.DetectorKind;

    /// <summary>The label column, if the data has one: never a feature.</summary>
    public string? Label { get; init; }

    /// <summary>The row id column, if any: never a feature.</summary>
    public string? IdColumn { get; init; }

    /// <summary>Explicit feature columns; null = every numeric and categorical column not excluded.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>More columns that are never features (<c>fraud_pattern</c> is always excluded).</summary>
    public IReadOnlySet<string>? Exclude { get; init; }

    /// <summary>Isolation forest settings.</summary>
    public IsolationForestOptions Forest { get; init; } = new();

    /// <summary>Feature transform settings; its Features/Exclude are merged with the ones above.</summary>
    public FeatureTransformOptions? Transform { get; init; }

    /// <summary>The tracking run id recorded in the manifest.</summary>
    public string? TrainingRunId { get; init; }
}
