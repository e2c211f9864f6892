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
    Statistics.StatScoreKind ScoreKind)
{
    /// <summary>
    /// How far past (or short of) its threshold the column is, for sorting: distance / t, or t / p for p-values;
    /// negative infinity when the score is undefined.
    /// </summary>
    public double Severity => !double.IsFinite(Score)
        ? double.NegativeInfinity
        : ScoreKind == Statistics.StatScoreKind.PValue
            ? Threshold / Math.Max(Score, double.Epsilon)
            : Score / Math.Max(Threshold, double.Epsilon);
}

/// <summary>
/// Prediction drift: the model's score distribution and its alert rate at the model's threshold on the current data,
/// compared with the reference. Needs no labels.
/// </summary>
/// <param name="StatTest">The statistic that compared the score distributions.</param>
/// <param name="Score">Its p-value or distance (NaN without scores on a side).</param>
/// <param name="StatThreshold">The statistic's threshold.</param>
/// <param name="Drift">True when the score distribution drifted.</param>
/// <param name="ModelThreshold">The model's decision threshold (alert: score &gt; threshold).</param>
/// <param name="AlertRateReference">The share of reference rows alerted.</param>
/// <param name="AlertRateCurrent">The share of current scored rows alerted.</param>
/// <param name="ReferenceCount">Reference scores compared.</param>
/// <param name="CurrentCount">Current scores compared.</param>
public sealed record PredictionDrift(
    string StatTest,
    double Score,
    double StatThreshold,
    bool Drift,
    double ModelThreshold,
    double AlertRateReference,
    double AlertRateCurrent,
    long ReferenceCount,
    long CurrentCount);

/// <summary>The comparison of two datasets: per column and overall.</summary>
/// <param name="DatasetDrift">True when the share of drifted columns reaches <paramref name="ThresholdShare"/>.</param>
/// <param name="DriftShare">The share of drifted columns.</param>
/// <param name="ThresholdShare">The share at which the dataset drifts.</param>
/// <param name="Features">One entry per compared column, in the order asked.</param>
/// <param name="Prediction">Prediction drift when a model was given, else null.</param>
public sealed record DriftReport(bool DatasetDrift, double DriftShare, double ThresholdShare, IReadOnlyList<FeatureDrift> Features, PredictionDrift? Prediction = null)
{
    /// <summary>The features ordered for reading: drifted first, then by <see cref="FeatureDrift.Severity"/>, highest first.</summary>
    public IReadOnlyList<FeatureDrift> BySeverity()
    {
        var rows = new List<FeatureDrift>(Features);
        rows.Sort(static (a, b) =>
        {
            var byDrift = b.Drift.CompareTo(a.Drift);
            return byDrift != 0 ? byDrift : b.Severity.CompareTo(a.Severity);
        });
        return rows;
    }
}
