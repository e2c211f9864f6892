using System.Text;
using Vigil.Detectors;

namespace Vigil.Fx.Tests.Import;

/// <summary>
/// The native forward pass of imported autoencoders against ONNX Runtime on the same model: ONNX models of the Python flow's
/// shape (Concat → Gemm/Relu chain → one Gemm + Sigmoid head per input group) are written here byte by byte with fixed-seed
/// weights, so the test needs no Python; graphs of any other shape must stay on ONNX Runtime.
/// </summary>
public sealed class FxDenseForwardTests
{
    private static readonly int[] Widths = [3, 8, 5, 2];

    [Fact]
    public void A_dense_multi_input_autoencoder_runs_natively_and_matches_onnx_runtime()
    {
        var onnx = Open(Model(seed: 1));
        onnx.IsNative.ShouldBe(FxDenseForward.Supported); // x64 with AVX2 + FMA; elsewhere both paths are ONNX Runtime
        var (x, groups) = Rows(seed: 2, rows: 301); // odd: the pass takes rows two at a time
        var native = new double[x.Rows * groups];
        var runtime = new double[x.Rows * groups];
        onnx.GroupErrors(x, native);
        onnx.GroupErrorsOnnxRuntime(x, runtime);
        for (var i = 0; i < native.Length; i++)
        {
            native[i].ShouldBeGreaterThan(0);
            Math.Abs(native[i] - runtime[i]).ShouldBeLessThanOrEqualTo(1e-6 * Math.Max(1, Math.Abs(runtime[i])), $"row {i / groups}, group {i % groups}");
        }
    }

    [Theory]
    [InlineData(12, 4, 12)]
    [InlineData(48, 16, 48)] // the Python flow's widths: layers of several vector blocks
    [InlineData(40, 9, 33)]
    public void The_pass_on_512_bit_vectors_gives_the_same_bits_as_on_256_bit_vectors(int h0, int h1, int h2)
    {
        var model = Model(seed: 6, hiddenWidths: [h0, h1, h2]);
        var layout = Layout();
        var narrow = FxDenseForward.TryCreate(model, layout, wide: false);
        var wide = FxDenseForward.TryCreate(model, layout);
        if (narrow is null || wide is null)
        {
            FxDenseForward.Supported.ShouldBeFalse(); // no native pass on this CPU: nothing to compare
            return;
        }

        narrow.Lanes.ShouldBe(8);
        wide.Lanes.ShouldBe(FxDenseForward.WideSupported ? 16 : 8);
        var (x, _) = Rows(seed: 7, rows: 203);
        var input = new float[x.Rows * x.Columns];
        for (var r = 0; r < x.Rows; r++)
        {
            x.Row(r).CopyTo(input.AsSpan(r * x.Columns));
        }

        var a = new float[x.Rows * narrow.OutputWidth];
        var b = new float[x.Rows * wide.OutputWidth];
        narrow.Reconstruct(input, x.Rows, a);
        wide.Reconstruct(input, x.Rows, b);
        for (var i = 0; i < a.Length; i++)
        {
            BitConverter.SingleToInt32Bits(b[i]).ShouldBe(BitConverter.SingleToInt32Bits(a[i]), $"row {i / narrow.OutputWidth}, output {i % narrow.OutputWidth}");
        }
    }

    [Theory]
    [InlineData("a head without its Sigmoid")]
    [InlineData("a Gemm with alpha 0.5")]
    [InlineData("a Tanh in the body")]
    public void Any_other_graph_stays_on_onnx_runtime(string variant)
    {
        var onnx = Open(Model(seed: 3, variant));
        onnx.IsNative.ShouldBeFalse();
        var (x, groups) = Rows(seed: 4, rows: 10);
        var errors = new double[x.Rows * groups];
        onnx.GroupErrors(x, errors);
        errors.ShouldAllBe(e => double.IsFinite(e) && e >= 0);
    }

    [Fact]
    public void Bytes_that_are_not_an_onnx_graph_are_not_recognised()
    {
        var layout = Layout();
        FxDenseForward.TryCreate([1, 2, 3], layout).ShouldBeNull();
        FxDenseForward.TryCreate([], layout).ShouldBeNull();
        var model = Model(seed: 5);
        FxDenseForward.TryCreate(model[..(model.Length / 2)], layout).ShouldBeNull();
        (FxDenseForward.TryCreate(model, layout) is not null).ShouldBe(FxDenseForward.Supported);
    }

    private static FxOnnxLayout Layout()
    {
        var groups = new FxOnnxGroup[Widths.Length];
        for (var g = 0; g < groups.Length; g++)
        {
            groups[g] = new FxOnnxGroup($"g{g}", $"in_{g}", $"rec_{g}", [.. Enumerable.Range(0, Widths[g]).Select(c => $"g{g}={c}")]);
        }

        return new FxOnnxLayout(groups, Widths.Sum());
    }

    private static FxOnnxAutoencoder Open(byte[] model)
    {
        var layout = Layout();
        var onnx = FxOnnxAutoencoder.Create(model, layout);
        onnx.Bind([.. layout.Groups.SelectMany(g => g.Columns)]);
        return onnx;
    }

    /// <summary>Rows like the FX features: one-hot groups and a numeric group in [0, 1].</summary>
    private static (FeatureMatrix X, int Groups) Rows(int seed, int rows)
    {
        var random = new Random(seed);
        var width = Widths.Sum();
        var data = new float[rows * width];
        for (var r = 0; r < rows; r++)
        {
            var at = r * width;
            for (var g = 0; g < Widths.Length; g++)
            {
                if (g == Widths.Length - 1)
                {
                    for (var c = 0; c < Widths[g]; c++)
                    {
                        data[at + c] = (float)random.NextDouble();
                    }
                }
                else
                {
                    data[at + random.Next(Widths[g])] = 1f;
                }

                at += Widths[g];
            }
        }

        return (new FeatureMatrix(data, rows, [.. Layout().Groups.SelectMany(g => g.Columns)]), Widths.Length);
    }

    /// <summary>An ONNX model (opset 13) of the Python flow's autoencoder with hidden layers 12, 4, 12, or a variant of it.</summary>
    private static byte[] Model(int seed, string variant = "", int[]? hiddenWidths = null)
    {
        var random = new Random(seed);
        var graph = new Proto();
        var initializers = new List<byte[]>();
        var width = Widths.Sum();
        graph.Message(1, Node("Concat", [.. Enumerable.Range(0, Widths.Length).Select(g => $"in_{g}")], "x", Attribute("axis", 1)));
        var input = "x";
        var k = width;
        var hidden = hiddenWidths ?? [12, 4, 12];
        for (var l = 0; l < hidden.Length; l++)
        {
            initializers.Add(Tensor($"w{l}", [hidden[l], k], random));
            initializers.Add(Tensor($"b{l}", [hidden[l]], random));
            var alpha = variant == "a Gemm with alpha 0.5" && l == 1 ? 0.5f : 1f;
            graph.Message(1, Node("Gemm", [input, $"w{l}", $"b{l}"], $"h{l}", FloatAttribute("alpha", alpha), FloatAttribute("beta", 1f), Attribute("transB", 1)));
            graph.Message(1, Node(variant == "a Tanh in the body" && l == 2 ? "Tanh" : "Relu", [$"h{l}"], $"a{l}"));
            input = $"a{l}";
            k = hidden[l];
        }

        for (var g = 0; g < Widths.Length; g++)
        {
            initializers.Add(Tensor($"hw{g}", [Widths[g], k], random));
            initializers.Add(Tensor($"hb{g}", [Widths[g]], random));
            var noSigmoid = variant == "a head without its Sigmoid" && g == 1;
            graph.Message(1, Node("Gemm", [input, $"hw{g}", $"hb{g}"], noSigmoid ? $"rec_{g}" : $"z{g}", FloatAttribute("alpha", 1f), FloatAttribute("beta", 1f), Attribute("transB", 1)));
            if (!noSigmoid)
            {
                graph.Message(1, Node("Sigmoid", [$"z{g}"], $"rec_{g}"));
            }
        }

        graph.Text(2, "fx");
        foreach (var t in initializers)
        {
            graph.Message(5, t);
        }

        for (var g = 0; g < Widths.Length; g++)
        {
            graph.Message(11, ValueInfo($"in_{g}", Widths[g]));
        }

        for (var g = 0; g < Widths.Length; g++)
        {
            graph.Message(12, ValueInfo($"rec_{g}", Widths[g]));
        }

        var opset = new Proto();
        opset.Text(1, "");
        opset.Varint(2, 13);
        var model = new Proto();
        model.Varint(1, 8); // ir_version
        model.Message(8, opset.Bytes());
        model.Message(7, graph.Bytes());
        return model.Bytes();
    }

    private static byte[] Node(string op, string[] inputs, string output, params byte[][] attributes)
    {
        var node = new Proto();
        foreach (var i in inputs)
        {
            node.Text(1, i);
        }

        node.Text(2, output);
        node.Text(4, op);
        foreach (var a in attributes)
        {
            node.Message(5, a);
        }

        return node.Bytes();
    }

    private static byte[] Attribute(string name, long value)
    {
        var a = new Proto();
        a.Text(1, name);
        a.Varint(3, value);
        a.Varint(20, 2); // INT
        return a.Bytes();
    }

    private static byte[] FloatAttribute(string name, float value)
    {
        var a = new Proto();
        a.Text(1, name);
        a.Fixed32(2, BitConverter.SingleToInt32Bits(value));
        a.Varint(20, 1); // FLOAT
        return a.Bytes();
    }

    private static byte[] Tensor(string name, int[] dims, Random random)
    {
        var t = new Proto();
        foreach (var d in dims)
        {
            t.Varint(1, d);
        }

        t.Varint(2, 1); // FLOAT
        t.Text(8, name);
        var count = dims.Aggregate(1, (a, b) => a * b);
        var raw = new byte[count * 4];
        for (var i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(raw.AsSpan(i * 4), (float)((random.NextDouble() * 2) - 1));
        }

        t.Message(9, raw);
        return t.Bytes();
    }

    /// <summary>A float32 [N, width] input or output.</summary>
    private static byte[] ValueInfo(string name, int width)
    {
        var batch = new Proto();
        batch.Text(2, "N");
        var columns = new Proto();
        columns.Varint(1, width);
        var shape = new Proto();
        shape.Message(1, batch.Bytes());
        shape.Message(1, columns.Bytes());
        var tensor = new Proto();
        tensor.Varint(1, 1);
        tensor.Message(2, shape.Bytes());
        var type = new Proto();
        type.Message(1, tensor.Bytes());
        var info = new Proto();
        info.Text(1, name);
        info.Message(2, type.Bytes());
        return info.Bytes();
    }

    /// <summary>A protobuf message being written (wire format: varint keys, varints, fixed32, length-delimited).</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();

        public byte[] Bytes() => _bytes.ToArray();

        public void Varint(int field, long value)
        {
            Raw((ulong)field << 3);
            Raw((ulong)value);
        }

        public void Fixed32(int field, int value)
        {
            Raw(((ulong)field << 3) | 5);
            _bytes.Write(BitConverter.GetBytes(value));
        }

        public void Text(int field, string value) => Message(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, byte[] value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            _bytes.Write(value);
        }

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.WriteByte((byte)value);
        }
    }
}
