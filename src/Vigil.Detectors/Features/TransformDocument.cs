using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>The JSON shape of <c>transform.json</c>.</summary>
internal sealed class TransformDocument
{
    public const int CurrentVersion = 1;

    public int FormatVersion { get; set; }

    public Scaling Scaling { get; set; }

    public MissingPolicy MissingPolicy { get; set; }

    public int MaxCategories { get; set; }

    public List<TransformInput> Inputs { get; set; } = [];
}

/// <summary>One fitted input column in <c>transform.json</c>.</summary>
internal sealed class TransformInput
{
    public string Name { get; set; } = string.Empty;

    public ColumnKind Kind { get; set; }

    /// <summary>Training median before scaling (numeric columns with at least one value).</summary>
    public double? Median { get; set; }

    public double? Min { get; set; }

    public double? Max { get; set; }

    /// <summary>MinMaxScaler <c>scale_</c>: 1 / (max - min), or 1 for a constant column.</summary>
    public double? Scale { get; set; }

    /// <summary>MinMaxScaler <c>min_</c>: -min * scale.</summary>
    public double? Offset { get; set; }

    /// <summary>One-hot categories in slot order (categorical columns); the "other" slot follows.</summary>
    public List<string>? Categories { get; set; }
}
