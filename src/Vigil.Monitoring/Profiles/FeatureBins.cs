using System.Globalization;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Monitoring;

/// <summary>
/// Fixed bins of one feature (or of the scores) taken from a reference, with reference and current counts: numeric
/// values fall into the reference histogram's bins plus one bin below its first edge and one above its last; text
/// values into the reference's top categories plus one "other" bin. The bins never change, so current values can be
/// counted one at a time (a stream, a sliding window) without keeping them.
/// </summary>
internal sealed class FeatureBins
{
    private readonly double[]? _edges;
    private readonly Dictionary<string, int>? _categories;

    private FeatureBins(string name, bool numeric, double[]? edges, Dictionary<string, int>? categories, string[] labels, long[] reference, long referenceMissing)
    {
        Name = name;
        IsNumeric = numeric;
        _edges = edges;
        _categories = categories;
        Labels = labels;
        Reference = reference;
        ReferenceMissing = referenceMissing;
        Current = new long[reference.Length];
        Keys = new string[reference.Length];
        for (var i = 0; i < Keys.Length; i++)
        {
            Keys[i] = i.ToString("D4", CultureInfo.InvariantCulture); // ascending as strings, as a categorical sample requires
        }
    }

    public string Name { get; }

    public bool IsNumeric { get; }

    /// <summary>A readable label per bin.</summary>
    public string[] Labels { get; }

    /// <summary>Sortable category keys per bin (for <see cref="Statistics.DriftSample.FromCounts"/>).</summary>
    public string[] Keys { get; }

    public long[] Reference { get; }

    public long ReferenceMissing { get; }

    public long[] Current { get; }

    public long CurrentMissing { get; set; }

    /// <summary>Bins of a profiled feature.</summary>
    public static FeatureBins FromProfile(FeatureProfile feature)
    {
        ArgumentNullException.ThrowIfNull(feature);
        if (feature.Kind == ColumnKind.Categorical)
        {
            var top = feature.Categorical?.Top ?? [];
            var index = new Dictionary<string, int>(top.Count, StringComparer.Ordinal);
            var labels = new string[top.Count + 1];
            var counts = new long[top.Count + 1];
            for (var i = 0; i < top.Count; i++)
            {
                index[top[i].Category] = i;
                labels[i] = top[i].Category;
                counts[i] = top[i].Count;
            }

            labels[^1] = "(other)";
            counts[^1] = feature.Categorical?.OtherCount ?? 0;
            return new FeatureBins(feature.Name, false, null, index, labels, counts, feature.MissingCount);
        }

        var histogram = feature.Numeric?.Histogram;
        if (histogram is null || histogram.Edges.Count < 2)
        {
            // every reference value missing: one bin for any present current value
            return new FeatureBins(feature.Name, true, [double.NegativeInfinity, double.PositiveInfinity], null, ["(any)", "", ""], new long[3], feature.MissingCount);
        }

        return Numeric(feature.Name, [.. histogram.Edges], histogram.Counts, feature.MissingCount);
    }

    /// <summary>Bins of a profile's score histogram.</summary>
    public static FeatureBins FromScores(ScoreProfile scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var h = scores.Histogram;
        return h.Edges.Count < 2
            ? new FeatureBins("score", true, [double.NegativeInfinity, double.PositiveInfinity], null, ["(any)", "", ""], new long[3], 0)
            : Numeric("score", [.. h.Edges], h.Counts, 0);
    }

    /// <summary>
    /// Bins for comparing two columns of files: for numbers, <paramref name="bins"/> equal-width bins from the reference's
    /// finite minimum to its maximum; for text, the reference's 20 most frequent categories and "other". Counts both.
    /// </summary>
    public static FeatureBins FromColumns(Column reference, Column current, bool asCategorical, int bins = ReferenceProfile.HistogramBins)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        FeatureBins result;
        if (reference.Kind is ColumnKind.Float64 or ColumnKind.Float32 && !asCategorical)
        {
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (var i = 0; i < reference.Length; i++)
            {
                var v = reference.GetDouble(i);
                if (double.IsFinite(v))
                {
                    min = Math.Min(min, v);
                    max = Math.Max(max, v);
                }
            }

            double[] edges;
            if (min > max)
            {
                edges = [double.NegativeInfinity, double.PositiveInfinity];
            }
            else if (!(max > min))
            {
                edges = [min, max];
            }
            else
            {
                edges = new double[bins + 1];
                for (var i = 0; i <= bins; i++)
                {
                    edges[i] = i == bins ? max : min + ((max - min) * i / bins);
                }
            }

            result = Numeric(reference.Name, edges, new long[edges.Length - 1], 0);
            long refMissing = 0;
            for (var i = 0; i < reference.Length; i++)
            {
                var v = reference.GetDouble(i);
                if (double.IsFinite(v))
                {
                    result.Reference[result.BinOf(v)]++;
                }
                else
                {
                    refMissing++;
                }
            }

            result = result.WithReferenceMissing(refMissing);
            for (var i = 0; i < current.Length; i++)
            {
                result.AddNumber(current.GetDouble(i));
            }

            return result;
        }

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long missing = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            if (Text(reference, i) is { } t)
            {
                counts[t] = counts.GetValueOrDefault(t) + 1;
            }
            else
            {
                missing++;
            }
        }

        var ordered = counts.ToArray();
        Array.Sort(ordered, static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        var topCount = Math.Min(ReferenceProfile.TopCategories, ordered.Length);
        var index = new Dictionary<string, int>(topCount, StringComparer.Ordinal);
        var labels = new string[topCount + 1];
        var refCounts = new long[topCount + 1];
        for (var i = 0; i < ordered.Length; i++)
        {
            if (i < topCount)
            {
                index[ordered[i].Key] = i;
                labels[i] = ordered[i].Key;
                refCounts[i] = ordered[i].Value;
            }
            else
            {
                refCounts[^1] += ordered[i].Value;
            }
        }

        labels[^1] = "(other)";
        result = new FeatureBins(reference.Name, false, null, index, labels, refCounts, missing);
        for (var i = 0; i < current.Length; i++)
        {
            result.AddText(Text(current, i));
        }

        return result;
    }

    /// <summary>Counts one current number (NaN or ±Inf: missing). O(log bins), no allocation.</summary>
    public void AddNumber(double value)
    {
        if (!double.IsFinite(value))
        {
            CurrentMissing++;
            return;
        }

        Current[BinOf(value)]++;
    }

    /// <summary>Counts one current category (null: missing; not among the top categories: "other"). No allocation.</summary>
    public void AddText(string? value)
    {
        if (value is null)
        {
            CurrentMissing++;
            return;
        }

        Current[BinOfText(value)]++;
    }

    /// <summary>The bin of a present number: 0 below the first edge, <c>edges.Length</c> above the last, else 1 + the reference bin.</summary>
    public int BinOf(double value)
    {
        var edges = _edges!;
        var bins = edges.Length - 1;
        if (value < edges[0])
        {
            return 0;
        }

        if (value > edges[bins])
        {
            return bins + 1;
        }

        // the largest i with edges[i] <= value, capped at the last bin (which holds its upper edge), as the profile counted
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

        return lo + 1;
    }

    /// <summary>The bin of a present category.</summary>
    public int BinOfText(string value) => _categories!.TryGetValue(value, out var i) ? i : Reference.Length - 1;

    /// <summary>Forgets the current counts.</summary>
    public void ClearCurrent()
    {
        Array.Clear(Current);
        CurrentMissing = 0;
    }

    /// <summary>The counts as a categorical drift sample over the bins (empty bins on both sides are left out).</summary>
    public Statistics.DriftSample ToSample() =>
        Statistics.DriftSample.FromCounts(Keys, Reference, checked((int)ReferenceMissing), (long[])Current.Clone(), checked((int)CurrentMissing));

    /// <summary>Reference and current shares per bin, for charts (bins empty on both sides left out).</summary>
    public HistogramPair ToHistogram()
    {
        long rt = 0, ct = 0;
        for (var i = 0; i < Reference.Length; i++)
        {
            rt += Reference[i];
            ct += Current[i];
        }

        var labels = new List<string>();
        var r = new List<double>();
        var c = new List<double>();
        for (var i = 0; i < Reference.Length; i++)
        {
            var edgeBin = IsNumeric && (i == 0 || i == Reference.Length - 1);
            if (edgeBin && Reference[i] == 0 && Current[i] == 0)
            {
                continue;
            }

            labels.Add(Labels[i]);
            r.Add(rt == 0 ? 0 : (double)Reference[i] / rt);
            c.Add(ct == 0 ? 0 : (double)Current[i] / ct);
        }

        return new HistogramPair(Name, IsNumeric ? "num" : "cat", labels, r, c, rt, ct);
    }

    private FeatureBins WithReferenceMissing(long missing) =>
        new(Name, IsNumeric, _edges, _categories, Labels, Reference, missing) { CurrentMissing = CurrentMissing };

    private static FeatureBins Numeric(string name, double[] edges, IReadOnlyList<long> counts, long missing)
    {
        var bins = edges.Length - 1;
        var labels = new string[bins + 2];
        var reference = new long[bins + 2];
        labels[0] = "< " + Format(edges[0]);
        labels[^1] = "> " + Format(edges[^1]);
        for (var i = 0; i < bins; i++)
        {
            labels[i + 1] = Format(edges[i]) + ".." + Format(edges[i + 1]);
            reference[i + 1] = counts[i];
        }

        return new FeatureBins(name, true, edges, null, labels, reference, missing);
    }

    private static string Format(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string? Text(Column column, int row) => column switch
    {
        CategoricalColumn cat => cat[row],
        StringColumn s => s[row],
        _ => double.IsFinite(column.GetDouble(row)) ? column.GetDouble(row).ToString("R", CultureInfo.InvariantCulture) : null,
    };
}
