using Vigil.Monitoring.Statistics;

namespace Vigil.Monitoring.Tests.Statistics;

public sealed class RadixSortTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "wide", "decimals", "ties", "zeros", "subnormal", "constant-high-digits" })
        {
            foreach (var n in new[] { 0, 1, 4095, 4096, 5_003, 70_001 })
            {
                data.Add(kind, n);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sort_orders_like_a_total_order_sort_bit_for_bit(string kind, int n)
    {
        var values = Values(kind, n, seed: 11);
        var expected = (double[])values.Clone();
        Array.Sort(expected, TotalOrder);

        RadixSort.Sort(values);

        ShouldBeSorted(values, expected);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SortedFinite_drops_nan_and_infinities_counts_them_and_sorts_the_rest(string kind, int n)
    {
        var values = Values(kind, n, seed: 12);
        var rng = new Random(13);
        var expectedMissing = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (rng.Next(50) == 0)
            {
                values[i] = (i % 3) switch { 0 => double.NaN, 1 => double.PositiveInfinity, _ => double.NegativeInfinity };
                expectedMissing++;
            }
        }

        var finite = Array.FindAll(values, double.IsFinite);
        Array.Sort(finite, TotalOrder);
        var source = (double[])values.Clone();

        var sorted = RadixSort.SortedFinite(values, out var missing);

        missing.ShouldBe(expectedMissing);
        ShouldBeSorted(sorted, finite);
        Bits(values).ShouldBe(Bits(source), "the source is left as it was");
    }

    [Fact]
    public void Sort_rejects_a_nan_instead_of_leaving_garbage()
    {
        var values = Values("wide", 10_000, seed: 3);
        values[1234] = double.NaN;

        Should.Throw<ArgumentException>(() => RadixSort.Sort(values));
    }

    /// <summary>ascending; −0.0 before +0.0 (the order of their keys).</summary>
    private static int TotalOrder(double a, double b)
    {
        var c = a.CompareTo(b);
        return c != 0 ? c : double.IsNegative(b).CompareTo(double.IsNegative(a));
    }

    private static long[] Bits(double[] values) => Array.ConvertAll(values, BitConverter.DoubleToInt64Bits);

    /// <summary>
    /// Bit for bit from 4,096 values on (the radix sort); below that the sort is <see cref="Array.Sort(Array)"/>, which
    /// keeps −0.0 and +0.0 (equal) in either order, so there the zeros only need the same places and the same number of −0.0.
    /// </summary>
    private static void ShouldBeSorted(double[] actual, double[] expectedTotalOrder)
    {
        if (actual.Length >= 4096)
        {
            Bits(actual).ShouldBe(Bits(expectedTotalOrder));
            return;
        }

        Bits(Array.ConvertAll(actual, Unsigned)).ShouldBe(Bits(Array.ConvertAll(expectedTotalOrder, Unsigned)));
        Array.FindAll(actual, IsNegativeZero).Length.ShouldBe(Array.FindAll(expectedTotalOrder, IsNegativeZero).Length);

        static double Unsigned(double v) => v == 0 ? 0.0 : v;

        static bool IsNegativeZero(double v) => v == 0 && double.IsNegative(v);
    }

    private static double[] Values(string kind, int n, int seed)
    {
        var rng = new Random(seed);
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = kind switch
            {
                // Any finite double, both signs, every exponent.
                "wide" => RandomFinite(rng),
                // Six significant digits, as a CSV written with %.6g holds.
                "decimals" => Math.Round((rng.NextDouble() - 0.3) * 300, 3),
                "ties" => rng.Next(7) - 3 + (0.5 * rng.Next(2)),
                "zeros" => rng.Next(3) switch { 0 => 0.0, 1 => -0.0, _ => rng.Next(2) == 0 ? double.Epsilon : -double.Epsilon },
                "subnormal" => BitConverter.Int64BitsToDouble(rng.NextInt64(1, 1L << 52)) * (rng.Next(2) == 0 ? 1 : -1),
                // Same sign and exponent everywhere: the top passes are skipped.
                "constant-high-digits" => 1.0 + rng.NextDouble(),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
        }

        return values;
    }

    private static double RandomFinite(Random rng)
    {
        while (true)
        {
            var v = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
            if (double.IsFinite(v))
            {
                return v;
            }
        }
    }
}
