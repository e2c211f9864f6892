namespace Vigil.Detectors;

/// <summary>
/// Exact quantiles without a full sort: the order statistics the quantile levels need are found by one recursive
/// three-way partition (Dutch national flag, so columns with many equal values stay linear), descending only into the
/// parts that hold a wanted position; a part that recurses too deep is sorted instead (introselect), so the worst case
/// stays O(n log n). Deterministic: the pivot is the median of three fixed positions.
/// </summary>
internal static class OrderSelection
{
    /// <summary>
    /// The quantiles of <paramref name="values"/> at <paramref name="levels"/> (each in [0, 1]), by linear
    /// interpolation between order statistics (numpy's default method). Reorders <paramref name="values"/>.
    /// </summary>
    public static double[] Quantiles(double[] values, IReadOnlyList<double> levels)
    {
        var n = values.Length;
        if (n == 0)
        {
            return [];
        }

        // The order statistics needed: floor(h) and floor(h) + 1 of every level's position h = level * (n - 1).
        var wanted = new SortedSet<int>();
        foreach (var level in levels)
        {
            var position = level * (n - 1);
            var lo = (int)Math.Floor(position);
            wanted.Add(lo);
            wanted.Add(Math.Min(lo + 1, n - 1));
        }

        var positions = new int[wanted.Count];
        wanted.CopyTo(positions);
        Select(values, 0, n, positions, 0, positions.Length, 2 * (int)Math.Log2(n) + 4);

        var result = new double[levels.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var position = levels[i] * (n - 1);
            var lo = (int)Math.Floor(position);
            var hi = Math.Min(lo + 1, n - 1);
            var fraction = position - lo;
            result[i] = fraction == 0 ? values[lo] : values[lo] + ((values[hi] - values[lo]) * fraction);
        }

        return result;
    }

    /// <summary>
    /// Places the order statistics at <c>positions[pFrom..pTo)</c> (ascending, all within [from, to)) where a sort of
    /// <c>values[from..to)</c> would put them.
    /// </summary>
    private static void Select(double[] values, int from, int to, int[] positions, int pFrom, int pTo, int depth)
    {
        while (pFrom < pTo)
        {
            if (to - from <= 32 || depth-- <= 0)
            {
                Array.Sort(values, from, to - from);
                return;
            }

            var pivot = MedianOfThree(values[from], values[from + ((to - from) >> 1)], values[to - 1]);

            // [from, lt) < pivot, [lt, gt) == pivot, [gt, to) > pivot.
            int lt = from, i = from, gt = to;
            while (i < gt)
            {
                var v = values[i];
                if (v < pivot)
                {
                    (values[lt], values[i]) = (values[i], values[lt]);
                    lt++;
                    i++;
                }
                else if (v > pivot)
                {
                    gt--;
                    (values[gt], values[i]) = (values[i], values[gt]);
                }
                else
                {
                    i++;
                }
            }

            // Positions below lt recurse left; positions in [lt, gt) are done; the rest continue right (the loop).
            var left = pFrom;
            while (left < pTo && positions[left] < lt)
            {
                left++;
            }

            var right = left;
            while (right < pTo && positions[right] < gt)
            {
                right++;
            }

            if (left > pFrom)
            {
                Select(values, from, lt, positions, pFrom, left, depth);
            }

            from = gt;
            pFrom = right;
        }
    }

    private static double MedianOfThree(double a, double b, double c) =>
        a < b ? (b < c ? b : Math.Max(a, c)) : (a < c ? a : Math.Max(b, c));
}
