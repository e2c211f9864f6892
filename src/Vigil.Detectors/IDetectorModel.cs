namespace Vigil.Detectors;

/// <summary>
/// A fitted anomaly detector. Scores are "higher = more anomalous"; a row is flagged when its score
/// is strictly greater than <see cref="Threshold"/>. Implementations are immutable and thread-safe.
/// </summary>
public interface IDetectorModel
{
    /// <summary>The detector kind as stored in a bundle (e.g. <c>"iforest"</c>).</summary>
    string Kind { get; }

    /// <summary>The number of feature columns the model expects.</summary>
    int FeatureCount { get; }

    /// <summary>The decision threshold: scores above it are anomalies.</summary>
    double Threshold { get; }

    /// <summary>Scores every row of <paramref name="x"/> into <paramref name="scores"/> (length at least <c>x.Rows</c>).</summary>
    void Score(FeatureMatrix x, Span<double> scores);
}

/// <summary>Conveniences over <see cref="IDetectorModel"/>.</summary>
public static class DetectorModelExtensions
{
    /// <summary>Scores every row of <paramref name="x"/> into a new array.</summary>
    public static double[] ScoreAll(this IDetectorModel model, FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        var scores = new double[x.Rows];
        model.Score(x, scores);
        return scores;
    }
}
