using System.Numerics;

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

    /// <summary>
    /// The median of a non-empty span of finite values as a sort would give it (the middle value, or the mean of the two
    /// middle values), without rearranging <paramref name="values"/>. <paramref name="lowest"/> and
    /// <paramref name="highest"/> are its least and greatest values. Negative zero counts as zero (a median of zero is
    /// +0).
    /// </summary>
    /// <remarks>
    /// Two passes instead of a selection over the whole span: the first counts the values into up to 65,536 buckets of
    /// their order-preserving 64-bit keys between the bounds; the second copies out only the bucket holding the middle
    /// rank (and finds the largest value below it, when the lower middle falls in an earlier bucket); Floyd-Rivest then
    /// selects within that bucket. On 500,000 values: measured in the README's isolation forest figures (train).
    /// </remarks>
    public static double Median(ReadOnlySpan<double> values, double lowest, double highest)
    {
        var n = values.Length;
        ArgumentOutOfRangeException.ThrowIfZero(n);
        var low = Key(lowest);
        var range = Key(highest) - low;
        var shift = Math.Max(0, 64 - BitOperations.LeadingZeroCount(range) - BucketBits);
        var counts = new int[(int)(range >> shift) + 1];
        foreach (var v in values)
        {
            counts[(int)((Key(v) - low) >> shift)]++;
        }

        // the bucket of the upper middle rank k, and how many values lie in the buckets before it
        var k = n / 2;
        int bucket = 0, before = 0;
        while (before + counts[bucket] <= k)
        {
            before += counts[bucket++];
        }

        var lowerInBucket = n % 2 == 0 && k - 1 >= before; // the lower middle (k - 1) in the same bucket
        var inBucket = new double[counts[bucket]];
        var taken = 0;
        var below = double.NegativeInfinity; // the largest value in an earlier bucket
        foreach (var v in values)
        {
            var b = (int)((Key(v) - low) >> shift);
            if (b == bucket)
            {
                inBucket[taken++] = v == 0 ? 0.0 : v;
            }
            else if (b < bucket && v > below)
            {
                below = v;
            }
        }

        var upper = Select(inBucket, k - before);
        if (n % 2 == 1)
        {
            return upper;
        }

        var lower = lowerInBucket ? Max(inBucket.AsSpan(0, k - before)) : (below == 0 ? 0.0 : below);
        return (lower + upper) / 2.0;
    }

    private const int BucketBits = 16;

    /// <summary>
    /// The median of a column read once, without copying it: <see cref="Start"/> takes pivots from a strided sample of
    /// the column that bracket its middle rank; <see cref="Add"/> then counts each present value below the pivots and
    /// keeps the few between them; <see cref="TryMedian"/> selects the middle values among those kept. It gives what
    /// <see cref="Median"/> gives (the same bits) or, when the pivots miss the middle rank or too many values fall
    /// between them (heavy ties, an unrepresentative sample), false: the caller then falls back to <see cref="Median"/>.
    /// </summary>
    /// <remarks>
    /// Training reads every numeric column for its median; copying each column (4 MB per 500,000 rows, fresh memory)
    /// and bucketing it twice cost more than the rest of the transform's fit.
    /// </remarks>
    internal struct MedianWindow
    {
        private const int SampleSize = 8_192;
        private const int MinRows = 4_096;

        private double _low;
        private double _high;
        private double[]? _kept;
        private int _taken;
        private int _below;

        /// <summary>Whether values are being windowed (false: too few rows or sampled values; use <see cref="Median"/>).</summary>
        public readonly bool Active => _kept is not null;

        /// <summary>A window around the middle of the finite values of numeric <paramref name="column"/>; inactive for small columns.</summary>
        public static MedianWindow Start(Vigil.Data.Column column)
        {
            var window = default(MedianWindow);
            var rows = column.Length;
            if (rows < MinRows)
            {
                return window;
            }

            var sample = new double[Math.Min(rows, SampleSize)];
            var m = 0;
            for (var i = 0; i < sample.Length; i++)
            {
                var v = column.GetDouble((int)((long)i * rows / sample.Length));
                if (double.IsFinite(v))
                {
                    sample[m++] = v;
                }
            }

            if (m < MinRows / 8)
            {
                return window;
            }

            // The middle rank of the sample lies within about sqrt(m) / 2 of the column's: five of those either side.
            // Two selections, not a sort (Array.Sort of doubles is not precompiled: it would start as tier-0 code).
            var margin = (int)Math.Ceiling(2.5 * Math.Sqrt(m));
            var high = Math.Min(m - 1, (m / 2) + margin);
            window._high = Select(sample.AsSpan(0, m), high);
            window._low = Select(sample.AsSpan(0, high), Math.Max(0, (m / 2) - margin)); // the smallest high values come first

            window._kept = new double[(int)Math.Min(rows, (4L * margin * rows / m) + 64)];
            return window;
        }

        /// <summary>Counts one finite value of the column.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Add(double value)
        {
            if (value < _low)
            {
                _below++;
            }
            else if (value <= _high)
            {
                var kept = _kept!;
                var t = _taken;
                if ((uint)t < (uint)kept.Length)
                {
                    kept[t] = value == 0 ? 0.0 : value;
                }

                _taken = t + 1; // past the buffer's length: overflowed, TryMedian says no
            }
        }

        /// <summary>The median of the <paramref name="count"/> values added, as <see cref="Median"/> gives it; false when the window missed it.</summary>
        public readonly bool TryMedian(int count, out double median)
        {
            median = double.NaN;
            var k = count / 2;
            var lowest = count % 2 == 0 ? k - 1 : k; // the lowest rank needed
            if (_kept is null || count == 0 || _taken > _kept.Length || lowest < _below || k >= _below + _taken)
            {
                return false;
            }

            var kept = _kept.AsSpan(0, _taken);
            var upper = Select(kept, k - _below);
            median = count % 2 == 1 ? upper : (Max(kept[..(k - _below)]) + upper) / 2.0;
            return true;
        }
    }

    /// <summary>An unsigned key in the order of the doubles (finite values; -0 keys as +0).</summary>
    private static ulong Key(double value)
    {
        var bits = (ulong)BitConverter.DoubleToInt64Bits(value == 0 ? 0.0 : value);
        return (bits >> 63) != 0 ? ~bits : bits | 0x8000_0000_0000_0000UL;
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
