using Vigil.Detectors;
using Vigil.Monitoring.Statistics;
using Vigil.Tracking;

namespace Vigil.Monitoring;

/// <summary>
/// Profile mode: compares logged inputs and scores of a served model with the reference profile stored in its bundle.
/// Every current value is counted into the profile's fixed bins (numeric features: the 20 reference histogram bins
/// plus one below and one above; categorical ones: the top categories plus "other"), so the comparison streams: it
/// keeps counts, never the values. The statistics then run on the binned counts as categorical samples (so only the
/// count-based ones apply: <c>jensenshannon</c>, <c>psi</c>, <c>hellinger</c>, <c>chisquare</c>, <c>g_test</c>, <c>z</c>,
/// <c>fisher_exact</c>); auto picks Evidently's rule on those samples (Jensen–Shannon above 1,000 reference rows).
/// </summary>
public sealed class ProfileDrift
{
    private readonly FeatureBins[] _features;
    private readonly FeatureBins _scores;
    private readonly double _threshold;
    private readonly double _referenceAlertRate;
    private readonly long _bucketUs;
    private readonly SortedDictionary<long, long[]> _buckets = [];
    private int[] _columnOfFeature = [];
    private IReadOnlyList<InferenceFeatureColumn>? _lastFeatures;

    /// <summary>Starts a comparison with <paramref name="profile"/>.</summary>
    /// <param name="profile">The bundle's reference profile.</param>
    /// <param name="threshold">The model's threshold: an item alerts when its score is strictly above it.</param>
    /// <param name="columns">The features to compare (default: every profiled feature).</param>
    /// <param name="bucketUs">The width of the time buckets of <see cref="Windows"/> (microseconds; 0: no buckets).</param>
    public ProfileDrift(ReferenceProfile profile, double threshold, IReadOnlyList<string>? columns = null, long bucketUs = 0)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var list = new List<FeatureBins>();
        if (columns is { Count: > 0 })
        {
            foreach (var name in columns)
            {
                var f = Find(profile, name);
                list.Add(FeatureBins.FromProfile(f));
            }
        }
        else
        {
            foreach (var f in profile.Features)
            {
                list.Add(FeatureBins.FromProfile(f));
            }
        }

        _features = [.. list];
        _scores = FeatureBins.FromScores(profile.Scores);
        _threshold = threshold;
        _referenceAlertRate = ReferenceAlertRate(profile.Scores, threshold);
        _bucketUs = bucketUs;
    }

    /// <summary>Items counted (decided items: status 200).</summary>
    public long Items { get; private set; }

    /// <summary>Items with a score (decided by the model, not by a rule alone).</summary>
    public long Scored { get; private set; }

    /// <summary>Scored items above the threshold.</summary>
    public long Alerts { get; private set; }

    /// <summary>The first and last request start seen (unix microseconds), or null.</summary>
    public (long First, long Last)? Span { get; private set; }

    /// <summary>Counts the decided items of one chunk of the inference log.</summary>
    public void Add(InferenceItemChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        MapColumns(chunk.Features);
        var features = chunk.Features;
        for (var i = 0; i < chunk.Count; i++)
        {
            if (chunk.Status[i] != 200)
            {
                continue;
            }

            Items++;
            for (var f = 0; f < _features.Length; f++)
            {
                var column = _columnOfFeature[f];
                var bins = _features[f];
                if (column < 0)
                {
                    bins.CurrentMissing++;
                }
                else if (features[column].Texts is { } texts)
                {
                    bins.AddText(texts[i]);
                }
                else
                {
                    bins.AddNumber(features[column].Numbers![i]);
                }
            }

            var start = chunk.StartUs[i];
            Span = Span is { } s ? (Math.Min(s.First, start), Math.Max(s.Last, start)) : (start, start);
            var score = chunk.Score[i];
            if (double.IsNaN(score))
            {
                continue;
            }

            Scored++;
            _scores.AddNumber(score);
            var alert = score > _threshold;
            if (alert)
            {
                Alerts++;
            }

            if (_bucketUs > 0)
            {
                var key = Math.DivRem(start, _bucketUs, out var rem) - (rem < 0 ? 1 : 0);
                if (!_buckets.TryGetValue(key, out var counts))
                {
                    _buckets[key] = counts = new long[2];
                }

                counts[0]++;
                counts[1] += alert ? 1 : 0;
            }
        }
    }

    /// <summary>
    /// The comparison so far: per feature its statistic over the bins, dataset drift, and prediction drift (the score
    /// bins and the alert rate at the threshold against the profile's).
    /// </summary>
    /// <exception cref="DriftException">A statistic that needs the rows (ks, wasserstein, TVD, ...).</exception>
    public DriftReport Report(DriftOptions? options = null)
    {
        options ??= new DriftOptions();
        var test = StatTestFor(options.StatTest);
        var samples = new DriftSample[_features.Length];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = _features[i].ToSample();
        }

        return Summarize(_features, samples, test, options, _scores.ToSample(), _threshold, _referenceAlertRate, Total(_scores.Reference), Scored, Alerts);
    }

    /// <summary>
    /// The report of binned counts: each feature's sample (taken from <paramref name="features"/>, in that order) with
    /// <paramref name="test"/> (null: auto), and prediction drift from the score sample and the alert counts.
    /// </summary>
    internal static DriftReport Summarize(FeatureBins[] features, DriftSample[] samples, StatTest? test, DriftOptions options,
        DriftSample scoreSample, double modelThreshold, double referenceAlertRate, long referenceScored, long scored, long alerts)
    {
        var results = new FeatureDrift[features.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var drift = DriftAnalyzer.Evaluate(features[i].Name, samples[i], test, options.Threshold);
            results[i] = drift with { Type = features[i].IsNumeric ? "num" : "cat" };
        }

        var scores = DriftAnalyzer.Evaluate("score", scoreSample, null, null);
        var prediction = new PredictionDrift(scores.StatTest, scores.Score, scores.Threshold, scores.Drift, modelThreshold,
            referenceAlertRate, scored == 0 ? double.NaN : (double)alerts / scored, referenceScored, scored);
        return DriftAnalyzer.Summarize(results, options, prediction);
    }

    /// <summary>The statistic named <paramref name="name"/> if profile mode can compute it from bins (null for auto).</summary>
    /// <exception cref="DriftException">An unknown name, or a statistic that needs the rows (ks, wasserstein, TVD, ...).</exception>
    public static StatTest? StatTestFor(string? name)
    {
        var test = string.IsNullOrEmpty(name) || name.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : StatTestCatalog.Get(name);
        if (test is not null && (!test.AppliesToCategorical || test is TvdTest))
        {
            throw new DriftException($"stattest '{test.Name}' needs the reference rows; a profile keeps fixed bins, so use auto or one of: " +
                "jensenshannon, psi, hellinger, chisquare, g_test (z and fisher_exact for two bins)");
        }

        return test;
    }

    /// <summary>Reference and current shares per feature, in the order compared.</summary>
    public IReadOnlyList<HistogramPair> Histograms()
    {
        var result = new HistogramPair[_features.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = _features[i].ToHistogram();
        }

        return result;
    }

    /// <summary>Reference and current shares of the scores.</summary>
    public HistogramPair ScoreHistogram() => _scores.ToHistogram();

    /// <summary>The alert rate per time bucket (empty without buckets).</summary>
    public IReadOnlyList<ReportWindow> Windows()
    {
        var result = new List<ReportWindow>();
        foreach (var (key, counts) in _buckets)
        {
            var start = key * _bucketUs;
            result.Add(new ReportWindow
            {
                Label = TimestampText(start),
                StartUs = start,
                EndUs = start + _bucketUs,
                Predictions = counts[0],
                AlertRate = (double)counts[1] / counts[0],
            });
        }

        return result;
    }

    /// <summary>The profile's alert rate, re-measured from its score histogram when the threshold moved since training.</summary>
    internal static double ReferenceAlertRate(ScoreProfile scores, double threshold)
    {
        if (scores.Count == 0)
        {
            return double.NaN;
        }

        if (scores.Threshold.Equals(threshold))
        {
            return scores.AlertRate;
        }

        // the threshold moved (WithThreshold): the share of the histogram above it, the bin holding it split linearly
        var edges = scores.Histogram.Edges;
        var counts = scores.Histogram.Counts;
        double above = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            double lo = edges[i], hi = edges[i + 1];
            if (lo >= threshold && (lo > threshold || hi > lo))
            {
                above += counts[i];
            }
            else if (hi > threshold)
            {
                above += counts[i] * (hi - threshold) / (hi - lo);
            }
        }

        return above / scores.Count;
    }

    private static long Total(long[] counts)
    {
        long t = 0;
        foreach (var c in counts)
        {
            t += c;
        }

        return t;
    }

    private void MapColumns(IReadOnlyList<InferenceFeatureColumn> features)
    {
        if (ReferenceEquals(features, _lastFeatures))
        {
            return;
        }

        _lastFeatures = features;
        _columnOfFeature = new int[_features.Length];
        for (var f = 0; f < _features.Length; f++)
        {
            _columnOfFeature[f] = -1;
            for (var c = 0; c < features.Count; c++)
            {
                if (string.Equals(features[c].Name, _features[f].Name, StringComparison.Ordinal))
                {
                    var textual = features[c].IsText;
                    if (textual != !_features[f].IsNumeric)
                    {
                        throw new DriftException($"feature '{_features[f].Name}' is {(_features[f].IsNumeric ? "numeric" : "categorical")} in the profile but was logged as {(textual ? "text" : "numbers")}");
                    }

                    _columnOfFeature[f] = c;
                    break;
                }
            }
        }
    }

    private static FeatureProfile Find(ReferenceProfile profile, string name)
    {
        if (profile.Feature(name) is { } exact)
        {
            return exact;
        }

        foreach (var f in profile.Features)
        {
            if (f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return f;
            }
        }

        var names = new List<string>();
        foreach (var f in profile.Features)
        {
            names.Add(f.Name);
        }

        throw new DriftException($"unknown column '{name}' in the model's profile; its features are: {string.Join(", ", names)}");
    }

    /// <summary>A unix-microsecond time as <c>yyyy-MM-dd HH:mm</c> UTC.</summary>
    public static string TimestampText(long us) =>
        DateTimeOffset.UnixEpoch.AddTicks(us * TimeSpan.TicksPerMicrosecond).UtcDateTime
            .ToString("yyyy-MM-dd HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
