namespace Vigil.Detectors;

/// <summary>Order statistics without a full sort (Hoare's selection with median-of-three pivots).</summary>
internal static class OrderStatistics
{
    /// <summary>
    /// Rearranges <paramref name="values"/> so that <c>values[k]</c> holds the k-th smallest value (0-based),
    /// everything before it is &lt;= and everything after it is &gt;=; returns that value. NaN must not occur.
    /// </summary>
    public static double Select(Span<double> values, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(k, values.Length);
        int lo = 0, hi = values.Length - 1;
        while (hi > lo)
        {
            if (hi - lo < 16)
            {
                values[lo..(hi + 1)].Sort();
                return values[k];
            }

            var mid = lo + ((hi - lo) / 2);
            if (values[mid] < values[lo])
            {
                (values[mid], values[lo]) = (values[lo], values[mid]);
            }

            if (values[hi] < values[lo])
            {
                (values[hi], values[lo]) = (values[lo], values[hi]);
            }

            if (values[hi] < values[mid])
            {
                (values[hi], values[mid]) = (values[mid], values[hi]);
            }

            var pivot = values[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            // Now values[lo..j] <= pivot, values[i..hi] >= pivot, and anything between equals pivot.
            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return values[k];
            }
        }

        return values[k];
    }

    /// <summary>The largest value of a non-empty span.</summary>
    public static double Max(ReadOnlySpan<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }

        return max;
    }
}
