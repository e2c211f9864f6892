namespace Vigil.Monitoring;

/// <summary>One column's comparison.</summary>
/// <param name="Name">The column.</param>
/// <param name="Type"><c>num</c> or <c>cat</c> (Evidently's names).</param>
/// <param name="StatTest">The statistic's name.</param>
/// <param name="Score">The p-value or distance (NaN when the statistic is undefined, e.g. no values on a side).</param>
/// <param name="Threshold">The threshold applied (after any correction).</param>
/// <param name="Drift">True when the column drifted.</param>
/// <param name="MissingShareReference">Share of reference rows missing (NaN, ±Inf or empty): left out of the statistic.</param>
/// <param name="MissingShareCurrent">Share of current rows missing.</param>
/// <param name="ScoreKind">Whether <paramref name="Score"/> is a p-value or a distance.</param>
public sealed record FeatureDrift(
    string Name,
    string Type,
    string StatTest,
    double Score,
    double Threshold,
    bool Drift,
    double MissingShareReference,
    double MissingShareCurrent,
    Statistics.StatScoreKind ScoreKind);

/// <summary>The comparison of two datasets: per column and overall.</summary>
/// <param name="DatasetDrift">True when the share of drifted columns reaches <paramref name="ThresholdShare"/>.</param>
/// <param name="DriftShare">The share of drifted columns.</param>
/// <param name="ThresholdShare">The share at which the dataset drifts.</param>
/// <param name="Features">One entry per compared column, in the order asked.</param>
public sealed record DriftReport(bool DatasetDrift, double DriftShare, double ThresholdShare, IReadOnlyList<FeatureDrift> Features);
