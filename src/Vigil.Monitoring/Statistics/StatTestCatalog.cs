namespace Vigil.Monitoring.Statistics;

/// <summary>
/// The drift statistics by Evidently's names (case-insensitive), and Evidently's default choice per column.
/// </summary>
public static class StatTestCatalog
{
    /// <summary>Reference sizes up to this use the small-sample defaults (KS, chi-squared, Z).</summary>
    public const int SmallReferenceRows = 1000;

    private static readonly StatTest[] Tests =
    [
        new KsTest(), new WassersteinTest(), new PsiTest(), new JensenShannonTest(), new AndersonTest(),
        new CramerVonMisesTest(), new HellingerTest(), new EnergyDistanceTest(), new TTest(), new MannWhitneyTest(),
        new ChiSquareTest(), new ZTest(), new TvdTest(), new GTest(), new FisherExactTest(),
    ];

    private static readonly Dictionary<string, StatTest> ByName = CreateIndex();

    /// <summary>Every statistic, in Evidently's documentation order.</summary>
    public static IReadOnlyList<StatTest> All => Tests;

    /// <summary>KS.</summary>
    public static StatTest Ks => ByName["ks"];

    /// <summary>Normed Wasserstein.</summary>
    public static StatTest Wasserstein => ByName["wasserstein"];

    /// <summary>Jensen–Shannon.</summary>
    public static StatTest JensenShannon => ByName["jensenshannon"];

    /// <summary>Chi-squared.</summary>
    public static StatTest ChiSquare => ByName["chisquare"];

    /// <summary>Z-test.</summary>
    public static StatTest Z => ByName["z"];

    /// <summary>The statistic named <paramref name="name"/> (case-insensitive); throws listing the names otherwise.</summary>
    public static StatTest Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ByName.TryGetValue(name, out var test)
            ? test
            : throw new DriftException($"unknown stattest '{name}'; use auto or one of: {string.Join(", ", Names())}");
    }

    /// <summary>
    /// Evidently's default: with at most 1,000 reference rows, KS for a numerical column with more than 5 distinct
    /// values (over both samples), else chi-squared (more than 2 distinct values) or Z (at most 2); above 1,000 rows,
    /// normed Wasserstein for numerical columns with more than 5 distinct values and Jensen–Shannon otherwise.
    /// </summary>
    public static StatTest Default(DriftSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var distinct = sample.Type == DriftColumnType.Numerical
            ? Binning.DistinctUnion(sample.SortedReference, sample.SortedCurrent, stopAfter: 5)
            : sample.Counts.Count;
        var numericalWide = sample.Type == DriftColumnType.Numerical && distinct > 5;
        if (sample.ReferenceCount <= SmallReferenceRows)
        {
            return numericalWide ? Ks : distinct > 2 ? ChiSquare : Z;
        }

        return numericalWide ? Wasserstein : JensenShannon;
    }

    private static IEnumerable<string> Names()
    {
        foreach (var t in Tests)
        {
            yield return t.Name;
        }
    }

    private static Dictionary<string, StatTest> CreateIndex()
    {
        var d = new Dictionary<string, StatTest>(StringComparer.OrdinalIgnoreCase);
        foreach (var t in Tests)
        {
            d.Add(t.Name, t);
        }

        return d;
    }
}
