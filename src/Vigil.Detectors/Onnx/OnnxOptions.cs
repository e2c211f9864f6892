namespace Vigil.Detectors;

/// <summary>What <see cref="ModelBundle.Train"/> does for <c>"onnx"</c>: wrap a model trained elsewhere, check it on the data.</summary>
public sealed record OnnxOptions
{
    /// <summary>The loaded, checked model (<see cref="OnnxModel.Load"/>); the trained bundle takes it over.</summary>
    public OnnxModel? Model { get; init; }

    /// <summary>
    /// When set, the threshold becomes the <c>1 - Contamination</c> quantile of the training rows' scores (in (0, 0.5]);
    /// otherwise the schema's <c>"threshold"</c>, else <see cref="OnnxModel.DefaultThreshold"/>.
    /// </summary>
    public double? Contamination { get; init; }
}
