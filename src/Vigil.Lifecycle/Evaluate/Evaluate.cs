using Vigil.Data;
using Vigil.Evaluation;

namespace Vigil.Lifecycle;

/// <summary>Options of <see cref="ModelLifecycle.EvaluateAsync"/>.</summary>
public sealed record EvaluateOptions
{
    /// <summary>The model: a bundle path or a registry URI (see <see cref="ModelLifecycle.LoadModelAsync"/>).</summary>
    public required string Model { get; init; }

    /// <summary>Labelled rows.</summary>
    public required DataSource Data { get; init; }

    /// <summary>The label column (1 = fraud/anomaly, 0 = normal); both classes must occur.</summary>
    public required string Label { get; init; }

    /// <summary>k of precision@k.</summary>
    public int K { get; init; } = 100;
}

/// <summary>What <see cref="ModelLifecycle.EvaluateAsync"/> measured.</summary>
/// <param name="Model">The model evaluated.</param>
/// <param name="Report">Rows, positives, the standard metrics and the confusion matrix at the bundle's threshold.</param>
public sealed record EvaluateResult(LoadedModel Model, EvaluationReport Report);

public sealed partial class ModelLifecycle
{
    /// <summary>Scores labelled rows with a model and measures it (AUC-ROC, AUC-PR, recall@FPR, precision@k, confusion at the threshold).</summary>
    /// <exception cref="LifecycleException">No such label column, or only one label class.</exception>
    public async Task<EvaluateResult> EvaluateAsync(EvaluateOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.K, 1, nameof(options.K));
        var model = await LoadModelAsync(options.Model, progress, cancellationToken).ConfigureAwait(false);
        var frame = options.Data.Read();
        var labels = RequireLabels(options.Data, frame, options.Label);
        cancellationToken.ThrowIfCancellationRequested();
        var scores = model.Bundle.Score(frame);
        progress?.Report(new LifecycleProgress(LifecycleStages.Score, frame.RowCount, frame.RowCount));

        // The threshold comparison of `evaluate` (flagged = anomalous at the bundle's threshold) is made here, once.
        var report = EvaluationReport.Create(scores, labels, model.Bundle, options.K);
        return new EvaluateResult(model, report);
    }

    /// <summary>The 0/1 labels of <paramref name="label"/>; both classes must occur.</summary>
    private static int[] RequireLabels(DataSource data, Frame frame, string label)
    {
        data.RequireColumn(frame, nameof(EvaluateOptions.Label), label);
        var labels = Labels.From(frame, label);
        if (!Labels.HasBothClasses(labels))
        {
            throw new LifecycleException(nameof(EvaluateOptions.Label), $"{label}: {data} holds only one class; metrics need both 0 and 1 labels");
        }

        return labels;
    }
}
