using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// Settings of the supervised LightGBM binary classifier (trained through Microsoft.ML.LightGbm), with
/// LightGBM's own defaults: 100 trees, 31 leaves, learning rate 0.1, at least 20 rows per leaf, no L2, sigmoid 1.
/// </summary>
public sealed record LightGbmOptions
{
    /// <summary>Boosting rounds (<c>num_iterations</c>); default 100.</summary>
    public int Iterations { get; init; } = 100;

    /// <summary>Maximum leaves per tree (<c>num_leaves</c>); default 31.</summary>
    public int Leaves { get; init; } = 31;

    /// <summary>Shrinkage (<c>learning_rate</c>); default 0.1.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Minimum training rows per leaf (<c>min_data_in_leaf</c>); default 20.</summary>
    public int MinRowsPerLeaf { get; init; } = 20;

    /// <summary>Minimum hessian sum per leaf (<c>min_sum_hessian_in_leaf</c>); default 0.001.</summary>
    public double MinHessianPerLeaf { get; init; } = 0.001;

    /// <summary>L2 regularisation (<c>lambda_l2</c>); default 0.</summary>
    public double L2 { get; init; }

    /// <summary>Histogram bins per feature (<c>max_bin</c>); default 255.</summary>
    public int MaxBins { get; init; } = 255;

    /// <summary>Reweight classes to balance them (<c>is_unbalance</c>); default false. Excludes <see cref="ScalePositiveWeight"/>.</summary>
    public bool Unbalanced { get; init; }

    /// <summary>Weight of positive rows (<c>scale_pos_weight</c>); default 1.</summary>
    public double ScalePositiveWeight { get; init; } = 1;

    /// <summary>The decision threshold on the predicted probability; default 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Seed of LightGBM's random choices.</summary>
    public int Seed { get; init; }

    /// <summary>LightGBM threads; null = its default. Use 1 for results that do not depend on the machine's cores.</summary>
    public int? Threads { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Iterations < 1)
        {
            throw Bad(nameof(Iterations), $"must be >= 1 (was {Iterations})");
        }

        if (Leaves < 2)
        {
            throw Bad(nameof(Leaves), $"must be >= 2 (was {Leaves})");
        }

        if (!(LearningRate > 0 && double.IsFinite(LearningRate)))
        {
            throw Bad(nameof(LearningRate), $"must be > 0 (was {F(LearningRate)})");
        }

        if (MinRowsPerLeaf < 1)
        {
            throw Bad(nameof(MinRowsPerLeaf), $"must be >= 1 (was {MinRowsPerLeaf})");
        }

        if (!(MinHessianPerLeaf >= 0 && double.IsFinite(MinHessianPerLeaf)))
        {
            throw Bad(nameof(MinHessianPerLeaf), $"must be >= 0 (was {F(MinHessianPerLeaf)})");
        }

        if (!(L2 >= 0 && double.IsFinite(L2)))
        {
            throw Bad(nameof(L2), $"must be >= 0 (was {F(L2)})");
        }

        if (MaxBins < 2)
        {
            throw Bad(nameof(MaxBins), $"must be >= 2 (was {MaxBins})");
        }

        if (!(ScalePositiveWeight > 0 && double.IsFinite(ScalePositiveWeight)))
        {
            throw Bad(nameof(ScalePositiveWeight), $"must be > 0 (was {F(ScalePositiveWeight)})");
        }

        if (Unbalanced && ScalePositiveWeight != 1)
        {
            throw Bad(nameof(ScalePositiveWeight), "cannot be combined with Unbalanced (is_unbalance); use one of them");
        }

        if (!(Threshold >= 0 && Threshold <= 1))
        {
            throw Bad(nameof(Threshold), $"must be a probability in [0, 1] (was {F(Threshold)})");
        }

        if (Threads is { } t && t < 1)
        {
            throw Bad(nameof(Threads), $"must be >= 1 or null (was {t})");
        }
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static ArgumentException Bad(string option, string message) =>
        new($"LightGbmOptions.{option} {message}.", option);
}
