using Vigil.Evaluation;

namespace Vigil.Lifecycle;

/// <summary>Options of <see cref="ModelLifecycle.CompareAsync"/>.</summary>
public sealed record CompareOptions
{
    /// <summary>The models to compare: bundle paths or registry URIs.</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>Labelled rows.</summary>
    public required DataSource Data { get; init; }

    /// <summary>The label column (1 = fraud/anomaly).</summary>
    public required string Label { get; init; }

    /// <summary>The rows every model is measured on (default: all).</summary>
    public OutOfTimeWindow Window { get; init; } = OutOfTimeWindow.AllRows;
}

/// <summary>One model's metrics in a <see cref="CompareResult"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="Metrics">The standard metrics (<see cref="MetricSet.StandardNames"/>) on the window's rows.</param>
public sealed record ComparedModel(LoadedModel Model, IReadOnlyDictionary<string, double> Metrics);

/// <summary>What <see cref="ModelLifecycle.CompareAsync"/> measured.</summary>
/// <param name="Rows">Rows in the window.</param>
/// <param name="Window">The window, described (e.g. <c>timestamp &gt;= 2026-03-01T00:00:00Z</c> or <c>all rows</c>).</param>
/// <param name="Models">The models in the order given.</param>
public sealed record CompareResult(int Rows, string Window, IReadOnlyList<ComparedModel> Models)
{
    /// <summary>The model with the highest <paramref name="metric"/> (the first given on a tie).</summary>
    public ComparedModel Best(string metric) => Models.OrderByDescending(m => m.Metrics[metric]).First();
}

public sealed partial class ModelLifecycle
{
    /// <summary>Measures several models on the same labelled out-of-time rows; changes nothing.</summary>
    /// <exception cref="LifecycleException">No such label column, a bad window, or one label class only in it.</exception>
    public async Task<CompareResult> CompareAsync(CompareOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Models.Count == 0)
        {
            throw new LifecycleException(nameof(CompareOptions.Models), "lists no model");
        }

        var (rows, labels, window) = ReadWindow(options.Data, options.Label, options.Window);
        RequireBothClasses(labels, rows.RowCount);
        var compared = new List<ComparedModel>(options.Models.Count);
        foreach (var reference in options.Models)
        {
            var model = await LoadModelAsync(reference, progress, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            compared.Add(new ComparedModel(model, MetricSet.Standard(model.Bundle.Score(rows), labels)));
            progress?.Report(new LifecycleProgress(LifecycleStages.Compare, compared.Count, options.Models.Count));
        }

        return new CompareResult(rows.RowCount, window, compared);
    }

    /// <summary>Reads the data, checks the label and cuts the window; the window's rows must hold both classes.</summary>
    private static (Vigil.Data.Frame Rows, int[] Labels, string Window) ReadWindow(DataSource data, string label, OutOfTimeWindow window)
    {
        var frame = data.Read();
        data.RequireColumn(frame, nameof(CompareOptions.Label), label);
        var (rows, text) = window.Select(frame);
        var labels = Labels.From(rows, label);
        return (rows, labels, text);
    }

    private static void RequireBothClasses(int[] labels, int rows)
    {
        if (!Labels.HasBothClasses(labels))
        {
            throw new LifecycleException($"the out-of-time rows ({rows.ToString(System.Globalization.CultureInfo.InvariantCulture)}) hold only one label class; metrics need both 0 and 1");
        }
    }
}
