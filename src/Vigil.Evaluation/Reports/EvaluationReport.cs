using System.Text.Json.Nodes;

namespace Vigil.Evaluation;

/// <summary>The standard fraud metrics of one scored, labelled data set, plus the confusion matrix at a threshold.</summary>
public sealed class EvaluationReport
{
    private EvaluationReport(int rows, int positives, IReadOnlyDictionary<string, double> metrics, double threshold, ConfusionMatrix atThreshold)
    {
        Rows = rows;
        Positives = positives;
        Metrics = metrics;
        Threshold = threshold;
        AtThreshold = atThreshold;
    }

    /// <summary>Rows evaluated.</summary>
    public int Rows { get; }

    /// <summary>Rows labelled 1.</summary>
    public int Positives { get; }

    /// <summary>auc_roc, auc_pr, recall at fixed FPRs, precision@k, in a stable order.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>The decision threshold (flag when score &gt;= threshold, or as the bundle decides: see <see cref="Create(ReadOnlySpan{double}, ReadOnlySpan{int}, Vigil.Detectors.ModelBundle, int)"/>).</summary>
    public double Threshold { get; }

    /// <summary>The confusion matrix at <see cref="Threshold"/>.</summary>
    public ConfusionMatrix AtThreshold { get; }

    /// <summary>Computes the report.</summary>
    public static EvaluationReport Create(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, double threshold, int k = 100) =>
        new(scores.Length, Labels.Positives(labels), StandardMetrics(scores, labels, k), threshold,
            Vigil.Evaluation.Metrics.ConfusionMatrixAt(scores, labels, threshold));

    /// <summary>
    /// Computes the report of <paramref name="bundle"/>'s scores, with the confusion matrix of its own decision
    /// (<see cref="Vigil.Detectors.ModelBundle.IsAnomaly"/>: score strictly above its threshold, as the server labels).
    /// </summary>
    public static EvaluationReport Create(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, Vigil.Detectors.ModelBundle bundle, int k = 100)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var metrics = StandardMetrics(scores, labels, k); // checks lengths, scores and labels first
        var positives = Labels.Positives(labels);
        long tp = 0, fp = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (bundle.IsAnomaly(scores[i]))
            {
                tp += labels[i];
                fp += 1 - labels[i];
            }
        }

        return new EvaluationReport(scores.Length, positives, metrics, bundle.Threshold, new ConfusionMatrix(tp, fp, scores.Length - positives - fp, positives - tp));
    }

    private static Dictionary<string, double> StandardMetrics(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, int k)
    {
        var metrics = new Dictionary<string, double>(MetricSet.Standard(scores, labels), StringComparer.Ordinal);
        if (k > 0 && k <= scores.Length)
        {
            metrics[$"precision_at_{k}"] = Vigil.Evaluation.Metrics.PrecisionAtK(scores, labels, k);
        }

        return metrics;
    }

    /// <summary>A JSON object: data, model, rows, positives, every metric, threshold and the confusion matrix.</summary>
    public JsonObject ToJsonObject(string data, string model)
    {
        var o = new JsonObject
        {
            ["data"] = data,
            ["model"] = model,
            ["rows"] = Rows,
            ["positives"] = Positives,
        };
        foreach (var (key, value) in Metrics)
        {
            o[key] = double.IsFinite(value) ? value : null;
        }

        o["threshold"] = Threshold;
        o["confusion"] = new JsonObject
        {
            ["tp"] = AtThreshold.TruePositives,
            ["fp"] = AtThreshold.FalsePositives,
            ["tn"] = AtThreshold.TrueNegatives,
            ["fn"] = AtThreshold.FalseNegatives,
            ["precision"] = AtThreshold.Precision,
            ["recall"] = AtThreshold.Recall,
            ["fpr"] = AtThreshold.Fpr,
        };
        return o;
    }
}
