using System.Diagnostics;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>Options of <see cref="ModelLifecycle.TrainAsync"/>.</summary>
public sealed record TrainOptions
{
    /// <summary>The training rows.</summary>
    public required DataSource Data { get; init; }

    /// <summary>What to train: detector kind, label, feature choice and the detector's options, already validated by the caller.</summary>
    public required TrainSpec Spec { get; init; }

    /// <summary>
    /// Write the bundle here too: a directory, or a .zip file. A path holding anything but a Vigil bundle is refused
    /// (before the data is read); an existing bundle only with <see cref="Overwrite"/>.
    /// </summary>
    public string? Output { get; init; }

    /// <summary>Replace an existing bundle at <see cref="Output"/> (atomically: written beside it, then swapped).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Log the training as a run in this experiment (default "default" when <see cref="RegisterAs"/> is given; no run when both are null).</summary>
    public string? Experiment { get; init; }

    /// <summary>Register the trained bundle as a new version of this model.</summary>
    public string? RegisterAs { get; init; }

    /// <summary>
    /// Labelled rows the metrics are measured on (default: the training rows). Metrics need <see cref="TrainSpec.Label"/>
    /// and both classes; they are stored in the bundle, logged on the run and copied to the registry version.
    /// </summary>
    public DataSource? MetricsData { get; init; }

    /// <summary>
    /// Labelled rows held out from fitting (same columns as <see cref="Data"/>): for a supervised kind the model's scores
    /// of these rows are calibrated (isotonic) and the calibrator is stored in the bundle, so that performance can be
    /// estimated before labels arrive (CBPE); they also join the reference profile. Takes precedence over
    /// <see cref="CalibrationFraction"/>.
    /// </summary>
    public DataSource? Validation { get; init; }

    /// <summary>
    /// Without <see cref="Validation"/>: the share of the training rows (stratified by the label, seeded with
    /// <see cref="CalibrationSeed"/>) held out from fitting and used as validation rows for the calibrator. 0 (the
    /// default) holds out nothing; supervised bundles trained so have no calibrator.
    /// </summary>
    public double CalibrationFraction { get; init; }

    /// <summary>The seed of the <see cref="CalibrationFraction"/> split.</summary>
    public ulong CalibrationSeed { get; init; }

    /// <summary>The prefix of the metric names (<c>train_auc_pr</c>, <c>oot_auc_pr</c>, ...).</summary>
    public string MetricPrefix { get; init; } = "train_";

    /// <summary>
    /// Extra run params, added to (and overriding) the standard ones: <c>model</c>, <c>data</c>, <c>label</c>, <c>id</c>,
    /// <c>features</c>, <c>exclude</c> and the detector's settings under their <see cref="TrainParameters"/> names.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    /// <summary>
    /// Columns to keep as features although they look like identifiers (see <see cref="ModelLifecycle.IdLikeColumns"/>).
    /// Without an explicit <see cref="TrainSpec.Features"/> list every other id-like column is left out.
    /// </summary>
    public IReadOnlyCollection<string>? Include { get; init; }
}

/// <summary>What <see cref="ModelLifecycle.TrainAsync"/> made.</summary>
/// <param name="Bundle">The trained bundle, with its metrics.</param>
/// <param name="Rows">Training rows.</param>
/// <param name="ReadTime">Time spent reading the data.</param>
/// <param name="FitTime">Time spent fitting.</param>
/// <param name="Metrics">The metrics (prefixed), or null without a label or with one class only.</param>
/// <param name="Output">The bundle written, or null.</param>
/// <param name="Run">The tracked run, or null when none was asked for.</param>
public sealed record TrainResult(
    ModelBundle Bundle, int Rows, TimeSpan ReadTime, TimeSpan FitTime, IReadOnlyDictionary<string, double>? Metrics, string? Output, RecordedRun? Run)
{
    /// <summary>The id-like columns left out of the features (see <see cref="ModelLifecycle.IdLikeColumns"/>).</summary>
    public IReadOnlyList<string> ExcludedIdColumns { get; init; } = [];
}

/// <summary>A finished tracked run that holds a bundle, and the registry version made from it.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Experiment">Its experiment.</param>
/// <param name="Version">The registered version, or null when none was asked for.</param>
public sealed record RecordedRun(string RunId, string Experiment, ModelVersion? Version);

/// <summary>Options of <see cref="ModelLifecycle.RecordBundleAsync"/>.</summary>
public sealed record RecordBundleOptions
{
    /// <summary>A bundle made elsewhere (e.g. an imported ONNX model).</summary>
    public required ModelBundle Bundle { get; init; }

    /// <summary>The run's experiment.</summary>
    public string Experiment { get; init; } = "default";

    /// <summary>Register the bundle as a new version of this model.</summary>
    public string? RegisterAs { get; init; }

    /// <summary>The run params that describe the bundle.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

public sealed partial class ModelLifecycle
{
    /// <summary>
    /// Trains a bundle, measures it when the spec has a label, writes it to <see cref="TrainOptions.Output"/> and, with an
    /// experiment or a registry name, logs the run (params, dataset fingerprint, metrics, the bundle as <c>model.zip</c>)
    /// and registers a version. The run is started before the data is read and ends FAILED if anything fails, KILLED if
    /// cancelled. Cancellation is checked between stages; a fit in progress is abandoned, not interrupted.
    /// </summary>
    /// <exception cref="LifecycleException">No such label column.</exception>
    public async Task<TrainResult> TrainAsync(TrainOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Output is not null)
        {
            // Refuse a target that would be refused at the end before hours of training, and before a run is logged.
            ModelBundle.CheckSaveTarget(options.Output, options.Overwrite);
        }

        var tracked = options.Experiment is not null || options.RegisterAs is not null;
        var run = tracked
            ? await TrackedRun.StartAsync(this, options.Experiment ?? "default", null, null, cancellationToken).ConfigureAwait(false)
            : null;
        try
        {
            var (result, frame) = await TrainCoreAsync(options, progress, cancellationToken).ConfigureAwait(false);
            if (run is null)
            {
                return result;
            }

            progress?.Report(new LifecycleProgress(LifecycleStages.Track, 0, 1) { RunId = run.Id });
            var parameters = TrainRunParameters(options);
            var version = await CompleteAsync(run, parameters, options.Data.Path is { } path ? (path, frame) : null, result.Bundle, result.Metrics, options.RegisterAs, cancellationToken).ConfigureAwait(false);
            progress?.Report(new LifecycleProgress(LifecycleStages.Track, 1, 1) { RunId = run.Id });
            return result with { Run = new RecordedRun(run.Id, run.Run.ExperimentName, version) };
        }
        catch (Exception e) when (run is not null)
        {
            await run.FailAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Logs a bundle made elsewhere (no training data) as a FINISHED run with its params and the bundle artifact, and
    /// registers it when asked.
    /// </summary>
    public async Task<RecordedRun> RecordBundleAsync(RecordBundleOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var run = await TrackedRun.StartAsync(this, options.Experiment, null, null, cancellationToken).ConfigureAwait(false);
        try
        {
            var version = await CompleteAsync(run, options.Parameters, null, options.Bundle, null, options.RegisterAs, cancellationToken).ConfigureAwait(false);
            return new RecordedRun(run.Id, run.Run.ExperimentName, version);
        }
        catch (Exception e)
        {
            await run.FailAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<(TrainResult Result, Frame Rows)> TrainCoreAsync(TrainOptions options, IProgress<LifecycleProgress>? progress, CancellationToken cancellationToken)
    {
        var read = Stopwatch.StartNew();
        var frame = options.Data.Read();
        read.Stop();
        var spec = WithoutLeaks(options.Spec, frame);
        progress?.Report(new LifecycleProgress(LifecycleStages.Read, frame.RowCount, frame.RowCount));
        if (spec.Label is { } labelColumn)
        {
            options.Data.RequireColumn(frame, "Label", labelColumn); // before any note: a wrong label is the one line to print
        }

        IReadOnlyList<string> idLike = [];
        if (spec.Features is null && spec.Onnx is null)
        {
            idLike = IdLikeColumns(frame, spec, options.Include);
            if (idLike.Count > 0)
            {
                spec = spec with { Exclude = new HashSet<string>([.. spec.Exclude ?? new HashSet<string>(), .. idLike], StringComparer.Ordinal) };
                progress?.Report(new LifecycleProgress(LifecycleStages.Features, idLike.Count, idLike.Count)
                {
                    Message = $"left out id-like column{(idLike.Count == 1 ? "" : "s")} {string.Join(", ", idLike)} (named id or *_id, or text unique per row)",
                });
            }
        }
        if (spec.Label is { } label)
        {
            options.Data.RequireColumn(frame, "Label", label);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var fit = Stopwatch.StartNew();
        progress?.Report(new LifecycleProgress(LifecycleStages.Fit, 0, 1));
        var (fitRows, validation) = ValidationRows(options, spec, frame);
        var bundle = await Task.Run(() => new BundleTrainer(spec, Time).Fit(fitRows, validation), cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        fit.Stop();
        progress?.Report(new LifecycleProgress(LifecycleStages.Fit, 1, 1));

        IReadOnlyDictionary<string, double>? metrics = null;
        if (spec.Label is not null)
        {
            var measured = options.MetricsData ?? options.Data;
            var rows = options.MetricsData is null ? frame : options.MetricsData.Read();
            if (options.MetricsData is not null)
            {
                measured.RequireColumn(rows, "Label", spec.Label);
            }

            var labels = Labels.From(rows, spec.Label);
            if (Labels.HasBothClasses(labels))
            {
                metrics = MetricSet.Standard(bundle.Score(rows), labels)
                    .ToDictionary(kv => options.MetricPrefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
                bundle = bundle.WithMetrics(metrics);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (options.Output is not null)
        {
            bundle.Save(options.Output, options.Overwrite);
        }

        return (new TrainResult(bundle, frame.RowCount, read.Elapsed, fit.Elapsed, metrics, options.Output, null) { ExcludedIdColumns = idLike }, frame);
    }

    /// <summary>
    /// The rows to fit on and the validation rows: <see cref="TrainOptions.Validation"/> when given (its label checked),
    /// else a stratified <see cref="TrainOptions.CalibrationFraction"/> of a supervised spec's labelled rows, else none.
    /// </summary>
    private static (Frame Fit, Frame? Validation) ValidationRows(TrainOptions options, TrainSpec spec, Frame frame)
    {
        if (options.Validation is { } source)
        {
            var validation = source.Read();
            if (spec.Label is { } label && DetectorCatalog.Get(spec.Model).Supervised)
            {
                source.RequireColumn(validation, "Label", label);
            }

            return (frame, validation);
        }

        var fraction = options.CalibrationFraction;
        if (!(fraction >= 0 && fraction < 1))
        {
            throw new LifecycleException("--calibration-fraction", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"must be in [0, 1) (was {fraction})"));
        }

        if (fraction == 0 || spec.Label is not { } labelColumn || !DetectorCatalog.Get(spec.Model).Supervised)
        {
            return (frame, null);
        }

        var split = Splits.StratifiedRandom(frame, labelColumn, 1 - fraction, options.CalibrationSeed);
        return (frame.Take(split.Train), frame.Take(split.Test));
    }

    /// <summary>
    /// The columns of <paramref name="frame"/> that look like identifiers and would become meaningless features (one-hot
    /// codes of customer or merchant ids): named <c>id</c>, <c>*_id</c> or <c>*Id</c>, or text columns with a distinct value
    /// in at least 95% of at least 20 rows. The spec's label, id column, excluded columns and <paramref name="include"/>
    /// are never listed.
    /// </summary>
    public static IReadOnlyList<string> IdLikeColumns(Frame frame, TrainSpec spec, IReadOnlyCollection<string>? include = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(spec);
        var result = new List<string>();
        foreach (var column in frame.Columns)
        {
            var name = column.Name;
            if (name == spec.Label || name == spec.IdColumn || spec.Exclude?.Contains(name) == true || include?.Contains(name) == true)
            {
                continue;
            }

            if (column.Kind is ColumnKind.Timestamp or ColumnKind.String)
            {
                continue; // never features anyway
            }

            if (IsIdName(name) || column is CategoricalColumn c && frame.RowCount >= 20 && c.Dictionary.Count >= 0.95 * frame.RowCount)
            {
                result.Add(name);
            }
        }

        return result;
    }

    private static bool IsIdName(string name) =>
        name.Equals("id", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith("_id", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith("-id", StringComparison.OrdinalIgnoreCase)
        || (name.Length > 2 && name.EndsWith("Id", StringComparison.Ordinal) && char.IsLower(name[^3]));

    /// <summary>The standard run params of a training (data and feature choices, detector settings), then the caller's.</summary>
    /// <summary>
    /// <paramref name="spec"/> with the columns of <paramref name="frame"/> that reveal the label without being it
    /// (<see cref="TransactionColumns.LeakColumns"/>, e.g. the generator's <c>fraud_pattern</c>) excluded from the features.
    /// </summary>
    internal static TrainSpec WithoutLeaks(TrainSpec spec, Frame frame)
    {
        HashSet<string>? exclude = null;
        foreach (var column in TransactionColumns.LeakColumns)
        {
            if (frame.Contains(column) && spec.Exclude?.Contains(column) != true)
            {
                exclude ??= new HashSet<string>(spec.Exclude ?? new HashSet<string>(), StringComparer.Ordinal);
                exclude.Add(column);
            }
        }

        return exclude is null ? spec : spec with { Exclude = exclude };
    }

    private static Dictionary<string, string> TrainRunParameters(TrainOptions options)
    {
        var spec = options.Spec;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = spec.Model,
            ["data"] = options.Data.Name,
            ["label"] = spec.Label ?? "",
            ["id"] = spec.IdColumn ?? "",
            ["features"] = spec.Features is null ? "auto" : string.Join(",", spec.Features),
            ["exclude"] = spec.Exclude is null ? "" : string.Join(",", spec.Exclude),
        };
        if (options.Include is { Count: > 0 })
        {
            parameters["include"] = string.Join(",", options.Include);
        }

        if (spec.Onnx is null)
        {
            foreach (var (name, value) in TrainParameters.Describe(spec))
            {
                parameters[name] = value;
            }
        }

        foreach (var (name, value) in options.Parameters ?? new Dictionary<string, string>())
        {
            parameters[name] = value;
        }

        return parameters;
    }

    /// <summary>Logs params, the dataset fingerprint, metrics and the bundle, registers it when asked, and ends the run FINISHED.</summary>
    private static async Task<ModelVersion?> CompleteAsync(
        TrackedRun run, IReadOnlyDictionary<string, string> parameters, (string Path, Frame Rows)? dataset, ModelBundle bundle,
        IReadOnlyDictionary<string, double>? metrics, string? registerAs, CancellationToken cancellationToken)
    {
        await run.LogParamsAsync(parameters, cancellationToken).ConfigureAwait(false);
        if (dataset is { } d)
        {
            await run.SetDatasetAsync("train", d.Path, d.Rows, cancellationToken).ConfigureAwait(false);
        }

        if (metrics is { Count: > 0 })
        {
            await run.LogMetricsAsync(metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal), "", cancellationToken).ConfigureAwait(false);
        }

        var stored = await run.LogBundleAsync(bundle, cancellationToken).ConfigureAwait(false);
        var version = registerAs is null
            ? null
            : await run.RegisterAsync(registerAs, stored.Sha256, bundle.Manifest, metrics, null, cancellationToken).ConfigureAwait(false);
        await run.FinishAsync(RunStatus.Finished, cancellationToken).ConfigureAwait(false);
        return version;
    }
}
