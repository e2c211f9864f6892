namespace Vigil.Detectors;

/// <summary>How numeric features are scaled.</summary>
public enum Scaling
{
    /// <summary>scikit-learn's <c>MinMaxScaler</c>: <c>x * scale + offset</c> with <c>scale = 1 / (max - min)</c>
    /// and <c>offset = -min * scale</c> over the training data; a constant column gets scale 1.</summary>
    MinMax,

    /// <summary>Values pass through unchanged (after imputation).</summary>
    None,
}

/// <summary>What happens to a missing value (NaN, or categorical code -1).</summary>
public enum MissingPolicy
{
    /// <summary>Numeric: the training median of the column (before scaling). Categorical: every one-hot slot 0.</summary>
    Median,

    /// <summary>Numeric: 0 (before scaling). Categorical: every one-hot slot 0.</summary>
    Zero,

    /// <summary>Throw <see cref="FeatureDataException"/> naming the column and row.</summary>
    Error,

    /// <summary>
    /// Numeric: the column's given default value (an imported ONNX model's schema <c>"defaults"</c>); a
    /// <see cref="FeatureDataException"/> when the column has none. Categorical: every one-hot slot 0. Not a
    /// choice for <see cref="FeatureTransform.Fit"/>: it is set by <see cref="ModelBundle.FromOnnx"/>.
    /// </summary>
    Default,
}

/// <summary>Settings of <see cref="FeatureTransform.Fit"/>.</summary>
public sealed record FeatureTransformOptions
{
    /// <summary>
    /// The input columns to use, in order. Null = every Float64, Float32 and Categorical column of the
    /// training frame that is not in <see cref="Exclude"/>. Timestamp and String columns are never
    /// features (derive numeric columns from them first); naming one here is an error.
    /// </summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>Columns that are never features (label, id, columns that leak the label, ...).</summary>
    public IReadOnlySet<string> Exclude { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Scaling of numeric columns; default <see cref="Scaling.MinMax"/>.</summary>
    public Scaling Scaling { get; init; } = Scaling.MinMax;

    /// <summary>Handling of missing values; default <see cref="MissingPolicy.Median"/>.</summary>
    public MissingPolicy MissingPolicy { get; init; } = MissingPolicy.Median;

    /// <summary>
    /// One-hot width of a categorical column: its most frequent training values (ties by ordinal order)
    /// get a slot each; rarer and unseen values share one extra "other" slot. Default 50.
    /// </summary>
    public int MaxCategories { get; init; } = 50;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxCategories < 1)
        {
            throw new ArgumentException($"max-categories must be >= 1 (was {MaxCategories}).", nameof(MaxCategories));
        }

        if (!Enum.IsDefined(Scaling))
        {
            throw new ArgumentException($"scaling has the unknown value {(int)Scaling}.", nameof(Scaling));
        }

        if (!Enum.IsDefined(MissingPolicy) || MissingPolicy == MissingPolicy.Default)
        {
            throw new ArgumentException($"missing-policy must be Median, Zero or Error (was {MissingPolicy}).", nameof(MissingPolicy));
        }

        if (Exclude is null)
        {
            throw new ArgumentException("exclude must not be null.", nameof(Exclude));
        }
    }
}
