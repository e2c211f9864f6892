using System.Globalization;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>Options of <see cref="ModelLifecycle.PromoteAsync"/>.</summary>
public sealed record PromoteOptions
{
    /// <summary>The registered model.</summary>
    public required string ModelName { get; init; }

    /// <summary>The version to promote to <see cref="ModelLifecycle.ChampionAlias"/>.</summary>
    public required int Candidate { get; init; }

    /// <summary>The conditions the candidate must meet (e.g. <c>auc_pr&gt;=champion+0.01</c>); see <see cref="PromotionGate.Parse"/>.</summary>
    public required PromotionGate Gate { get; init; }

    /// <summary>Labelled rows; the candidate and the champion are measured on the same rows of <see cref="Window"/>.</summary>
    public required DataSource Data { get; init; }

    /// <summary>The label column (1 = fraud/anomaly).</summary>
    public required string Label { get; init; }

    /// <summary>The out-of-time rows (default: all rows).</summary>
    public OutOfTimeWindow Window { get; init; } = OutOfTimeWindow.AllRows;

    /// <summary>The experiment of the comparison run.</summary>
    public string Experiment { get; init; } = "promotions";

    /// <summary>Who moves the alias, for the audit history (default: <see cref="Tracking.Actor.Resolve"/>).</summary>
    public string? Actor { get; init; }

    /// <summary>Compare and check the gate only: no run, no alias move.</summary>
    public bool DryRun { get; init; }
}

/// <summary>What <see cref="ModelLifecycle.PromoteAsync"/> found and did.</summary>
/// <param name="Candidate">The candidate version.</param>
/// <param name="Champion">The champion before the promotion, or null when there was none.</param>
/// <param name="CandidateMetrics">The candidate's standard metrics on the out-of-time rows.</param>
/// <param name="ChampionMetrics">The champion's, or null.</param>
/// <param name="Gate">Each condition's outcome and the reason (also the alias history's reason).</param>
/// <param name="RunId">The comparison run, or null for a dry run.</param>
/// <param name="Moved">True when the champion alias now points at the candidate.</param>
/// <param name="Rows">The out-of-time rows measured.</param>
/// <param name="Window">The window, described.</param>
public sealed record PromoteResult(
    ModelVersion Candidate,
    ModelVersion? Champion,
    IReadOnlyDictionary<string, double> CandidateMetrics,
    IReadOnlyDictionary<string, double>? ChampionMetrics,
    GateResult Gate,
    string? RunId,
    bool Moved,
    int Rows,
    string Window);

public sealed partial class ModelLifecycle
{
    /// <summary>
    /// Measures a candidate version and the current champion on the same out-of-time rows, checks the gate, logs the
    /// comparison as a run (params, <c>candidate.*</c> and <c>champion.*</c> metrics, gate tags) and moves the
    /// champion alias to the candidate (history reason = the gate's reason) only when every condition passes.
    /// A failed gate is a result (<see cref="GateResult.Passed"/> false), not an exception: the champion is untouched.
    /// </summary>
    /// <exception cref="LifecycleException">The candidate is already the champion, no such label column, a bad window, one label class only.</exception>
    /// <exception cref="TrackingException">No such model or version.</exception>
    public async Task<PromoteResult> PromoteAsync(PromoteOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (rows, labels, window) = ReadWindow(options.Data, options.Label, options.Window);
        var store = RequireStore($"promote {options.ModelName}");
        var name = options.ModelName;
        var model = await store.GetRegisteredModelAsync(name, cancellationToken).ConfigureAwait(false);
        var candidate = await store.GetModelVersionAsync(name, options.Candidate, cancellationToken).ConfigureAwait(false);
        ModelVersion? champion = model.Aliases.TryGetValue(ChampionAlias, out var cv)
            ? await store.GetModelVersionAsync(name, cv, cancellationToken).ConfigureAwait(false)
            : null;
        if (champion?.Version == candidate.Version)
        {
            throw new LifecycleException($"{name} version {options.Candidate.ToString(CultureInfo.InvariantCulture)} is already the champion; nothing to promote");
        }

        RequireBothClasses(labels, rows.RowCount);
        var candidateMetrics = MetricSet.Standard((await LoadVersionAsync(candidate, cancellationToken).ConfigureAwait(false)).Score(rows), labels);
        progress?.Report(new LifecycleProgress(LifecycleStages.Compare, 1, champion is null ? 1 : 2));
        IReadOnlyDictionary<string, double>? championMetrics = null;
        if (champion is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            championMetrics = MetricSet.Standard((await LoadVersionAsync(champion, cancellationToken).ConfigureAwait(false)).Score(rows), labels);
            progress?.Report(new LifecycleProgress(LifecycleStages.Compare, 2, 2));
        }

        var gate = options.Gate.Evaluate(candidateMetrics, championMetrics);
        if (options.DryRun)
        {
            return new PromoteResult(candidate, champion, candidateMetrics, championMetrics, gate, null, false, rows.RowCount, window);
        }

        var run = await TrackedRun.StartAsync(this, options.Experiment, $"promote-{name}-v{options.Candidate.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken)
            .ConfigureAwait(false);
        try
        {
            await run.LogParamsAsync(new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["data"] = options.Data.Name,
                ["label"] = options.Label,
                ["oot_window"] = window,
                ["name"] = name,
                ["candidate"] = candidate.Version.ToString(CultureInfo.InvariantCulture),
                ["champion"] = champion?.Version.ToString(CultureInfo.InvariantCulture) ?? "none",
                ["gate"] = options.Gate.ToString(),
                ["oot_rows"] = rows.RowCount.ToString(CultureInfo.InvariantCulture),
            }, cancellationToken).ConfigureAwait(false);
            await run.LogMetricsAsync(candidateMetrics, "candidate.", cancellationToken).ConfigureAwait(false);
            if (championMetrics is not null)
            {
                await run.LogMetricsAsync(championMetrics, "champion.", cancellationToken).ConfigureAwait(false);
            }

            await run.SetTagsAsync(new Dictionary<string, string>
            {
                ["gate"] = gate.Passed ? "passed" : "failed",
                ["gate_reason"] = gate.Reason,
            }, cancellationToken).ConfigureAwait(false);
            if (gate.Passed)
            {
                await store.SetAliasAsync(name, ChampionAlias, candidate.Version, options.Actor ?? Tracking.Actor.Resolve(), gate.Reason, cancellationToken).ConfigureAwait(false);
            }

            await run.FinishAsync(RunStatus.Finished, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await run.FailAsync(e).ConfigureAwait(false);
            throw;
        }

        return new PromoteResult(candidate, champion, candidateMetrics, championMetrics, gate, run.Id, gate.Passed, rows.RowCount, window);
    }

    /// <summary>
    /// Points <paramref name="alias"/> of <paramref name="modelName"/> at <paramref name="version"/>, recording who and why
    /// in the registry's history (e.g. a first champion without a gate).
    /// </summary>
    public async Task MoveAliasAsync(string modelName, string alias, int version, string reason, string? actor = null, CancellationToken cancellationToken = default) =>
        await RequireStore($"alias {modelName}@{alias}").SetAliasAsync(modelName, alias, version, actor ?? Tracking.Actor.Resolve(), reason, cancellationToken).ConfigureAwait(false);
}
