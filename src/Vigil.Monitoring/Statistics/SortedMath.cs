using System.Runtime.CompilerServices;

namespace Vigil.Monitoring.Statistics;

/// <summary>Mean, variance and standard deviation in two passes (numpy's definitions).</summary>
internal static class Moments
{
    /// <summary>The arithmetic mean.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Mean(ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
        }

        return sum / values.Length;
    }

    /// <summary>Σ(x − mean)² / (n − ddof).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Variance(ReadOnlySpan<double> values, int ddof)
    {
        var mean = Mean(values);
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            var d = values[i] - mean;
            sum += d * d;
        }

        return sum / (values.Length - ddof);
    }

    /// <summary>The population standard deviation (<c>np.std</c>, ddof 0).</summary>
    public static double Std(ReadOnlySpan<double> values) => Math.Sqrt(Variance(values, 0));
}

/// <summary>scipy's <c>_cdf_distance</c>: the distance between two empirical CDFs, by one merge of the sorted samples.</summary>
internal static class CdfDistance
{
    /// <summary>∫|F_u − F_v| (scipy <c>wasserstein_distance</c>).</summary>
    public static double Wasserstein1(ReadOnlySpan<double> u, ReadOnlySpan<double> v) => Integrate(u, v, squared: false);

    /// <summary>√∫(F_u − F_v)².</summary>
    public static double L2(ReadOnlySpan<double> u, ReadOnlySpan<double> v) => Math.Sqrt(Integrate(u, v, squared: true));

    /// <summary>
    /// Σ over consecutive distinct values x_k &lt; x_{k+1} of both samples of |F_u(x_k) − F_v(x_k)|·(x_{k+1} − x_k)
    /// (squared for L2), in ascending order: the terms of scipy's sum that are not multiplied by a zero step, added in
    /// the same order. Each tie group is skipped in one go on each side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Integrate(ReadOnlySpan<double> u, ReadOnlySpan<double> v, bool squared)
    {
        int i = 0, j = 0, nu = u.Length, nv = v.Length;
        double fu = nu, fv = nv;
        var sum = 0.0;
        if (nu + nv == 0)
        {
            return sum;
        }

        var current = nv == 0 || (nu > 0 && u[0] <= v[0]) ? u[0] : v[0];
        while (true)
        {
            // Every value equal to the current one (−0.0 and +0.0 alike) is consumed before the step is measured.
            while (i < nu && u[i] <= current)
            {
                i++;
            }

            while (j < nv && v[j] <= current)
            {
                j++;
            }

            double next;
            if (i < nu)
            {
                next = j < nv && v[j] < u[i] ? v[j] : u[i];
            }
            else if (j < nv)
            {
                next = v[j];
            }
            else
            {
                break;
            }

            var delta = next - current;
            var diff = (i / fu) - (j / fv);
            sum += squared ? diff * diff * delta : Math.Abs(diff) * delta;
            current = next;
        }

        return sum;
    }
}

/// <summary>Average ranks of two sorted samples taken together (scipy <c>rankdata</c>, method average).</summary>
internal static class Ranks
{
    /// <summary>The sum of the first sample's ranks, whether any value is tied, and Σ(t³ − t) over tie groups.</summary>
    public static (double RankSumFirst, bool HasTies, double TieTerm) Average(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        long below = 0;
        var rankSum = 0.0;
        long tieTerm = 0;
        var groups = new TieGroups(x, y);
        while (groups.MoveNext())
        {
            long fi = groups.CountA;
            var t = fi + groups.CountB;
            var rank = below + ((t + 1) / 2.0);
            rankSum += rank * fi;
            tieTerm += (t * t * t) - t;
            below += t;
        }

        return (rankSum, tieTerm != 0, tieTerm);
    }

    /// <summary>U = nx·Σ(rx_i − i)² + ny·Σ(ry_j − j)² with average ranks (the Cramér–von Mises numerator).</summary>
    public static double CvmU(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        long below = 0;
        double sx = 0, sy = 0;
        var groups = new TieGroups(x, y);
        while (groups.MoveNext())
        {
            int i = groups.EndA, j = groups.EndB;
            var i0 = i - groups.CountA;
            var j0 = j - groups.CountB;
            long t = groups.CountA + groups.CountB;
            var rank = below + ((t + 1) / 2.0);
            for (var k = i0; k < i; k++)
            {
                var d = rank - (k + 1);
                sx += d * d;
            }

            for (var k = j0; k < j; k++)
            {
                var d = rank - (k + 1);
                sy += d * d;
            }

            below += t;
        }

        return (x.Length * sx) + (y.Length * sy);
    }
}

/// <summary>Least-squares polynomial fits.</summary>
internal static class Polynomial
{
    /// <summary>The coefficients [c₂, c₁, c₀] (highest first, as <c>np.polyfit(x, y, 2)</c>) by Householder QR.</summary>
    public static double[] FitQuadratic(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        var n = x.Length;
        var a = new double[n, 3];
        var b = new double[n];
        for (var i = 0; i < n; i++)
        {
            a[i, 0] = x[i] * x[i];
            a[i, 1] = x[i];
            a[i, 2] = 1;
            b[i] = y[i];
        }

        for (var k = 0; k < 3; k++)
        {
            var norm = 0.0;
            for (var i = k; i < n; i++)
            {
                norm += a[i, k] * a[i, k];
            }

            norm = Math.Sqrt(norm);
            var alpha = a[k, k] > 0 ? -norm : norm;
            var v = new double[n];
            for (var i = k; i < n; i++)
            {
                v[i] = a[i, k];
            }

            v[k] -= alpha;
            var vv = 0.0;
            for (var i = k; i < n; i++)
            {
                vv += v[i] * v[i];
            }

            for (var col = k; col < 3; col++)
            {
                var dot = 0.0;
                for (var i = k; i < n; i++)
                {
                    dot += v[i] * a[i, col];
                }

                var f = 2 * dot / vv;
                for (var i = k; i < n; i++)
                {
                    a[i, col] -= f * v[i];
                }
            }

            var db = 0.0;
            for (var i = k; i < n; i++)
            {
                db += v[i] * b[i];
            }

            var fb = 2 * db / vv;
            for (var i = k; i < n; i++)
            {
                b[i] -= fb * v[i];
            }
        }

        var c = new double[3];
        for (var k = 2; k >= 0; k--)
        {
            var s = b[k];
            for (var col = k + 1; col < 3; col++)
            {
                s -= a[k, col] * c[col];
            }

            c[k] = s / a[k, k];
        }

        return c;
    }
}
