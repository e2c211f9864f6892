namespace Vigil.Monitoring.Statistics;

/// <summary>
/// The special functions behind the drift p-values, written from their series and continued fractions with the
/// numeric choices of Cephes (which scipy calls): log-gamma, regularized incomplete gamma and beta, erf/erfc,
/// the normal CDF (Cephes <c>ndtr</c>), and the modified Bessel function K for the Cramér–von Mises limit.
/// </summary>
internal static class SpecialFunctions
{
    private const double Epsilon = 1e-16;
    private const double Tiny = 1e-300;
    private const int MaxIterations = 100_000;
    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>ln Γ(x) for x &gt; 0: the argument is shifted to ≥ 15 and Stirling's series (to x⁻¹³) is used.</summary>
    public static double LogGamma(double x)
    {
        if (x <= 0 || double.IsNaN(x))
        {
            return double.NaN;
        }

        var shift = 0.0;
        while (x < 15)
        {
            shift += Math.Log(x);
            x += 1;
        }

        var inv = 1 / x;
        var inv2 = inv * inv;
        var series = inv * (1.0 / 12 + inv2 * (-1.0 / 360 + inv2 * (1.0 / 1260 + inv2 * (-1.0 / 1680 +
            inv2 * (1.0 / 1188 + inv2 * (-691.0 / 360360 + inv2 * (1.0 / 156)))))));
        return ((x - 0.5) * Math.Log(x)) - x + HalfLog2Pi + series - shift;
    }

    /// <summary>The regularized lower incomplete gamma function P(a, x).</summary>
    public static double GammaP(double a, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (double.IsPositiveInfinity(x))
        {
            return 1;
        }

        return x < a + 1 ? GammaSeries(a, x) : 1 - GammaContinuedFraction(a, x);
    }

    /// <summary>The regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x).</summary>
    public static double GammaQ(double a, double x)
    {
        if (x <= 0)
        {
            return 1;
        }

        if (double.IsPositiveInfinity(x))
        {
            return 0;
        }

        return x < a + 1 ? 1 - GammaSeries(a, x) : GammaContinuedFraction(a, x);
    }

    /// <summary>The chi-squared survival function with <paramref name="df"/> degrees of freedom (scipy <c>chi2.sf</c>).</summary>
    public static double ChiSquareSf(double x, double df) => double.IsNaN(x) ? double.NaN : GammaQ(df / 2, x / 2);

    /// <summary>The error function.</summary>
    public static double Erf(double x)
    {
        if (x == 0)
        {
            return 0;
        }

        var p = GammaP(0.5, x * x);
        return x < 0 ? -p : p;
    }

    /// <summary>The complementary error function, accurate in the tail (Q(½, x²) for x &gt; 0).</summary>
    public static double Erfc(double x) => x < 0 ? 2 - GammaQ(0.5, x * x) : GammaQ(0.5, x * x);

    /// <summary>The standard normal CDF with Cephes' <c>ndtr</c> branches (erf near 0, erfc in the tails).</summary>
    public static double NormalCdf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        var t = x * Math.Sqrt(0.5);
        var z = Math.Abs(t);
        if (z < Math.Sqrt(0.5))
        {
            return 0.5 + (0.5 * Erf(t));
        }

        var y = 0.5 * Erfc(z);
        return t > 0 ? 1 - y : y;
    }

    /// <summary>The standard normal survival function (scipy <c>norm.sf(x)</c> = ndtr(−x)).</summary>
    public static double NormalSf(double x) => NormalCdf(-x);

    /// <summary>The regularized incomplete beta function I_x(a, b) (Lentz's continued fraction with the symmetry switch).</summary>
    public static double BetaRegularized(double a, double b, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        var logFront = (a * Math.Log(x)) + (b * Math.Log(1 - x)) - LogBeta(a, b);
        if (x < (a + 1) / (a + b + 2))
        {
            return Math.Exp(logFront) * BetaContinuedFraction(a, b, x) / a;
        }

        return 1 - (Math.Exp(logFront) * BetaContinuedFraction(b, a, 1 - x) / b);
    }

    /// <summary>The two-sided p-value of Student's t with <paramref name="df"/> degrees of freedom: 2·t.sf(|t|).</summary>
    public static double StudentTwoSidedP(double t, double df)
    {
        if (double.IsNaN(t))
        {
            return double.NaN;
        }

        if (double.IsInfinity(t))
        {
            return 0;
        }

        // 2 * stdtr(df, -|t|) = I_{df/(df+t²)}(df/2, 1/2); the argument is formed without cancellation.
        var x = df / (df + (t * t));
        return BetaRegularizedSmallB(df / 2, 0.5, x, t * t / df);
    }

    /// <summary>ln B(a, b).</summary>
    public static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>
    /// exp(−q)·K_ν(q), the exponentially scaled modified Bessel function of the second kind, from
    /// K_ν(q) = ∫₀^∞ exp(−q cosh t) cosh(νt) dt by the trapezoidal rule (spectrally accurate for this integrand).
    /// </summary>
    public static double ScaledBesselK(double nu, double q)
    {
        if (q <= 0)
        {
            return double.PositiveInfinity;
        }

        // The integrand exp(-q (1 + cosh t)) cosh(nu t) is negligible once q (cosh t - 1) > 750.
        var tMax = Acosh(1 + (750 / q)) + 1;
        const int Steps = 4096;
        var h = tMax / Steps;
        var sum = 0.5 * Math.Exp(-2 * q);
        for (var i = 1; i <= Steps; i++)
        {
            var t = i * h;
            var v = Math.Exp(-q * (1 + Math.Cosh(t))) * Math.Cosh(nu * t);
            sum += v;
            if (v < 1e-300 && t > 1)
            {
                break;
            }
        }

        return sum * h;
    }

    private static double Acosh(double x) => Math.Log(x + Math.Sqrt((x * x) - 1));

    private static double BetaRegularizedSmallB(double a, double b, double x, double oneMinusXOverX)
    {
        // I_x(a, b) with 1 - x = x * r (r = t²/df) so that log(1 - x) keeps its precision.
        if (x >= 1)
        {
            return 1;
        }

        var log1mx = Math.Log(oneMinusXOverX) + Math.Log(x);
        var logX = -Math.Log(1 + oneMinusXOverX);
        var logFront = (a * logX) + (b * log1mx) - LogBeta(a, b);
        if (x < (a + 1) / (a + b + 2))
        {
            return Math.Exp(logFront) * BetaContinuedFraction(a, b, x) / a;
        }

        var oneMinusX = oneMinusXOverX / (1 + oneMinusXOverX);
        return 1 - (Math.Exp(logFront) * BetaContinuedFraction(b, a, oneMinusX) / b);
    }

    private static double GammaSeries(double a, double x)
    {
        var sum = 1 / a;
        var del = sum;
        var ap = a;
        for (var n = 0; n < MaxIterations; n++)
        {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (Math.Abs(del) < Math.Abs(sum) * Epsilon)
            {
                break;
            }
        }

        return sum * Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a));
    }

    private static double GammaContinuedFraction(double a, double x)
    {
        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            var del = LentzStep(an, b, ref c, ref d);
            h *= del;
            if (Math.Abs(del - 1) < Epsilon)
            {
                break;
            }
        }

        return Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a)) * h;
    }

    private static double BetaContinuedFraction(double a, double b, double x)
    {
        var qab = a + b;
        var qap = a + 1;
        var qam = a - 1;
        var c = 1.0;
        var d = 1 - (qab * x / qap);
        if (Math.Abs(d) < Tiny)
        {
            d = Tiny;
        }

        d = 1 / d;
        var h = d;
        for (var m = 1; m < MaxIterations; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            h *= LentzStep(aa, 1, ref c, ref d);
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            var del = LentzStep(aa, 1, ref c, ref d);
            h *= del;
            if (Math.Abs(del - 1) < Epsilon)
            {
                break;
            }
        }

        return h;
    }

    /// <summary>
    /// One step of the modified Lentz algorithm for a continued fraction term aₙ / (bₙ + …): updates the running
    /// c and d (kept away from zero) and returns the factor Δ = c·d that multiplies the estimate.
    /// </summary>
    private static double LentzStep(double an, double bn, ref double c, ref double d)
    {
        d = (an * d) + bn;
        if (Math.Abs(d) < Tiny)
        {
            d = Tiny;
        }

        c = bn + (an / c);
        if (Math.Abs(c) < Tiny)
        {
            c = Tiny;
        }

        d = 1 / d;
        return d * c;
    }
}
