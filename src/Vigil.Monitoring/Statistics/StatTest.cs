namespace Vigil.Monitoring.Statistics;

/// <summary>What a statistic's score is.</summary>
public enum StatScoreKind
{
    /// <summary>A p-value: drift when it falls below the threshold (Bonferroni / Benjamini–Hochberg apply).</summary>
    PValue,

    /// <summary>A distance: drift when it reaches the threshold.</summary>
    Distance,
}

/// <summary>
/// One drift statistic with Evidently's definition: its name, the column types it applies to, whether it returns a
/// p-value or a distance, its default threshold and its drift rule.
/// </summary>
public abstract class StatTest
{
    /// <summary>Evidently's name (<c>ks</c>, <c>wasserstein</c>, ...); matched case-insensitively.</summary>
    public abstract string Name { get; }

    /// <summary>A readable name.</summary>
    public abstract string DisplayName { get; }

    /// <summary>True when the statistic applies to numerical columns.</summary>
    public abstract bool AppliesToNumerical { get; }

    /// <summary>True when the statistic applies to categorical columns.</summary>
    public abstract bool AppliesToCategorical { get; }

    /// <summary>P-value or distance.</summary>
    public abstract StatScoreKind ScoreKind { get; }

    /// <summary>Evidently's default threshold.</summary>
    public abstract double DefaultThreshold { get; }

    /// <summary>The drift rule as text, e.g. <c>p &lt; t</c>.</summary>
    public virtual string Rule => ScoreKind == StatScoreKind.PValue ? "p < t" : "distance >= t";

    /// <summary>True when the statistic applies to a column of <paramref name="type"/>.</summary>
    public bool AppliesTo(DriftColumnType type) => type == DriftColumnType.Numerical ? AppliesToNumerical : AppliesToCategorical;

    /// <summary>
    /// Evidently's drift decision for <paramref name="score"/>: p &lt; t for p-values, distance ≥ t for distances
    /// (KS and Cramér–von Mises use p ≤ t, energy distance d &gt; t, as Evidently does); never drift on NaN.
    /// </summary>
    public virtual bool IsDrift(double score, double threshold) =>
        ScoreKind == StatScoreKind.PValue ? score < threshold : score >= threshold;

    /// <summary>The score for a sample with at least one non-missing value on each side.</summary>
    public abstract double Compute(DriftSample sample);
}

/// <summary>A statistic whose column types and score kind are fixed by its subclass.</summary>
internal abstract class FixedKindStatTest(bool numerical, bool categorical, StatScoreKind kind) : StatTest
{
    public sealed override bool AppliesToNumerical => numerical;

    public sealed override bool AppliesToCategorical => categorical;

    public sealed override StatScoreKind ScoreKind => kind;
}

/// <summary>A p-value statistic for categorical columns (drift when p &lt; t).</summary>
internal abstract class CategoricalPValueTest() : FixedKindStatTest(false, true, StatScoreKind.PValue);

/// <summary>A p-value statistic for numerical columns (drift when p &lt; t unless a subclass says otherwise).</summary>
internal abstract class NumericPValueTest() : FixedKindStatTest(true, false, StatScoreKind.PValue);

/// <summary>A numerical p-value statistic whose drift rule is p ≤ t (Evidently's rule for KS and Cramér–von Mises).</summary>
internal abstract class NumericPValueAtMostTest : NumericPValueTest
{
    public sealed override string Rule => "p <= t";

    public sealed override bool IsDrift(double score, double threshold) => score <= threshold;
}

/// <summary>A distance statistic for numerical columns.</summary>
internal abstract class NumericDistanceTest() : FixedKindStatTest(true, false, StatScoreKind.Distance);

/// <summary>A distance on binned shares, for numerical and categorical columns alike.</summary>
internal abstract class BinnedDistanceTest() : FixedKindStatTest(true, true, StatScoreKind.Distance);
