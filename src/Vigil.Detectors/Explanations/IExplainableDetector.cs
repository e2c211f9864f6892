namespace Vigil.Detectors;

/// <summary>A detector that can say how much each input feature contributed to one row's score.</summary>
public interface IExplainableDetector : IDetectorModel
{
    /// <summary>
    /// Writes one contribution per feature of <paramref name="row"/> (a transformed row of
    /// <see cref="IDetectorModel.FeatureCount"/> values) into <paramref name="contributions"/>; no allocation.
    /// Larger (absolute) values mean the feature mattered more.
    /// </summary>
    void Contributions(ReadOnlySpan<float> row, Span<double> contributions);

    /// <summary>True when <see cref="TryScoreWithContributions"/> does both in one pass for every row.</summary>
    bool ScoresWhileExplaining => false;

    /// <summary>
    /// Scores <paramref name="row"/> and writes its <see cref="Contributions"/> in one pass when the detector can (one
    /// walk instead of two), with exactly the score <see cref="IDetectorModel.Score"/> gives the row; false (nothing
    /// written) when it cannot, and the caller scores and explains separately.
    /// </summary>
    bool TryScoreWithContributions(ReadOnlySpan<float> row, Span<double> contributions, out double score)
    {
        _ = row;
        _ = contributions;
        score = double.NaN;
        return false;
    }
}

/// <summary>How much one input column contributed to a row's score (see <see cref="ModelBundle.Explain"/>).</summary>
/// <param name="Feature">The input column name (one-hot slots are summed back into their categorical column).</param>
/// <param name="Contribution">Autoencoder: the column's share of the weighted squared reconstruction error. LightGBM: the
/// column's additive contribution to the raw (log-odds) score. Isolation forest: the column's additive share of
/// <c>1 + log2(score)</c> (positive = isolates the row faster than average).</param>
public readonly record struct FeatureContribution(string Feature, double Contribution);

/// <summary>Scores row-major rows on the calling thread without allocating a <see cref="FeatureMatrix"/>.</summary>
internal interface IRowScorer
{
    void ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores);
}
