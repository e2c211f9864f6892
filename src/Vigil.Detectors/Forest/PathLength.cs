namespace Vigil.Detectors;

/// <summary>The isolation-forest path-length normaliser, exactly as scikit-learn's <c>_average_path_length</c>.</summary>
internal static class PathLength
{
    /// <summary>numpy's <c>np.euler_gamma</c>.</summary>
    public const double EulerGamma = 0.5772156649015329;

    /// <summary>
    /// c(n): the average path length of an unsuccessful search in a binary search tree of n keys:
    /// 0 for n &lt;= 1, 1 for n = 2, otherwise 2 (ln(n - 1) + γ) - 2 (n - 1) / n.
    /// </summary>
    public static double Average(double n)
    {
        if (n <= 1)
        {
            return 0.0;
        }

        if (n == 2)
        {
            return 1.0;
        }

        return (2.0 * (Math.Log(n - 1.0) + EulerGamma)) - (2.0 * (n - 1.0) / n);
    }

    /// <summary>scikit-learn's depth limit: <c>ceil(log2(max(maxSamples, 2)))</c>.</summary>
    public static int DepthLimit(int maxSamples) => (int)Math.Ceiling(Math.Log2(Math.Max(maxSamples, 2)));
}
