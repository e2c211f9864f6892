namespace Vigil.Evaluation;

/// <summary>
/// The cumulative confusion counts of a binary scorer at every distinct score, highest first: the
/// common core of every ranking metric (the equivalent of sklearn's <c>_binary_clf_curve</c>).
/// Built with one sort of a negated copy of the scores carrying a byte copy of the labels.
/// </summary>
internal sealed class BinaryCurve
{
    // Distinct scores, descending, in the first Count entries (the sort buffer, compacted in place).
    private readonly double[] _thresholds;

    // Cumulative positives / negatives among the rows with score >= _thresholds[g].
    private readonly int[] _tps;
    private readonly int[] _fps;

    private BinaryCurve(double[] thresholds, int[] tps, int[] fps, int count, int positives, int negatives)
    {
        _thresholds = thresholds;
        _tps = tps;
        _fps = fps;
        Count = count;
        Positives = positives;
        Negatives = negatives;
    }

    /// <summary>The number of distinct scores.</summary>
    public int Count { get; }

    public int Positives { get; }

    public int Negatives { get; }

    public int Rows => Positives + Negatives;

    public ReadOnlySpan<double> Thresholds => _thresholds.AsSpan(0, Count);

    public ReadOnlySpan<int> TruePositives => _tps.AsSpan(0, Count);

    public ReadOnlySpan<int> FalsePositives => _fps.AsSpan(0, Count);

    public static BinaryCurve Build(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        MetricInput.CheckLengths(scores.Length, labels.Length);
        return Build(scores, MetricInput.ToBytes(labels));
    }

    public static BinaryCurve Build(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels)
    {
        MetricInput.CheckLengths(scores.Length, labels.Length);
        return Build(scores, MetricInput.ToBytes(labels));
    }

    private static BinaryCurve Build(ReadOnlySpan<double> scores, byte[] labels)
    {
        var n = scores.Length;
        var keys = new double[n];
        for (var i = 0; i < n; i++)
        {
            var s = scores[i];
            if (!double.IsFinite(s))
            {
                MetricInput.ThrowBadScore(i, s);
            }

            keys[i] = -s;
        }

        // Ascending on -score = descending on score; ties are aggregated below, so stability does not matter.
        Array.Sort(keys, labels);

        var distinct = 1;
        for (var i = 1; i < n; i++)
        {
            if (keys[i] != keys[i - 1])
            {
                distinct++;
            }
        }

        var tps = new int[distinct];
        var fps = new int[distinct];
        int tp = 0, fp = 0, g = 0;
        for (var i = 0; i < n; i++)
        {
            if (labels[i] != 0)
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (i == n - 1 || keys[i + 1] != keys[i])
            {
                // g <= i: compacting the distinct thresholds into the front of the sort buffer is safe.
                keys[g] = -keys[i];
                tps[g] = tp;
                fps[g] = fp;
                g++;
            }
        }

        return new BinaryCurve(keys, tps, fps, distinct, tp, fp);
    }

    public void RequireBothClasses(string metric)
    {
        if (Positives == 0 || Negatives == 0)
        {
            throw new ArgumentException(
                $"{metric} is undefined when only one class is present in the labels " +
                $"({Positives} positive and {Negatives} negative rows); it needs at least one row of each class.",
                "labels");
        }
    }

    public void RequirePositives(string metric)
    {
        if (Positives == 0)
        {
            throw new ArgumentException(
                $"{metric} is undefined without positive rows (all {Negatives} labels are 0).", "labels");
        }
    }

    /// <summary>Trapezoidal area under the ROC (tied scores form one segment), exact in integers until the final division.</summary>
    public double AucRoc()
    {
        RequireBothClasses("AUC-ROC");
        long twiceArea = 0;
        long prevTp = 0, prevFp = 0;
        for (var g = 0; g < Count; g++)
        {
            long tp = _tps[g], fp = _fps[g];
            twiceArea += (fp - prevFp) * (tp + prevTp);
            prevTp = tp;
            prevFp = fp;
        }

        return twiceArea / (2.0 * Positives * (double)Negatives);
    }

    /// <summary>sum_g (R_g - R_{g-1}) * P_g over the distinct scores, descending.</summary>
    public double AveragePrecision()
    {
        RequirePositives("Average precision");
        double positives = Positives;
        double ap = 0, prevRecall = 0;
        for (var g = 0; g < Count; g++)
        {
            var recall = _tps[g] / positives;
            if (recall != prevRecall)
            {
                ap += (recall - prevRecall) * (_tps[g] / (double)(_tps[g] + _fps[g]));
                prevRecall = recall;
            }
        }

        return ap;
    }

    /// <summary>
    /// The index of the ROC point with the highest TPR among the points with FPR &lt;= <paramref name="maxFpr"/>,
    /// the earliest (highest threshold) among equal TPRs; -1 is the (0, 0) point before every score.
    /// </summary>
    public int BestPointAtFpr(double maxFpr)
    {
        RequireBothClasses("Recall at FPR");
        MetricInput.CheckFpr(maxFpr);
        double negatives = Negatives;
        var best = -1;
        var bestTp = 0;
        for (var g = 0; g < Count; g++)
        {
            if (_fps[g] / negatives > maxFpr)
            {
                break; // FPR never decreases along the curve
            }

            if (_tps[g] > bestTp)
            {
                bestTp = _tps[g];
                best = g;
            }
        }

        return best;
    }

    public double TprAt(int point) => point < 0 ? 0.0 : _tps[point] / (double)Positives;

    public double ThresholdAt(int point) => point < 0 ? double.PositiveInfinity : _thresholds[point];

    /// <summary>Expected precision of the top k rows when ties at the boundary are broken uniformly at random.</summary>
    public double PrecisionAtK(int k)
    {
        if (k < 1 || k > Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and the number of rows ({Rows}).");
        }

        long aboveCount = 0, abovePositives = 0;
        for (var g = 0; g < Count; g++)
        {
            long count = (long)_tps[g] + _fps[g];
            if (count >= k)
            {
                var groupSize = count - aboveCount;
                var groupPositives = _tps[g] - abovePositives;
                var taken = k - aboveCount;

                // (abovePositives + taken * groupPositives / groupSize) / k, rounded once.
                var numerator = (abovePositives * groupSize) + (taken * groupPositives);
                return numerator / ((double)groupSize * k);
            }

            aboveCount = count;
            abovePositives = _tps[g];
        }

        throw new InvalidOperationException("Unreachable: k is at most the number of rows.");
    }

    public RocCurve ToRocCurve()
    {
        RequireBothClasses("The ROC curve");
        var fpr = new double[Count + 1];
        var tpr = new double[Count + 1];
        var thresholds = new double[Count + 1];
        thresholds[0] = double.PositiveInfinity;
        double positives = Positives, negatives = Negatives;
        for (var g = 0; g < Count; g++)
        {
            fpr[g + 1] = _fps[g] / negatives;
            tpr[g + 1] = _tps[g] / positives;
            thresholds[g + 1] = _thresholds[g];
        }

        return new RocCurve(fpr, tpr, thresholds);
    }

    public PrecisionRecallCurve ToPrecisionRecallCurve()
    {
        RequirePositives("The precision-recall curve");
        var precision = new double[Count + 1];
        var recall = new double[Count + 1];
        var thresholds = new double[Count];
        double positives = Positives;
        for (var g = 0; g < Count; g++)
        {
            var at = Count - 1 - g;
            precision[at] = _tps[g] / (double)(_tps[g] + _fps[g]);
            recall[at] = _tps[g] / positives;
            thresholds[at] = _thresholds[g];
        }

        precision[Count] = 1.0;
        recall[Count] = 0.0;
        return new PrecisionRecallCurve(precision, recall, thresholds);
    }
}
