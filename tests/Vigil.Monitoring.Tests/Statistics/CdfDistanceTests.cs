using Vigil.Monitoring.Statistics;

namespace Vigil.Monitoring.Tests.Statistics;

public sealed class CdfDistanceTests
{
    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(0, 5, 2)]
    [InlineData(5, 0, 3)]
    [InlineData(1, 1, 4)]
    [InlineData(37, 1000, 5)]
    [InlineData(5000, 4000, 6)]
    [InlineData(20_000, 20_000, 7)]
    public void Wasserstein_and_L2_equal_scipys_merge_sum_bit_for_bit(int nu, int nv, int seed)
    {
        var rng = new Random(seed);
        foreach (var ties in new[] { 3, 40, 100_000 })
        {
            var u = Sample(rng, nu, ties);
            var v = Sample(rng, nv, ties);

            BitConverter.DoubleToInt64Bits(CdfDistance.Wasserstein1(u, v))
                .ShouldBe(BitConverter.DoubleToInt64Bits(ScipyMergeSum(u, v, squared: false)));
            BitConverter.DoubleToInt64Bits(CdfDistance.L2(u, v))
                .ShouldBe(BitConverter.DoubleToInt64Bits(Math.Sqrt(ScipyMergeSum(u, v, squared: true))));
        }
    }

    [Fact]
    public void Wasserstein_of_two_points_is_their_distance()
    {
        CdfDistance.Wasserstein1([1.0], [3.5]).ShouldBe(2.5);
        CdfDistance.Wasserstein1([-0.0, 1.0], [0.0, 1.0]).ShouldBe(0.0);
    }

    /// <summary>A sorted sample of <paramref name="n"/> values drawn from <paramref name="ties"/> levels (−0.0 and +0.0 among them).</summary>
    private static double[] Sample(Random rng, int n, int ties)
    {
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            var level = rng.Next(ties) - (ties / 2);
            values[i] = level == 0 ? (rng.Next(2) == 0 ? 0.0 : -0.0) : level * 0.37;
        }

        Array.Sort(values);
        return values;
    }

    /// <summary>
    /// The oracle: scipy's <c>_cdf_distance</c> as a one-element-at-a-time merge (every step, zero steps included,
    /// as the implementation before the tie-group walk did it).
    /// </summary>
    private static double ScipyMergeSum(double[] u, double[] v, bool squared)
    {
        int i = 0, j = 0, nu = u.Length, nv = v.Length;
        double fu = nu, fv = nv;
        var sum = 0.0;
        var total = nu + nv;
        var consumed = 0;
        while (consumed < total)
        {
            var current = j >= nv || (i < nu && u[i] <= v[j]) ? u[i++] : v[j++];
            consumed++;
            if (consumed == total)
            {
                break;
            }

            var next = j >= nv || (i < nu && u[i] <= v[j]) ? u[i] : v[j];
            var delta = next - current;
            if (delta == 0)
            {
                continue;
            }

            var diff = (i / fu) - (j / fv);
            sum += squared ? diff * diff * delta : Math.Abs(diff) * delta;
        }

        return sum;
    }
}
