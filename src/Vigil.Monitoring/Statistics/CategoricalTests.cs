using Vigil.Monitoring;

namespace Vigil.Monitoring.Statistics;

/// <summary>
/// Pearson's chi-squared of the current counts against the reference counts scaled to the current size
/// (scipy <c>chisquare</c>); drift when p &lt; t (default 0.05).
/// </summary>
internal sealed class ChiSquareTest : CategoricalPValueTest
{
    public override string Name => "chisquare";

    public override string DisplayName => "chi-square p_value";

    public override double DefaultThreshold => 0.05;

    public override double Compute(DriftSample sample) => PowerDivergence.PValue(sample.Counts, logLikelihood: false);
}

/// <summary>
/// G-test (scipy <c>power_divergence</c>, log-likelihood) of the current counts against the reference counts;
/// drift when p &lt; t (default 0.1). Evidently passes the raw reference counts, which scipy accepts only when both
/// sides have the same size; Vigil scales them to the current size, the same result whenever Evidently gives one.
/// </summary>
internal sealed class GTest : CategoricalPValueTest
{
    public override string Name => "g_test";

    public override string DisplayName => "g_test";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample) => PowerDivergence.PValue(sample.Counts, logLikelihood: true);
}

/// <summary>
/// scipy's <c>power_divergence</c> of the current counts against the reference counts scaled to the current size, with
/// the chi-squared survival function at k − 1 degrees of freedom (NaN for fewer than two categories).
/// </summary>
internal static class PowerDivergence
{
    /// <summary>Pearson's statistic (λ = 1) or, with <paramref name="logLikelihood"/>, the G statistic (λ = 0).</summary>
    public static double PValue(CategoryCounts counts, bool logLikelihood)
    {
        if (counts.Count < 2)
        {
            return double.NaN;
        }

        var scale = counts.CurrentTotal / (double)counts.ReferenceTotal;
        var stat = 0.0;
        for (var i = 0; i < counts.Count; i++)
        {
            double observed = counts.Current[i];
            var expected = counts.Reference[i] * scale;
            if (!logLikelihood)
            {
                var d = observed - expected;
                stat += d * d / expected;
            }
            else if (observed > 0)
            {
                stat += 2 * (observed * Math.Log(observed / expected));
            }
        }

        return SpecialFunctions.ChiSquareSf(stat, counts.Count - 1);
    }
}

/// <summary>
/// Z-test for two proportions: the share of values other than the smallest present key, two-sided
/// 2·(1 − Φ(|z|)), 1 when both sides hold the same single value; drift when p &lt; t (default 0.05).
/// </summary>
internal sealed class ZTest : CategoricalPValueTest
{
    public override string Name => "z";

    public override string DisplayName => "Z-test p_value";

    public override double DefaultThreshold => 0.05;

    public override double Compute(DriftSample sample)
    {
        var counts = sample.Counts;
        if (counts.Count == 1)
        {
            return 1;
        }

        double n1 = counts.ReferenceTotal, n2 = counts.CurrentTotal;
        var p1 = (n1 - counts.Reference[0]) / n1;
        var p2 = (n2 - counts.Current[0]) / n2;
        var pooled = ((p1 * n1) + (p2 * n2)) / (n1 + n2);
        var z = (p1 - p2) / Math.Sqrt(pooled * (1 - pooled) * ((1.0 / n1) + (1.0 / n2)));
        return 2 * (1 - SpecialFunctions.NormalCdf(Math.Abs(z)));
    }
}

/// <summary>
/// Fisher's exact test on the 2×2 table of a binary column (scipy <c>fisher_exact</c>, two-sided: the tables no more
/// likely than the observed one, within a relative 10⁻¹⁴); drift when p &lt; t (default 0.1). Evidently also requires
/// both sides to have the same number of rows; Vigil does not (the test itself does not need it).
/// </summary>
internal sealed class FisherExactTest : CategoricalPValueTest
{
    public override string Name => "fisher_exact";

    public override string DisplayName => "Fisher's Exact test";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var counts = sample.Counts;
        if (counts.Count > 2)
        {
            throw new DriftException($"fisher_exact needs a binary column but found {counts.Count} categories");
        }

        if (counts.Count < 2)
        {
            return 1.0;
        }

        // [[one_cur, zero_cur], [one_ref, zero_ref]]
        long c00 = counts.Current[1], c01 = counts.Current[0], c10 = counts.Reference[1], c11 = counts.Reference[0];
        return TwoSided(c00, c01, c10, c11);
    }

    /// <summary>The two-sided p-value of a 2×2 table.</summary>
    internal static double TwoSided(long c00, long c01, long c10, long c11)
    {
        if (c00 + c10 == 0 || c01 + c11 == 0 || c00 + c01 == 0 || c10 + c11 == 0)
        {
            return 1.0;
        }

        var n1 = c00 + c01;
        var n2 = c10 + c11;
        var n = c00 + c10;
        var total = n1 + n2;
        var lo = Math.Max(0, n - n2);
        var hi = Math.Min(n, n1);
        var mode = (long)((n + 1) * (double)(n1 + 1) / (total + 2));
        var w = new double[hi - lo + 1];
        w[mode - lo] = 1;
        for (var x = mode; x < hi; x++)
        {
            // pmf(x+1)/pmf(x) = (n1-x)(n-x) / ((x+1)(n2-n+x+1))
            w[x + 1 - lo] = w[x - lo] * ((n1 - x) * (double)(n - x) / ((x + 1) * (double)(n2 - n + x + 1)));
        }

        for (var x = mode; x > lo; x--)
        {
            w[x - 1 - lo] = w[x - lo] * (x * (double)(n2 - n + x) / ((n1 - x + 1) * (double)(n - x + 1)));
        }

        var pexact = w[c00 - lo];
        var pmode = w[mode - lo];
        if (Math.Abs(pexact - pmode) / Math.Max(pexact, pmode) <= 1e-14)
        {
            return 1.0;
        }

        var limit = pexact * (1 + 1e-14);
        double sum = 0, tail = 0;
        for (var i = 0; i < w.Length; i++)
        {
            sum += w[i];
        }

        for (var x = lo; x <= hi; x++)
        {
            var v = w[x - lo];
            if ((x <= c00 && c00 < mode) || (x >= c00 && c00 >= mode) || v <= limit)
            {
                tail += v;
            }
        }

        return Math.Min(tail / sum, 1.0);
    }
}

/// <summary>
/// Total variation distance with Evidently's permutation p-value: 1,000 reshuffles of the pooled values with numpy's
/// legacy generator seeded 0, p = share of reshuffled distances ≥ the observed one; drift when p &lt; t (default 0.1).
/// Distances are compared as exact integers (Σ|r_i·n_c − c_i·n_r|) so ties are decided without rounding.
/// </summary>
internal sealed class TvdTest : CategoricalPValueTest
{
    /// <summary>Evidently's number of permutations.</summary>
    public const int Iterations = 1000;

    public override string Name => "TVD";

    public override string DisplayName => "Total-Variation-Distance";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var reference = sample.ReferenceCodes ?? throw new DriftException("TVD needs the rows of both samples (its permutation test reshuffles them); counts alone are not enough");
        var current = sample.CurrentCodes!;
        var categories = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            categories = Math.Max(categories, reference[i] + 1);
        }

        for (var i = 0; i < current.Length; i++)
        {
            categories = Math.Max(categories, current[i] + 1);
        }

        var pooled = new int[reference.Length + current.Length];
        reference.CopyTo(pooled, 0);
        current.CopyTo(pooled, reference.Length);
        var pooledCounts = new long[categories];
        foreach (var c in pooled)
        {
            pooledCounts[c]++;
        }

        var refCounts = new long[categories];
        foreach (var c in reference)
        {
            refCounts[c]++;
        }

        long nr = reference.Length, nc = current.Length;
        var observed = Scaled(refCounts, pooledCounts, nr, nc);
        var rng = new NumpyRandom(0);
        var perm = new int[pooled.Length];
        var permCounts = new long[categories];
        var atLeast = 0;
        for (var it = 0; it < Iterations; it++)
        {
            rng.Permutation(perm);
            Array.Clear(permCounts);
            for (var i = 0; i < nr; i++)
            {
                permCounts[pooled[perm[i]]]++;
            }

            if (observed <= Scaled(permCounts, pooledCounts, nr, nc))
            {
                atLeast++;
            }
        }

        return atLeast / (double)Iterations;
    }

    /// <summary>The total variation distance of the counts: ½·Σ|r_i/n_r − c_i/n_c| as floating point.</summary>
    internal static double Distance(ReadOnlySpan<long> reference, ReadOnlySpan<long> current, long nr, long nc)
    {
        var sum = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            sum += Math.Abs((reference[i] / (double)nr) - (current[i] / (double)nc));
        }

        return 0.5 * sum;
    }

    private static Int128 Scaled(long[] refCounts, long[] pooledCounts, long nr, long nc)
    {
        Int128 sum = 0;
        for (var i = 0; i < refCounts.Length; i++)
        {
            var r = refCounts[i];
            var c = pooledCounts[i] - r;
            var d = ((Int128)r * nc) - ((Int128)c * nr);
            sum += d < 0 ? -d : d;
        }

        return sum;
    }
}
