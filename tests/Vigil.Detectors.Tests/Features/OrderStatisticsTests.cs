namespace Vigil.Detectors.Tests;

public sealed class OrderStatisticsTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(17, 2)]
    [InlineData(1000, 3)]
    [InlineData(5001, 4)]
    public void Select_returns_the_value_a_sort_puts_at_k(int n, int seed)
    {
        var rng = new Random(seed);
        var values = Enumerable.Range(0, n).Select(_ => Math.Round(rng.NextDouble() * 20) - 10).ToArray();
        var sorted = values.Order().ToArray();
        foreach (var k in new[] { 0, n / 3, n / 2, n - 1 })
        {
            var copy = (double[])values.Clone();
            OrderStatistics.Select(copy, k).ShouldBe(sorted[k]);
            copy.Take(k).ShouldAllBe(v => v <= sorted[k]);
            copy.Skip(k + 1).ShouldAllBe(v => v >= sorted[k]);
        }
    }

    [Theory]
    [InlineData(0)] // random
    [InlineData(1)] // ascending
    [InlineData(2)] // descending
    [InlineData(3)] // a few values, many ties
    public void Select_on_large_inputs_of_every_order_returns_the_value_a_sort_puts_at_k(int shape)
    {
        var rng = new Random(40 + shape);
        var values = Enumerable.Range(0, 50_001).Select(_ => shape == 3 ? rng.Next(3) : (rng.NextDouble() * 2) - 1).ToArray();
        if (shape == 1)
        {
            Array.Sort(values);
        }
        else if (shape == 2)
        {
            Array.Sort(values);
            Array.Reverse(values);
        }

        var sorted = values.Order().ToArray();
        foreach (var k in new[] { 0, 1, 599, 601, 25_000, 49_999, 50_000 })
        {
            var copy = (double[])values.Clone();
            OrderStatistics.Select(copy, k).ShouldBe(sorted[k]);
            copy.Take(k).ShouldAllBe(v => v <= sorted[k]);
            copy.Skip(k + 1).ShouldAllBe(v => v >= sorted[k]);
        }
    }

    [Theory]
    [InlineData(0)] // spread over many magnitudes, both signs
    [InlineData(1)] // a narrow range: every value in [1000, 1000.001)
    [InlineData(2)] // a few values, many ties
    [InlineData(3)] // one value
    [InlineData(4)] // mostly zeros (some negative) and a long tail
    public void Median_is_what_a_sort_gives_for_odd_and_even_counts(int shape)
    {
        var rng = new Random(70 + shape);
        foreach (var n in new[] { 1, 2, 3, 10, 601, 1000, 65_537, 200_000 })
        {
            var values = Enumerable.Range(0, n).Select(_ => shape switch
            {
                0 => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)),
                1 => 1000 + (rng.NextDouble() * 0.001),
                2 => rng.Next(4) - 1.5,
                3 => 42.0,
                _ => rng.Next(10) < 7 ? (rng.Next(2) == 0 ? -0.0 : 0.0) : Math.Exp(rng.NextDouble() * 20),
            }).ToArray();
            var sorted = values.Order().ToArray();
            var expected = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2.0;
            var copy = (double[])values.Clone();
            var median = OrderStatistics.Median(copy, sorted[0], sorted[^1]);
            median.ShouldBe(expected, $"n = {n}");
            BitConverter.DoubleToInt64Bits(median).ShouldBe(BitConverter.DoubleToInt64Bits(expected == 0 ? 0.0 : expected), $"n = {n}");
            copy.ShouldBe(values); // not rearranged
        }
    }

    [Theory]
    [InlineData(0)] // spread over many magnitudes, both signs
    [InlineData(1)] // a narrow range
    [InlineData(2)] // a few values, many ties: the window overflows and the caller falls back
    [InlineData(3)] // one value
    [InlineData(4)] // mostly zeros (some negative) and a long tail
    [InlineData(5)] // ascending, a tenth missing
    [InlineData(6)] // descending
    public void Median_window_gives_the_median_a_sort_gives_or_declines(int shape)
    {
        var rng = new Random(90 + shape);
        foreach (var n in new[] { 100, 4_096, 4_097, 10_000, 65_537, 200_000 })
        {
            var values = Enumerable.Range(0, n).Select(i => shape switch
            {
                0 => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-30, 30)),
                1 => 1000 + (rng.NextDouble() * 0.001),
                2 => rng.Next(4) - 1.5,
                3 => 42.0,
                4 => rng.Next(10) < 7 ? (rng.Next(2) == 0 ? -0.0 : 0.0) : Math.Exp(rng.NextDouble() * 20),
                5 => i % 10 == 3 ? double.NaN : i * 0.25,
                _ => -i * 1.5,
            }).ToArray();
            var present = values.Where(double.IsFinite).ToArray();
            var sorted = present.Order().ToArray();
            var m = sorted.Length;
            var expected = m % 2 == 1 ? sorted[m / 2] : (sorted[(m / 2) - 1] + sorted[m / 2]) / 2.0;

            var window = OrderStatistics.MedianWindow.Start(new Vigil.Data.Float64Column("x", values));
            window.Active.ShouldBe(n >= 4_096, $"n = {n}");
            if (window.Active)
            {
                foreach (var v in present)
                {
                    window.Add(v);
                }
            }

            if (window.TryMedian(m, out var median))
            {
                BitConverter.DoubleToInt64Bits(median).ShouldBe(BitConverter.DoubleToInt64Bits(expected == 0 ? 0.0 : expected), $"n = {n}");
            }
            else
            {
                // Only ties (or a small column) may make the window decline; continuous data never should.
                (shape is 2 or 3 or 4 || n < 4_096).ShouldBeTrue($"the window declined on shape {shape}, n = {n}");
            }
        }
    }
}
