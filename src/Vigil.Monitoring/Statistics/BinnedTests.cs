namespace Vigil.Monitoring.Statistics;

/// <summary>Population stability index on Evidently's binning with empty bins filled; drift when ≥ t (default 0.1).</summary>
internal sealed class PsiTest : BinnedDistanceTest
{
    public override string Name => "psi";

    public override string DisplayName => "PSI";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var (r, c) = Binning.BinnedShares(sample, fillZeroes: true);
        return FromShares(r, c);
    }

    /// <summary>Σ (r − c)·ln(r / c) over bins whose shares are already filled.</summary>
    public static double FromShares(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var psi = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            psi += (reference[i] - current[i]) * Math.Log(reference[i] / current[i]);
        }

        return psi;
    }
}

/// <summary>
/// Jensen–Shannon distance (scipy <c>spatial.distance.jensenshannon</c>, base 2) on Evidently's binning without zero
/// filling; drift when ≥ t (default 0.1).
/// </summary>
internal sealed class JensenShannonTest : BinnedDistanceTest
{
    public override string Name => "jensenshannon";

    public override string DisplayName => "Jensen-Shannon distance";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        var (r, c) = Binning.BinnedShares(sample, fillZeroes: false);
        return FromShares(r, c);
    }

    /// <summary>The distance between two share vectors (each renormalized to sum 1, as scipy does).</summary>
    public static double FromShares(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        double sp = 0, sq = 0;
        for (var i = 0; i < p.Length; i++)
        {
            sp += p[i];
            sq += q[i];
        }

        double left = 0, right = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var pi = p[i] / sp;
            var qi = q[i] / sq;
            var m = (pi + qi) / 2.0;
            left += RelativeEntropy(pi, m);
            right += RelativeEntropy(qi, m);
        }

        var js = (left + right) / Math.Log(2);
        return Math.Sqrt(js / 2.0);
    }

    private static double RelativeEntropy(double x, double y) =>
        x > 0 && y > 0 ? x * Math.Log(x / y) : x == 0 && y >= 0 ? 0 : double.PositiveInfinity;
}

/// <summary>
/// Hellinger distance as Evidently defines it: categories by their shares; numbers by density histograms on Sturges
/// edges over the distinct values of both samples; drift when ≥ t (default 0.1).
/// </summary>
internal sealed class HellingerTest : BinnedDistanceTest
{
    public override string Name => "hellinger";

    public override string DisplayName => "Hellinger distance";

    public override double DefaultThreshold => 0.1;

    public override double Compute(DriftSample sample)
    {
        double bc = 0;
        if (sample.Type == DriftColumnType.Categorical)
        {
            var counts = sample.Counts;
            for (var i = 0; i < counts.Count; i++)
            {
                var p1 = counts.Reference[i] / (double)counts.ReferenceTotal;
                var p2 = counts.Current[i] / (double)counts.CurrentTotal;
                bc += Math.Sqrt(p1 * p2);
            }
        }
        else
        {
            var r = sample.SortedReference;
            var c = sample.SortedCurrent;
            var min = Math.Min(r[0], c[0]);
            var max = Math.Max(r[^1], c[^1]);
            var distinct = Binning.DistinctUnion(r, c);
            var edges = Binning.SturgesEdges(min, max, distinct);
            var h1 = Binning.Histogram(r, edges);
            var h2 = Binning.Histogram(c, edges);
            var bins = h1.Length;
            var binWidth = (max - min) / bins;
            double s1 = 0, s2 = 0;
            for (var i = 0; i < bins; i++)
            {
                s1 += h1[i];
                s2 += h2[i];
            }

            for (var i = 0; i < bins; i++)
            {
                var db = edges[i + 1] - edges[i];
                var d1 = h1[i] / db / s1;
                var d2 = h2[i] / db / s2;
                bc += Math.Sqrt(d1 * d2) * binWidth;
            }
        }

        return Math.Sqrt(1 - Math.Clamp(bc, 0, 1));
    }
}
