namespace Vigil.Evaluation;

/// <summary>
/// Ranking and decision metrics for fraud/anomaly scores, numerically matching scikit-learn.
/// </summary>
/// <remarks>
/// <para>Scores: higher means more anomalous (more likely fraud); every score must be finite, otherwise
/// an <see cref="ArgumentException"/> names the first bad index (sklearn rejects NaN and infinity too).</para>
/// <para>Labels: 1 = fraud/anomaly (positive), 0 = normal. Any other value throws an
/// <see cref="ArgumentException"/> naming the index and the value. The <c>ReadOnlySpan&lt;double&gt;</c>
/// overloads accept frame label columns (Float64) holding exactly 0.0 and 1.0.</para>
/// <para>Ties: rows with equal scores are one threshold, never split (as sklearn's <c>_binary_clf_curve</c>).
/// The ranking metrics cost one O(n log n) sort of a copy of the scores (about 9 bytes per row of scratch
/// memory plus 8 per distinct score); <see cref="ConfusionMatrixAt(ReadOnlySpan{double}, ReadOnlySpan{int}, double)"/>
/// is a single O(n) pass.</para>
/// </remarks>
public static class Metrics
{
    /// <summary>
    /// Area under the ROC curve, as sklearn <c>roc_auc_score</c>: the trapezoidal area with tied scores forming
    /// one segment, which equals the Mann–Whitney probability that a random positive outscores a random
    /// negative (ties counting one half).
    /// </summary>
    /// <exception cref="ArgumentException">Only one class is present (AUC is undefined), or bad input.</exception>
    public static double AucRoc(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels) =>
        BinaryCurve.Build(scores, labels).AucRoc();

    /// <inheritdoc cref="AucRoc(ReadOnlySpan{double}, ReadOnlySpan{int})"/>
    public static double AucRoc(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) =>
        BinaryCurve.Build(scores, labels).AucRoc();

    /// <summary>
    /// Average precision (area under the precision-recall curve), as sklearn <c>average_precision_score</c>:
    /// the sum over the distinct scores t, descending, of (R(t) - R(previous t)) * P(t), where P and R are the
    /// precision and recall of flagging score &gt;= t. No interpolation.
    /// </summary>
    /// <exception cref="ArgumentException">There is no positive row (sklearn warns and returns 0), or bad input.</exception>
    public static double AveragePrecision(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels) =>
        BinaryCurve.Build(scores, labels).AveragePrecision();

    /// <inheritdoc cref="AveragePrecision(ReadOnlySpan{double}, ReadOnlySpan{int})"/>
    public static double AveragePrecision(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) =>
        BinaryCurve.Build(scores, labels).AveragePrecision();

    /// <summary>The full ROC curve, as sklearn <c>roc_curve(drop_intermediate=False)</c> (see <see cref="Evaluation.RocCurve"/>).</summary>
    /// <exception cref="ArgumentException">Only one class is present, or bad input.</exception>
    public static RocCurve RocCurve(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels) =>
        BinaryCurve.Build(scores, labels).ToRocCurve();

    /// <inheritdoc cref="RocCurve(ReadOnlySpan{double}, ReadOnlySpan{int})"/>
    public static RocCurve RocCurve(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) =>
        BinaryCurve.Build(scores, labels).ToRocCurve();

    /// <summary>The precision-recall curve, as sklearn <c>precision_recall_curve</c> (see <see cref="Evaluation.PrecisionRecallCurve"/>).</summary>
    /// <exception cref="ArgumentException">There is no positive row, or bad input.</exception>
    public static PrecisionRecallCurve PrecisionRecallCurve(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels) =>
        BinaryCurve.Build(scores, labels).ToPrecisionRecallCurve();

    /// <inheritdoc cref="PrecisionRecallCurve(ReadOnlySpan{double}, ReadOnlySpan{int})"/>
    public static PrecisionRecallCurve PrecisionRecallCurve(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) =>
        BinaryCurve.Build(scores, labels).ToPrecisionRecallCurve();

    /// <summary>
    /// The highest recall (TPR) among the points of the full ROC curve whose FPR is at most
    /// <paramref name="maxFpr"/>; exactly <c>np.max(tpr[fpr &lt;= maxFpr])</c> over
    /// <c>roc_curve(drop_intermediate=False)</c>. 0 when even the highest score has too many negatives.
    /// </summary>
    /// <param name="scores">Scores, higher = more anomalous.</param>
    /// <param name="labels">0/1 labels.</param>
    /// <param name="maxFpr">The false positive rate budget, in [0, 1].</param>
    /// <exception cref="ArgumentException">Only one class is present, or bad input.</exception>
    public static double RecallAtFpr(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double maxFpr)
    {
        var curve = BinaryCurve.Build(scores, labels);
        return curve.TprAt(curve.BestPointAtFpr(maxFpr));
    }

    /// <inheritdoc cref="RecallAtFpr(ReadOnlySpan{double}, ReadOnlySpan{int}, double)"/>
    public static double RecallAtFpr(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, double maxFpr)
    {
        var curve = BinaryCurve.Build(scores, labels);
        return curve.TprAt(curve.BestPointAtFpr(maxFpr));
    }

    /// <summary>
    /// The score threshold t (flag when score &gt;= t) that attains <see cref="RecallAtFpr(ReadOnlySpan{double}, ReadOnlySpan{int}, double)"/>
    /// within the FPR budget: of the ROC points with FPR &lt;= <paramref name="maxFpr"/> and that highest recall,
    /// the one with the highest threshold (hence the lowest FPR). t is always one of the scores, except
    /// +infinity (flag nothing) when the attainable recall is 0. <c>ConfusionMatrixAt(scores, labels, t)</c>
    /// then has exactly that recall and an FPR of at most <paramref name="maxFpr"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Only one class is present, or bad input.</exception>
    public static double ThresholdForFpr(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double maxFpr)
    {
        var curve = BinaryCurve.Build(scores, labels);
        return curve.ThresholdAt(curve.BestPointAtFpr(maxFpr));
    }

    /// <inheritdoc cref="ThresholdForFpr(ReadOnlySpan{double}, ReadOnlySpan{int}, double)"/>
    public static double ThresholdForFpr(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, double maxFpr)
    {
        var curve = BinaryCurve.Build(scores, labels);
        return curve.ThresholdAt(curve.BestPointAtFpr(maxFpr));
    }

    /// <summary>
    /// Precision among the <paramref name="k"/> highest scores. When rows tied at the k-th score straddle the
    /// boundary, the result is the expected precision under uniformly random tie breaking: the rows above the
    /// tied group count fully and the remaining slots take the tied group's positive fraction. This does not
    /// depend on row order, and equals the plain top-k precision whenever the boundary is not tied.
    /// </summary>
    /// <param name="scores">Scores, higher = more anomalous.</param>
    /// <param name="labels">0/1 labels.</param>
    /// <param name="k">How many top rows to inspect, 1 to the number of rows.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is outside [1, rows].</exception>
    public static double PrecisionAtK(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, int k) =>
        BinaryCurve.Build(scores, labels).PrecisionAtK(k);

    /// <inheritdoc cref="PrecisionAtK(ReadOnlySpan{double}, ReadOnlySpan{int}, int)"/>
    public static double PrecisionAtK(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int k) =>
        BinaryCurve.Build(scores, labels).PrecisionAtK(k);

    /// <summary>The confusion matrix of flagging every row with score &gt;= <paramref name="threshold"/>.</summary>
    /// <param name="scores">Scores, higher = more anomalous.</param>
    /// <param name="labels">0/1 labels.</param>
    /// <param name="threshold">Any number but NaN; +infinity flags nothing, -infinity flags everything.</param>
    public static ConfusionMatrix ConfusionMatrixAt(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double threshold)
    {
        MetricInput.CheckLengths(scores.Length, labels.Length);
        CheckThreshold(threshold);
        long tp = 0, fp = 0, positives = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var s = scores[i];
            var y = labels[i];
            if (!double.IsFinite(s))
            {
                MetricInput.ThrowBadScore(i, s);
            }

            if ((uint)y > 1)
            {
                MetricInput.ThrowBadLabel(i, y.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            positives += y;
            if (s >= threshold)
            {
                tp += y;
                fp += 1 - y;
            }
        }

        return new ConfusionMatrix(tp, fp, scores.Length - positives - fp, positives - tp);
    }

    /// <inheritdoc cref="ConfusionMatrixAt(ReadOnlySpan{double}, ReadOnlySpan{int}, double)"/>
    public static ConfusionMatrix ConfusionMatrixAt(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, double threshold)
    {
        MetricInput.CheckLengths(scores.Length, labels.Length);
        CheckThreshold(threshold);
        long tp = 0, fp = 0, positives = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var s = scores[i];
            var label = labels[i];
            if (!double.IsFinite(s))
            {
                MetricInput.ThrowBadScore(i, s);
            }

            if (label != 0.0 && label != 1.0)
            {
                MetricInput.ThrowBadLabel(i, label.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            }

            var y = label == 1.0 ? 1 : 0;
            positives += y;
            if (s >= threshold)
            {
                tp += y;
                fp += 1 - y;
            }
        }

        return new ConfusionMatrix(tp, fp, scores.Length - positives - fp, positives - tp);
    }

    private static void CheckThreshold(double threshold)
    {
        if (double.IsNaN(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a number, not NaN.");
        }
    }
}
