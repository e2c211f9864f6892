namespace Vigil.Evaluation;

/// <summary>The standard metric set that <c>vigil evaluate</c> and benchmark reports print.</summary>
public static class MetricSet
{
    /// <summary>sklearn <c>roc_auc_score</c>.</summary>
    public const string AucRoc = "auc_roc";

    /// <summary>sklearn <c>average_precision_score</c>.</summary>
    public const string AucPr = "auc_pr";

    /// <summary>Highest recall with FPR &lt;= 1%.</summary>
    public const string RecallAtFpr1 = "recall_at_fpr_0.01";

    /// <summary>Highest recall with FPR &lt;= 5% (iforest_bench.py's <c>recall_at_5fpr</c>).</summary>
    public const string RecallAtFpr5 = "recall_at_fpr_0.05";

    /// <summary>Precision of the top 100 scores (of all rows when there are fewer than 100).</summary>
    public const string PrecisionAt100 = "precision_at_100";

    /// <summary>Precision of the top P scores, P = number of positive rows (R-precision; equals recall at that k).</summary>
    public const string PrecisionAtPositives = "precision_at_positives";

    /// <summary>The metric names of <see cref="Standard(ReadOnlySpan{double}, ReadOnlySpan{int})"/>, in print order.</summary>
    public static IReadOnlyList<string> StandardNames { get; } =
        [AucRoc, AucPr, RecallAtFpr1, RecallAtFpr5, PrecisionAt100, PrecisionAtPositives];

    /// <summary>
    /// Computes every metric of <see cref="StandardNames"/> from a single sort of the scores; the dictionary
    /// enumerates in that order. See <see cref="Metrics"/> for the definitions, ties and input rules.
    /// </summary>
    /// <exception cref="ArgumentException">Only one class is present, or bad input.</exception>
    public static IReadOnlyDictionary<string, double> Standard(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels) =>
        Standard(BinaryCurve.Build(scores, labels));

    /// <inheritdoc cref="Standard(ReadOnlySpan{double}, ReadOnlySpan{int})"/>
    public static IReadOnlyDictionary<string, double> Standard(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) =>
        Standard(BinaryCurve.Build(scores, labels));

    private static OrderedDictionary<string, double> Standard(BinaryCurve curve)
    {
        curve.RequireBothClasses("The standard metric set (AUC-ROC)");
        return new OrderedDictionary<string, double>(StandardNames.Count, StringComparer.Ordinal)
        {
            [AucRoc] = curve.AucRoc(),
            [AucPr] = curve.AveragePrecision(),
            [RecallAtFpr1] = curve.TprAt(curve.BestPointAtFpr(0.01)),
            [RecallAtFpr5] = curve.TprAt(curve.BestPointAtFpr(0.05)),
            [PrecisionAt100] = curve.PrecisionAtK(Math.Min(100, curve.Rows)),
            [PrecisionAtPositives] = curve.PrecisionAtK(curve.Positives),
        };
    }
}
