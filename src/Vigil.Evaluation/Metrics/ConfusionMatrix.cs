namespace Vigil.Evaluation;

/// <summary>
/// Counts of a binary decision (flag when score &gt;= threshold) against the labels, with the derived rates.
/// A rate whose denominator is zero is 0 (sklearn's <c>zero_division=0</c>).
/// </summary>
/// <param name="TruePositives">Flagged rows labelled 1.</param>
/// <param name="FalsePositives">Flagged rows labelled 0.</param>
/// <param name="TrueNegatives">Unflagged rows labelled 0.</param>
/// <param name="FalseNegatives">Unflagged rows labelled 1.</param>
public readonly record struct ConfusionMatrix(long TruePositives, long FalsePositives, long TrueNegatives, long FalseNegatives)
{
    /// <summary>TP / (TP + FP); 0 when nothing is flagged.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN), the true positive rate; 0 when there are no positive rows.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>FP / (FP + TN), the false positive rate; 0 when there are no negative rows.</summary>
    public double Fpr => Ratio(FalsePositives, FalsePositives + TrueNegatives);

    /// <summary>2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; 0 when TP is 0.</summary>
    public double F1 => Ratio(2 * TruePositives, (2 * TruePositives) + FalsePositives + FalseNegatives);

    /// <summary>The number of flagged rows (TP + FP).</summary>
    public long Flagged => TruePositives + FalsePositives;

    /// <summary>All rows.</summary>
    public long Total => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0.0 : numerator / (double)denominator;
}
