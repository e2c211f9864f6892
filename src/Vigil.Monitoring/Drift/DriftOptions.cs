namespace Vigil.Monitoring;

/// <summary>How p-value thresholds are corrected for testing many columns at once.</summary>
public enum MultipleTestingCorrection
{
    /// <summary>No correction (Evidently's behaviour).</summary>
    None,

    /// <summary>Bonferroni: each p-value test uses threshold t / m, m = the number of p-value tests.</summary>
    Bonferroni,

    /// <summary>Benjamini–Hochberg: p-values sorted ascending, drift for the first k where p_(k) ≤ k·t / m.</summary>
    BenjaminiHochberg,
}

/// <summary>What to compare and how.</summary>
public sealed record DriftOptions
{
    /// <summary>The columns to compare, in order; null = every column of the reference (timestamps excepted).</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Columns to treat as categorical although they hold numbers (string columns always are).</summary>
    public IReadOnlyList<string> Categorical { get; init; } = [];

    /// <summary>A statistic name for every column, or null / "auto" for Evidently's default per column.</summary>
    public string? StatTest { get; init; }

    /// <summary>The threshold for every column; null = each statistic's default.</summary>
    public double? Threshold { get; init; }

    /// <summary>The dataset drifts when at least this share of the columns drift (Evidently's 0.5).</summary>
    public double DriftShare { get; init; } = 0.5;

    /// <summary>The correction for the p-value tests.</summary>
    public MultipleTestingCorrection Correction { get; init; } = MultipleTestingCorrection.None;

    /// <summary>Columns compared in parallel; null = the processor count.</summary>
    public int? MaxDegreeOfParallelism { get; init; }
}
