using Vigil.Detectors;

namespace Vigil.Monitoring;

/// <summary>
/// Performance estimated by CBPE from calibrated probabilities, before labels arrive. Every figure is an expectation
/// under the calibrator, not a measurement: marked <c>estimated</c> wherever it is shown.
/// </summary>
/// <param name="Rows">Scored rows the estimate covers.</param>
/// <param name="AucPr">Estimated average precision (AUC-PR); NaN when the expected positives are 0.</param>
/// <param name="Recall">Estimated recall at the model's threshold: TP / (TP + FN); NaN when the expected positives are 0.</param>
/// <param name="Precision">Estimated precision at the threshold: TP / (TP + FP); NaN without predicted positives.</param>
/// <param name="AlertRate">The share of rows predicted positive (score above the threshold); this one needs no estimate.</param>
/// <param name="TruePositives">Expected true positives: Σ p over predicted positives.</param>
/// <param name="FalsePositives">Expected false positives: Σ (1 − p) over predicted positives.</param>
/// <param name="FalseNegatives">Expected false negatives: Σ p over predicted negatives.</param>
/// <param name="TrueNegatives">Expected true negatives: Σ (1 − p) over predicted negatives.</param>
public sealed record CbpeEstimate(
    int Rows,
    double AucPr,
    double Recall,
    double Precision,
    double AlertRate,
    double TruePositives,
    double FalsePositives,
    double FalseNegatives,
    double TrueNegatives)
{
    /// <summary>Expected positives, TP + FN (= Σ p).</summary>
    public double ExpectedPositives => TruePositives + FalseNegatives;

    /// <summary>
    /// The estimate under the same names as the realized metrics, for a report's <c>estimated</c> object:
    /// <c>auc_pr</c>, <c>recall_at_threshold</c>, <c>precision_at_threshold</c>, <c>expected_positives</c> (values that are
    /// not numbers are left out).
    /// </summary>
    public IReadOnlyDictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(string name, double value)
        {
            if (double.IsFinite(value))
            {
                metrics[name] = value;
            }
        }

        Add("auc_pr", AucPr);
        Add("recall_at_threshold", Recall);
        Add("precision_at_threshold", Precision);
        Add("expected_positives", ExpectedPositives);
        return metrics;
    }
}

/// <summary>
/// Confidence-based performance estimation (CBPE) as NannyML does it for binary classification: each scored item's
/// calibrated probability p_i of being positive is its expected label. At the model's threshold (predicted positive =
/// score strictly above it, as <see cref="ModelBundle.IsAnomaly"/>) the expected confusion matrix is TP = Σ p_i and
/// FP = Σ (1 − p_i) over predicted positives, FN = Σ p_i and TN = Σ (1 − p_i) over predicted negatives, giving
/// estimated recall and precision. Estimated AUC-PR is the average precision of the expected precision-recall curve:
/// items sorted by score, descending, with equal scores forming one threshold; at each distinct score the cumulative
/// expected TP and FP give precision = TP / (TP + FP) and recall = TP / Σ p; AP = Σ (R_k − R_{k−1}) · P_k, the step-wise
/// sum of scikit-learn's <c>average_precision_score</c> (which <c>vigil evaluate</c>'s realized AUC-PR also is). The
/// ranking uses the model's scores; the calibrator (isotonic, non-decreasing) only supplies the probabilities.
/// </summary>
public static class Cbpe
{
    /// <summary>The note shown where an estimate cannot be made because the bundle has no calibrator.</summary>
    public static string NoEstimateReason(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return bundle.Calibrator is not null ? string.Empty
            : bundle.Descriptor.Supervised
                ? "no estimate: the model has no calibrator (trained without validation rows; retrain with --validation FILE or --calibration-fraction F)"
                : "no estimate: the model has no calibrator (unsupervised)";
    }

    /// <summary>A one-line description of the estimation, or <see cref="NoEstimateReason"/> when none can be made.</summary>
    public static string Describe(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return bundle.Calibrator is { } c
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"estimated (CBPE): expected performance from the scores calibrated by isotonic regression on {c.Rows:N0} validation rows at training time; an expectation, not a measurement")
            : NoEstimateReason(bundle);
    }

    /// <summary>Estimates from a bundle's scores with its calibrator; null when the bundle has none or there are no scores.</summary>
    public static CbpeEstimate? Estimate(ModelBundle bundle, ReadOnlySpan<double> scores)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (bundle.Calibrator is not { } calibrator)
        {
            return null;
        }

        var probabilities = new double[scores.Length];
        calibrator.Calibrate(scores, probabilities);
        return Estimate(scores, probabilities, bundle.Threshold);
    }

    /// <summary>
    /// Estimates from <paramref name="scores"/> and their calibrated <paramref name="probabilities"/> at
    /// <paramref name="threshold"/>; items with a NaN score or probability are left out. Null when no item is left.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ or a probability is outside [0, 1].</exception>
    public static CbpeEstimate? Estimate(ReadOnlySpan<double> scores, ReadOnlySpan<double> probabilities, double threshold)
    {
        if (scores.Length != probabilities.Length)
        {
            throw new ArgumentException($"{scores.Length} scores but {probabilities.Length} probabilities", nameof(probabilities));
        }

        var keys = new double[scores.Length];
        var values = new double[scores.Length];
        var n = 0;
        double tp = 0, fp = 0, fn = 0, tn = 0;
        var alerts = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var s = scores[i];
            var p = probabilities[i];
            if (double.IsNaN(s) || double.IsNaN(p))
            {
                continue;
            }

            if (!(p >= 0 && p <= 1))
            {
                throw new ArgumentException($"probability {p} at item {i} is outside [0, 1]", nameof(probabilities));
            }

            if (s > threshold)
            {
                alerts++;
                tp += p;
                fp += 1 - p;
            }
            else
            {
                fn += p;
                tn += 1 - p;
            }

            keys[n] = -s; // ascending sort of -score = descending score
            values[n] = p;
            n++;
        }

        if (n == 0)
        {
            return null;
        }

        var positives = tp + fn;
        return new CbpeEstimate(
            n,
            AveragePrecision(keys.AsSpan(0, n), values.AsSpan(0, n), positives),
            positives > 0 ? tp / positives : double.NaN,
            alerts > 0 ? tp / (tp + fp) : double.NaN,
            (double)alerts / n,
            tp,
            fp,
            fn,
            tn);
    }

    /// <summary>Expected average precision; <paramref name="negatedScores"/> and <paramref name="p"/> are sorted together.</summary>
    private static double AveragePrecision(Span<double> negatedScores, Span<double> p, double positives)
    {
        if (!(positives > 0))
        {
            return double.NaN;
        }

        negatedScores.Sort(p);
        double cumTp = 0, cumFp = 0, ap = 0, prevRecall = 0;
        for (var i = 0; i < negatedScores.Length;)
        {
            var j = i;
            while (j < negatedScores.Length && negatedScores[j] == negatedScores[i])
            {
                cumTp += p[j];
                cumFp += 1 - p[j];
                j++;
            }

            var recall = cumTp / positives;
            if (recall != prevRecall)
            {
                ap += (recall - prevRecall) * (cumTp / (cumTp + cumFp));
                prevRecall = recall;
            }

            i = j;
        }

        return ap;
    }
}
