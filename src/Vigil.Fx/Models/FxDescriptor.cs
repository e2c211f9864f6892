using System.Text.Json;
using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>
/// The <c>fx</c> detector kind as a <see cref="DetectorCatalog"/> component, so that <see cref="ModelBundle.Load(string)"/>, the
/// registry and <c>vigil models</c> handle FX bundles like any other: <c>bundle.json</c> and <c>transform.json</c> as
/// usual, <c>fx.json</c> (tables, thresholds, clients; JSON) and <c>autoencoder.bin</c> (the autoencoder kind's weight
/// format), every file under the bundle's SHA-256 list. Call <see cref="Register"/> once before loading fx bundles.
/// Fitting needs the raw deals, so it only runs inside <see cref="FxTrainer.Train"/>; <c>vigil train --model fx</c> is refused.
/// </summary>
public sealed class FxDescriptor : DetectorDescriptor
{
    /// <summary>The tables file.</summary>
    public const string TablesFile = "fx.json";

    /// <summary>The autoencoder weights file (the autoencoder kind's own file and format).</summary>
    public const string AutoencoderFile = "autoencoder.bin";

    /// <summary>The imported autoencoder of an <c>fx-onnx</c> bundle, byte for byte as exported.</summary>
    public const string OnnxFile = "model.onnx";

    /// <summary>How an <c>fx-onnx</c> bundle's ONNX inputs and outputs map onto its feature columns.</summary>
    public const string OnnxLayoutFile = "onnx-layout.json";

    private static readonly FxDescriptor Instance = new(FxModel.DetectorKind, [TablesFile, AutoencoderFile]);
    private static readonly FxDescriptor Imported = new(FxModel.ImportedKind, [TablesFile, OnnxFile, OnnxLayoutFile]);
    private static readonly AsyncLocal<FxFitRequest?> Pending = new();
    private readonly string _name;

    private FxDescriptor(string name, IReadOnlyList<string> weightFiles)
    {
        _name = name;
        WeightFiles = weightFiles;
    }

    /// <summary>Registers the <c>fx</c> and <c>fx-onnx</c> kinds in <see cref="DetectorCatalog"/> (idempotent).</summary>
    public static void Register()
    {
        DetectorCatalog.Register(Instance);
        DetectorCatalog.Register(Imported);
    }

    /// <inheritdoc />
    public override string Name => _name;

    /// <inheritdoc />
    public override string Description => _name == FxModel.DetectorKind
        ? "FX deals: rules, thresholds and a multi-input autoencoder (train it with `vigil fx train`)"
        : "FX deals: rules and thresholds from Python artifacts with an ONNX multi-input autoencoder (`vigil fx import`)";

    /// <inheritdoc />
    public override IReadOnlyList<TrainParameter> Parameters { get; } = [];

    /// <inheritdoc />
    public override IReadOnlyList<string> WeightFiles { get; }

    /// <inheritdoc />
    public override bool GivesReasons => false;

    /// <inheritdoc />
    public override void Validate(TrainSpec spec)
    {
        if (Pending.Value is null)
        {
            throw new ArgumentException("The 'fx' model is trained from deals with `vigil fx train` (FxTrainer), not `vigil train`.", nameof(spec));
        }
    }

    /// <inheritdoc />
    public override IDetectorModel Fit(DetectorFitContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = Pending.Value
            ?? throw new ArgumentException("The 'fx' model is trained from deals with `vigil fx train` (FxTrainer), not `vigil train`.", nameof(context));
        if (request.Import is { } import)
        {
            return import(context);
        }

        var ae = new Autoencoder(request.Autoencoder).Fit(context.Features, context.FeatureGroups(AutoencoderModel.NumericGroup));
        var x = context.Features;
        var groups = ae.GroupNames.Count;
        var errors = new double[x.Rows * groups];
        FxModel.GroupErrors(ae, x, errors);
        var thresholds = new GroupThreshold[groups];
        var column = new double[x.Rows];
        for (var g = 0; g < groups; g++)
        {
            for (var r = 0; r < x.Rows; r++)
            {
                column[r] = errors[(r * groups) + g];
            }

            thresholds[g] = new GroupThreshold(ae.GroupNames[g], FxTables.Quantile(column, request.Tables.Quantiles.Reconstruction));
        }

        var resolved = context.Resolved;
        resolved["layers"] = string.Join(",", ae.LayerSizes);
        resolved["groups"] = string.Join(",", ae.GroupNames);
        resolved["clients"] = string.Join(",", request.Tables.Clients);
        if (ae.Training is { } t)
        {
            resolved["epochsRun"] = t.EpochsRun.ToString(System.Globalization.CultureInfo.InvariantCulture);
            resolved["bestEpoch"] = t.BestEpoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new FxModel(request.Tables with { Reconstruction = thresholds }, ae);
    }

    /// <inheritdoc />
    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var model = Expect<FxModel>(detector);
        files[TablesFile] = JsonSerializer.SerializeToUtf8Bytes(model.Tables.Document, FxJsonContext.Default.FxTablesDocument);
        if (model.Onnx is { } onnx)
        {
            files[OnnxFile] = onnx.ModelBytes;
            files[OnnxLayoutFile] = JsonSerializer.SerializeToUtf8Bytes(onnx.Layout, FxOnnxJsonContext.Default.FxOnnxLayout);
            return;
        }

        var ae = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        DetectorCatalog.Get(AutoencoderModel.DetectorKind).Write(model.Autoencoder!, ae);
        files[AutoencoderFile] = ae[AutoencoderFile];
    }

    /// <inheritdoc />
    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath)
    {
        ArgumentNullException.ThrowIfNull(files);
        FxTablesDocument document;
        try
        {
            document = JsonSerializer.Deserialize(files[TablesFile], FxJsonContext.Default.FxTablesDocument)
                ?? throw new InvalidDataException("is empty");
        }
        catch (JsonException e)
        {
            throw new BundleException(bundlePath, TablesFile, $"{TablesFile} is malformed ({e.Message})", e);
        }

        if (document.Version != 1)
        {
            throw new BundleException(bundlePath, TablesFile, $"{TablesFile} has layout version {document.Version}; this Vigil reads version 1");
        }

        if (_name == FxModel.ImportedKind)
        {
            return ReadImported(files, bundlePath, document);
        }

        AutoencoderModel ae;
        try
        {
            ae = (AutoencoderModel)DetectorCatalog.Get(AutoencoderModel.DetectorKind).Read(
                new Dictionary<string, byte[]>(StringComparer.Ordinal) { [AutoencoderFile] = files[AutoencoderFile] }, bundlePath);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(bundlePath, AutoencoderFile, $"{AutoencoderFile} {e.Message}", e);
        }

        try
        {
            return new FxModel(document, ae);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(bundlePath, TablesFile, $"{TablesFile} {e.Message}", e);
        }
    }

    private static FxModel ReadImported(IReadOnlyDictionary<string, byte[]> files, string bundlePath, FxTablesDocument document)
    {
        FxOnnxLayout layout;
        try
        {
            layout = JsonSerializer.Deserialize(files[OnnxLayoutFile], FxOnnxJsonContext.Default.FxOnnxLayout)
                ?? throw new JsonException("is empty");
        }
        catch (JsonException e)
        {
            throw new BundleException(bundlePath, OnnxLayoutFile, $"{OnnxLayoutFile} is malformed ({e.Message})", e);
        }

        try
        {
            var onnx = FxOnnxAutoencoder.Create(files[OnnxFile], layout);
            return new FxModel(document, onnx, layout.FeatureCount);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(bundlePath, OnnxFile, $"{OnnxFile} {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold)
    {
        var model = Expect<FxModel>(detector);
        if (model.Autoencoder is null)
        {
            // An imported model's thresholds are per input group (fx.json); the bundle threshold is not used.
            return model;
        }

        var ae = (AutoencoderModel)DetectorCatalog.Get(AutoencoderModel.DetectorKind).WithThreshold(model.Autoencoder, threshold);
        return new FxModel(model.Tables.Document, ae);
    }

    /// <inheritdoc />
    public override void CheckTransform(IDetectorModel detector, FeatureTransform transform, string bundlePath)
    {
        ArgumentNullException.ThrowIfNull(transform);
        foreach (var name in (IEnumerable<string>)[.. FxFields.Categoricals, .. FxFields.Numerics])
        {
            if (transform.InputIndexOf(name) < 0)
            {
                throw new BundleException(bundlePath, ModelBundle.TransformFile, $"{ModelBundle.TransformFile} has no input '{name}', which an fx bundle needs");
            }
        }

        if (Expect<FxModel>(detector).Onnx is { } onnx)
        {
            try
            {
                onnx.Bind(transform.OutputColumns);
            }
            catch (InvalidDataException e)
            {
                throw new BundleException(bundlePath, OnnxLayoutFile, $"{OnnxLayoutFile} {e.Message}", e);
            }
        }
    }

    /// <summary>Runs <paramref name="fit"/> with <paramref name="request"/> as the pending fit of this kind (on this async flow only).</summary>
    internal static T WithPending<T>(FxFitRequest request, Func<T> fit)
    {
        var previous = Pending.Value;
        Pending.Value = request;
        try
        {
            return fit();
        }
        finally
        {
            Pending.Value = previous;
        }
    }
}

/// <summary>What a fit of the <c>fx</c> kind needs besides the features: the tables fitted on the raw deals and the autoencoder settings.</summary>
/// <param name="Tables">The tables.</param>
/// <param name="Autoencoder">The autoencoder settings.</param>
/// <param name="Import">Builds the model instead of training an autoencoder (<c>vigil fx import</c>).</param>
internal sealed record FxFitRequest(FxTablesDocument Tables, AutoencoderOptions Autoencoder, Func<DetectorFitContext, FxModel>? Import = null);
