using Vigil.Data;
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
    public void RentSortedFinite_drops_nan_and_infinities_counts_them_and_sorts_the_rest(string kind, int n)
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

        var rented = RadixSort.RentSortedFinite(values, out var count, out var missing);
        var sorted = rented[..count];
        System.Buffers.ArrayPool<double>.Shared.Return(rented);

        missing.ShouldBe(expectedMissing);
        count.ShouldBe(values.Length - expectedMissing);
        ShouldBeSorted(sorted, finite);
        Bits(values).ShouldBe(Bits(source), "the source is left as it was");
    }

    [Fact]
    public void Compare_scores_large_columns_as_samples_sorted_by_array_sort_do_for_every_numeric_statistic()
    {
        // 30,000 rows a side (the radix path), values with ties and missing values, columns compared one after the
        // other on several threads (pooled arrays handed from column to column).
        var rng = new Random(21);
        var names = new[] { "a", "b", "c", "d", "e", "f" };
        Frame Make(double shift)
        {
            var columns = new List<Column>();
            foreach (var name in names)
            {
                var values = new double[30_000];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = rng.Next(100) == 0 ? double.NaN : Math.Round((rng.NextDouble() * 50) + shift, name == "a" ? 1 : 4);
                }

                columns.Add(new Float64Column(name, values));
            }

            return new Frame(columns);
        }

        var reference = Make(0);
        var current = Make(0.7);
        foreach (var test in new[] { "wasserstein", "ks", "ed", "anderson", "mannw", "t_test", "psi", "jensenshannon", "hellinger", "cramer_von_mises" })
        {
            var report = DriftAnalyzer.Compare(reference, current, new DriftOptions { StatTest = test, MaxDegreeOfParallelism = 3 });
            foreach (var f in report.Features)
            {
                var r = Array.FindAll(((Float64Column)reference[f.Name]).Values.ToArray(), double.IsFinite);
                var c = Array.FindAll(((Float64Column)current[f.Name]).Values.ToArray(), double.IsFinite);
                Array.Sort(r);
                Array.Sort(c);
                var expected = StatTestCatalog.Get(test).Compute(DriftSample.FromSorted(r, r.Length, 30_000 - r.Length, c, c.Length, 30_000 - c.Length, pooled: false));
                BitConverter.DoubleToInt64Bits(f.Score).ShouldBe(BitConverter.DoubleToInt64Bits(expected), $"{test} {f.Name}");
            }
        }
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
