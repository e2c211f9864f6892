namespace Vigil.Monitoring.Statistics;

/// <summary>
/// Evidently's binning (<c>get_binned_data</c>) and numpy's histogram rules it relies on: Sturges edges over the
/// combined data (<c>np.histogram_bin_edges(..., "sturges")</c>, edges by <c>np.linspace</c>), counts with left-closed
/// bins and a closed last bin (<c>np.histogram</c> with explicit edges), or one bin per value when the reference has
/// at most 20 distinct values; empty bins filled with min(non-zero)/10⁶ (or 10⁻⁴) for PSI.
/// </summary>
public static class Binning
{
    /// <summary>Above this many distinct reference values a numeric column is binned by Sturges' rule.</summary>
    public const int MaxPerValueBins = 20;

    /// <summary>Number of distinct values in a sorted array, counting no further than <paramref name="stopAfter"/>.</summary>
    public static int DistinctSorted(ReadOnlySpan<double> sorted, int stopAfter = int.MaxValue)
    {
        if (sorted.IsEmpty)
        {
            return 0;
        }

        var n = 1;
        for (var i = 1; i < sorted.Length && n <= stopAfter; i++)
        {
            if (sorted[i] != sorted[i - 1])
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Number of distinct values in the union of two sorted arrays, counting no further than <paramref name="stopAfter"/>.</summary>
    public static int DistinctUnion(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int stopAfter = int.MaxValue)
    {
        int i = 0, j = 0, n = 0;
        var last = double.NaN;
        while ((i < a.Length || j < b.Length) && n <= stopAfter)
        {
            double v;
            if (j >= b.Length || (i < a.Length && a[i] <= b[j]))
            {
                v = a[i++];
            }
            else
            {
                v = b[j++];
            }

            if (n == 0 || v != last)
            {
                n++;
                last = v;
            }
        }

        return n;
    }

    /// <summary>
    /// Sturges bin edges as <c>np.histogram_bin_edges(data, "sturges")</c> for data of <paramref name="count"/> values
    /// between <paramref name="min"/> and <paramref name="max"/>.
    /// </summary>
    public static double[] SturgesEdges(double min, double max, long count)
    {
        var ptp = max - min;
        var first = min;
        var last = max;
        if (first == last)
        {
            first -= 0.5;
            last += 0.5;
        }

        var width = ptp / (Math.Log2(count) + 1.0);
        var bins = width != 0 ? (int)Math.Ceiling((last - first) / width) : 1;
        return Linspace(first, last, bins + 1);
    }

    /// <summary><c>np.linspace(start, stop, num)</c> with the endpoint: i·step + start, the last edge exactly stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var result = new double[num];
        var div = num - 1;
        var delta = stop - start;
        var step = div > 0 ? delta / div : double.NaN;
        for (var i = 0; i < num; i++)
        {
            result[i] = step == 0 ? (i / (double)div * delta) + start : (i * step) + start;
        }

        if (num > 1)
        {
            result[num - 1] = stop;
        }

        return result;
    }

    /// <summary>
    /// Counts of sorted values per bin as <c>np.histogram(values, edges)</c>: [e_i, e_{i+1}) and the last bin closed;
    /// values outside the edges are not counted.
    /// </summary>
    public static long[] Histogram(ReadOnlySpan<double> sorted, ReadOnlySpan<double> edges)
    {
        var counts = new long[edges.Length - 1];
        var previous = LowerBound(sorted, edges[0]);
        for (var i = 1; i < edges.Length; i++)
        {
            var cum = i == edges.Length - 1 ? UpperBound(sorted, edges[i]) : LowerBound(sorted, edges[i]);
            counts[i - 1] = cum - previous;
            previous = cum;
        }

        return counts;
    }

    /// <summary>
    /// Evidently's <c>get_binned_data</c>: the reference and current shares per bin (Sturges bins over the combined data
    /// when the column is numerical with more than 20 distinct reference values, else one bin per present value),
    /// with empty bins filled when <paramref name="fillZeroes"/> is set.
    /// </summary>
    public static (double[] Reference, double[] Current) BinnedShares(DriftSample sample, bool fillZeroes)
    {
        ArgumentNullException.ThrowIfNull(sample);
        double[] reference, current;
        if (sample.Type == DriftColumnType.Numerical && DistinctSorted(sample.SortedReference, MaxPerValueBins) > MaxPerValueBins)
        {
            var r = sample.SortedReference;
            var c = sample.SortedCurrent;
            var min = c.Length == 0 ? r[0] : Math.Min(r[0], c[0]);
            var max = c.Length == 0 ? r[^1] : Math.Max(r[^1], c[^1]);
            var edges = SturgesEdges(min, max, (long)r.Length + c.Length);
            reference = Shares(Histogram(r, edges), r.Length);
            current = Shares(Histogram(c, edges), c.Length);
        }
        else
        {
            var counts = sample.Counts;
            reference = Shares(counts.Reference, sample.ReferenceCount);
            current = Shares(counts.Current, sample.CurrentCount);
        }

        if (fillZeroes)
        {
            FillZeroes(reference);
            FillZeroes(current);
        }

        return (reference, current);
    }

    /// <summary>Evidently's zero filling: empty shares become min(non-zero)/10⁶ when that minimum is ≤ 10⁻⁴, else 10⁻⁴.</summary>
    public static void FillZeroes(Span<double> shares)
    {
        var min = double.PositiveInfinity;
        for (var i = 0; i < shares.Length; i++)
        {
            if (shares[i] != 0 && shares[i] < min)
            {
                min = shares[i];
            }
        }

        if (double.IsPositiveInfinity(min))
        {
            return;
        }

        var fill = min <= 0.0001 ? min / 1e6 : 0.0001;
        for (var i = 0; i < shares.Length; i++)
        {
            if (shares[i] == 0)
            {
                shares[i] = fill;
            }
        }
    }

    /// <summary>count / total per bin.</summary>
    public static double[] Shares(ReadOnlySpan<long> counts, long total)
    {
        var result = new double[counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            result[i] = counts[i] / (double)total;
        }

        return result;
    }

    /// <summary>Index of the first value ≥ <paramref name="x"/> (<c>searchsorted(x, "left")</c>).</summary>
    public static int LowerBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (sorted[mid] < x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Index of the first value &gt; <paramref name="x"/> (<c>searchsorted(x, "right")</c>).</summary>
    public static int UpperBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (sorted[mid] <= x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
