using System.Diagnostics;
using System.Globalization;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>One candidate of a search: the spec to train and the parameter values that made it (as in the grid).</summary>
/// <param name="Spec">The complete training spec (label, features, detector options, seed, threads).</param>
/// <param name="Parameters">The values drawn for this candidate, by parameter name; logged on its run and shown on the leaderboard.</param>
public sealed record SearchCandidateSpec(TrainSpec Spec, IReadOnlyDictionary<string, string> Parameters);

/// <summary>Options of <see cref="ModelLifecycle.SearchAsync"/>.</summary>
public sealed record SearchOptions
{
    /// <summary>Labelled rows, split into training and validation rows.</summary>
    public required DataSource Data { get; init; }

    /// <summary>The label column: scores the validation split; never a feature.</summary>
    public required string Label { get; init; }

    /// <summary>The candidates, all of one detector kind, built and validated by the caller.</summary>
    public required IReadOnlyList<SearchCandidateSpec> Candidates { get; init; }

    /// <summary>The leaderboard metric on the validation split (higher is better).</summary>
    public string Metric { get; init; } = MetricSet.AucPr;

    /// <summary>The seed of the split (the candidates' seeds are in their specs).</summary>
    public ulong Seed { get; init; }

    /// <summary>Candidates trained at once.</summary>
    public int Parallel { get; init; } = Environment.ProcessorCount;

    /// <summary>Share of rows held out for validation: stratified by label, or the latest rows with <see cref="TimeColumn"/>.</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Validate on the latest rows by this timestamp column (out of time) instead of a stratified random split.</summary>
    public string? TimeColumn { get; init; }

    /// <summary>The experiment of the search run and its candidate runs.</summary>
    public string Experiment { get; init; } = "search";

    /// <summary>Register the best candidates as new versions of this model.</summary>
    public string? RegisterAs { get; init; }

    /// <summary>How many of the best candidates <see cref="RegisterAs"/> registers.</summary>
    public int Top { get; init; } = 1;

    /// <summary>Extra params of the search run (e.g. the space and the mode), added to the standard ones.</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }
}

/// <summary>One row of a search leaderboard.</summary>
/// <param name="Rank">1 = best.</param>
/// <param name="Candidate">The candidate's 1-based position in <see cref="SearchOptions.Candidates"/>.</param>
/// <param name="RunId">The candidate's child run.</param>
/// <param name="Parameters">Its parameter values.</param>
/// <param name="Metrics">Its validation metrics (empty when it failed).</param>
/// <param name="FitSeconds">Train and validation time.</param>
/// <param name="Error">Why it failed, or null.</param>
public sealed record SearchEntry(
    int Rank, int Candidate, string RunId, IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, double> Metrics, double FitSeconds, string? Error);

/// <summary>What <see cref="ModelLifecycle.SearchAsync"/> found.</summary>
/// <param name="RunId">The search (parent) run.</param>
/// <param name="Metric">The leaderboard metric.</param>
/// <param name="TrainRows">Training rows.</param>
/// <param name="ValidationRows">Validation rows.</param>
/// <param name="Validation">How the validation rows were chosen.</param>
/// <param name="Leaderboard">Every candidate, best first (failed ones last); ties keep candidate order.</param>
/// <param name="Registered">The versions registered, best first.</param>
public sealed record SearchResult(
    string RunId, string Metric, int TrainRows, int ValidationRows, string Validation, IReadOnlyList<SearchEntry> Leaderboard, IReadOnlyList<ModelVersion> Registered)
{
    /// <summary>True when the best candidate trained (at least one did).</summary>
    public bool Succeeded => Leaderboard.Count > 0 && Leaderboard[0].Error is null;
}

public sealed partial class ModelLifecycle
{
    /// <summary>
    /// Hyper-parameter search: splits the data, trains the candidates (at most <see cref="SearchOptions.Parallel"/> at a
    /// time), each in a child run of one search run with its params, validation metrics (<c>val_*</c>) and bundle, ranks
    /// them and registers the best. A candidate that fails on bad input is a leaderboard row with its error; the search
    /// run then ends FAILED only when every candidate failed. Same data, candidates and seed give the same ranking.
    /// </summary>
    /// <exception cref="LifecycleException">No candidates, no such label column, a split that cannot be made, one label class in the validation rows.</exception>
    public async Task<SearchResult> SearchAsync(SearchOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Candidates.Count == 0)
        {
            throw new LifecycleException(nameof(SearchOptions.Candidates), "lists no candidate");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallel, 1, nameof(options.Parallel));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Top, 1, nameof(options.Top));
        var kind = options.Candidates[0].Spec.Model;
        var frame = options.Data.Read();
        options.Data.RequireColumn(frame, nameof(SearchOptions.Label), options.Label);
        var (train, valid, splitText) = Split(frame, options.Label, options.TimeColumn, options.ValidationFraction, options.Seed);
        var validLabels = Labels.From(valid, options.Label);
        if (!Labels.HasBothClasses(validLabels))
        {
            throw new LifecycleException($"the validation split ({valid.RowCount.ToString(CultureInfo.InvariantCulture)} rows, {splitText}) holds only one label class; use more data or a larger validation fraction");
        }

        var parent = await TrackedRun.StartAsync(this, options.Experiment, $"search-{kind}", null, cancellationToken).ConfigureAwait(false);
        var search = new CandidateTraining(this, parent, options, train, valid, validLabels);
        IReadOnlyList<SearchEntry> ranked;
        try
        {
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["model"] = kind,
                ["data"] = options.Data.Name,
                ["label"] = options.Label,
                ["metric"] = options.Metric,
                ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
                ["candidates"] = options.Candidates.Count.ToString(CultureInfo.InvariantCulture),
                ["validation"] = splitText,
                ["parallel"] = options.Parallel.ToString(CultureInfo.InvariantCulture),
            };
            foreach (var (k, v) in options.Parameters ?? new Dictionary<string, string>())
            {
                parameters[k] = v;
            }

            await parent.LogParamsAsync(parameters, cancellationToken).ConfigureAwait(false);
            progress?.Report(new LifecycleProgress(LifecycleStages.Search, 0, options.Candidates.Count)
            {
                RunId = parent.Id,
                Message = $"train {train.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows, validation {valid.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows ({splitText})",
            });
            await search.RunAsync(progress, cancellationToken).ConfigureAwait(false);
            ranked = [.. Leaderboard.Rank(search.Results, options.Metric).Select((c, i) => new SearchEntry(
                i + 1, c.Candidate, search.RunIds[c.Candidate - 1], c.Parameters, c.Metrics, search.Seconds[c.Candidate - 1], c.Error))];
            var best = ranked[0];
            if (best.Error is null)
            {
                await parent.LogMetricsAsync([new("best_" + options.Metric, best.Metrics[options.Metric])], "", cancellationToken).ConfigureAwait(false);
                await parent.SetTagsAsync(new Dictionary<string, string>
                {
                    ["best_run"] = best.RunId,
                    ["best_candidate"] = best.Candidate.ToString(CultureInfo.InvariantCulture),
                }, cancellationToken).ConfigureAwait(false);
            }

            await parent.FinishAsync(best.Error is null ? RunStatus.Finished : RunStatus.Failed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await parent.FailAsync(e).ConfigureAwait(false);
            throw;
        }

        var registered = new List<ModelVersion>();
        if (options.RegisterAs is { } registerAs)
        {
            foreach (var c in ranked.Where(c => c.Error is null).Take(options.Top))
            {
                var stored = search.Bundles[c.Candidate - 1]!;
                registered.Add(await RequireStore(registerAs).CreateModelVersionAsync(registerAs, new NewModelVersion
                {
                    BundleSha256 = stored.Sha256,
                    SourceRunId = c.RunId,
                    FeatureSchema = stored.FeatureSchema,
                    Metrics = c.Metrics.ToDictionary(kv => "val_" + kv.Key, kv => kv.Value, StringComparer.Ordinal),
                    Description = $"vigil search {parent.Id}: candidate {c.Candidate.ToString(CultureInfo.InvariantCulture)} ({Describe(c.Parameters)})",
                }, cancellationToken).ConfigureAwait(false));
            }
        }

        return new SearchResult(parent.Id, options.Metric, train.RowCount, valid.RowCount, splitText, ranked, registered);
    }

    /// <summary><c>name=value name=value</c>, in the candidate's order.</summary>
    public static string Describe(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return string.Join(" ", values.Select(kv => $"{kv.Key}={kv.Value}"));
    }

    private static (Frame Train, Frame Valid, string Text) Split(Frame frame, string label, string? timeColumn, double fraction, ulong seed)
    {
        try
        {
            if (timeColumn is null)
            {
                var s = Splits.StratifiedRandom(frame, label, 1 - fraction, seed);
                return (frame.Take(s.Train), frame.Take(s.Test), $"stratified random {fraction.ToString(CultureInfo.InvariantCulture)}");
            }

            if (!frame.Contains(timeColumn) || frame[timeColumn] is not TimestampColumn ts)
            {
                throw new LifecycleException(nameof(SearchOptions.TimeColumn), $"{timeColumn}: {(frame.Contains(timeColumn) ? "not a timestamp column" : "no such column")}");
            }

            var o = Splits.OutOfTimeByFraction(ts.UnixMicros, 1 - fraction, TimeSpan.Zero);
            return (frame.Take(o.Train), frame.Take(o.Test), $"out of time: {timeColumn} >= {o.TestStart.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}");
        }
        catch (ArgumentException e)
        {
            throw new LifecycleException($"cannot split {frame.RowCount.ToString(CultureInfo.InvariantCulture)} rows for validation: {e.Message}");
        }
    }

    /// <summary>The stored bundle of a candidate.</summary>
    private sealed record StoredBundle(string Sha256, string FeatureSchema);

    /// <summary>Trains the candidates, at most K at a time, each in its own child run.</summary>
    private sealed class CandidateTraining(
        ModelLifecycle lifecycle, TrackedRun parent, SearchOptions options, Frame train, Frame valid, int[] validLabels)
    {
        private readonly IReadOnlyList<SearchCandidateSpec> _candidates = options.Candidates;
        private readonly SearchCandidate?[] _results = new SearchCandidate?[options.Candidates.Count];

        public string[] RunIds { get; } = new string[options.Candidates.Count];

        public double[] Seconds { get; } = new double[options.Candidates.Count];

        public StoredBundle?[] Bundles { get; } = new StoredBundle?[options.Candidates.Count];

        public IEnumerable<SearchCandidate> Results => _results.Select(r => r!);

        public async Task RunAsync(IProgress<LifecycleProgress>? progress, CancellationToken ct)
        {
            var count = _candidates.Count;
            var width = count.ToString(CultureInfo.InvariantCulture).Length;
            var done = 0;
            var gate = new Lock();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = ct };
            await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel, async (i, token) =>
            {
                var name = "trial-" + (i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(Math.Max(3, width), '0');
                await TrainOneAsync(i, name, token).ConfigureAwait(false);
                var r = _results[i]!;
                lock (gate)
                {
                    // counted and reported together, so the reported counts never go backwards
                    progress?.Report(new LifecycleProgress(LifecycleStages.Candidate, ++done, count)
                    {
                        RunId = RunIds[i],
                        Message = $"{name} " +
                            (r.Error is null ? $"{options.Metric}={r.Metrics[options.Metric].ToString("F4", CultureInfo.InvariantCulture)}" : "failed: " + r.Error) +
                            $" ({Seconds[i].ToString("F2", CultureInfo.InvariantCulture)} s)",
                    });
                }
            }).ConfigureAwait(false);
        }

        private async Task TrainOneAsync(int i, string name, CancellationToken ct)
        {
            var spec = _candidates[i].Spec;
            var run = await TrackedRun.StartAsync(lifecycle, options.Experiment, name, parent.Id, ct).ConfigureAwait(false);
            RunIds[i] = run.Id;
            var sw = Stopwatch.StartNew();
            try
            {
                var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = spec.Model };
                foreach (var (k, v) in TrainParameters.Describe(spec))
                {
                    parameters[k] = v;
                }

                await run.LogParamsAsync(parameters, ct).ConfigureAwait(false);
                var bundle = await Task.Run(() => ModelBundle.Train(train, WithoutLeaks(spec, train) with { TrainingRunId = run.Id }, lifecycle.Time), ct).WaitAsync(ct).ConfigureAwait(false);
                var validScores = bundle.Score(valid);
                var metrics = MetricSet.Standard(validScores, validLabels);
                if (bundle.Descriptor.Supervised && Labels.HasBothClasses(validLabels))
                {
                    // The hold-out is the validation split: calibrate on it, for estimates before labels arrive (CBPE).
                    bundle = bundle.WithCalibrator(IsotonicCalibrator.Fit(validScores, validLabels));
                }

                sw.Stop();
                Seconds[i] = sw.Elapsed.TotalSeconds;
                bundle = bundle.WithMetrics(metrics.ToDictionary(kv => "val_" + kv.Key, kv => kv.Value, StringComparer.Ordinal));
                await run.LogMetricsAsync(metrics, "val_", ct).ConfigureAwait(false);
                var stored = await run.LogBundleAsync(bundle, ct).ConfigureAwait(false);
                Bundles[i] = new StoredBundle(stored.Sha256, TrackedRun.FeatureSchemaText(bundle.Manifest));
                await run.FinishAsync(RunStatus.Finished, ct).ConfigureAwait(false);
                _results[i] = new SearchCandidate(i + 1, _candidates[i].Parameters, metrics);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One candidate's failure never ends the search: it is ranked last as failed, with the reason (an
                // unexpected exception keeps its type in the reason, so a bug stays recognisable).
                Seconds[i] = sw.Elapsed.TotalSeconds;
                await run.FailAsync(e).ConfigureAwait(false);
                var reason = IsInputError(e) ? e.Message : $"internal error: {e.GetType().Name}: {e.Message}";
                _results[i] = new SearchCandidate(i + 1, _candidates[i].Parameters, new Dictionary<string, double>(), reason);
            }
            catch (Exception e)
            {
                await run.FailAsync(e).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>An error that describes bad input or options (a candidate's fault), not a bug.</summary>
    private static bool IsInputError(Exception e) =>
        e is VigilException or ArgumentException or InvalidDataException or FormatException;
}
