using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// The contents of <c>bundle.json</c>: everything needed to check and interpret a model bundle. The
/// manifest itself is not hashed; it lists the SHA-256 and size of every other file.
/// </summary>
public sealed record BundleManifest
{
    /// <summary>
    /// The bundle format version this build writes: 2 (v1 plus the reference profile, <c>profile.json</c>). It reads
    /// versions 1 and 2.
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>The bundle format version; loading refuses a version it has no loader for before reading anything else.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>The detector kind (data, not a type name): <c>"iforest"</c>.</summary>
    public string DetectorKind { get; init; } = string.Empty;

    /// <summary>When the bundle was trained (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; init; }

    /// <summary>The input columns (name and kind) a frame must provide to be scored.</summary>
    public IReadOnlyList<ColumnSchema> FeatureSchema { get; init; } = [];

    /// <summary>What the feature transform does (the fitted parameters are in <c>transform.json</c>).</summary>
    public TransformSummary Transform { get; init; } = new();

    /// <summary>Scores strictly above this are anomalies.</summary>
    public double Threshold { get; init; }

    /// <summary>The tracking run that produced the bundle, if any.</summary>
    public string? TrainingRunId { get; init; }

    /// <summary>Evaluation metrics attached after training (e.g. <c>auc_roc</c>); see <see cref="ModelBundle.WithMetrics"/>.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Every file of the bundle except <c>bundle.json</c>: name → SHA-256 and size.</summary>
    public IReadOnlyDictionary<string, BundleFile> Files { get; init; } = new Dictionary<string, BundleFile>(StringComparer.Ordinal);

    /// <summary>Training parameters as invariant-culture strings (estimators, maxSamples, seed, ...).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>The checksum of one bundle file.</summary>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes.</param>
/// <param name="Size">The file's length in bytes.</param>
public sealed record BundleFile(string Sha256, long Size);

/// <summary>A readable summary of the fitted feature transform.</summary>
public sealed record TransformSummary
{
    /// <summary>Scaling of numeric columns.</summary>
    public Scaling Scaling { get; init; }

    /// <summary>Missing-value policy.</summary>
    public MissingPolicy MissingPolicy { get; init; }

    /// <summary>One-hot width limit.</summary>
    public int MaxCategories { get; init; }

    /// <summary>The detector's input features, in order.</summary>
    public IReadOnlyList<string> OutputColumns { get; init; } = [];
}
