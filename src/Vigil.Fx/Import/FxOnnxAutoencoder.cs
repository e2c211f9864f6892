using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;
using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>
/// A multi-input autoencoder trained in Python (Keras or PyTorch) and exported to ONNX: one float32 input per input group
/// (each categorical's one-hot columns in the scikit-learn encoder's category order, then the min-max numerics), one
/// reconstruction output per group in the same order. The per-group error is the mean squared difference over the
/// group's columns, as the Python reference computes it. A category the encoder never saw is all zeros (scikit-learn's
/// <c>handle_unknown="ignore"</c>): Vigil's "other" one-hot slot is not sent.
/// </summary>
internal sealed class FxOnnxAutoencoder
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private int[][]? _columns;
    private int[]? _gather;
    private int[]? _widths;
    private int _gatherEnd; // one past the largest feature column the gather reads

    private readonly FxDenseForward? _dense;

    private FxOnnxAutoencoder(byte[] model, InferenceSession session, FxOnnxLayout layout)
    {
        ModelBytes = model;
        _session = session;
        Layout = layout;
        _dense = FxDenseForward.TryCreate(model, layout);
        _inputNames = [.. layout.Groups.Select(g => g.Input)];
        _outputNames = [.. layout.Groups.Select(g => g.Output)];
        GroupNames = [.. layout.Groups.Select(g => g.Group)];
    }

    /// <summary>The ONNX model bytes (the bundle's <c>model.onnx</c>).</summary>
    public byte[] ModelBytes { get; }

    /// <summary>How the model's inputs and outputs map onto the feature columns.</summary>
    public FxOnnxLayout Layout { get; }

    /// <summary>The input groups, in model input order.</summary>
    public IReadOnlyList<string> GroupNames { get; }

    /// <summary>
    /// Binds each group to the transform output columns it names (<paramref name="outputColumns"/>: the bundle's
    /// transform); called once the transform is known, before any <see cref="GroupErrors"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A named column is not an output of the transform.</exception>
    public void Bind(IReadOnlyList<string> outputColumns)
    {
        var layout = Layout;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < outputColumns.Count; i++)
        {
            index[outputColumns[i]] = i;
        }

        var columns = new int[layout.Groups.Length][];
        for (var g = 0; g < columns.Length; g++)
        {
            var group = layout.Groups[g];
            columns[g] = new int[group.Columns.Length];
            for (var c = 0; c < group.Columns.Length; c++)
            {
                columns[g][c] = index.TryGetValue(group.Columns[c], out var at)
                    ? at
                    : throw new InvalidDataException($"names the column '{group.Columns[c]}' in group '{group.Group}', which the feature transform does not have");
            }
        }

        _columns = columns;
        _widths = [.. columns.Select(c => c.Length)];
        var gather = new List<int>();
        foreach (var cols in columns)
        {
            gather.AddRange(cols);
        }

        _gather = [.. gather];
        _gatherEnd = gather.Count == 0 ? 0 : gather.Max() + 1;
    }

    /// <summary>Opens <paramref name="model"/>: checks every input and output of <paramref name="layout"/> exists, is float32 and has the group's width.</summary>
    /// <exception cref="InvalidDataException">The model does not match the layout (the message names the input or output).</exception>
    public static FxOnnxAutoencoder Create(byte[] model, FxOnnxLayout layout)
    {
        var session = OnnxSessions.Open(model, (line, e) => new InvalidDataException($"is not a valid ONNX model ({line})", e));
        try
        {
            foreach (var g in layout.Groups)
            {
                Check(session.InputMetadata, "input", g.Input, g.Columns.Length);
                Check(session.OutputMetadata, "output", g.Output, g.Columns.Length);
            }

            if (session.InputMetadata.Count != layout.Groups.Length)
            {
                throw new InvalidDataException($"has {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}) but the layout names {layout.Groups.Length}");
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }

        return new FxOnnxAutoencoder(model, session, layout);
    }

    private static void Check(IReadOnlyDictionary<string, NodeMetadata> metadata, string what, string name, int width)
    {
        if (!metadata.TryGetValue(name, out var m))
        {
            throw new InvalidDataException($"has no {what} '{name}' (it has {string.Join(", ", metadata.Keys)})");
        }

        if (m.ElementType != typeof(float) || m.Dimensions.Length != 2 || (m.Dimensions[1] > 0 && m.Dimensions[1] != width))
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"has {what} '{name}' of {m.ElementType.Name} [{string.Join(", ", m.Dimensions)}]; expected float32 [N, {width}]"));
        }
    }

    /// <summary>Runs every model on ONNX Runtime (for the benchmark's side-by-side timing of both paths; off in the product).</summary>
    internal static bool ForceOnnxRuntime { get; set; }

    /// <summary>True when the model has the dense shape <see cref="FxDenseForward"/> runs natively (otherwise ONNX Runtime runs it).</summary>
    public bool IsNative => _dense is not null;

    /// <summary>
    /// The mean squared reconstruction error of every group for every row of <paramref name="x"/>, row-major (rows × groups):
    /// with the native forward pass when the model has its shape, otherwise with ONNX Runtime.
    /// </summary>
    public void GroupErrors(FeatureMatrix x, Span<double> errors)
    {
        if (_dense is null || ForceOnnxRuntime)
        {
            GroupErrorsOnnxRuntime(x, errors);
            return;
        }

        var columnsOf = _columns ?? throw new InvalidOperationException("The ONNX autoencoder is not bound to a feature transform.");
        var rows = x.Rows;
        var groups = columnsOf.Length;
        var width = _dense.OutputWidth;
        var inputs = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, rows * width));
        var outputs = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, rows * width));
        try
        {
            // Both loops run once per value of the batch: they walk references, the bounds checked once up front
            // (the gather's columns when bound, the buffers' sizes here), and keep the sums' order and float arithmetic.
            var gather = _gather!;
            var columns = x.Columns;
            if (gather.Length != width || _gatherEnd > columns || x.Data.Length < rows * columns)
            {
                throw new InvalidOperationException($"The ONNX autoencoder is bound to other feature columns than the {columns} given.");
            }

            ref var source = ref MemoryMarshal.GetArrayDataReference(x.Data);
            ref var columnOf = ref MemoryMarshal.GetArrayDataReference(gather);
            ref var input = ref MemoryMarshal.GetArrayDataReference(inputs);
            for (var r = 0; r < rows; r++)
            {
                ref var row = ref Unsafe.Add(ref source, r * columns);
                ref var into = ref Unsafe.Add(ref input, r * width);
                for (var c = 0; c < width; c++)
                {
                    Unsafe.Add(ref into, c) = Unsafe.Add(ref row, Unsafe.Add(ref columnOf, c));
                }
            }

            _dense.Reconstruct(inputs.AsSpan(0, rows * width), rows, outputs.AsSpan(0, rows * width));
            ref var output = ref MemoryMarshal.GetArrayDataReference(outputs);
            var error = errors[..(rows * groups)];
            for (var r = 0; r < rows; r++)
            {
                var at = r * width;
                for (var g = 0; g < groups; g++)
                {
                    var w = _widths![g];
                    var sum = 0f;
                    for (var c = 0; c < w; c++)
                    {
                        var diff = Unsafe.Add(ref output, at + c) - Unsafe.Add(ref input, at + c);
                        sum += diff * diff;
                    }

                    error[(r * groups) + g] = w > 0 ? sum / w : 0;
                    at += w;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(inputs);
            System.Buffers.ArrayPool<float>.Shared.Return(outputs);
        }
    }

    /// <summary><see cref="GroupErrors"/> on ONNX Runtime whatever the model's shape (the reference the native pass is checked against).</summary>
    internal void GroupErrorsOnnxRuntime(FeatureMatrix x, Span<double> errors)
    {
        var columnsOf = _columns ?? throw new InvalidOperationException("The ONNX autoencoder is not bound to a feature transform.");
        var rows = x.Rows;
        var groups = columnsOf.Length;
        var buffers = new float[groups][];
        var inputs = new OrtValue[groups];
        try
        {
            for (var g = 0; g < groups; g++)
            {
                var cols = columnsOf[g];
                var w = cols.Length;
                var b = buffers[g] = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, rows * w));
                for (var r = 0; r < rows; r++)
                {
                    var row = x.Row(r);
                    for (var c = 0; c < w; c++)
                    {
                        b[(r * w) + c] = row[cols[c]];
                    }
                }

                inputs[g] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(b, 0, rows * w), [rows, w]);
            }

            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, _inputNames, inputs, _outputNames);
            for (var g = 0; g < groups; g++)
            {
                var w = columnsOf[g].Length;
                var rec = outputs[g].GetTensorDataAsSpan<float>();
                var b = buffers[g];
                for (var r = 0; r < rows; r++)
                {
                    var sum = 0f;
                    for (var c = 0; c < w; c++)
                    {
                        var diff = rec[(r * w) + c] - b[(r * w) + c];
                        sum += diff * diff;
                    }

                    errors[(r * groups) + g] = w > 0 ? sum / w : 0;
                }
            }
        }
        finally
        {
            foreach (var input in inputs)
            {
                input?.Dispose();
            }

            foreach (var b in buffers)
            {
                if (b is not null)
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(b);
                }
            }
        }
    }
}

/// <summary>How an imported ONNX autoencoder's inputs and outputs map onto Vigil's feature columns (part of <c>fx.json</c>'s import section).</summary>
/// <param name="Groups">The input groups, in model input order.</param>
/// <param name="FeatureCount">The number of transform output columns of the bundle.</param>
internal sealed record FxOnnxLayout(FxOnnxGroup[] Groups, int FeatureCount);

/// <summary>One input group of an imported autoencoder.</summary>
/// <param name="Group">The group name (a categorical field, or <c>numeric</c>); its reconstruction threshold is under this name.</param>
/// <param name="Input">The ONNX input name.</param>
/// <param name="Output">The ONNX output name of its reconstruction.</param>
/// <param name="Columns">The transform output columns it takes, in the model's order (<c>Cpty=CBA</c>, ..., <c>FaceValue</c>).</param>
internal sealed record FxOnnxGroup(string Group, string Input, string Output, string[] Columns);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(FxOnnxLayout))]
internal sealed partial class FxOnnxJsonContext : JsonSerializerContext;
