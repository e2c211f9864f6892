using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Monitoring;

/// <summary>
/// Realized performance of a served model per time window: its logged predictions (scored items) joined to the
/// delayed labels stored for them. Per window: predictions, alert rate at the model's threshold, the share labelled so
/// far, and on the labelled predictions the same metrics as <c>vigil evaluate</c> (computed by
/// <see cref="EvaluationReport"/>, so the same rows give the same numbers): auc_pr, auc_roc, recall and precision at the
/// threshold, precision@k; metrics that need both classes are left out of a window without both. When the bundle has a
/// score calibrator, every window (labelled or not) also gets the CBPE estimate over all its predictions
/// (<see cref="Cbpe"/>), under <see cref="ReportWindow.Estimated"/>.
/// </summary>
public sealed class RealizedPerformance
{
    private readonly ModelBundle _bundle;
    private readonly Dictionary<(string, int), int> _labels;
    private readonly long _windowUs;
    private readonly int _k;
    private readonly SortedDictionary<long, Window> _windows = [];
    private readonly Window _total = new();

    /// <summary>Starts with the stored labels of the model.</summary>
    /// <param name="bundle">The model (its threshold decides alerts).</param>
    /// <param name="labels">The stored labels.</param>
    /// <param name="windowUs">The window width in microseconds.</param>
    /// <param name="k">k of precision@k.</param>
    public RealizedPerformance(ModelBundle bundle, IReadOnlyList<InferenceLabel> labels, long windowUs, int k = 100)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowUs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        _bundle = bundle;
        _windowUs = windowUs;
        _k = k;
        _labels = new Dictionary<(string, int), int>(labels.Count);
        foreach (var l in labels)
        {
            _labels[(l.RequestId, l.Item)] = l.Label;
        }
    }

    /// <summary>Counts the scored items of one chunk of the log.</summary>
    public void Add(InferenceItemChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        for (var i = 0; i < chunk.Count; i++)
        {
            var score = chunk.Score[i];
            if (chunk.Status[i] != 200 || double.IsNaN(score))
            {
                continue;
            }

            var start = chunk.StartUs[i];
            var key = Math.DivRem(start, _windowUs, out var rem) - (rem < 0 ? 1 : 0);
            if (!_windows.TryGetValue(key, out var w))
            {
                _windows[key] = w = new Window();
            }

            var label = _labels.TryGetValue((chunk.RequestId[i], chunk.Item[i]), out var l) ? l : -1;
            w.Add(score, label, _bundle.IsAnomaly(score));
            _total.Add(score, label, _bundle.IsAnomaly(score));
        }
    }

    /// <summary>One line per window that has predictions, oldest first.</summary>
    public IReadOnlyList<ReportWindow> Windows()
    {
        var result = new List<ReportWindow>();
        foreach (var (key, w) in _windows)
        {
            var start = key * _windowUs;
            result.Add(w.ToReport(ProfileDrift.TimestampText(start), start, start + _windowUs, _bundle, _k));
        }

        return result;
    }

    /// <summary>Every window together.</summary>
    public ReportWindow Total(long startUs, long endUs) => _total.ToReport("total", startUs, endUs, _bundle, _k);

    private sealed class Window
    {
        private readonly List<double> _scores = [];
        private readonly List<double> _labelledScores = [];
        private readonly List<int> _labelled = [];
        private long _predictions;
        private long _alerts;

        public void Add(double score, int label, bool alert)
        {
            _predictions++;
            _alerts += alert ? 1 : 0;
            _scores.Add(score);
            if (label >= 0)
            {
                _labelledScores.Add(score);
                _labelled.Add(label);
            }
        }

        public ReportWindow ToReport(string name, long start, long end, ModelBundle bundle, int k)
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (_labelled.Count > 0)
            {
                var scores = _labelledScores.ToArray();
                var labels = _labelled.ToArray();
                var positives = 0;
                foreach (var l in labels)
                {
                    positives += l;
                }

                if (positives > 0 && positives < labels.Length)
                {
                    var report = EvaluationReport.Create(scores, labels, bundle, k);
                    foreach (var (key, value) in report.Metrics)
                    {
                        metrics[key] = value;
                    }

                    metrics["recall_at_threshold"] = report.AtThreshold.Recall;
                    metrics["precision_at_threshold"] = report.AtThreshold.Precision;
                }
                else
                {
                    // one class so far: only the counts at the threshold are defined
                    long tp = 0, fp = 0;
                    for (var i = 0; i < scores.Length; i++)
                    {
                        if (bundle.IsAnomaly(scores[i]))
                        {
                            tp += labels[i];
                            fp += 1 - labels[i];
                        }
                    }

                    if (positives > 0)
                    {
                        metrics["recall_at_threshold"] = (double)tp / positives;
                    }

                    if (tp + fp > 0)
                    {
                        metrics["precision_at_threshold"] = (double)tp / (tp + fp);
                    }
                }

                metrics["labelled_positives"] = positives;
            }

            return new ReportWindow
            {
                Label = name,
                StartUs = start,
                EndUs = end,
                Predictions = _predictions,
                AlertRate = _predictions == 0 ? double.NaN : (double)_alerts / _predictions,
                LabelledShare = _predictions == 0 ? 0 : (double)_labelled.Count / _predictions,
                Realized = metrics,
                Estimated = Cbpe.Estimate(bundle, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_scores))?.ToMetrics() ?? new Dictionary<string, double>(),
            };
        }
    }
}
