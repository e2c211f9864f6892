using System.Buffers;
using System.Text.Json;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// A fitted model as data, immutable: the feature transform, the detector, the manifest and (format v2, trained on
/// data) the reference profile. It scores, explains and decides; <see cref="BundleTrainer"/> makes one, and
/// <see cref="Save"/> / <see cref="Load(string)"/> write and read it (one loader per format version). Saved as a directory or
/// a <c>.zip</c> holding <c>bundle.json</c> (manifest with the SHA-256 and size of every other file),
/// <c>transform.json</c>, <c>profile.json</c> (v2) and the detector's weights under the file names its kind's
/// <see cref="DetectorDescriptor.WeightFiles"/> give (<c>forest.bin</c> for <c>iforest</c>, <c>autoencoder.bin</c> for
/// <c>autoencoder</c>, <c>lightgbm.bin</c> for <c>lightgbm</c>, <c>model.onnx</c> and <c>onnx.json</c> for <c>onnx</c>).
/// Loading checks the format version first, maps the detector kind to a registered reader (never a type named by
/// the file), and verifies every hash before parsing. Save then load gives bit-identical scores.
/// </summary>
public sealed class ModelBundle
{
    /// <summary>The manifest file name.</summary>
    public const string ManifestFile = "bundle.json";

    /// <summary>The fitted transform file name.</summary>
    public const string TransformFile = "transform.json";

    /// <summary>The reference profile file name (format v2; see <see cref="ReferenceProfile"/>).</summary>
    public const string ProfileFile = "profile.json";

    /// <summary>
    /// The score calibrator file name (format v2, supervised kinds trained with validation rows; see
    /// <see cref="IsotonicCalibrator"/>): what CBPE estimates performance from before labels arrive.
    /// </summary>
    public const string CalibrationFile = "calibration.json";

    /// <summary>
    /// The signature file name: an ECDSA P-256 signature of the exact bytes of <c>bundle.json</c> (see
    /// <see cref="BundleSigner"/>). It is not listed in the manifest; a bundle without it is unsigned.
    /// </summary>
    public const string SignatureFile = "signature.json";

    /// <summary>The isolation-forest weights file name.</summary>
    public const string ForestFile = IsolationForestDescriptor.WeightsFile;

    /// <summary>The autoencoder weights file name.</summary>
    public const string AutoencoderFile = AutoencoderDescriptor.WeightsFile;

    /// <summary>The LightGBM ensemble file name.</summary>
    public const string LightGbmFile = LightGbmDescriptor.WeightsFile;

    /// <summary>The ONNX model file name (<c>onnx</c> bundles).</summary>
    public const string OnnxFile = OnnxDescriptor.ModelFile;

    /// <summary>The ONNX schema file name (<c>onnx</c> bundles): <see cref="OnnxSchema"/> as JSON, threshold included.</summary>
    public const string OnnxSchemaFile = OnnxDescriptor.SchemaFile;

    private readonly Dictionary<string, byte[]> _files;

    internal ModelBundle(BundleManifest manifest, FeatureTransform transform, IDetectorModel detector, DetectorDescriptor descriptor, ReferenceProfile? profile, Dictionary<string, byte[]> files, IsotonicCalibrator? calibrator = null)
    {
        Calibrator = calibrator;
        Manifest = manifest;
        Transform = transform;
        Detector = detector;
        Descriptor = descriptor;
        Profile = profile;
        _files = files;
    }

    /// <summary>The detector kinds this build trains and reads: every kind registered in <see cref="DetectorCatalog"/>.</summary>
    public static IReadOnlyList<string> KnownKinds => DetectorCatalog.Kinds;


    /// <summary>The manifest (contents of <c>bundle.json</c>).</summary>
    public BundleManifest Manifest { get; }

    /// <summary>The fitted feature transform.</summary>
    public FeatureTransform Transform { get; }

    /// <summary>The detector.</summary>
    public IDetectorModel Detector { get; }

    /// <summary>The registered kind of <see cref="Detector"/>.</summary>
    public DetectorDescriptor Descriptor { get; }

    /// <summary>
    /// What the training (and validation) rows and their scores looked like, for drift and monitoring: null for
    /// format-v1 bundles and for ONNX bundles made without data (<see cref="FromOnnx"/>).
    /// </summary>
    public ReferenceProfile? Profile { get; }

    /// <summary>
    /// The isotonic calibrator of the scores fitted on held-out labelled rows at training time (supervised kinds trained
    /// with validation rows), or null: unsupervised kinds, supervised bundles trained without validation rows, and
    /// bundles written before calibrators existed. Performance can be estimated before labels arrive (CBPE) only with one.
    /// </summary>
    public IsotonicCalibrator? Calibrator { get; }

    /// <summary>Every file of the bundle but <c>bundle.json</c>, by name (what <see cref="Save"/> writes).</summary>
    internal IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <summary>Scores strictly above this are anomalies.</summary>
    public double Threshold => Manifest.Threshold;

    /// <summary>True when <paramref name="score"/> is above <see cref="Threshold"/> (the one comparison: see <see cref="Decide"/>).</summary>
    public bool IsAnomaly(double score) => score > Manifest.Threshold;

    /// <summary>
    /// The label of <paramref name="score"/>: 1 (anomaly) when it is strictly greater than <see cref="Threshold"/>, else
    /// 0 (a NaN score is 0). The same comparison as <see cref="IsAnomaly"/>.
    /// </summary>
    public int Decide(double score) => IsAnomaly(score) ? 1 : 0;

    /// <summary>Fits a bundle on <paramref name="data"/>: the same as <c>new BundleTrainer(spec, time).Fit(data)</c>.</summary>
    /// <param name="data">Training rows.</param>
    /// <param name="spec">What to train.</param>
    /// <param name="time">Clock for <see cref="BundleManifest.CreatedUtc"/>; the system clock when null.</param>
    public static ModelBundle Train(Frame data, TrainSpec spec, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new BundleTrainer(spec, time).Fit(data);
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
        var descriptor = DetectorCatalog.Get(OnnxModel.DetectorKind);
        var transform = OnnxDescriptor.TransformOf(model);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = OnnxModel.DetectorKind };
        descriptor.DescribeModel(model, parameters);
        var manifest = new BundleManifest
        {
            DetectorKind = OnnxModel.DetectorKind,
            CreatedUtc = (time ?? TimeProvider.System).GetUtcNow(),
            TrainingRunId = trainingRunId,
            Parameters = parameters,
        };
        return BundleWriter.Assemble(manifest, transform, model, descriptor, profile: null);
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

        return Explained(explainer, features, top, scoring: false, out _)!;
    }

    /// <summary>
    /// True when the detector scores a row while explaining it (<see cref="TryScoreAndExplain"/>): one walk for both.
    /// </summary>
    public bool ScoresWhileExplaining => FusedExplainer is not null;

    private IExplainableDetector? FusedExplainer => Detector is IExplainableDetector { ScoresWhileExplaining: true } explainer ? explainer : null;

    /// <summary>
    /// The detector's score of one transformed row (exactly what <see cref="IDetectorModel.Score"/> gives it) and its
    /// <paramref name="top"/> reasons as <see cref="ExplainFeatures"/> gives them, from one pass over the model; false
    /// (nothing computed) when the detector cannot do both at once (<see cref="ScoresWhileExplaining"/>).
    /// </summary>
    public bool TryScoreAndExplain(ReadOnlySpan<float> features, int top, out double score, out IReadOnlyList<FeatureContribution> reasons)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        score = double.NaN;
        var found = FusedExplainer is { } explainer ? Explained(explainer, features, top, scoring: true, out score) : null;
        reasons = found ?? [];
        return found is not null;
    }

    /// <summary>
    /// The top reasons of one transformed row from <paramref name="explainer"/>'s contributions, and with
    /// <paramref name="scoring"/> its score from the same pass (null when the explainer cannot score while explaining).
    /// </summary>
    private IReadOnlyList<FeatureContribution>? Explained(IExplainableDetector explainer, ReadOnlySpan<float> features, int top, bool scoring, out double score)
    {
        var width = Transform.OutputCount;
        if (features.Length != width)
        {
            throw new ArgumentException($"Expected {width} features, got {features.Length}.", nameof(features));
        }

        var inputs = Transform.InputSchema.Count;
        var contributions = ArrayPool<double>.Shared.Rent(width + inputs);
        try
        {
            score = double.NaN;
            if (!scoring)
            {
                explainer.Contributions(features, contributions.AsSpan(0, width));
            }
            else if (!explainer.TryScoreWithContributions(features, contributions.AsSpan(0, width), out score))
            {
                return null;
            }

            return top == 0 ? [] : TopContributions(contributions, width, inputs, top);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(contributions);
        }
    }

    /// <summary>
    /// The <paramref name="top"/> input columns by absolute contribution from per-feature <paramref name="contributions"/>
    /// (the first <paramref name="width"/> values; the next <paramref name="inputs"/> are scratch).
    /// </summary>
    private FeatureContribution[] TopContributions(double[] contributions, int width, int inputs, int top)
    {
        {

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

        return new ModelBundle(Manifest with { Metrics = merged }, Transform, Detector, Descriptor, Profile, _files, Calibrator);
    }

    /// <summary>
    /// A copy with <paramref name="calibrator"/> stored as <c>calibration.json</c> (or without one, when null); the
    /// manifest lists the file with its SHA-256 and records the method and the calibration rows in its parameters.
    /// </summary>
    public ModelBundle WithCalibrator(IsotonicCalibrator? calibrator)
    {
        var parameters = new Dictionary<string, string>(Manifest.Parameters, StringComparer.Ordinal);
        parameters.Remove("calibration");
        parameters.Remove("calibrationRows");
        if (calibrator is not null)
        {
            parameters["calibration"] = IsotonicCalibrator.Method;
            parameters["calibrationRows"] = calibrator.Rows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return BundleWriter.Assemble(Manifest with { Parameters = parameters }, Transform, Detector, Descriptor, Profile, calibrator);
    }

    /// <summary>A copy with another decision threshold (e.g. chosen on validation data); the weights file is rewritten.</summary>
    public ModelBundle WithThreshold(double threshold)
    {
        if (!double.IsFinite(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be finite.");
        }

        return BundleWriter.Assemble(Manifest, Transform, Descriptor.WithThreshold(Detector, threshold), Descriptor, Profile, Calibrator);
    }

    /// <summary>
    /// Writes the bundle to <paramref name="path"/>: a zip archive when the path ends with <c>.zip</c>, otherwise a
    /// directory. The bundle is written to a temporary sibling first and renamed into place. Nothing a user owns is
    /// replaced: a path that holds anything but a Vigil bundle (a folder with other files, an empty folder excepted; a
    /// file that is not a bundle zip) is refused, and an existing bundle is replaced only when
    /// <paramref name="overwrite"/> is true (then the old bundle's own files are removed, nothing else).
    /// </summary>
    /// <exception cref="BundleException">The path holds something else, or a bundle without <paramref name="overwrite"/>, or cannot be written.</exception>
    public void Save(string path, bool overwrite = false) => BundleWriter.Save(this, path, overwrite);

    /// <summary>
    /// Checks, without writing anything, that <see cref="Save"/> to <paramref name="path"/> with
    /// <paramref name="overwrite"/> would not be refused: call it before expensive work whose result goes there.
    /// </summary>
    /// <exception cref="BundleException">The path holds something other than a Vigil bundle, or a bundle without <paramref name="overwrite"/>.</exception>
    public static void CheckSaveTarget(string path, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        BundleWriter.CheckTarget(path, full, full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase), overwrite);
    }

    /// <summary>
    /// Reads a bundle directory or zip. Checks, in order: the format version, the detector kind, that
    /// every listed file exists with the listed size and SHA-256, then parses the files.
    /// </summary>
    /// <remarks>
    /// Applies the process environment's bundle settings (<see cref="BundleLoadOptions.FromEnvironment"/>): the size caps
    /// <c>VIGIL_BUNDLE_MAX_FILE_BYTES</c> / <c>VIGIL_BUNDLE_MAX_BYTES</c> and, when <c>VIGIL_TRUSTED_KEYS</c> is set, a
    /// signature by one of those keys.
    /// </remarks>
    /// <exception cref="BundleException">Anything is missing, unknown, modified, truncated, malformed, too large, or (with
    /// trusted keys) unsigned or not signed by a trusted key.</exception>
    /// <exception cref="BundleSettingsException">A bundle setting in the environment is invalid.</exception>
    public static ModelBundle Load(string path) => BundleReader.Load(path, BundleLoadOptions.FromEnvironment());

    /// <summary>
    /// Reads a bundle directory or zip as <see cref="Load(string)"/> does, with explicit <paramref name="options"/>
    /// (size caps, trusted keys) instead of the environment's. The signature, when required, is checked first, then
    /// the format version, the detector kind, the declared and actual file sizes against the caps, then every file's
    /// size and SHA-256, then the files are parsed.
    /// </summary>
    /// <exception cref="BundleException">Anything is missing, unknown, modified, truncated, malformed, too large, or (with
    /// trusted keys) unsigned or not signed by a trusted key.</exception>
    public static ModelBundle Load(string path, BundleLoadOptions options) => BundleReader.Load(path, options);

    private void ScoreInto(Frame frame, double[] scores)
    {
        var bound = Transform.Bind(frame); // checks the schema even for an empty frame
        try
        {
            RowBlocks.ForEachChunk(frame.RowCount, null, (Bundle: this, Bound: bound, Scores: scores),
                static (state, start, count) => state.Bundle.ScoreChunk(state.Bound, start, count, state.Scores));
        }
        finally
        {
            bound.Dispose();
        }
    }

    private void ScoreChunk(FeatureTransform.BoundFrame bound, int start, int count, double[] scores)
    {
        var width = Transform.OutputCount;
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(1, count * width));
        try
        {
            Transform.TransformRows(bound, start, count, buffer);
            var output = scores.AsSpan(start, count);
            if (Detector is IRowScorer scorer)
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
}
