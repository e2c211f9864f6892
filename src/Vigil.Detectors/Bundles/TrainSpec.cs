namespace Vigil.Detectors;

/// <summary>What <see cref="ModelBundle.Train"/> should build.</summary>
public sealed record TrainSpec
{
    /// <summary>The detector kind, a name registered in <see cref="DetectorCatalog"/>: <c>"iforest"</c>, <c>"autoencoder"</c>,
    /// <c>"lightgbm"</c> (supervised: needs <see cref="Label"/>) or <c>"onnx"</c> (trained elsewhere: needs <see cref="Onnx"/>).</summary>
    public string Model { get; init; } = IsolationForestModel.DetectorKind;

    /// <summary>The label column, if the data has one: never a feature.</summary>
    public string? Label { get; init; }

    /// <summary>The row id column, if any: never a feature.</summary>
    public string? IdColumn { get; init; }

    /// <summary>Explicit feature columns; null = every numeric and categorical column not excluded.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>More columns that are never features (the label and the id column never are).</summary>
    public IReadOnlySet<string>? Exclude { get; init; }

    /// <summary>Isolation forest settings (used when <see cref="Model"/> is <c>"iforest"</c>).</summary>
    public IsolationForestOptions Forest { get; init; } = new();

    /// <summary>Autoencoder settings (used when <see cref="Model"/> is <c>"autoencoder"</c>).</summary>
    public AutoencoderOptions Autoencoder { get; init; } = new();

    /// <summary>LightGBM settings (used when <see cref="Model"/> is <c>"lightgbm"</c>).</summary>
    public LightGbmOptions LightGbm { get; init; } = new();

    /// <summary>Settings of the ensemble (used when <see cref="Model"/> is <c>"ensemble"</c>; its members use <see cref="Forest"/> and <see cref="Autoencoder"/>).</summary>
    public EnsembleOptions Ensemble { get; init; } = new();

    /// <summary>The imported model (used when <see cref="Model"/> is <c>"onnx"</c>); its schema names the features.</summary>
    public OnnxOptions? Onnx { get; init; }

    /// <summary>
    /// Settings kept as text, by parameter name, for kinds without a typed options record (kinds registered outside
    /// this assembly; see <see cref="TrainParameter.Setting"/>). Null = every such setting at its default.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>Feature transform settings; its Features/Exclude are merged with the ones above.</summary>
    public FeatureTransformOptions? Transform { get; init; }

    /// <summary>The tracking run id recorded in the manifest.</summary>
    public string? TrainingRunId { get; init; }
}
