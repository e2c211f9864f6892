using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;

namespace Vigil.Monitoring;

/// <summary>Options of <see cref="BatchMonitor.Run"/>.</summary>
public sealed record BatchMonitorOptions
{
    /// <summary>The timestamp column the split orders rows by.</summary>
    public required string TimeColumn { get; init; }

    /// <summary>The 0/1 label column for realized performance per batch, or null.</summary>
    public string? Label { get; init; }

    /// <summary>The time split (reference / validation / untouched shares, batch count and source).</summary>
    public TimeSplitOptions Split { get; init; } = new();

    /// <summary>How each batch's drift is computed (the columns default to the model's input features).</summary>
    public DriftOptions Drift { get; init; } = new();

    /// <summary>k of precision@k.</summary>
    public int K { get; init; } = 100;
}

/// <summary>
/// The batch scenario: rows split by time into reference / validation / untouched and sequential batches
/// (<see cref="Splits.ByTime(Frame, string, TimeSplitOptions?)"/>); the model scores the reference and every batch;
/// per batch, its data drift against the reference rows (Evidently's statistics, file mode), prediction drift (score
/// distribution and alert rate), with labels realized performance as <c>vigil evaluate</c> computes it, and, when the
/// bundle has a score calibrator, performance estimated without labels (<see cref="Cbpe"/>) under "estimated".
/// </summary>
public static class BatchMonitor
{
    /// <summary>Runs the scenario; one <see cref="ReportWindow"/> per batch (empty batches are left out).</summary>
    /// <exception cref="DriftException">A bad option or too few rows.</exception>
    public static MonitoringReport Run(Frame data, ModelBundle bundle, BatchMonitorOptions options, string dataName, string modelName, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(options);
        if (!data.Contains(options.TimeColumn))
        {
            throw new DriftException($"--time-column '{options.TimeColumn}': no such column; columns are: {string.Join(", ", data.Columns.Select(c => c.Name))}");
        }

        if (options.Label is { } l && !data.Contains(l))
        {
            throw new DriftException($"--label '{l}': no such column; columns are: {string.Join(", ", data.Columns.Select(c => c.Name))}");
        }

        var split = Splits.ByTime(data, options.TimeColumn, options.Split);
        if (split.Reference.Length == 0)
        {
            throw new DriftException("the reference period holds no rows");
        }

        var features = bundle.Transform.InputSchema.Select(c => c.Name).ToArray();
        var drift = options.Drift with { Columns = options.Drift.Columns ?? features };
        var reference = data.Take(split.Reference);
        var referenceScores = bundle.Score(reference);
        var windows = new List<ReportWindow>();
        foreach (var batch in split.Batches)
        {
            if (batch.Rows.Length == 0)
            {
                continue;
            }

            var rows = data.Take(batch.Rows);
            var scores = bundle.Score(rows);
            var report = DriftAnalyzer.Compare(reference, rows, drift);
            report = report with { Prediction = DriftAnalyzer.ComparePredictions(referenceScores, scores, bundle.Threshold) };
            var realized = new Dictionary<string, double>(StringComparer.Ordinal);
            if (options.Label is { } label)
            {
                int[] labels;
                try
                {
                    labels = Labels.From(rows, label);
                }
                catch (ArgumentException e)
                {
                    throw new DriftException($"--label '{label}': {e.Message}");
                }

                var positives = Labels.Positives(labels);
                if (positives > 0 && positives < labels.Length)
                {
                    var evaluation = EvaluationReport.Create(scores, labels, bundle, options.K);
                    foreach (var (k, v) in evaluation.Metrics)
                    {
                        realized[k] = v;
                    }

                    realized["recall_at_threshold"] = evaluation.AtThreshold.Recall;
                    realized["precision_at_threshold"] = evaluation.AtThreshold.Precision;
                }

                realized["labelled_positives"] = positives;
            }

            var estimate = Cbpe.Estimate(bundle, scores);
            long alerts = 0;
            foreach (var s in scores)
            {
                alerts += bundle.IsAnomaly(s) ? 1 : 0;
            }

            windows.Add(new ReportWindow
            {
                Label = $"batch {(batch.Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)} ({ProfileDrift.TimestampText(batch.StartMicros)})",
                StartUs = batch.StartMicros,
                EndUs = batch.EndMicros,
                Predictions = scores.Length,
                AlertRate = (double)alerts / scores.Length,
                LabelledShare = options.Label is null ? 0 : 1,
                Realized = realized,
                Estimated = estimate?.ToMetrics() ?? new Dictionary<string, double>(),
                Drift = report,
            });
            progress?.Report(windows.Count);
        }

        var last = windows.Count > 0 ? windows[^1].Drift : null;
        return new MonitoringReport
        {
            Title = $"Batch monitoring: {modelName} on {dataName}",
            Reference = $"{split.Reference.Length.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} reference rows (before {ProfileDrift.TimestampText(split.ValidationStartMicros)})",
            Current = $"{windows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)} sequential batches of the {options.Split.BatchSource.ToString().ToLowerInvariant()} period",
            Drift = last,
            Histograms = last is null ? [] : DriftAnalyzer.Histograms(reference, data.Take(split.Batches.Last(b => b.Rows.Length > 0).Rows), last),
            Windows = windows,
            Notes =
            [
                "Drift table and feature histograms: the last batch against the reference rows. Over time: one point per batch (drift per batch in the table below).",
                Cbpe.Describe(bundle),
            ],
            Created = DateTimeOffset.UtcNow,
        };
    }
}
