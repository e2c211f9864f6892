using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>What <see cref="Promotion.RunAsync"/> found and did.</summary>
internal sealed record PromotionOutcome(
    ModelVersion Candidate,
    ModelVersion? Champion,
    IReadOnlyDictionary<string, double> CandidateMetrics,
    IReadOnlyDictionary<string, double>? ChampionMetrics,
    GateResult Gate,
    string? RunId,
    bool Moved);

/// <summary>
/// The promotion step shared by <c>vigil promote</c> and the quickstart: scores the candidate version and the
/// current <c>champion</c> on the same out-of-time rows, checks the gate, logs the comparison as a run, and moves
/// <c>champion</c> (history reason = the gate result) only when every condition passes.
/// </summary>
internal static class Promotion
{
    public const string ChampionAlias = "champion";

    public static async Task<PromotionOutcome> RunAsync(
        ITrackingStore store, string name, int candidateVersion, PromotionGate gate, Frame oot, int[] labels,
        IReadOnlyDictionary<string, string> context, string experiment, string actor, bool dryRun, CancellationToken ct)
    {
        var model = await store.GetRegisteredModelAsync(name, ct).ConfigureAwait(false);
        var candidate = await store.GetModelVersionAsync(name, candidateVersion, ct).ConfigureAwait(false);
        ModelVersion? champion = model.Aliases.TryGetValue(ChampionAlias, out var cv)
            ? await store.GetModelVersionAsync(name, cv, ct).ConfigureAwait(false)
            : null;
        if (champion?.Version == candidate.Version)
        {
            throw new CliUsageException($"{name} version {candidateVersion.ToString(CultureInfo.InvariantCulture)} is already the champion; nothing to promote");
        }

        if (!Labels.HasBothClasses(labels))
        {
            throw new CliUsageException($"the out-of-time rows ({oot.RowCount.ToString(CultureInfo.InvariantCulture)}) hold only one label class; metrics need both 0 and 1");
        }

        var candidateMetrics = await EvaluateAsync(store, candidate, oot, labels, ct).ConfigureAwait(false);
        var championMetrics = champion is null ? null : await EvaluateAsync(store, champion, oot, labels, ct).ConfigureAwait(false);
        var result = gate.Evaluate(candidateMetrics, championMetrics);
        if (dryRun)
        {
            return new PromotionOutcome(candidate, champion, candidateMetrics, championMetrics, result, null, false);
        }

        var run = await store.CreateRunAsync(experiment, $"promote-{name}-v{candidateVersion.ToString(CultureInfo.InvariantCulture)}",
            codeVersion: CodeVersion.TryGetGitCommit(Environment.CurrentDirectory), cancellationToken: ct).ConfigureAwait(false);
        try
        {
            var parameters = new Dictionary<string, string>(context, StringComparer.Ordinal)
            {
                ["name"] = name,
                ["candidate"] = candidate.Version.ToString(CultureInfo.InvariantCulture),
                ["champion"] = champion?.Version.ToString(CultureInfo.InvariantCulture) ?? "none",
                ["gate"] = gate.ToString(),
                ["oot_rows"] = oot.RowCount.ToString(CultureInfo.InvariantCulture),
            };
            await store.LogParamsAsync(run.RunId, parameters, ct).ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow;
            var points = new List<MetricPoint>();
            foreach (var (k, v) in candidateMetrics)
            {
                points.Add(new MetricPoint("candidate." + k, v, 0, now));
            }

            foreach (var (k, v) in championMetrics ?? new Dictionary<string, double>())
            {
                points.Add(new MetricPoint("champion." + k, v, 0, now));
            }

            await store.LogMetricsAsync(run.RunId, points, ct).ConfigureAwait(false);
            await store.SetTagsAsync(run.RunId, new Dictionary<string, string>
            {
                ["gate"] = result.Passed ? "passed" : "failed",
                ["gate_reason"] = result.Reason,
            }, ct).ConfigureAwait(false);
            if (result.Passed)
            {
                await store.SetAliasAsync(name, ChampionAlias, candidate.Version, actor, result.Reason, ct).ConfigureAwait(false);
            }

            await store.EndRunAsync(run.RunId, RunStatus.Finished, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await RunEnding.EndAfterErrorAsync(store, run.RunId, e).ConfigureAwait(false);

            throw;
        }

        return new PromotionOutcome(candidate, champion, candidateMetrics, championMetrics, result, run.RunId, result.Passed);
    }

    /// <summary>A side-by-side table of the candidate and champion metrics with the gate's checks.</summary>
    public static void Render(PromotionOutcome o, string name)
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        var v = (int x) => x.ToString(CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(name)}: candidate v{v(o.Candidate.Version)} vs " +
            (o.Champion is null ? "no champion" : $"champion v{v(o.Champion.Version)}") + " (out of time)");
        table.AddColumn("metric");
        table.AddColumn(new TableColumn($"candidate v{v(o.Candidate.Version)}").RightAligned());
        table.AddColumn(new TableColumn(o.Champion is null ? "champion" : $"champion v{v(o.Champion.Version)}").RightAligned());
        foreach (var (k, value) in o.CandidateMetrics)
        {
            table.AddRow(k, F(value), o.ChampionMetrics is { } c && c.TryGetValue(k, out var cv) ? F(cv) : "-");
        }

        Terminal.Out.Write(table);
        foreach (var check in o.Gate.Checks)
        {
            var mark = check.Outcome switch { GateOutcome.Passed => "pass", GateOutcome.Failed => "FAIL", _ => "skip" };
            Terminal.Out.WriteLine($"  {mark}  {check}");
        }
    }

    private static async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(ITrackingStore store, ModelVersion version, Frame frame, int[] labels, CancellationToken ct)
    {
        var path = await store.GetVerifiedBundlePathAsync(version, ct).ConfigureAwait(false);
        var bundle = ModelBundle.Load(path);
        return MetricSet.Standard(bundle.Score(frame), labels);
    }
}
