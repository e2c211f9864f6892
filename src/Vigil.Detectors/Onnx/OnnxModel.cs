using System.Buffers;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Vigil.Detectors;

/// <summary>
/// A model trained elsewhere (PyTorch, scikit-learn via skl2onnx, ...) and exported to ONNX, scored by ONNX Runtime
/// as a Vigil detector. The features named in <see cref="OnnxSchema.Features"/> are fed, as float32 and in that
/// order, to the input tensor <see cref="OnnxSchema.Input"/> (shape <c>[N, features]</c>) without any Vigil scaling:
/// the model carries its own preprocessing. The score is the output tensor <see cref="OnnxSchema.Output"/>
/// (<c>[N]</c>, or one column of <c>[N, K]</c>), negated when <see cref="OnnxSchema.HigherIsAnomalous"/> is false.
/// One <see cref="InferenceSession"/> per model, created once; scoring is thread-safe. Rows are sent in
/// batches of at most <see cref="MaxBatchRows"/>; each run uses one thread (Vigil parallelises over row chunks).
/// </summary>
public sealed class OnnxModel : IDetectorModel, IRowScorer, IDisposable
{
    /// <summary>The detector kind stored in bundles.</summary>
    public const string DetectorKind = "onnx";

    /// <summary>The threshold when neither the schema nor training data give one (as <c>--contamination auto</c>).</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>The most rows sent to ONNX Runtime in one run.</summary>
    public const int MaxBatchRows = 8192;

    private readonly byte[] _model;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int _column;
    private readonly double _sign;
    private int _disposed;

    private OnnxModel(byte[] model, InferenceSession session, OnnxSchema schema, int column)
    {
        _model = model;
        _session = session;
        _runOptions = new RunOptions();
        Schema = schema;
        _inputNames = [schema.Input];
        _outputNames = [schema.Output];
        _column = column;
        _sign = schema.HigherIsAnomalous ? 1.0 : -1.0;
        Threshold = schema.Threshold ?? DefaultThreshold;
    }

    /// <inheritdoc />
    public string Kind => DetectorKind;

    /// <inheritdoc />
    public int FeatureCount => Schema.Features.Count;

    /// <inheritdoc />
    public double Threshold { get; }

    /// <summary>The schema, with <see cref="OnnxSchema.Threshold"/> always set (to <see cref="Threshold"/>).</summary>
    public OnnxSchema Schema { get; }

    /// <summary>The SHA-256 (lower-case hex) of the ONNX model bytes.</summary>
    public string ModelSha256 => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_model));

    /// <summary>The ONNX model bytes (as written to a bundle's <c>model.onnx</c>).</summary>
    internal byte[] ModelBytes => _model;

    /// <summary>Reads an ONNX file and checks it against <paramref name="schema"/>.</summary>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="schema">How the model maps onto named features.</param>
    /// <param name="schemaSource">The schema file, named in errors about a schema key.</param>
    /// <exception cref="OnnxModelException">The file is missing or not a valid ONNX model, or it does not match the schema.</exception>
    public static OnnxModel Load(string modelPath, OnnxSchema schema, string schemaSource = "schema")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(modelPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxModelException(modelPath, null, e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : $"cannot be read: {e.Message}", e);
        }

        return Create(bytes, schema, modelPath, schemaSource);
    }

    /// <summary>
    /// Opens an ONNX model from its bytes and checks it against <paramref name="schema"/>: the input exists, is the
    /// model's only input, is float32 with shape <c>[N, features]</c> (dynamic sizes allowed); the output exists, is a
    /// float32 or float64 tensor of shape <c>[N]</c> or <c>[N, K]</c> with <see cref="OnnxSchema.OutputColumn"/> in
    /// range (required when K &gt; 1); and a one-row run returns one value per row.
    /// </summary>
    /// <exception cref="OnnxModelException">The bytes are not a valid ONNX model, or the model does not match the schema (the message names the key).</exception>
    public static OnnxModel Create(byte[] model, OnnxSchema schema, string modelSource = "model.onnx", string schemaSource = "schema")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(schema);
        var session = OnnxSessions.Open(model, (line, e) => new OnnxModelException(modelSource, null, $"is not a valid ONNX model ({line})", e));
        try
        {
            var column = Check(session, schema, modelSource, schemaSource);
            var result = new OnnxModel(model, session, schema with { Threshold = schema.Threshold ?? DefaultThreshold }, column);
            try
            {
                result.TrialRun(modelSource, schemaSource);
            }
            catch
            {
                result.Dispose();
                throw;
            }

            return result;
        }
        catch (OnnxModelException)
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A copy with another threshold (a new session over the same model bytes).</summary>
    public OnnxModel WithThreshold(double threshold)
    {
        if (!double.IsFinite(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be finite.");
        }

        return Create(_model, Schema with { Threshold = threshold }, "model.onnx", "onnx.json");
    }

    /// <summary>Scores every row of <paramref name="x"/> (columns in <see cref="OnnxSchema.Features"/> order).</summary>
    public double[] Score(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var scores = new double[x.Rows];
        Score(x, scores);
        return scores;
    }

    /// <inheritdoc />
    /// <exception cref="OnnxModelException">ONNX Runtime fails, or the output does not have one value per row.</exception>
    public void Score(FeatureMatrix x, Span<double> scores)
    {
        ArgumentNullException.ThrowIfNull(x);
        RowBlocks.CheckShape(FeatureCount, x, scores.Length);

        RowBlocks.Score(this, x, null, scores);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _session.Dispose();
            _runOptions.Dispose();
        }
    }

    /// <summary>Scores row-major rows on the calling thread, in runs of at most <see cref="MaxBatchRows"/> rows.</summary>
    void IRowScorer.ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores)
    {
        var d = FeatureCount;
        for (var start = 0; start < rows; start += MaxBatchRows)
        {
            var count = Math.Min(MaxBatchRows, rows - start);
            Run(data.Slice(start * d, count * d), count, scores.Slice(start, count), "model.onnx");
        }
    }

    private void Run(ReadOnlySpan<float> rows, int count, Span<double> scores, string modelSource)
    {
        var d = FeatureCount;
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(1, count * d));
        try
        {
            rows.CopyTo(buffer);
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(buffer, 0, count * d), [count, d]);
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _session.Run(_runOptions, _inputNames, [input], _outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxModelException(modelSource, null, string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime failed on a batch of {count} rows: {FirstLine(e.Message)}"), e);
            }

            using (outputs)
            {
                ReadScores(outputs[0], count, scores, modelSource);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private void ReadScores(OrtValue output, int count, Span<double> scores, string modelSource)
    {
        var info = output.GetTensorTypeAndShape();
        var shape = info.Shape;
        var width = shape.Length == 2 ? shape[1] : 1;
        if (shape.Length is not (1 or 2) || shape[0] != count || _column >= width || (shape.Length == 2 && width > 1 && Schema.OutputColumn is null))
        {
            throw new OnnxModelException(modelSource, "output",
                string.Create(CultureInfo.InvariantCulture, $"'{Schema.Output}' returned shape [{string.Join(", ", shape)}] for {count} rows; expected [{count}] or [{count}, K] with output_column < K"));
        }

        var stride = (int)width;
        if (info.ElementDataType == TensorElementType.Float)
        {
            var values = output.GetTensorDataAsSpan<float>();
            for (var r = 0; r < count; r++)
            {
                scores[r] = _sign * values[(r * stride) + _column];
            }
        }
        else
        {
            var values = output.GetTensorDataAsSpan<double>();
            for (var r = 0; r < count; r++)
            {
                scores[r] = _sign * values[(r * stride) + _column];
            }
        }
    }

    private void TrialRun(string modelSource, string schemaSource)
    {
        Span<float> zeros = stackalloc float[FeatureCount];
        Span<double> score = stackalloc double[1];
        try
        {
            Run(zeros, 1, score, modelSource);
        }
        catch (OnnxModelException e) when (e.Key is not null)
        {
            throw new OnnxModelException(schemaSource, e.Key, $"does not fit the model: {e.Message}", e);
        }
    }

    /// <summary>Checks the model's inputs and outputs against the schema; returns the output column to read.</summary>
    private static int Check(InferenceSession session, OnnxSchema schema, string modelSource, string schemaSource)
    {
        if (schema.Features.Count == 0)
        {
            throw new OnnxModelException(schemaSource, "features", "must list at least one feature");
        }

        var inputs = session.InputMetadata;
        if (!inputs.TryGetValue(schema.Input, out var input))
        {
            throw new OnnxModelException(schemaSource, "input", $"names '{schema.Input}', which is not an input of {modelSource}; its inputs: {Describe(inputs)}");
        }

        if (inputs.Count > 1)
        {
            throw new OnnxModelException(schemaSource, "input", $"names '{schema.Input}' but {modelSource} has {inputs.Count} inputs ({Describe(inputs)}); Vigil feeds exactly one");
        }

        if (!input.IsTensor || input.ElementDataType != TensorElementType.Float)
        {
            throw new OnnxModelException(schemaSource, "input", $"'{schema.Input}' is {Describe(input)}; Vigil feeds a float32 tensor [N, features]");
        }

        var dims = input.Dimensions;
        if (dims.Length != 2)
        {
            throw new OnnxModelException(schemaSource, "input", $"'{schema.Input}' has shape {Shape(input)}; Vigil feeds a 2-D tensor [N, features]");
        }

        if (dims[1] >= 0 && dims[1] != schema.Features.Count)
        {
            throw new OnnxModelException(schemaSource, "features",
                string.Create(CultureInfo.InvariantCulture, $"lists {schema.Features.Count} feature(s) but input '{schema.Input}' has shape {Shape(input)}, i.e. {dims[1]} features"));
        }

        var outputs = session.OutputMetadata;
        if (!outputs.TryGetValue(schema.Output, out var output))
        {
            throw new OnnxModelException(schemaSource, "output", $"names '{schema.Output}', which is not an output of {modelSource}; its outputs: {Describe(outputs)}");
        }

        if (!output.IsTensor)
        {
            throw new OnnxModelException(schemaSource, "output",
                $"'{schema.Output}' is {Describe(output)}, not a tensor (for skl2onnx classifiers, convert with options={{'zipmap': False}})");
        }

        if (output.ElementDataType is not (TensorElementType.Float or TensorElementType.Double))
        {
            throw new OnnxModelException(schemaSource, "output", $"'{schema.Output}' is {Describe(output)}; the score must be a float32 or float64 tensor");
        }

        var outDims = output.Dimensions;
        if (outDims.Length is not (1 or 2))
        {
            throw new OnnxModelException(schemaSource, "output", $"'{schema.Output}' has shape {Shape(output)}; expected [N] or [N, K]");
        }

        var width = outDims.Length == 2 ? outDims[1] : 1;
        if (schema.OutputColumn is { } column)
        {
            if (outDims.Length == 1 && column != 0)
            {
                throw new OnnxModelException(schemaSource, "output_column",
                    string.Create(CultureInfo.InvariantCulture, $"is {column} but output '{schema.Output}' has shape {Shape(output)} (one value per row)"));
            }

            if (width >= 0 && column >= width)
            {
                throw new OnnxModelException(schemaSource, "output_column",
                    string.Create(CultureInfo.InvariantCulture, $"is {column} but output '{schema.Output}' has shape {Shape(output)}, i.e. {width} columns"));
            }

            return column;
        }

        if (width > 1)
        {
            throw new OnnxModelException(schemaSource, "output_column",
                string.Create(CultureInfo.InvariantCulture, $"is missing: output '{schema.Output}' has shape {Shape(output)}; say which of its {width} columns is the score (e.g. 1 for P(fraud))"));
        }

        return 0;
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes)
    {
        var parts = new List<string>(nodes.Count);
        foreach (var (name, node) in nodes)
        {
            parts.Add($"'{name}' {Describe(node)}");
        }

        return string.Join(", ", parts);
    }

    private static string Describe(NodeMetadata node) => node.IsTensor
        ? $"{ElementName(node.ElementDataType)} {Shape(node)}"
        : node.OnnxValueType switch
        {
            OnnxValueType.ONNX_TYPE_SEQUENCE => "a sequence",
            OnnxValueType.ONNX_TYPE_MAP => "a map",
            _ => node.OnnxValueType.ToString(),
        };

    private static string ElementName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Double => "float64",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.String => "string",
        _ => type.ToString().ToLowerInvariant(),
    };

    private static string Shape(NodeMetadata node)
    {
        var dims = node.Dimensions;
        var symbolic = node.SymbolicDimensions;
        var parts = new string[dims.Length];
        for (var i = 0; i < dims.Length; i++)
        {
            parts[i] = dims[i] >= 0
                ? dims[i].ToString(CultureInfo.InvariantCulture)
                : i < symbolic.Length && !string.IsNullOrEmpty(symbolic[i]) ? symbolic[i] : "?";
        }

        return $"[{string.Join(", ", parts)}]";
    }

    private static string FirstLine(string message) => OnnxSessions.FirstLine(message);
}
