using System.Text.Json;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// What the data a bundle was trained on looked like, stored in the bundle (format v2, <c>profile.json</c>) as the
/// reference that drift and monitoring compare live traffic against: per input feature its row count, missing rate,
/// and either quantiles and a fixed histogram (numeric) or category frequencies (categorical); and the distribution of
/// the training scores with the alert rate at the threshold. Computed at training time from the training rows plus
/// the validation rows where there are any. Deterministic: the same rows give byte-identical JSON (exact quantiles,
/// fixed bin edges, no timestamps).
/// </summary>
public sealed record ReferenceProfile
{
    /// <summary>The version of the <c>profile.json</c> layout this build writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The number of histogram bins of every numeric feature and of the scores.</summary>
    public const int HistogramBins = 20;

    /// <summary>How many of the most frequent categories a categorical feature lists; the rest are counted together.</summary>
    public const int TopCategories = 20;

    /// <summary>
    /// The sample size behind the quantiles: with more profiled rows, <see cref="Scores"/> and the inner quantiles of
    /// the numeric features come from one deterministic uniform sample of this many rows (seed 0, in row order; a
    /// feature's quantiles from the present values among them), so that profiling costs a small, bounded fraction of
    /// training.
    /// Counts, missing rates, means, minimum and maximum and the feature histograms always cover every row.
    /// </summary>
    public const int MaxSampleRows = 16_384;

    /// <summary>
    /// The quantile levels of every quantile list (<see cref="NumericProfile.Quantiles"/>, <see cref="ScoreProfile.Quantiles"/>),
    /// in this order: 0 (the minimum), 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1 (the maximum).
    /// </summary>
    public static IReadOnlyList<double> QuantileLevels { get; } = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

    /// <summary>The layout version of this profile (<see cref="CurrentFormatVersion"/>).</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Training rows profiled.</summary>
    public long TrainingRows { get; init; }

    /// <summary>Validation rows profiled with them (0 when training had no validation rows).</summary>
    public long ValidationRows { get; init; }

    /// <summary>One profile per input feature, in the order of the bundle's feature schema.</summary>
    public IReadOnlyList<FeatureProfile> Features { get; init; } = [];

    /// <summary>The distribution of the detector's scores over the profiled rows.</summary>
    public ScoreProfile Scores { get; init; } = new();

    /// <summary>The profile of feature <paramref name="name"/>, or null.</summary>
    public FeatureProfile? Feature(string name)
    {
        foreach (var f in Features)
        {
            if (string.Equals(f.Name, name, StringComparison.Ordinal))
            {
                return f;
            }
        }

        return null;
    }

    /// <summary>The compact, deterministic JSON written to <c>profile.json</c>.</summary>
    public byte[] ToJson() => ProfileJson.Write(this);

    /// <summary>Reads <c>profile.json</c>.</summary>
    /// <exception cref="JsonException">Not valid JSON for a profile.</exception>
    /// <exception cref="InvalidDataException">An unknown layout version or missing parts.</exception>
    public static ReferenceProfile FromJson(ReadOnlySpan<byte> json)
    {
        var profile = ProfileJson.Read(json.ToArray()) ?? throw new InvalidDataException("is empty");
        if (profile.FormatVersion != CurrentFormatVersion)
        {
            throw new InvalidDataException($"has profile format version {profile.FormatVersion}; this build reads version {CurrentFormatVersion}");
        }

        if (profile.Features is null || profile.Scores is null)
        {
            throw new InvalidDataException("lacks features or scores");
        }

        return profile;
    }

    /// <summary>
    /// Starts profiling the inputs of <paramref name="transform"/> over <paramref name="training"/> (and
    /// <paramref name="validation"/>) on the thread pool, so that it overlaps the detector's fit; finish with
    /// <see cref="Pending.Finish"/> once the detector is fitted.
    /// </summary>
    internal static Pending Start(FeatureTransform transform, Frame training, Frame? validation)
    {
        var sample = SampleRows(training.RowCount + (validation?.RowCount ?? 0));
        var schema = transform.InputSchema;
        var features = Task.Run(() =>
        {
            var profiles = new FeatureProfile[schema.Count];
            Parallel.For(0, profiles.Length, i =>
            {
                var column = schema[i];
                Column[] parts = validation is { RowCount: > 0 } ? [training[column.Name], validation[column.Name]] : [training[column.Name]];
                profiles[i] = FeatureProfile.Compute(column, parts, sample);
            });
            return profiles;
        });
        return new Pending(transform, training, validation, sample, features);
    }

    /// <summary>A profile whose feature statistics are being computed; <see cref="Finish"/> adds the scores.</summary>
    internal sealed class Pending(FeatureTransform transform, Frame training, Frame? validation, int[]? sample, Task<FeatureProfile[]> features)
    {
        /// <summary>
        /// Scores the profiled rows (or the sample) with <paramref name="detector"/> and completes the profile;
        /// <paramref name="trainingFeatures"/> are the training frame's features.
        /// </summary>
        public ReferenceProfile Finish(IDetectorModel detector, TrainingFeatures trainingFeatures)
        {
            var validationFeatures = validation is { RowCount: > 0 } ? transform.Transform(validation) : null;
            var scores = SampledScores(detector, trainingFeatures, validationFeatures, sample);
            return new ReferenceProfile
            {
                TrainingRows = training.RowCount,
                ValidationRows = validation?.RowCount ?? 0,
                Features = features.GetAwaiter().GetResult(),
                Scores = ScoreProfile.Compute(scores, detector.Threshold),
            };
        }
    }

    /// <summary>
    /// The rows (of training, then validation) behind the quantiles: every row up to <see cref="MaxSampleRows"/>, else a
    /// deterministic uniform sample of that many in row order (selection sampling, Knuth's algorithm S, seed 0); null
    /// means every row.
    /// </summary>
    private static int[]? SampleRows(int total)
    {
        if (total <= MaxSampleRows)
        {
            return null;
        }

        var random = new VigilRandom(0);
        var rows = new int[MaxSampleRows];
        var taken = 0;
        for (var r = 0; r < total && taken < MaxSampleRows; r++)
        {
            if ((total - r) * random.NextDouble() < MaxSampleRows - taken)
            {
                rows[taken++] = r;
            }
        }

        return rows;
    }

    /// <summary>The scores of the profiled rows (training, then validation), or of the <paramref name="sample"/> rows.</summary>
    private static double[] SampledScores(IDetectorModel detector, TrainingFeatures training, FeatureMatrix? validation, int[]? sample)
    {
        if (sample is null)
        {
            var all = new double[training.Rows + (validation?.Rows ?? 0)];
            detector.Score(training.All, all.AsSpan(0, training.Rows));
            if (validation is not null)
            {
                detector.Score(validation, all.AsSpan(training.Rows));
            }

            return all;
        }

        // The sample is in row order: its training rows first (only those are transformed), then validation rows.
        var fromTraining = 0;
        while (fromTraining < sample.Length && sample[fromTraining] < training.Rows)
        {
            fromTraining++;
        }

        var sampled = training.Take(sample[..fromTraining]);
        var width = training.Columns;
        var rows = new float[sample.Length * width];
        sampled.Values.CopyTo(rows);
        for (var i = fromTraining; i < sample.Length; i++)
        {
            validation!.Row(sample[i] - training.Rows).CopyTo(rows.AsSpan(i * width, width));
        }

        var scores = new double[sample.Length];
        detector.Score(new FeatureMatrix(rows, sample.Length, sampled.ColumnNames), scores);
        return scores;
    }
}

/// <summary>The reference statistics of one input feature (see <see cref="ReferenceProfile"/>).</summary>
public sealed record FeatureProfile
{
    /// <summary>The input column name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The input column kind (numeric kinds have <see cref="Numeric"/>, categorical ones <see cref="Categorical"/>).</summary>
    public ColumnKind Kind { get; init; }

    /// <summary>Rows profiled (missing ones included).</summary>
    public long Count { get; init; }

    /// <summary>Rows whose value is missing (NaN or null).</summary>
    public long MissingCount { get; init; }

    /// <summary><see cref="MissingCount"/> / <see cref="Count"/> (0 when there are no rows).</summary>
    public double MissingRate { get; init; }

    /// <summary>Quantiles and histogram of the present values of a numeric feature; null for categorical ones or when every value is missing.</summary>
    public NumericProfile? Numeric { get; init; }

    /// <summary>Category frequencies of a categorical feature; null for numeric ones.</summary>
    public CategoricalProfile? Categorical { get; init; }

    internal static FeatureProfile Compute(ColumnSchema schema, Column[] parts, int[]? sample)
    {
        long count = 0;
        foreach (var part in parts)
        {
            count += part.Length;
        }

        long missing;
        CategoricalProfile? categorical = null;
        NumericProfile? numeric = null;
        if (schema.Kind == ColumnKind.Categorical)
        {
            categorical = CategoricalProfile.Compute(parts, out missing);
        }
        else
        {
            numeric = NumericProfile.Compute(schema.Name, parts, count, sample, out missing);
        }

        return new FeatureProfile
        {
            Name = schema.Name,
            Kind = schema.Kind,
            Count = count,
            MissingCount = missing,
            MissingRate = count == 0 ? 0 : (double)missing / count,
            Numeric = numeric,
            Categorical = categorical,
        };
    }

}

/// <summary>The present values of a numeric feature: exact quantiles and a fixed-edge histogram.</summary>
public sealed record NumericProfile
{
    /// <summary>The values at <see cref="ReferenceProfile.QuantileLevels"/> (linear interpolation between order statistics, numpy's default).</summary>
    public IReadOnlyList<double> Quantiles { get; init; } = [];

    /// <summary>The mean of the present values.</summary>
    public double Mean { get; init; }

    /// <summary>Counts over <see cref="ReferenceProfile.HistogramBins"/> equal-width bins from the minimum to the maximum.</summary>
    public Histogram Histogram { get; init; } = new();

    /// <summary>
    /// The profile of the present values of numeric column parts (float32 widens exactly), or null when every value
    /// is missing. One pass gives the count, sum (in row order), minimum and maximum; a second the histogram over
    /// every value; the inner quantiles come from the present values of the <paramref name="sample"/> rows (every row
    /// when null); the minimum and maximum are always exact.
    /// </summary>
    internal static NumericProfile? Compute(string name, Column[] parts, long count, int[]? sample, out long missing)
    {
        var stats = default(Stats);
        double[]? widened = null;
        foreach (var part in parts)
        {
            stats.Add(AsDoubles(name, part, ref widened));
        }

        missing = count - stats.Present;
        if (stats.Present == 0)
        {
            return null;
        }

        var values = new List<double>(sample?.Length ?? (int)stats.Present);
        var offset = 0;
        var next = 0;
        foreach (var part in parts)
        {
            Gather(AsDoubles(name, part, ref widened), offset, sample, ref next, values);
            offset += part.Length;
        }

        if (values.Count == 0)
        {
            // No present value among the sampled rows (a feature missing almost everywhere): take every present one.
            offset = 0;
            foreach (var part in parts)
            {
                Gather(AsDoubles(name, part, ref widened), offset, null, ref next, values);
                offset += part.Length;
            }
        }

        var quantiles = OrderSelection.Quantiles([.. values], ReferenceProfile.QuantileLevels);
        quantiles[0] = stats.Min;
        quantiles[^1] = stats.Max;
        var histogram = Histogram.Empty(stats.Min, stats.Max, out var edges, out var counts, stats.Present);
        if (counts is not null)
        {
            foreach (var part in parts)
            {
                Histogram.Count(AsDoubles(name, part, ref widened), edges!, counts);
            }
        }

        return new NumericProfile { Quantiles = quantiles, Mean = stats.Sum / stats.Present, Histogram = histogram };
    }

    /// <summary>
    /// The values of a float64 or float32 column part as doubles (float32 widens exactly; its values are copied to
    /// <paramref name="widened"/>, grown as needed). The loops over them are then plain double loops, which ReadyToRun
    /// precompiles: the generic-math loops they replace were compiled at tier 0, then again, in every training process.
    /// </summary>
    private static ReadOnlySpan<double> AsDoubles(string name, Column part, ref double[]? widened)
    {
        switch (part)
        {
            case Float64Column f64:
                return f64.Values;
            case Float32Column f32:
                var values = f32.Values;
                if (widened is null || widened.Length < values.Length)
                {
                    widened = new double[values.Length];
                }

                for (var i = 0; i < values.Length; i++)
                {
                    widened[i] = values[i];
                }

                return widened.AsSpan(0, values.Length);
            default:
                throw new InvalidOperationException($"Column '{name}' has the unsupported kind {part.Kind}.");
        }
    }

    /// <summary>The present values among rows <paramref name="sample"/>[next..] that fall in this part (rows from <paramref name="offset"/>), or all of them.</summary>
    private static void Gather(ReadOnlySpan<double> part, int offset, int[]? sample, ref int next, List<double> values)
    {
        if (sample is null)
        {
            foreach (var v in part)
            {
                if (!double.IsNaN(v))
                {
                    values.Add(v);
                }
            }

            return;
        }

        while (next < sample.Length && sample[next] < offset + part.Length)
        {
            var v = part[sample[next++] - offset];
            if (!double.IsNaN(v))
            {
                values.Add(v);
            }
        }
    }

    /// <summary>Count, sum (in row order), minimum and maximum of the present values.</summary>
    private struct Stats
    {
        public long Present;
        public double Sum;
        public double Min;
        public double Max;

        public void Add(ReadOnlySpan<double> values)
        {
            if (Present == 0)
            {
                Min = double.PositiveInfinity;
                Max = double.NegativeInfinity;
            }

            foreach (var v in values)
            {
                if (!double.IsNaN(v))
                {
                    Present++;
                    Sum += v;
                    Min = Math.Min(Min, v);
                    Max = Math.Max(Max, v);
                }
            }
        }
    }
}

/// <summary>
/// A histogram with fixed edges: bin <c>i</c> holds the values <c>v</c> with <c>Edges[i] &lt;= v &lt; Edges[i + 1]</c>, the last
/// bin also its upper edge. When every value is equal there is one bin, <c>[v, v]</c>.
/// </summary>
public sealed record Histogram
{
    /// <summary>The bin edges, ascending: one more than <see cref="Counts"/>.</summary>
    public IReadOnlyList<double> Edges { get; init; } = [];

    /// <summary>The number of values in each bin.</summary>
    public IReadOnlyList<long> Counts { get; init; } = [];

    /// <summary>The bin of <paramref name="value"/> under these edges: -1 below the first edge, <c>Counts.Count</c> above the last.</summary>
    public int BinOf(double value)
    {
        var edges = Edges;
        var bins = edges.Count - 1;
        if (bins < 1 || value < edges[0])
        {
            return -1;
        }

        if (value > edges[bins])
        {
            return bins;
        }

        // The largest i with edges[i] <= value, capped at the last bin (which includes its upper edge).
        int lo = 0, hi = bins;
        while (hi - lo > 1)
        {
            var mid = (lo + hi) >>> 1;
            if (edges[mid] <= value)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The histogram of <paramref name="values"/> (any order) whose minimum and maximum are given.</summary>
    internal static Histogram FromValues(ReadOnlySpan<double> values, double min, double max)
    {
        if (values.Length == 0)
        {
            return new Histogram();
        }

        var histogram = Empty(min, max, out var edges, out var counts, values.Length);
        if (counts is not null)
        {
            foreach (var v in values)
            {
                counts[BinOf(edges!, v)]++;
            }
        }

        return histogram;
    }

    /// <summary>
    /// The histogram over [<paramref name="min"/>, <paramref name="max"/>] with <see cref="ReferenceProfile.HistogramBins"/>
    /// equal-width bins whose <paramref name="counts"/> the caller fills (it is the histogram's own array); when every
    /// value is equal, one bin holding all <paramref name="total"/> values and null arrays.
    /// </summary>
    internal static Histogram Empty(double min, double max, out double[]? edges, out long[]? counts, long total)
    {
        if (!(max > min))
        {
            edges = null;
            counts = null;
            return new Histogram { Edges = [min, max], Counts = [total] };
        }

        var bins = ReferenceProfile.HistogramBins;
        edges = new double[bins + 1];
        for (var i = 0; i <= bins; i++)
        {
            edges[i] = i == bins ? max : min + ((max - min) * i / bins);
        }

        counts = new long[bins];
        return new Histogram { Edges = edges, Counts = counts };
    }

    /// <summary>Adds every present value of <paramref name="values"/> to the bin <see cref="BinOf(double[], double)"/> gives it.</summary>
    internal static void Count(ReadOnlySpan<double> values, double[] edges, long[] counts)
    {
        var perUnit = BinsPerUnit(edges); // once, not per value
        foreach (var v in values)
        {
            if (!double.IsNaN(v))
            {
                counts[BinOf(edges, v, perUnit)]++;
            }
        }
    }

    /// <summary>
    /// The bin of <paramref name="v"/> (within the edges) as <see cref="BinOf(double)"/> decides: the arithmetic bin,
    /// then moved to the largest i with edges[i] &lt;= v, capped at the last bin.
    /// </summary>
    internal static int BinOf(double[] edges, double v) => BinOf(edges, v, BinsPerUnit(edges));

    private static double BinsPerUnit(double[] edges) => (edges.Length - 1) / (edges[^1] - edges[0]);

    /// <summary>
    /// <see cref="BinOf(double[], double)"/> with the bins per unit of value given: the arithmetic guess may round either
    /// way, the corrections below still make the bin the largest i with edges[i] &lt;= v.
    /// </summary>
    private static int BinOf(double[] edges, double v, double perUnit)
    {
        var bins = edges.Length - 1;
        var i = Math.Clamp((int)((v - edges[0]) * perUnit), 0, bins - 1);
        while (i > 0 && edges[i] > v)
        {
            i--;
        }

        while (i < bins - 1 && edges[i + 1] <= v)
        {
            i++;
        }

        return i;
    }
}

/// <summary>A categorical feature's most frequent categories (up to <see cref="ReferenceProfile.TopCategories"/>) and the rest together.</summary>
public sealed record CategoricalProfile
{
    /// <summary>The most frequent categories, most frequent first (ties by ordinal name).</summary>
    public IReadOnlyList<CategoryFrequency> Top { get; init; } = [];

    /// <summary>Present values whose category is not in <see cref="Top"/>.</summary>
    public long OtherCount { get; init; }

    /// <summary>The number of distinct categories seen.</summary>
    public int DistinctCount { get; init; }

    internal static CategoricalProfile Compute(Column[] parts, out long missing)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        missing = 0;
        long present = 0;
        foreach (var part in parts)
        {
            var column = (CategoricalColumn)part;
            var dictionary = column.Dictionary;
            var byCode = new long[dictionary.Count];
            foreach (var code in column.Codes)
            {
                if (code < 0)
                {
                    missing++;
                }
                else
                {
                    byCode[code]++;
                }
            }

            for (var c = 0; c < byCode.Length; c++)
            {
                if (byCode[c] > 0)
                {
                    counts[dictionary[c]] = counts.GetValueOrDefault(dictionary[c]) + byCode[c];
                    present += byCode[c];
                }
            }
        }

        var ordered = counts.ToArray();
        Array.Sort(ordered, static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        var top = new CategoryFrequency[Math.Min(ReferenceProfile.TopCategories, ordered.Length)];
        long listed = 0;
        for (var i = 0; i < top.Length; i++)
        {
            top[i] = new CategoryFrequency(ordered[i].Key, ordered[i].Value, (double)ordered[i].Value / present);
            listed += ordered[i].Value;
        }

        return new CategoricalProfile { Top = top, OtherCount = present - listed, DistinctCount = ordered.Length };
    }
}

/// <summary>One category's count among the present values.</summary>
/// <param name="Category">The category.</param>
/// <param name="Count">How many present values have it.</param>
/// <param name="Frequency"><paramref name="Count"/> over the present (non-missing) values.</param>
public sealed record CategoryFrequency(string Category, long Count, double Frequency);

/// <summary>The distribution of a detector's scores over the profiled rows, and how many it flagged.</summary>
public sealed record ScoreProfile
{
    /// <summary>Rows scored: every profiled row, or a deterministic sample of <see cref="ReferenceProfile.MaxSampleRows"/> of them.</summary>
    public long Count { get; init; }

    /// <summary>The scores at <see cref="ReferenceProfile.QuantileLevels"/>; empty without rows.</summary>
    public IReadOnlyList<double> Quantiles { get; init; } = [];

    /// <summary>The mean score.</summary>
    public double Mean { get; init; }

    /// <summary>Counts over <see cref="ReferenceProfile.HistogramBins"/> equal-width bins from the lowest to the highest score.</summary>
    public Histogram Histogram { get; init; } = new();

    /// <summary>
    /// The threshold the alert rate is measured at: the bundle's threshold when the profile was computed (a later
    /// <see cref="ModelBundle.WithThreshold"/> leaves the profile as it was).
    /// </summary>
    public double Threshold { get; init; }

    /// <summary>Rows whose score is strictly greater than <see cref="Threshold"/>.</summary>
    public long Alerts { get; init; }

    /// <summary><see cref="Alerts"/> / <see cref="Count"/> (0 without rows).</summary>
    public double AlertRate { get; init; }

    internal static ScoreProfile Compute(double[] scores, double threshold)
    {
        long alerts = 0;
        var sum = 0.0;
        foreach (var s in scores)
        {
            sum += s;
            if (s > threshold)
            {
                alerts++;
            }
        }

        var quantiles = scores.Length == 0 ? [] : OrderSelection.Quantiles((double[])scores.Clone(), ReferenceProfile.QuantileLevels);
        return new ScoreProfile
        {
            Count = scores.LongLength,
            Quantiles = quantiles,
            Mean = scores.Length == 0 ? 0 : sum / scores.Length,
            Histogram = scores.Length == 0 ? new Histogram() : Histogram.FromValues(scores, quantiles[0], quantiles[^1]),
            Threshold = threshold,
            Alerts = alerts,
            AlertRate = scores.Length == 0 ? 0 : (double)alerts / scores.Length,
        };
    }
}
