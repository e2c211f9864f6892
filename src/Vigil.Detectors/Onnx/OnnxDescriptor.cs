using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// The <c>onnx</c> kind: a model trained elsewhere (PyTorch, scikit-learn) kept byte for byte in <c>model.onnx</c>,
/// with its schema and threshold in <c>onnx.json</c>. Its transform passes the schema's features through.
/// </summary>
internal sealed class OnnxDescriptor : DetectorDescriptor
{
    public const string ModelFile = "model.onnx";
    public const string SchemaFile = "onnx.json";

    public override string Name => OnnxModel.DetectorKind;

    public override string Description => "a model trained elsewhere and exported to ONNX (needs the model and its schema; no reasons)";

    public override bool LearnsFromData => false;

    public override bool GivesReasons => false;

    public override IReadOnlyList<TrainParameter> Parameters => [];

    public override IReadOnlyList<string> WeightFiles { get; } = [ModelFile, SchemaFile];

    public override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Onnx?.Model is not { } model)
        {
            throw new ArgumentException("The 'onnx' model is trained elsewhere: it needs the loaded ONNX model (vigil import onnx).", nameof(spec));
        }

        if (spec.Onnx.Contamination is { } c && !(c > 0 && c <= 0.5))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"contamination must be in (0, 0.5] (was {c})."), nameof(spec));
        }

        foreach (var (role, column) in new[] { ("Label", spec.Label), ("IdColumn", spec.IdColumn) })
        {
            if (column is not null && model.Schema.Features.Contains(column))
            {
                throw new ArgumentException($"the {(role == "Label" ? "label" : "id")} column '{column}' is a feature of the ONNX schema.", nameof(spec));
            }
        }
    }

    public override FeatureTransform FixedTransform(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return TransformOf(spec.Onnx!.Model!);
    }

    /// <summary>The transform of an ONNX model: its schema's features passed through, missing values by its defaults.</summary>
    internal static FeatureTransform TransformOf(OnnxModel model) => FeatureTransform.PassThrough(model.Schema.Features, model.Schema.Defaults);

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var options = context.Spec.Onnx!;
        var model = options.Model!;
        var scores = model.Score(context.Features); // checks that the model runs on the data
        if (options.Contamination is { } contamination && scores.Length > 0)
        {
            context.Resolved["contamination"] = contamination.ToString(CultureInfo.InvariantCulture);
            var copy = model.WithThreshold(Autoencoder.Quantile(scores, 1 - contamination));
            model.Dispose(); // replaced by the copy with the new threshold
            return copy;
        }

        return model;
    }

    public override void DescribeModel(IDetectorModel detector, IDictionary<string, string> parameters)
    {
        var model = Expect<OnnxModel>(detector);
        var schema = model.Schema;
        parameters["input"] = schema.Input;
        parameters["output"] = schema.Output;
        parameters["higherIsAnomalous"] = schema.HigherIsAnomalous ? "true" : "false";
        parameters["onnxSha256"] = model.ModelSha256;
        parameters["featureCount"] = schema.Features.Count.ToString(CultureInfo.InvariantCulture);
        if (schema.OutputColumn is { } column)
        {
            parameters["outputColumn"] = column.ToString(CultureInfo.InvariantCulture);
        }
    }

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files)
    {
        var onnx = Expect<OnnxModel>(detector);
        files[ModelFile] = onnx.ModelBytes;
        files[SchemaFile] = onnx.Schema.ToJson();
    }

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath)
    {
        OnnxSchema schema;
        try
        {
            schema = OnnxSchema.Parse(files[SchemaFile], SchemaFile);
        }
        catch (OnnxModelException e)
        {
            throw new BundleException(bundlePath, SchemaFile, e.Message, e);
        }

        if (schema.Threshold is null)
        {
            throw new BundleException(bundlePath, SchemaFile, $"{SchemaFile} has no threshold");
        }

        try
        {
            return OnnxModel.Create(files[ModelFile], schema, ModelFile, SchemaFile);
        }
        catch (OnnxModelException e)
        {
            throw new BundleException(bundlePath, e.Key is null ? ModelFile : SchemaFile, e.Message, e);
        }
    }

    public override void CheckTransform(IDetectorModel detector, FeatureTransform transform, string bundlePath)
    {
        ArgumentNullException.ThrowIfNull(transform);
        var onnx = Expect<OnnxModel>(detector);
        var outputs = transform.OutputColumns;
        for (var i = 0; i < outputs.Count; i++)
        {
            if (!string.Equals(outputs[i], onnx.Schema.Features[i], StringComparison.Ordinal))
            {
                throw new BundleException(bundlePath, SchemaFile, $"the features of {SchemaFile} differ from the inputs of {ModelBundle.TransformFile} ('{onnx.Schema.Features[i]}' vs '{outputs[i]}')");
            }
        }
    }

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => Expect<OnnxModel>(detector).WithThreshold(threshold);
}
