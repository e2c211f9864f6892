using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// Settings of <see cref="IsolationForest"/>, with scikit-learn's names and defaults
/// (<c>n_estimators</c>, <c>max_samples</c>, <c>max_features</c>, <c>bootstrap</c>, <c>contamination</c>).
/// </summary>
public sealed record IsolationForestOptions
{
    /// <summary>The number of trees (<c>n_estimators</c>); default 100.</summary>
    public int Estimators { get; init; } = 100;

    /// <summary>Rows drawn per tree (<c>max_samples</c>); default <c>auto</c> = <c>min(256, n)</c>.</summary>
    public MaxSamples MaxSamples { get; init; } = MaxSamples.Auto;

    /// <summary>
    /// Features per tree (<c>max_features</c>): a value in (0, 1] is a fraction
    /// (<c>max(1, floor(fraction * d))</c>), a whole number above 1 is a count (at most <c>d</c>).
    /// Default 1.0 = every feature.
    /// </summary>
    public double MaxFeatures { get; init; } = 1.0;

    /// <summary>Draw each tree's rows with replacement (<c>bootstrap</c>); default false.</summary>
    public bool Bootstrap { get; init; }

    /// <summary>
    /// Expected share of anomalies in (0, 0.5] (<c>contamination</c>): the threshold becomes the
    /// matching quantile of the training scores. Null = scikit-learn's <c>'auto'</c>: threshold 0.5.
    /// </summary>
    public double? Contamination { get; init; }

    /// <summary>Seed of the random generator; the same seed gives the same forest on any machine.</summary>
    public ulong Seed { get; init; }

    /// <summary>Threads used to build trees and score; null = all cores. Results do not depend on it.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Estimators < 1)
        {
            throw Bad(nameof(Estimators), $"must be >= 1 (was {Estimators})");
        }

        if (MaxSamples.Problem() is { } problem)
        {
            throw Bad(nameof(MaxSamples), problem);
        }

        var mf = MaxFeatures;
        if (double.IsNaN(mf) || mf <= 0 || (mf > 1 && (Math.Floor(mf) != mf || mf > int.MaxValue)))
        {
            throw Bad(nameof(MaxFeatures), $"must be a fraction in (0, 1] or a whole count >= 2 (was {mf.ToString(CultureInfo.InvariantCulture)})");
        }

        if (Contamination is { } c && !(c > 0 && c <= 0.5))
        {
            throw Bad(nameof(Contamination), $"must be in (0, 0.5] or null for 'auto' (was {c.ToString(CultureInfo.InvariantCulture)})");
        }

        if (MaxDegreeOfParallelism is { } p && p < 1)
        {
            throw Bad(nameof(MaxDegreeOfParallelism), $"must be >= 1 or null (was {p})");
        }
    }

    /// <summary>The number of features per tree for <paramref name="features"/> input columns.</summary>
    internal int ResolveMaxFeatures(int features)
    {
        if (MaxFeatures <= 1)
        {
            return Math.Max(1, (int)(MaxFeatures * features));
        }

        var count = (int)MaxFeatures;
        if (count > features)
        {
            throw Bad(nameof(MaxFeatures), $"asks for {count} features per tree but the data has {features}");
        }

        return count;
    }

    private static ArgumentException Bad(string option, string message) =>
        new($"IsolationForestOptions.{option} {message}.", option);
}
