using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text.Json;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// A trained model as data: the feature transform, the detector and a manifest. Saved as a directory or
/// a <c>.zip</c> holding <c>bundle.json</c> (manifest with the SHA-256 and size of every other file),
/// <c>transform.json</c> and the detector's weights (<c>forest.bin</c> for <c>iforest</c>, <c>autoencoder.bin</c> for
/// <c>autoencoder</c>, <c>lightgbm.bin</c> for <c>lightgbm</c>, <c>model.onnx</c> and <c>onnx.json</c> for <c>onnx</c>). Loading checks
/// the format version first, maps the detector kind to a known reader (never a type named by the file),
/// and verifies every hash before parsing. Save then load gives bit-identical scores.
/// </summary>
public sealed class ModelBundle
{
    /// <summary>The manifest file name.</summary>
    public const string ManifestFile = "bundle.json";

    /// <summary>The fitted transform file name.</summary>
    public const string TransformFile = "transform.json";

    /// <summary>The isolation-forest weights file name.</summary>
    public const string ForestFile = "forest.bin";

    /// <summary>The autoencoder weights file name.</summary>
    public const string AutoencoderFile = "autoencoder.bin";

    /// <summary>The LightGBM ensemble file name.</summary>
    public const string LightGbmFile = "lightgbm.bin";

    /// <summary>The ONNX model file name (<c>onnx</c> bundles).</summary>
    public const string OnnxFile = "model.onnx";

    /// <summary>The ONNX schema file name (<c>onnx</c> bundles): <see cref="OnnxSchema"/> as JSON, threshold included.</summary>
    public const string OnnxSchemaFile = "onnx.json";

    /// <summary>The detector kinds this build trains and reads.</summary>
    public static readonly IReadOnlyList<string> KnownKinds = [IsolationForestModel.DetectorKind, AutoencoderModel.DetectorKind, LightGbmModel.DetectorKind, OnnxModel.DetectorKind];

    /// <summary>Columns never used as features, whatever the spec says.</summary>
    public static readonly IReadOnlyList<string> AlwaysExcluded = ["fraud_pattern"];

    private const int ChunkRows = 4096;
    private const long MaxManifestBytes = 64L << 20;

    private readonly Dictionary<string, byte[]> _files;

    private ModelBundle(BundleManifest manifest, FeatureTransform transform, IDetectorModel detector, Dictionary<string, byte[]> files)
    {
        Manifest = manifest;
        Transform = transform;
        Detector = detector;
        _files = files;
    }

    /// <summary>The manifest (contents of <c>bundle.json</c>).</summary>
    public BundleManifest Manifest { get; }

    /// <summary>The fitted feature transform.</summary>
    public FeatureTransform Transform { get; }

    /// <summary>The detector.</summary>
    public IDetectorModel Detector { get; }

    /// <summary>Scores strictly above this are anomalies.</summary>
    public double Threshold => Manifest.Threshold;

    /// <summary>True when <paramref name="score"/> is above <see cref="Threshold"/>.</summary>
    public bool IsAnomaly(double score) => score > Manifest.Threshold;

    /// <summary>
    /// Fits the transform and the detector on <paramref name="data"/>. The label, the id column and
    /// <c>fraud_pattern</c> are never features.
    /// </summary>
    /// <param name="data">Training rows.</param>
    /// <param name="spec">What to train.</param>
    /// <param name="time">Clock for <see cref="BundleManifest.CreatedUtc"/>; the system clock when null.</param>
    public static ModelBundle Train(Frame data, TrainSpec spec, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(spec);
        var kind = spec.Model;
        if (kind is not (IsolationForestModel.DetectorKind or AutoencoderModel.DetectorKind or LightGbmModel.DetectorKind or OnnxModel.DetectorKind))
        {
            throw new ArgumentException($"Unknown model '{spec.Model}'; known models: {string.Join(", ", KnownKinds)}.", nameof(spec));
        }

        if (kind == OnnxModel.DetectorKind)
        {
            return TrainOnnx(data, spec, time);
        }

        ArgumentNullException.ThrowIfNull(spec.Forest);
        ArgumentNullException.ThrowIfNull(spec.Autoencoder);
        ArgumentNullException.ThrowIfNull(spec.LightGbm);
        TrainParameters.Validate(spec);

        foreach (var (role, column) in new[] { ("Label", spec.Label), ("IdColumn", spec.IdColumn) })
        {
            if (column is not null && !data.Contains(column))
            {
                throw new ArgumentException($"TrainSpec.{role} column '{column}' is not in the data.", nameof(spec));
            }
        }

        int[]? labels = null;
        if (kind == LightGbmModel.DetectorKind)
        {
            if (spec.Label is null)
            {
                throw new ArgumentException("The 'lightgbm' model is supervised: TrainSpec.Label must name the 0/1 label column.", nameof(spec));
            }

            labels = TrainingLabels.Read(data, spec.Label);
        }

        var exclude = new HashSet<string>(AlwaysExcluded, StringComparer.Ordinal);
        exclude.UnionWith(spec.Exclude ?? new HashSet<string>());
        exclude.UnionWith(spec.Transform?.Exclude ?? new HashSet<string>());
        if (spec.Label is not null)
        {
            exclude.Add(spec.Label);
        }

        if (spec.IdColumn is not null)
        {
            exclude.Add(spec.IdColumn);
        }

        var transformOptions = (spec.Transform ?? new FeatureTransformOptions()) with
        {
            Features = spec.Features ?? spec.Transform?.Features,
            Exclude = exclude,
        };
        var transform = FeatureTransform.Fit(data, transformOptions);
        var x = transform.Transform(data);
        // The settable parameters under their one name set (TrainParameters), then what training resolved.
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = kind };
        foreach (var (name, value) in TrainParameters.Describe(spec))
        {
            parameters[name] = value;
        }

        IDetectorModel detector;
        switch (kind)
        {
            case IsolationForestModel.DetectorKind:
                {
                    var forest = new IsolationForest(spec.Forest).Fit(x);
                    parameters["maxSamplesResolved"] = Invariant(forest.MaxSamples);
                    detector = forest;
                    break;
                }

            case AutoencoderModel.DetectorKind:
                {
                    var model = new Autoencoder(spec.Autoencoder).Fit(x, transform.OutputGroups(AutoencoderModel.NumericGroup));
                    parameters["layers"] = string.Join(",", model.LayerSizes);
                    parameters["groups"] = string.Join(",", model.GroupNames);
                    parameters["groupWeights"] = string.Join(",", model.GroupWeights.Select(w => Invariant(w)));
                    if (model.Training is { } t)
                    {
                        parameters["epochsRun"] = Invariant(t.EpochsRun);
                        parameters["bestEpoch"] = Invariant(t.BestEpoch);
                        parameters["bestValidationLoss"] = Invariant(t.BestValidationLoss);
                    }

                    detector = model;
                    break;
                }

            default:
                detector = new LightGbmClassifier(spec.LightGbm).Fit(x, labels);
                break;
        }

        parameters["trainRows"] = Invariant(data.RowCount);
        parameters["featureCount"] = Invariant(x.Columns);
        if (spec.Label is not null)
        {
            parameters["label"] = spec.Label;
        }

        if (spec.IdColumn is not null)
        {
            parameters["idColumn"] = spec.IdColumn;
        }

        var manifest = new BundleManifest
        {
            DetectorKind = kind,
            CreatedUtc = (time ?? TimeProvider.System).GetUtcNow(),
            TrainingRunId = spec.TrainingRunId,
            Parameters = parameters,
        };
        return Assemble(manifest, transform, detector);
    }

    /// <summary>
    /// Wraps an ONNX model as a bundle without data: the transform passes the schema's features through unchanged
    /// (as float32, in schema order; a missing value takes the schema's default or is an error), the threshold is
    /// the model's. The bundle owns <paramref name="model"/> from now on.
    /// </summary>
    /// <param name="model">The checked model (see <see cref="OnnxModel.Load"/>).</param>
    /// <param name="trainingRunId">The tracking run recorded in the manifest.</param>
    /// <param name="time">Clock for <see cref="BundleManifest.CreatedUtc"/>; the system clock when null.</param>
    public static ModelBundle FromOnnx(OnnxModel model, string? trainingRunId = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var transform = FeatureTransform.PassThrough(model.Schema.Features, model.Schema.Defaults);
        var manifest = new BundleManifest
        {
            DetectorKind = OnnxModel.DetectorKind,
            CreatedUtc = (time ?? TimeProvider.System).GetUtcNow(),
            TrainingRunId = trainingRunId,
            Parameters = OnnxParameters(model),
        };
        return Assemble(manifest, transform, model);
    }

    private static ModelBundle TrainOnnx(Frame data, TrainSpec spec, TimeProvider? time)
    {
        if (spec.Onnx?.Model is not { } model)
        {
            throw new ArgumentException("The 'onnx' model is trained elsewhere: TrainSpec.Onnx.Model must hold the loaded ONNX model.", nameof(spec));
        }

        if (spec.Onnx.Contamination is { } c && !(c > 0 && c <= 0.5))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"OnnxOptions.Contamination must be in (0, 0.5] (was {c})."), nameof(spec));
        }

        foreach (var (role, column) in new[] { ("Label", spec.Label), ("IdColumn", spec.IdColumn) })
        {
            if (column is not null && model.Schema.Features.Contains(column))
            {
                throw new ArgumentException($"TrainSpec.{role} column '{column}' is a feature of the ONNX schema.", nameof(spec));
            }
        }

        var bundle = FromOnnx(model, spec.TrainingRunId, time);
        var scores = bundle.Score(data); // checks that the data has every feature, and that the model runs on it
        var parameters = new Dictionary<string, string>(bundle.Manifest.Parameters, StringComparer.Ordinal)
        {
            ["trainRows"] = Invariant(data.RowCount),
        };
        if (spec.Label is not null)
        {
            parameters["label"] = spec.Label;
        }

        if (spec.IdColumn is not null)
        {
            parameters["idColumn"] = spec.IdColumn;
        }

        bundle = new ModelBundle(bundle.Manifest with { Parameters = parameters }, bundle.Transform, bundle.Detector, bundle._files);
        if (spec.Onnx.Contamination is { } contamination && scores.Length > 0)
        {
            parameters["contamination"] = Invariant(contamination);
            bundle = bundle.WithThreshold(Autoencoder.Quantile(scores, 1 - contamination));
            model.Dispose(); // replaced by the copy with the new threshold
        }

        return bundle;
    }

    private static Dictionary<string, string> OnnxParameters(OnnxModel model)
    {
        var schema = model.Schema;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = OnnxModel.DetectorKind,
            ["input"] = schema.Input,
            ["output"] = schema.Output,
            ["higherIsAnomalous"] = schema.HigherIsAnomalous ? "true" : "false",
            ["onnxSha256"] = model.ModelSha256,
            ["featureCount"] = Invariant(schema.Features.Count),
        };
        if (schema.OutputColumn is { } column)
        {
            parameters["outputColumn"] = Invariant(column);
        }

        return parameters;
    }

    /// <summary>Scores every row of <paramref name="frame"/> (higher = more anomalous).</summary>
    /// <exception cref="SchemaMismatchException">A feature column is missing or has another kind.</exception>
    /// <exception cref="FeatureDataException">A value cannot be transformed.</exception>
    public double[] Score(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var scores = new double[frame.RowCount];
        ScoreInto(frame, scores);
        return scores;
    }

    /// <summary>Scores every row of <paramref name="frame"/> into <paramref name="scores"/> (length at least the row count).</summary>
    public void Score(Frame frame, Span<double> scores)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (scores.Length < frame.RowCount)
        {
            throw new ArgumentException($"The score buffer holds {scores.Length} values but the frame has {frame.RowCount} rows.", nameof(scores));
        }

        var n = frame.RowCount;
        var buffer = ArrayPool<double>.Shared.Rent(Math.Max(1, n));
        try
        {
            ScoreInto(frame, buffer);
            buffer.AsSpan(0, n).CopyTo(scores);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>True when the detector gives per-feature reasons (<see cref="Explain"/>): isolation forest, autoencoder and LightGBM.</summary>
    public bool CanExplain => Detector is IExplainableDetector;

    /// <summary>
    /// The <paramref name="top"/> input columns that contributed most (by absolute value) to the score of row
    /// <paramref name="row"/> of <paramref name="frame"/>, largest first. One-hot slots are summed back into their
    /// categorical column. Autoencoder: each column's share of the weighted squared reconstruction error (they sum
    /// to the score). LightGBM: Saabas contributions to the raw log-odds score (they sum to the raw score minus its
    /// training expectation). Isolation forest: each column's share of how much faster than average the trees isolate
    /// the row (they sum to <c>1 + log2(score)</c>, so to 0 at score 0.5; positive = towards anomaly; see
    /// <see cref="IsolationForestModel.Contributions"/>). Transforms only that row.
    /// </summary>
    /// <exception cref="NotSupportedException">The detector gives no reasons (every built-in detector does).</exception>
    /// <exception cref="SchemaMismatchException">A feature column is missing or has another kind.</exception>
    public IReadOnlyList<FeatureContribution> Explain(Frame frame, int row, int top = 5)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (Detector is not IExplainableDetector explainer)
        {
            throw new NotSupportedException($"'{Manifest.DetectorKind}' bundles give no per-feature reasons; train an iforest, autoencoder or lightgbm model for reasons.");
        }

        if ((uint)row >= (uint)frame.RowCount)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {frame.RowCount}).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var features = ArrayPool<float>.Shared.Rent(Transform.OutputCount);
        var bound = Transform.Bind(frame);
        try
        {
            Transform.TransformRows(bound, row, 1, features);
            return ExplainFeatures(features.AsSpan(0, Transform.OutputCount), top);
        }
        finally
        {
            bound.Dispose();
            ArrayPool<float>.Shared.Return(features);
        }
    }

    /// <summary>
    /// Like <see cref="Explain"/> for one already transformed row (<see cref="FeatureTransform.OutputCount"/> values,
    /// e.g. built with <see cref="FeatureTransform.TryEncodeNumeric"/>): the <paramref name="top"/> input columns with the
    /// largest absolute contributions, largest first. Empty when the detector gives no reasons.
    /// </summary>
    public IReadOnlyList<FeatureContribution> ExplainFeatures(ReadOnlySpan<float> features, int top = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        if (Detector is not IExplainableDetector explainer || top == 0)
        {
            return [];
        }

        var width = Transform.OutputCount;
        if (features.Length != width)
        {
            throw new ArgumentException($"Expected {width} features, got {features.Length}.", nameof(features));
        }

        var inputs = Transform.InputSchema.Count;
        var contributions = ArrayPool<double>.Shared.Rent(width + inputs);
        try
        {
            explainer.Contributions(features, contributions.AsSpan(0, width));

            // Sum one-hot slots back into their column, then pick the top k by magnitude (ties by name): k is small,
            // so repeated selection beats sorting every column, and nothing is allocated but the result.
            var sums = contributions.AsSpan(width, inputs);
            for (var i = 0; i < inputs; i++)
            {
                var sum = 0.0;
                var start = Transform.OutputStartOf(i);
                var end = start + Transform.OutputWidthOf(i);
                for (var f = start; f < end; f++)
                {
                    sum += contributions[f];
                }

                sums[i] = sum;
            }

            var k = Math.Min(top, inputs);
            var result = new FeatureContribution[k];
            Span<bool> taken = inputs <= 512 ? stackalloc bool[inputs] : new bool[inputs];
            taken.Clear();
            for (var r = 0; r < k; r++)
            {
                var best = -1;
                for (var i = 0; i < inputs; i++)
                {
                    if (taken[i])
                    {
                        continue;
                    }

                    if (best < 0)
                    {
                        best = i;
                        continue;
                    }

                    var byMagnitude = Math.Abs(sums[i]).CompareTo(Math.Abs(sums[best]));
                    if (byMagnitude > 0 || (byMagnitude == 0 && string.CompareOrdinal(Transform.InputSchema[i].Name, Transform.InputSchema[best].Name) < 0))
                    {
                        best = i;
                    }
                }

                taken[best] = true;
                result[r] = new FeatureContribution(Transform.InputSchema[best].Name, sums[best]);
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(contributions);
        }
    }

    /// <summary>A copy whose manifest metrics are these merged over the existing ones.</summary>
    public ModelBundle WithMetrics(IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var merged = new Dictionary<string, double>(Manifest.Metrics, StringComparer.Ordinal);
        foreach (var (key, value) in metrics)
        {
            merged[key] = value;
        }

        return new ModelBundle(Manifest with { Metrics = merged }, Transform, Detector, _files);
    }

    /// <summary>A copy with another decision threshold (e.g. chosen on validation data); the weights file is rewritten.</summary>
    public ModelBundle WithThreshold(double threshold)
    {
        if (!double.IsFinite(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be finite.");
        }

        IDetectorModel detector = Detector switch
        {
            IsolationForestModel forest => forest.WithThreshold(threshold),
            AutoencoderModel autoencoder => autoencoder.WithThreshold(threshold),
            LightGbmModel lightGbm => lightGbm.WithThreshold(threshold),
            OnnxModel onnx => onnx.WithThreshold(threshold),
            _ => throw new InvalidOperationException($"Unknown detector kind '{Detector.Kind}'."),
        };
        return Assemble(Manifest, Transform, detector);
    }

    /// <summary>
    /// Writes the bundle to <paramref name="path"/>: a zip archive when the path ends with <c>.zip</c>,
    /// otherwise a directory. The bundle is written beside the target and renamed into place.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(Manifest, BundleJsonContext.Default.BundleManifest);
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full) ?? ".";
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(parent);
            if (full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                using (var zip = ZipFile.Open(temp, ZipArchiveMode.Create))
                {
                    WriteEntry(zip, ManifestFile, manifestBytes);
                    foreach (var (name, bytes) in _files)
                    {
                        WriteEntry(zip, name, bytes);
                    }
                }

                File.Move(temp, full, overwrite: true);
                return;
            }

            if (File.Exists(full))
            {
                throw new BundleException(path, null, "a file exists at this path; a bundle directory (or a path ending in .zip) is needed");
            }

            Directory.CreateDirectory(temp);
            File.WriteAllBytes(Path.Combine(temp, ManifestFile), manifestBytes);
            foreach (var (name, bytes) in _files)
            {
                File.WriteAllBytes(Path.Combine(temp, name), bytes);
            }

            if (Directory.Exists(full))
            {
                var old = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
                Directory.Move(full, old);
                Directory.Move(temp, full);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, full);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException(path, null, $"cannot write the bundle: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
            else if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>
    /// Reads a bundle directory or zip. Checks, in order: the format version, the detector kind, that
    /// every listed file exists with the listed size and SHA-256, then parses the files.
    /// </summary>
    /// <exception cref="BundleException">Anything is missing, unknown, modified, truncated or malformed.</exception>
    public static ModelBundle Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var source = BundleSource.Open(path);
        byte[]? manifestBytes;
        try
        {
            manifestBytes = source.Read(ManifestFile, MaxManifestBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} cannot be read: {e.Message}", e);
        }

        if (manifestBytes is null)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is missing; this is not a model bundle");
        }

        if (manifestBytes.LongLength > MaxManifestBytes)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is larger than {MaxManifestBytes} bytes");
        }

        var manifest = ReadManifest(path, manifestBytes);

        string[] required = manifest.DetectorKind switch
        {
            IsolationForestModel.DetectorKind or AutoencoderModel.DetectorKind or LightGbmModel.DetectorKind => [TransformFile, WeightsFile(manifest.DetectorKind)],
            OnnxModel.DetectorKind => [TransformFile, OnnxFile, OnnxSchemaFile],
            _ => throw new BundleException(path, ManifestFile,
                $"{ManifestFile} names the unknown detector kind '{manifest.DetectorKind}'; this Vigil reads: {string.Join(", ", KnownKinds)}"),
        };
        foreach (var name in required)
        {
            if (!manifest.Files.ContainsKey(name))
            {
                throw new BundleException(path, ManifestFile, $"{ManifestFile} does not list {name}, which a '{manifest.DetectorKind}' bundle needs");
            }
        }

        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, expected) in manifest.Files)
        {
            files[name] = ReadVerified(source, path, name, expected);
        }

        var transform = ReadTransform(path, files[TransformFile]);
        var weightsFile = WeightsFile(manifest.DetectorKind);
        IDetectorModel detector;
        try
        {
            detector = manifest.DetectorKind switch
            {
                IsolationForestModel.DetectorKind => IsolationForestModel.Read(files[weightsFile]),
                AutoencoderModel.DetectorKind => AutoencoderModel.Read(files[weightsFile]),
                LightGbmModel.DetectorKind => LightGbmModel.Read(files[weightsFile]),
                OnnxModel.DetectorKind => ReadOnnx(path, files),
                _ => throw new BundleException(path, ManifestFile, $"unknown detector kind '{manifest.DetectorKind}'"),
            };
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(path, weightsFile, $"{weightsFile} {e.Message}", e);
        }

        try
        {
            CheckConsistency(path, manifest, transform, detector);
        }
        catch (BundleException)
        {
            (detector as IDisposable)?.Dispose();
            throw;
        }

        return new ModelBundle(manifest, transform, detector, files);
    }

    /// <summary>The weights file of a detector kind (the kind must be known).</summary>
    private static string WeightsFile(string kind) => kind switch
    {
        IsolationForestModel.DetectorKind => ForestFile,
        AutoencoderModel.DetectorKind => AutoencoderFile,
        LightGbmModel.DetectorKind => LightGbmFile,
        OnnxModel.DetectorKind => OnnxFile,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown detector kind."),
    };

    private static OnnxModel ReadOnnx(string path, Dictionary<string, byte[]> files)
    {
        OnnxSchema schema;
        try
        {
            schema = OnnxSchema.Parse(files[OnnxSchemaFile], OnnxSchemaFile);
        }
        catch (OnnxModelException e)
        {
            throw new BundleException(path, OnnxSchemaFile, e.Message, e);
        }

        if (schema.Threshold is null)
        {
            throw new BundleException(path, OnnxSchemaFile, $"{OnnxSchemaFile} has no threshold");
        }

        try
        {
            return OnnxModel.Create(files[OnnxFile], schema, OnnxFile, OnnxSchemaFile);
        }
        catch (OnnxModelException e)
        {
            throw new BundleException(path, e.Key is null ? OnnxFile : OnnxSchemaFile, e.Message, e);
        }
    }

    private static ModelBundle Assemble(BundleManifest manifest, FeatureTransform transform, IDetectorModel detector)
    {
        var transformBytes = JsonSerializer.SerializeToUtf8Bytes(transform.ToDocument(), BundleJsonContext.Default.TransformDocument);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [TransformFile] = transformBytes };
        switch (detector)
        {
            case IsolationForestModel forest: files[ForestFile] = forest.ToBytes(); break;
            case AutoencoderModel autoencoder: files[AutoencoderFile] = autoencoder.ToBytes(); break;
            case LightGbmModel lightGbm: files[LightGbmFile] = lightGbm.ToBytes(); break;
            case OnnxModel onnx:
                files[OnnxFile] = onnx.ModelBytes;
                files[OnnxSchemaFile] = onnx.Schema.ToJson();
                break;
            default: throw new InvalidOperationException($"Unknown detector kind '{detector.Kind}'.");
        }

        var hashes = new Dictionary<string, BundleFile>(StringComparer.Ordinal);
        foreach (var (name, bytes) in files)
        {
            hashes[name] = new BundleFile(Sha256Hex(bytes), bytes.LongLength);
        }

        var full = manifest with
        {
            FormatVersion = BundleManifest.CurrentFormatVersion,
            FeatureSchema = [.. transform.InputSchema],
            Transform = new TransformSummary
            {
                Scaling = transform.Scaling,
                MissingPolicy = transform.MissingPolicy,
                MaxCategories = transform.MaxCategories,
                OutputColumns = [.. transform.OutputColumns],
            },
            Threshold = detector.Threshold,
            Files = hashes,
        };
        return new ModelBundle(full, transform, detector, files);
    }

    private void ScoreInto(Frame frame, double[] scores)
    {
        var n = frame.RowCount;
        var bound = Transform.Bind(frame); // checks the schema even for an empty frame
        try
        {
            if (n == 0)
            {
                return;
            }

            var chunks = (n + ChunkRows - 1) / ChunkRows;
            if (chunks == 1)
            {
                ScoreChunk(bound, 0, n, scores);
                return;
            }

            try
            {
                Parallel.For(0, chunks, c =>
                {
                    var start = c * ChunkRows;
                    ScoreChunk(bound, start, Math.Min(ChunkRows, n - start), scores);
                });
            }
            catch (AggregateException e)
            {
                // Chunks run in any order and stop at the first failure: redo them in order so the
                // caller always hears about the earliest bad row, as from a sequential pass.
                for (var c = 0; c < chunks; c++)
                {
                    var start = c * ChunkRows;
                    ScoreChunk(bound, start, Math.Min(ChunkRows, n - start), scores);
                }

                ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
        }
        finally
        {
            bound.Dispose();
        }
    }

    private void ScoreChunk(FeatureTransform.BoundFrame bound, int start, int count, double[] scores)
    {
        var width = Transform.OutputCount;
        var buffer = ArrayPool<float>.Shared.Rent(count * width);
        try
        {
            Transform.TransformRows(bound, start, count, buffer);
            var output = scores.AsSpan(start, count);
            if (Detector is IsolationForestModel forest)
            {
                forest.ScoreRows(buffer.AsSpan(0, count * width), count, output);
            }
            else if (Detector is IRowScorer scorer)
            {
                scorer.ScoreRows(buffer.AsSpan(0, count * width), count, output);
            }
            else
            {
                Detector.Score(new FeatureMatrix(buffer, count, Transform.OutputColumns), output);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static BundleManifest ReadManifest(string path, byte[] bytes)
    {
        // The version is checked before anything else is interpreted.
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("formatVersion", out var version)
                || version.ValueKind != JsonValueKind.Number)
            {
                throw new BundleException(path, ManifestFile, $"{ManifestFile} has no numeric formatVersion; this is not a Vigil model bundle");
            }

            if (!version.TryGetInt32(out var v) || v != BundleManifest.CurrentFormatVersion)
            {
                throw new BundleException(path, ManifestFile,
                    $"{ManifestFile} has format version {version.GetRawText()}; this Vigil reads only version {BundleManifest.CurrentFormatVersion}");
            }
        }
        catch (JsonException e)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is not valid JSON ({e.Message})", e);
        }

        BundleManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, BundleJsonContext.Default.BundleManifest);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is malformed ({e.Message})", e);
        }

        if (manifest is null || string.IsNullOrEmpty(manifest.DetectorKind) || manifest.Files is null
            || manifest.FeatureSchema is null || manifest.Transform is null || manifest.Metrics is null || manifest.Parameters is null)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} lacks detectorKind, files, featureSchema, transform, metrics or parameters");
        }

        return manifest;
    }

    private static byte[] ReadVerified(BundleSource source, string path, string name, BundleFile expected)
    {
        if (!IsSafeFileName(name) || string.Equals(name, ManifestFile, StringComparison.Ordinal))
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} lists the invalid file name '{name}'");
        }

        if (expected is null || expected.Size < 0 || expected.Sha256 is null)
        {
            throw new BundleException(path, name, $"{ManifestFile} has no size or SHA-256 for {name}");
        }

        byte[]? bytes;
        try
        {
            bytes = source.Read(name, expected.Size);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new BundleException(path, name, $"{name} cannot be read: {e.Message}", e);
        }

        if (bytes is null)
        {
            throw new BundleException(path, name, $"{name} is missing (listed in {ManifestFile})");
        }

        if (bytes.LongLength != expected.Size)
        {
            throw new BundleException(path, name,
                string.Create(CultureInfo.InvariantCulture, $"{name} has {bytes.LongLength}{(bytes.LongLength > expected.Size ? "+" : string.Empty)} bytes but {ManifestFile} says {expected.Size}; the bundle was truncated, modified or corrupted"));
        }

        var actual = Sha256Hex(bytes);
        if (!string.Equals(actual, expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BundleException(path, name,
                $"{name} SHA-256 mismatch ({ManifestFile} says {expected.Sha256}, file is {actual}); the bundle was modified or corrupted");
        }

        return bytes;
    }

    private static FeatureTransform ReadTransform(string path, byte[] bytes)
    {
        try
        {
            var doc = JsonSerializer.Deserialize(bytes, BundleJsonContext.Default.TransformDocument)
                ?? throw new InvalidDataException("is empty");
            return FeatureTransform.FromDocument(doc);
        }
        catch (JsonException e)
        {
            throw new BundleException(path, TransformFile, $"{TransformFile} is not valid JSON ({e.Message})", e);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(path, TransformFile, $"{TransformFile} {e.Message}", e);
        }
    }

    private static void CheckConsistency(string path, BundleManifest manifest, FeatureTransform transform, IDetectorModel detector)
    {
        if (detector.FeatureCount != transform.OutputCount)
        {
            var weightsFile = WeightsFile(manifest.DetectorKind);
            throw new BundleException(path, weightsFile,
                $"{weightsFile} expects {detector.FeatureCount} features but {TransformFile} produces {transform.OutputCount}");
        }

        if (detector is OnnxModel onnx)
        {
            var outputs = transform.OutputColumns;
            for (var i = 0; i < outputs.Count; i++)
            {
                if (!string.Equals(outputs[i], onnx.Schema.Features[i], StringComparison.Ordinal))
                {
                    throw new BundleException(path, OnnxSchemaFile, $"the features of {OnnxSchemaFile} differ from the inputs of {TransformFile} ('{onnx.Schema.Features[i]}' vs '{outputs[i]}')");
                }
            }
        }

        var schema = transform.InputSchema;
        var listed = manifest.FeatureSchema;
        var same = listed.Count == schema.Count;
        for (var i = 0; same && i < schema.Count; i++)
        {
            same = listed[i] is not null && listed[i].Equals(schema[i]);
        }

        if (!same)
        {
            throw new BundleException(path, ManifestFile, $"the featureSchema in {ManifestFile} does not match the inputs of {TransformFile}");
        }

        if (BitConverter.DoubleToInt64Bits(manifest.Threshold) != BitConverter.DoubleToInt64Bits(detector.Threshold))
        {
            throw new BundleException(path, ManifestFile,
                string.Create(CultureInfo.InvariantCulture, $"the threshold in {ManifestFile} ({manifest.Threshold:R}) differs from the one in the detector weights ({detector.Threshold:R}); use ModelBundle.WithThreshold to change it"));
        }
    }

    private static bool IsSafeFileName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name is "." or "..")
        {
            return false;
        }

        foreach (var ch in name)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
