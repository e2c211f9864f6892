namespace Vigil.Monitoring.Statistics;

/// <summary>Two-sample Kolmogorov–Smirnov p-value (scipy <c>ks_2samp</c>, method auto); drift when p ≤ t.</summary>
internal sealed class KsTest : NumericPValueAtMostTest
{
    /// <summary>scipy's <c>MAX_AUTO_N</c>: the exact distribution up to this many values per side.</summary>
    public const int MaxExactN = 10_000;

    public override string Name => "ks";

    public override string DisplayName => "K-S p_value";

    public override double DefaultThreshold => 0.05;

    public override double Compute(DriftSample sample) => PValue(sample.SortedReference, sample.SortedCurrent);

    /// <summary>The two-sided p-value for two sorted samples.</summary>
    public static double PValue(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n1 = a.Length, n2 = b.Length;
        var d = Statistic(a, b);
        var g = Gcd(n1, n2);
        if (Math.Max(n1, n2) <= MaxExactN && TryExact(n1, n2, g, d, out var p))
        {
            return p;
        }

        double m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        var en = Math.Round(m * n / (m + n));
        return Math.Clamp(Kolmogorov.TwoSidedSf(d, en), 0, 1);
    }

    /// <summary>sup |F₁ − F₂| over the combined sorted values.</summary>
    public static double Statistic(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n1 = a.Length, n2 = b.Length;
        double max = double.NegativeInfinity, min = double.PositiveInfinity;
        var groups = new TieGroups(a, b);
        while (groups.MoveNext())
        {
            var diff = ((double)groups.EndA / n1) - ((double)groups.EndB / n2);
            max = Math.Max(max, diff);
            min = Math.Min(min, diff);
        }

        var minS = Math.Clamp(-min, 0, 1);
        return minS > max ? minS : max;
    }

    private static bool TryExact(int n1, int n2, int g, double d, out double p)
    {
        var lcm = (long)(n1 / g) * n2;
        var h = (long)Math.Round(d * lcm);
        if (h == 0)
        {
            p = 1;
            return true;
        }

        p = n1 == n2 ? ProbOutsideSquare(n1, h) : OuterProbInside(n1, n2, g, h);
        return double.IsFinite(p) && p >= 0 && p <= 1;
    }

    /// <summary>Pr(D_{n,n} ≥ h/n) by the reflection formula (scipy <c>_compute_prob_outside_square</c>).</summary>
    private static double ProbOutsideSquare(long n, long h)
    {
        var prob = 0.0;
        var k = (long)Math.Floor(n / (double)h);
        while (k >= 0)
        {
            var p1 = 1.0;
            for (long j = 0; j < h; j++)
            {
                p1 = (n - (k * h) - j) * p1 / (n + (k * h) + j + 1);
            }

            prob = p1 * (1.0 - prob);
            k--;
        }

        return 2 * prob;
    }

    /// <summary>
    /// The share of lattice paths leaving the band |x/m − y/n| &lt; h/lcm, by Hodges' inside method with Viehmann's
    /// recursion for 1 − p (scipy <c>_compute_outer_prob_inside_method</c>).
    /// </summary>
    private static double OuterProbInside(long m, long n, long g, long h)
    {
        if (m < n)
        {
            (m, n) = (n, m);
        }

        var mg = m / g;
        var ng = n / g;
        long minj = 0;
        var maxj = Math.Min((long)Math.Ceiling(h / (double)mg), n + 1);
        var curlen = maxj - minj;
        var lenA = Math.Min((2 * maxj) + 2, n + 1);
        var a = new double[lenA];
        Array.Fill(a, 1.0);
        for (var x = minj; x < maxj; x++)
        {
            a[x] = 0.0;
        }

        for (long i = 1; i <= m; i++)
        {
            var lastminj = minj;
            var lastlen = curlen;
            minj = Math.Max((long)Math.Floor(((ng * i) - h) / (double)mg) + 1, 0);
            minj = Math.Min(minj, n);
            maxj = Math.Min((long)Math.Ceiling(((ng * i) + h) / (double)mg), n + 1);
            if (maxj <= minj)
            {
                return 1.0;
            }

            var val = minj == 0 ? 0.0 : 1.0;
            for (long jj = 0; jj < maxj - minj; jj++)
            {
                var j = jj + minj;
                val = ((a[jj + minj - lastminj] * i) + (val * j)) / (i + j);
                a[jj] = val;
            }

            curlen = maxj - minj;
            if (lastlen > curlen)
            {
                for (var x = maxj - minj; x < maxj - minj + (lastlen - curlen) && x < lenA; x++)
                {
                    a[x] = 1;
                }
            }
        }

        return a[maxj - minj - 1];
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}

/// <summary>First Wasserstein distance divided by max(std(reference), 0.001); drift when ≥ t (default 0.1).</summary>
internal sealed class WassersteinTest : NumericDistanceTest
{
    public override string Name => "wasserstein";

    public override string DisplayName => "Wasserstein distance (normed)";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var norm = Math.Max(Moments.Std(sample.SortedReference), 0.001);
        return CdfDistance.Wasserstein1(sample.SortedReference, sample.SortedCurrent) / norm;
    }
}

/// <summary>Energy distance (scipy <c>energy_distance</c>: √2 · L2 distance of the CDFs); drift when d &gt; t (default 0.1).</summary>
internal sealed class EnergyDistanceTest : NumericDistanceTest
{
    public override string Name => "ed";

    public override string DisplayName => "Energy-distance";

    public override double DefaultThreshold => 0.1;

    public override string Rule => "distance > t";

    public override bool IsDrift(double score, double threshold) => score > threshold;

    public override double Compute(DriftSample sample) =>
        Math.Sqrt(2) * CdfDistance.L2(sample.SortedReference, sample.SortedCurrent);
}

/// <summary>Student's two-sample t-test with pooled variance (scipy <c>ttest_ind</c>); drift when p &lt; t (default 0.05).</summary>
internal sealed class TTest : NumericPValueTest
{
    public override string Name => "t_test";

    public override string DisplayName => "t_test";

    public override double DefaultThreshold => 0.05;

    public override double Compute(DriftSample sample)
    {
        var a = sample.SortedReference;
        var b = sample.SortedCurrent;
        double n1 = a.Length, n2 = b.Length;
        var v1 = Moments.Variance(a, 1);
        var v2 = Moments.Variance(b, 1);
        var df = n1 + n2 - 2;
        var svar = (((n1 - 1) * v1) + ((n2 - 1) * v2)) / df;
        var denom = Math.Sqrt(svar * ((1.0 / n1) + (1.0 / n2)));
        var t = (Moments.Mean(a) - Moments.Mean(b)) / denom;
        return SpecialFunctions.StudentTwoSidedP(t, df);
    }
}

/// <summary>
/// Mann–Whitney U (scipy <c>mannwhitneyu</c>, two-sided, method auto: exact when a side has at most 8 values and
/// there are no ties, else normal with tie and continuity correction); drift when p &lt; t (default 0.05).
/// </summary>
internal sealed class MannWhitneyTest : NumericPValueTest
{
    public override string Name => "mannw";

    public override string DisplayName => "Mann-Whitney U-rank test";

    public override double DefaultThreshold => 0.05;

    public override double Compute(DriftSample sample)
    {
        var x = sample.SortedReference;
        var y = sample.SortedCurrent;
        long n1 = x.Length, n2 = y.Length;
        var ranks = Ranks.Average(x, y);
        var u1 = ranks.RankSumFirst - (n1 * (n1 + 1) / 2.0);
        var u2 = (n1 * n2) - u1;
        var u = Math.Max(u1, u2);
        double p;
        if ((n1 > 8 && n2 > 8) || ranks.HasTies)
        {
            var mu = n1 * n2 / 2.0;
            double n = n1 + n2;
            var s = Math.Sqrt(n1 * n2 / 12.0 * ((n + 1) - (ranks.TieTerm / (n * (n - 1)))));
            var z = (u - mu - 0.5) / s;
            p = SpecialFunctions.NormalSf(z);
        }
        else
        {
            p = ExactSf((long)u, (int)n1, (int)n2);
        }

        return Math.Clamp(p * 2, 0, 1);
    }

    /// <summary>P(U ≥ u) under the null: the coefficients of the Gaussian binomial [m+n choose m]_q, summed from m·n − u down.</summary>
    private static double ExactSf(long u, int m, int n)
    {
        var max = m * n;
        var f = new double[max + 1];
        f[0] = 1;
        var degree = 0;
        for (var i = 1; i <= m; i++)
        {
            // multiply by (1 - q^(n+i)), then divide by (1 - q^i)
            var shift = n + i;
            degree += n;
            for (var k = degree; k >= shift; k--)
            {
                f[k] -= f[k - shift];
            }

            for (var k = i; k <= degree; k++)
            {
                f[k] += f[k - i];
            }
        }

        var total = 0.0;
        for (var k = 0; k <= max; k++)
        {
            total += f[k];
        }

        var kmax = max - u;
        var cdf = 0.0;
        for (var k = 0; k <= kmax; k++)
        {
            cdf += f[k] / total;
        }

        return cdf;
    }
}

/// <summary>
/// k-sample Anderson–Darling (scipy <c>anderson_ksamp</c>, midrank, two samples): the interpolated significance level,
/// capped to [0.001, 0.25] as scipy does; drift when p &lt; t (default 0.1).
/// </summary>
internal sealed class AndersonTest : NumericPValueTest
{
    private static readonly double[] B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    private static readonly double[] B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    private static readonly double[] B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    private static readonly double[] Sig = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];

    public override string Name => "anderson";

    public override string DisplayName => "Anderson-Darling";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var x = sample.SortedReference;
        var y = sample.SortedCurrent;
        double n1 = x.Length, n2 = y.Length;
        var total = x.Length + y.Length;
        double bigN = total;
        const double K = 2;

        // A²akN with midranks, walking the distinct values of the combined sample.
        double sum1 = 0, sum2 = 0;
        var below = 0;
        var distinct = Binning.DistinctUnion(x, y);
        var groups = new TieGroups(x, y);
        while (groups.MoveNext())
        {
            int i = groups.EndA, j = groups.EndB, fi = groups.CountA, fj = groups.CountB;
            double lj = distinct == total ? 1.0 : fi + fj;
            var bj = below + (lj / 2.0);
            var m1 = i - (fi / 2.0);
            var m2 = j - (fj / 2.0);
            var denom = (bj * (bigN - bj)) - (bigN * lj / 4.0);
            var d1 = (bigN * m1) - (bj * n1);
            var d2 = (bigN * m2) - (bj * n2);
            sum1 += lj / bigN * d1 * d1 / denom;
            sum2 += lj / bigN * d2 * d2 / denom;
            below += fi + fj;
        }

        var a2kn = ((sum1 / n1) + (sum2 / n2)) * ((bigN - 1.0) / bigN);

        var hH = (1.0 / n1) + (1.0 / n2);
        double hsCs = 0, g = 0;
        for (var k = total - 1; k >= 2; k--)
        {
            hsCs += 1.0 / k;
            g += hsCs / (total - k + 1);
        }

        var h = hsCs + 1;
        var a = (((4 * g) - 6) * (K - 1)) + ((10 - (6 * g)) * hH);
        var b = (((2 * g) - 4) * K * K) + (8 * h * K) + (((2 * g) - (14 * h) - 4) * hH) - (8 * h) + (4 * g) - 6;
        var c = (((6 * h) + (2 * g) - 2) * K * K) + (((4 * h) - (4 * g) + 6) * K) + (((2 * h) - 6) * hH) + (4 * h);
        var d = (((2 * h) + 6) * K * K) - (4 * h * K);
        var sigmasq = ((a * bigN * bigN * bigN) + (b * bigN * bigN) + (c * bigN) + d) / ((bigN - 1.0) * (bigN - 2.0) * (bigN - 3.0));
        const double M = K - 1;
        var a2 = (a2kn - M) / Math.Sqrt(sigmasq);

        var critical = new double[7];
        double cmin = double.PositiveInfinity, cmax = double.NegativeInfinity;
        for (var k = 0; k < 7; k++)
        {
            critical[k] = B0[k] + (B1[k] / Math.Sqrt(M)) + (B2[k] / M);
            cmin = Math.Min(cmin, critical[k]);
            cmax = Math.Max(cmax, critical[k]);
        }

        if (a2 < cmin)
        {
            return 0.25;
        }

        if (a2 > cmax)
        {
            return 0.001;
        }

        var logSig = new double[7];
        for (var k = 0; k < 7; k++)
        {
            logSig[k] = Math.Log(Sig[k]);
        }

        var coef = Polynomial.FitQuadratic(critical, logSig);
        return Math.Exp((((coef[0] * a2) + coef[1]) * a2) + coef[2]);
    }
}

/// <summary>
/// Two-sample Cramér–von Mises as Evidently writes it (exact enumeration when both sides have at most 10 values,
/// else the asymptotic series with Bessel K₁/₄); drift when p ≤ t (default 0.1).
/// </summary>
internal sealed class CramerVonMisesTest : NumericPValueAtMostTest
{
    public override string Name => "cramer_von_mises";

    public override string DisplayName => "Cramer-Von-mises";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var x = sample.SortedReference;
        var y = sample.SortedCurrent;
        long nx = x.Length, ny = y.Length;
        if (nx <= 1 || ny <= 1)
        {
            return double.NaN;
        }

        var u = Ranks.CvmU(x, y);
        if (Math.Max(nx, ny) <= 10)
        {
            return ExactP(u, (int)nx, (int)ny);
        }

        var k = nx * ny;
        var bigN = nx + ny;
        var t = (u / (k * (double)bigN)) - (((4 * k) - 1) / (6.0 * bigN));
        var et = (1 + (1.0 / bigN)) / 6;
        var vtNum = (Int128)(bigN + 1) * ((4 * (Int128)k * bigN) - (3 * ((nx * nx) + (ny * ny))) - (2 * k));
        var vtDen = 45 * (Int128)bigN * bigN * 4 * k;
        var vt = (double)vtNum / (double)vtDen;
        var tn = (1.0 / 6) + ((t - et) / Math.Sqrt(45 * vt));
        return tn < 0.003 ? 1.0 : Math.Max(0, 1.0 - LimitCdf(tn));
    }

    /// <summary>The limiting CDF of the Cramér–von Mises statistic: terms added until one is below 10⁻⁷ (as Evidently).</summary>
    internal static double LimitCdf(double x)
    {
        var total = 0.0;
        for (var k = 0; ; k++)
        {
            var u = Math.Exp(SpecialFunctions.LogGamma(k + 0.5) - SpecialFunctions.LogGamma(k + 1)) / (Math.Pow(Math.PI, 1.5) * Math.Sqrt(x));
            double y = (4 * k) + 1;
            var q = y * y / (16 * x);
            var z = u * Math.Sqrt(y) * SpecialFunctions.ScaledBesselK(0.25, q);
            total += z;
            if (!(Math.Abs(z) >= 1e-7))
            {
                return total;
            }
        }
    }

    private static double ExactP(double s, int nx, int ny)
    {
        var n = nx + ny;
        var positions = new int[nx];
        for (var i = 0; i < nx; i++)
        {
            positions[i] = i;
        }

        long count = 0, atLeast = 0;
        var inX = new bool[n];
        while (true)
        {
            Array.Clear(inX);
            long u = 0;
            for (var i = 0; i < nx; i++)
            {
                inX[positions[i]] = true;
                long dx = positions[i] - i;
                u += nx * dx * dx;
            }

            var yi = 0;
            for (var p = 0; p < n; p++)
            {
                if (!inX[p])
                {
                    long dy = p - yi;
                    u += ny * dy * dy;
                    yi++;
                }
            }

            count++;
            if (u >= s)
            {
                atLeast++;
            }

            var k = nx - 1;
            while (k >= 0 && positions[k] == n - nx + k)
            {
                k--;
            }

            if (k < 0)
            {
                break;
            }

            positions[k]++;
            for (var r = k + 1; r < nx; r++)
            {
                positions[r] = positions[r - 1] + 1;
            }
        }

        return atLeast / (double)count;
    }
}
