using System.Text.Json;
using System.Text.Json.Serialization;
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
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ProfileJsonContext.Default.ReferenceProfile);

    /// <summary>Reads <c>profile.json</c>.</summary>
    /// <exception cref="JsonException">Not valid JSON for a profile.</exception>
    /// <exception cref="InvalidDataException">An unknown layout version or missing parts.</exception>
    public static ReferenceProfile FromJson(ReadOnlySpan<byte> json)
    {
        var profile = JsonSerializer.Deserialize(json, ProfileJsonContext.Default.ReferenceProfile)
            ?? throw new InvalidDataException("is empty");
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
    /// Profiles the inputs of <paramref name="transform"/> over <paramref name="training"/> (and
    /// <paramref name="validation"/>), and the scores of <paramref name="detector"/> on the same rows.
    /// <paramref name="trainingFeatures"/> is <paramref name="training"/> already transformed.
    /// </summary>
    internal static ReferenceProfile Compute(FeatureTransform transform, IDetectorModel detector, Frame training, Frame? validation, FeatureMatrix trainingFeatures)
    {
        var trainingScores = Score(detector, trainingFeatures);
        double[] scores;
        if (validation is { RowCount: > 0 })
        {
            var validationScores = Score(detector, transform.Transform(validation));
            scores = [.. trainingScores, .. validationScores];
        }
        else
        {
            scores = trainingScores;
        }

        var schema = transform.InputSchema;
        var features = new FeatureProfile[schema.Count];
        Parallel.For(0, features.Length, i =>
        {
            var column = schema[i];
            Column[] parts = validation is { RowCount: > 0 } ? [training[column.Name], validation[column.Name]] : [training[column.Name]];
            features[i] = FeatureProfile.Compute(column, parts);
        });

        return new ReferenceProfile
        {
            TrainingRows = training.RowCount,
            ValidationRows = validation?.RowCount ?? 0,
            Features = features,
            Scores = ScoreProfile.Compute(scores, detector.Threshold),
        };
    }

    private static double[] Score(IDetectorModel detector, FeatureMatrix x)
    {
        var scores = new double[x.Rows];
        detector.Score(x, scores);
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

    internal static FeatureProfile Compute(ColumnSchema schema, Column[] parts)
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
            var sorted = PresentValues(schema.Name, parts, count);
            Array.Sort(sorted);
            missing = count - sorted.LongLength;
            numeric = sorted.Length == 0 ? null : NumericProfile.FromSorted(sorted);
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

    /// <summary>The non-missing values of numeric column parts, as doubles (float32 widens exactly).</summary>
    private static double[] PresentValues(string name, Column[] parts, long count)
    {
        var values = new List<double>((int)count);
        foreach (var part in parts)
        {
            switch (part)
            {
                case Float64Column f64:
                    foreach (var v in f64.Values)
                    {
                        if (!double.IsNaN(v))
                        {
                            values.Add(v);
                        }
                    }

                    break;
                case Float32Column f32:
                    foreach (var v in f32.Values)
                    {
                        if (!float.IsNaN(v))
                        {
                            values.Add(v);
                        }
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Column '{name}' has the unsupported kind {part.Kind}.");
            }
        }

        return [.. values];
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

    internal static NumericProfile FromSorted(double[] sorted)
    {
        var sum = 0.0;
        foreach (var v in sorted)
        {
            sum += v;
        }

        return new NumericProfile
        {
            Quantiles = QuantilesOf(sorted),
            Mean = sum / sorted.Length,
            Histogram = Histogram.FromSorted(sorted),
        };
    }

    /// <summary>Quantiles of sorted values at <see cref="ReferenceProfile.QuantileLevels"/> (numpy's linear method).</summary>
    internal static double[] QuantilesOf(double[] sorted)
    {
        var levels = ReferenceProfile.QuantileLevels;
        var result = new double[levels.Count];
        if (sorted.Length == 0)
        {
            return [];
        }

        for (var i = 0; i < result.Length; i++)
        {
            var position = levels[i] * (sorted.Length - 1);
            var lo = (int)Math.Floor(position);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            var fraction = position - lo;
            result[i] = fraction == 0 ? sorted[lo] : sorted[lo] + ((sorted[hi] - sorted[lo]) * fraction);
        }

        return result;
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

    internal static Histogram FromSorted(double[] sorted)
    {
        if (sorted.Length == 0)
        {
            return new Histogram();
        }

        double min = sorted[0], max = sorted[^1];
        if (!(max > min))
        {
            return new Histogram { Edges = [min, max], Counts = [sorted.LongLength] };
        }

        var bins = ReferenceProfile.HistogramBins;
        var edges = new double[bins + 1];
        for (var i = 0; i <= bins; i++)
        {
            edges[i] = i == bins ? max : min + ((max - min) * i / bins);
        }

        var histogram = new Histogram { Edges = edges };
        var counts = new long[bins];
        foreach (var v in sorted)
        {
            counts[histogram.BinOf(v)]++;
        }

        return histogram with { Counts = counts };
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
    /// <summary>Rows scored.</summary>
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
        var sorted = (double[])scores.Clone();
        Array.Sort(sorted);
        long alerts = 0;
        var sum = 0.0;
        foreach (var s in sorted)
        {
            sum += s;
            if (s > threshold)
            {
                alerts++;
            }
        }

        return new ScoreProfile
        {
            Count = sorted.LongLength,
            Quantiles = NumericProfile.QuantilesOf(sorted),
            Mean = sorted.Length == 0 ? 0 : sum / sorted.Length,
            Histogram = Histogram.FromSorted(sorted),
            Threshold = threshold,
            Alerts = alerts,
            AlertRate = sorted.Length == 0 ? 0 : (double)alerts / sorted.Length,
        };
    }
}

/// <summary>Source-generated, compact JSON for <c>profile.json</c>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = false,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReferenceProfile))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
