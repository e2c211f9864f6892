namespace Vigil.Monitoring.Statistics;

/// <summary>The two-sided one-sample Kolmogorov–Smirnov distribution used by ks_2samp's asymptotic branch.</summary>
internal static class Kolmogorov
{
    /// <summary>
    /// P(D_n ≥ d) from the limiting Kolmogorov distribution at √n·d with Stephens' finite-n correction
    /// (√n + 0.12 + 0.11/√n)·d. scipy uses the exact finite-n distribution (<c>kstwo.sf(d, n)</c>) here; the two agree
    /// to about 1e-3 relative for n in the thousands, so this branch (more than 10,000 values on a side) is not one of
    /// the statistics checked to 1e-9.
    /// </summary>
    public static double TwoSidedSf(double d, double n)
    {
        var sn = Math.Sqrt(n);
        var lambda = (sn + 0.12 + (0.11 / sn)) * d;
        return LimitSf(lambda);
    }

    /// <summary>Q_KS(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²), or 1 − √(2π)/λ Σ exp(−(2k−1)²π²/(8λ²)) for small λ.</summary>
    public static double LimitSf(double lambda)
    {
        if (lambda <= 0)
        {
            return 1;
        }

        if (lambda < 1)
        {
            var sum = 0.0;
            var f = -Math.PI * Math.PI / (8 * lambda * lambda);
            for (var k = 1; k < 100; k++)
            {
                var t = Math.Exp(f * ((2 * k) - 1) * ((2 * k) - 1));
                sum += t;
                if (t < 1e-17 * sum)
                {
                    break;
                }
            }

            return 1 - (Math.Sqrt(2 * Math.PI) / lambda * sum);
        }

        var s = 0.0;
        var sign = 1.0;
        for (var k = 1; k < 100; k++)
        {
            var t = Math.Exp(-2.0 * k * k * lambda * lambda);
            s += sign * t;
            sign = -sign;
            if (t < 1e-17)
            {
                break;
            }
        }

        return Math.Min(1, 2 * s);
    }
}
