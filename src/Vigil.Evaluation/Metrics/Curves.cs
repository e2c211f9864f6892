namespace Vigil.Evaluation;

/// <summary>
/// A receiver operating characteristic curve as sklearn's <c>roc_curve(drop_intermediate=False)</c>:
/// one point per distinct score, highest first, preceded by the point (0, 0).
/// </summary>
/// <param name="FalsePositiveRates">FPR at each point, non-decreasing, starting at 0 and ending at 1.</param>
/// <param name="TruePositiveRates">TPR (recall) at each point, non-decreasing, starting at 0 and ending at 1.</param>
/// <param name="Thresholds">Point i flags the rows with score &gt;= <c>Thresholds[i]</c>; decreasing;
/// <c>Thresholds[0]</c> is +infinity (as sklearn 1.3 and later; sklearn 1.2 used max + 1).</param>
public sealed record RocCurve(double[] FalsePositiveRates, double[] TruePositiveRates, double[] Thresholds)
{
    /// <summary>The number of points.</summary>
    public int Count => Thresholds.Length;
}

/// <summary>
/// A precision-recall curve as sklearn's <c>precision_recall_curve</c>: one point per distinct score,
/// lowest threshold first (recall non-increasing), followed by the end point (precision 1, recall 0)
/// that has no threshold.
/// </summary>
/// <param name="Precisions">Precision at each threshold, then 1.</param>
/// <param name="Recalls">Recall at each threshold, then 0.</param>
/// <param name="Thresholds">The distinct scores, ascending; one fewer than the precisions and recalls.</param>
public sealed record PrecisionRecallCurve(double[] Precisions, double[] Recalls, double[] Thresholds);
