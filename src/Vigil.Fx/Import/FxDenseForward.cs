using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace Vigil.Fx;

/// <summary>
/// A native forward pass of an imported multi-input autoencoder of the shape the Python flow exports (and Keras and PyTorch
/// exports of the same network give): <c>Concat</c> of every input in layout order → a chain of dense layers
/// (<c>Gemm</c>, each optionally followed by <c>Relu</c>) → one dense head per output (<c>Gemm</c> → <c>Sigmoid</c>).
/// <see cref="TryCreate"/> reads the ONNX graph and its float32 weights and returns null for any other graph (another op,
/// attribute, data type or wiring) and on a CPU without AVX2 and FMA (x64 only), which then run on ONNX Runtime as before.
/// </summary>
/// <remarks>
/// Why: for 1,000 deals the network is ~4.7 M multiply-adds; ONNX Runtime spends ~0.4 ms on it (20 node dispatches, one
/// GEMM per head, its input and output copies). Here each row is one pass over the layers with the weights transposed and
/// padded to the vector width (8 lanes, or 16 where AVX-512 is in hardware), so a layer is a sum of weight rows scaled by the row's inputs, kept in registers for two or four
/// rows at a time, and every head is one matrix. The sums run in another order than ONNX Runtime's
/// (and torch's), so a reconstruction differs from theirs by float rounding (~1e-7 relative); a decision can only change when
/// an error sits that close to its threshold (checked on the 10,471-deal Python equivalence test: none does).
/// </remarks>
internal sealed class FxDenseForward
{
    private readonly Dense[] _layers;
    private readonly Dense _heads;
    private readonly int _inputWidth;
    private readonly int _maxWidth;

    private FxDenseForward(Dense[] layers, Dense heads, int inputWidth, int lanes)
    {
        _layers = layers;
        _heads = heads;
        _inputWidth = inputWidth;
        Lanes = lanes;
        var max = Math.Max(heads.Padded, Pad(inputWidth, lanes));
        foreach (var layer in layers)
        {
            max = Math.Max(max, layer.Padded);
        }

        _maxWidth = max;
    }

    /// <summary>True on a CPU with 256-bit vectors and FMA in hardware (x64 AVX2 + FMA3), where the pass runs.</summary>
    public static bool Supported => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    /// <summary>True where 512-bit vectors are in hardware (AVX-512): the layers then run on 16 lanes instead of 8.</summary>
    public static bool WideSupported => Supported && Vector512.IsHardwareAccelerated;

    /// <summary>The vector width the layers run on: 8 or 16 floats.</summary>
    public int Lanes { get; }

    /// <summary>The width of every output, concatenated in layout order (the sum of the groups' widths).</summary>
    public int OutputWidth => _heads.Outputs;

    /// <summary>
    /// The network of <paramref name="model"/> if it has the recognised shape for <paramref name="layout"/>, else null. It runs
    /// on 512-bit vectors where the CPU has them (twice the multiply-adds per instruction), unless <paramref name="wide"/> is
    /// false (the tests compare both widths, which give the same bits).
    /// </summary>
    public static FxDenseForward? TryCreate(byte[] model, FxOnnxLayout layout, bool wide = true)
    {
        if (!Supported)
        {
            return null; // without 256-bit vectors and FMA in hardware the pass would be emulated: ONNX Runtime is faster there
        }

        try
        {
            return Recognise(OnnxGraph.Read(model), layout, wide && WideSupported ? Vector512<float>.Count : Vector256<float>.Count);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reconstructs <paramref name="rows"/> rows: <paramref name="x"/> holds each row's inputs concatenated in layout order
    /// (<c>rows × inputWidth</c>), <paramref name="y"/> receives the outputs concatenated the same way (<c>rows × OutputWidth</c>).
    /// </summary>
    public void Reconstruct(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        var width = _inputWidth;
        var outputs = _heads.Outputs;
        var m = _maxWidth;
        var scratch = ArrayPool<float>.Shared.Rent(8 * m);
        try
        {
            // Four rows at a time: each weight vector loaded serves several rows, and the rows' sums are independent chains
            // (the sums of one row run in the same order whatever rows it is grouped with).
            for (var r = 0; r < rows; r += 4)
            {
                var last = rows - 1;
                int r1 = Math.Min(r + 1, last), r2 = Math.Min(r + 2, last), r3 = Math.Min(r + 3, last);
                ReadOnlySpan<float> x0 = x.Slice(r * width, width), x1 = x.Slice(r1 * width, width), x2 = x.Slice(r2 * width, width), x3 = x.Slice(r3 * width, width);
                var half = 0; // which half of the scratch the next layer writes
                foreach (var layer in _layers)
                {
                    var at = half * 4 * m;
                    Span<float> y0 = scratch.AsSpan(at, m), y1 = scratch.AsSpan(at + m, m), y2 = scratch.AsSpan(at + (2 * m), m), y3 = scratch.AsSpan(at + (3 * m), m);
                    layer.Apply(x0, x1, x2, x3, y0, y1, y2, y3);
                    x0 = y0[..layer.Outputs];
                    x1 = y1[..layer.Outputs];
                    x2 = y2[..layer.Outputs];
                    x3 = y3[..layer.Outputs];
                    half = 1 - half;
                }

                var h = half * 4 * m;
                Span<float> a0 = scratch.AsSpan(h, m), a1 = scratch.AsSpan(h + m, m), a2 = scratch.AsSpan(h + (2 * m), m), a3 = scratch.AsSpan(h + (3 * m), m);
                _heads.Apply(x0, x1, x2, x3, a0, a1, a2, a3);
                a0[..outputs].CopyTo(y.Slice(r * outputs, outputs));
                a1[..outputs].CopyTo(y.Slice(r1 * outputs, outputs));
                a2[..outputs].CopyTo(y.Slice(r2 * outputs, outputs));
                a3[..outputs].CopyTo(y.Slice(r3 * outputs, outputs));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }

        TensorPrimitives.Sigmoid(y[..(rows * outputs)], y[..(rows * outputs)]);
    }

    private static int Pad(int n, int lanes) => (n + lanes - 1) / lanes * lanes;

    private static FxDenseForward Recognise(OnnxGraph graph, FxOnnxLayout layout, int lanes)
    {
        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (!producers.TryAdd(output, node))
                {
                    throw new InvalidDataException("an output is produced twice");
                }
            }
        }

        var used = new HashSet<OnnxNode>();
        OnnxNode Producer(string name) =>
            producers.TryGetValue(name, out var n) && used.Add(n) ? n : throw new InvalidDataException($"'{name}' has no single producer");

        // The heads, one per output, all over the same body output.
        string? body = null;
        var heads = new List<(float[] W, float[] B, int N)>();
        foreach (var group in layout.Groups)
        {
            var sigmoid = Producer(group.Output);
            Expect(sigmoid, "Sigmoid", 1);
            var gemm = Producer(sigmoid.Inputs[0]);
            var (w, bias, n, k, input) = Gemm(graph, gemm);
            if (n != group.Columns.Length)
            {
                throw new InvalidDataException("a head's width differs from its group's");
            }

            if (body is not null && (body != input || k != heads[0].W.Length / heads[0].N))
            {
                throw new InvalidDataException("the heads read different tensors");
            }

            body = input;
            heads.Add((w, bias, n));
        }

        if (body is null)
        {
            throw new InvalidDataException("no outputs");
        }

        // The body, walked back from its output to the Concat of the inputs.
        var layers = new List<Dense>();
        var at = body;
        while (true)
        {
            var node = Producer(at);
            var relu = false;
            if (node.Op == "Relu")
            {
                Expect(node, "Relu", 1);
                relu = true;
                node = Producer(node.Inputs[0]);
            }

            if (node.Op == "Concat")
            {
                if (relu || node.Inputs.Count != layout.Groups.Length || node.Attributes.Count != 1
                    || !node.Attributes.TryGetValue("axis", out var axis) || axis.Int is not (1 or -1))
                {
                    throw new InvalidDataException("the Concat is not of every input along axis 1");
                }

                for (var g = 0; g < layout.Groups.Length; g++)
                {
                    if (node.Inputs[g] != layout.Groups[g].Input)
                    {
                        throw new InvalidDataException("the Concat takes the inputs in another order");
                    }
                }

                break;
            }

            var (w, bias, n, k, input) = Gemm(graph, node);
            layers.Add(Dense.Create(w, bias, n, k, relu, lanes));
            at = input;
        }

        if (used.Count != graph.Nodes.Count || layers.Count == 0)
        {
            throw new InvalidDataException("the graph has other nodes");
        }

        layers.Reverse();
        var width = 0;
        foreach (var g in layout.Groups)
        {
            width += g.Columns.Length;
        }

        for (var i = 0; i < layers.Count; i++)
        {
            if (layers[i].Inputs != (i == 0 ? width : layers[i - 1].Outputs))
            {
                throw new InvalidDataException("the layers' widths do not chain");
            }
        }

        // Every head is one matrix: the heads' rows stacked in layout order.
        var total = 0;
        foreach (var h in heads)
        {
            total += h.N;
        }

        var k0 = layers[^1].Outputs;
        var stacked = new float[total * k0];
        var biases = new float[total];
        var row = 0;
        foreach (var (w, bias, n) in heads)
        {
            if (w.Length != n * k0)
            {
                throw new InvalidDataException("a head's input width differs from the body's");
            }

            w.CopyTo(stacked, row * k0);
            bias.CopyTo(biases, row);
            row += n;
        }

        return new FxDenseForward([.. layers], Dense.Create(stacked, biases, total, k0, relu: false, lanes), width, lanes);
    }

    private static void Expect(OnnxNode node, string op, int inputs)
    {
        if (node.Op != op || node.Inputs.Count != inputs || node.Attributes.Count != 0 || node.Outputs.Count != 1)
        {
            throw new InvalidDataException($"expected a plain {op}");
        }
    }

    /// <summary>A <c>Gemm</c> Y = X·Wᵀ + B (alpha = beta = 1, transA = 0) with its weights as initializers: W as [N × K], B as [N].</summary>
    private static (float[] W, float[] B, int N, int K, string Input) Gemm(OnnxGraph graph, OnnxNode node)
    {
        if (node.Op != "Gemm" || node.Inputs.Count != 3 || node.Outputs.Count != 1)
        {
            throw new InvalidDataException("expected a Gemm with a bias");
        }

        var transB = 0L;
        foreach (var (name, value) in node.Attributes)
        {
            switch (name)
            {
                case "alpha" or "beta" when value.Float == 1f && value.Int is null:
                    break;
                case "transA" when value.Int == 0:
                    break;
                case "transB" when value.Int is 0 or 1:
                    transB = value.Int!.Value;
                    break;
                default:
                    throw new InvalidDataException($"Gemm attribute {name} is not supported");
            }
        }

        if (!graph.Initializers.TryGetValue(node.Inputs[1], out var weight) || !graph.Initializers.TryGetValue(node.Inputs[2], out var bias)
            || weight.Dims.Length != 2 || bias.Dims.Length is not (1 or 2))
        {
            throw new InvalidDataException("the Gemm's weights are not initializers of the expected shape");
        }

        var (n, k) = transB == 1 ? ((int)weight.Dims[0], (int)weight.Dims[1]) : ((int)weight.Dims[1], (int)weight.Dims[0]);
        if (bias.Data.Length != n || (bias.Dims.Length == 2 && bias.Dims[0] != 1))
        {
            throw new InvalidDataException("the Gemm's bias does not match its width");
        }

        var w = weight.Data;
        if (transB == 0)
        {
            w = new float[n * k];
            for (var i = 0; i < k; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    w[(j * k) + i] = weight.Data[(i * n) + j];
                }
            }
        }

        return (w, bias.Data, n, k, node.Inputs[0]);
    }

    /// <summary>One dense layer, its weights transposed to [K × padded N] so a row's output is a sum of weight rows.</summary>
    private sealed class Dense
    {
        private readonly float[] _weights;
        private readonly float[] _bias;
        private readonly bool _relu;
        private readonly bool _wide;

        private Dense(float[] weights, float[] bias, int outputs, int inputs, int padded, bool relu, bool wide)
        {
            _weights = weights;
            _bias = bias;
            Outputs = outputs;
            Inputs = inputs;
            Padded = padded;
            _relu = relu;
            _wide = wide;
        }

        public int Outputs { get; }

        public int Inputs { get; }

        public int Padded { get; }

        /// <summary>From W as [N × K] row-major (an ONNX Gemm's B with transB = 1) and B as [N], padded to <paramref name="lanes"/> (8 or 16).</summary>
        public static Dense Create(float[] w, float[] b, int n, int k, bool relu, int lanes)
        {
            var padded = Pad(n, lanes);
            var t = new float[k * padded];
            for (var j = 0; j < n; j++)
            {
                for (var i = 0; i < k; i++)
                {
                    t[(i * padded) + j] = w[(j * k) + i];
                }
            }

            var bias = new float[padded];
            b.AsSpan(0, n).CopyTo(bias);
            return new Dense(t, bias, n, k, padded, relu, lanes == Wide.Count);
        }

        /// <summary>
        /// For four rows at once: <paramref name="y0"/>[..Padded] = bias + Σₖ x0[k]·Wᵀ[k] (and the same for rows 1-3), then
        /// ReLU if the layer has one. Outputs go in groups of four vector blocks, four rows at a time when the registers hold
        /// the group's sums (up to two blocks on 256-bit vectors, four on 512-bit ones), else two rows at a time, so a pass has
        /// several independent sums held in registers over k.
        /// </summary>
        public void Apply(ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3, Span<float> y0, Span<float> y1, Span<float> y2, Span<float> y3)
        {
            if (_wide)
            {
                Apply<Wide, Vector512<float>>(x0, x1, x2, x3, y0, y1, y2, y3);
            }
            else
            {
                Apply<Narrow, Vector256<float>>(x0, x1, x2, x3, y0, y1, y2, y3);
            }
        }

        private void Apply<TLanes, TVector>(ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3, Span<float> y0, Span<float> y1, Span<float> y2, Span<float> y3)
            where TLanes : struct, ILanes<TVector>
            where TVector : struct
        {
            var lanes = TLanes.Count;
            var inputs = x0.Length;
            ref var p0 = ref MemoryMarshal.GetReference(x0);
            ref var p1 = ref MemoryMarshal.GetReference(x1);
            ref var p2 = ref MemoryMarshal.GetReference(x2);
            ref var p3 = ref MemoryMarshal.GetReference(x3);
            ref var o0 = ref MemoryMarshal.GetReference(y0);
            ref var o1 = ref MemoryMarshal.GetReference(y1);
            ref var o2 = ref MemoryMarshal.GetReference(y2);
            ref var o3 = ref MemoryMarshal.GetReference(y3);
            for (var j = 0; j < Padded; j += 4 * lanes)
            {
                var blocks = Math.Min(4, (Padded - j) / lanes);
                if (blocks > TLanes.FourRowBlocks)
                {
                    TwoRows<TLanes, TVector>(j, blocks, inputs, ref p0, ref p1, ref o0, ref o1);
                    TwoRows<TLanes, TVector>(j, blocks, inputs, ref p2, ref p3, ref o2, ref o3);
                }
                else
                {
                    FourRows<TLanes, TVector>(j, blocks, inputs, ref p0, ref p1, ref p2, ref p3, ref o0, ref o1, ref o2, ref o3);
                }
            }
        }

        /// <summary>Up to four blocks of outputs from <paramref name="j"/> for two rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TwoRows<TLanes, TVector>(int j, int blocks, int inputs, ref float p0, ref float p1, ref float o0, ref float o1)
            where TLanes : struct, ILanes<TVector>
            where TVector : struct
        {
            var lanes = (nuint)TLanes.Count;
            var padded = Padded;
            ref var w = ref MemoryMarshal.GetArrayDataReference(_weights);
            ref var bias = ref MemoryMarshal.GetArrayDataReference(_bias);
            var at = (nuint)j;
            var a0 = TLanes.Load(ref bias, at);
            var a1 = blocks > 1 ? TLanes.Load(ref bias, at + lanes) : default;
            var a2 = blocks > 2 ? TLanes.Load(ref bias, at + (2 * lanes)) : default;
            var a3 = blocks > 3 ? TLanes.Load(ref bias, at + (3 * lanes)) : default;
            TVector b0 = a0, b1 = a1, b2 = a2, b3 = a3;
            for (var k = 0; k < inputs; k++)
            {
                var s0 = TLanes.Broadcast(Unsafe.Add(ref p0, k));
                var s1 = TLanes.Broadcast(Unsafe.Add(ref p1, k));
                ref var row = ref Unsafe.Add(ref w, (k * padded) + j);
                var v = TLanes.Load(ref row, 0);
                a0 = TLanes.Fma(s0, v, a0);
                b0 = TLanes.Fma(s1, v, b0);
                if (blocks > 1)
                {
                    v = TLanes.Load(ref row, lanes);
                    a1 = TLanes.Fma(s0, v, a1);
                    b1 = TLanes.Fma(s1, v, b1);
                    if (blocks > 2)
                    {
                        v = TLanes.Load(ref row, 2 * lanes);
                        a2 = TLanes.Fma(s0, v, a2);
                        b2 = TLanes.Fma(s1, v, b2);
                        if (blocks > 3)
                        {
                            v = TLanes.Load(ref row, 3 * lanes);
                            a3 = TLanes.Fma(s0, v, a3);
                            b3 = TLanes.Fma(s1, v, b3);
                        }
                    }
                }
            }

            TLanes.Store(a0, ref o0, at, _relu);
            TLanes.Store(b0, ref o1, at, _relu);
            if (blocks > 1)
            {
                TLanes.Store(a1, ref o0, at + lanes, _relu);
                TLanes.Store(b1, ref o1, at + lanes, _relu);
            }

            if (blocks > 2)
            {
                TLanes.Store(a2, ref o0, at + (2 * lanes), _relu);
                TLanes.Store(b2, ref o1, at + (2 * lanes), _relu);
            }

            if (blocks > 3)
            {
                TLanes.Store(a3, ref o0, at + (3 * lanes), _relu);
                TLanes.Store(b3, ref o1, at + (3 * lanes), _relu);
            }
        }

        /// <summary>
        /// Up to <see cref="ILanes{TVector}.FourRowBlocks"/> blocks of outputs from <paramref name="j"/> for four rows (the
        /// blocks past two exist only where the registers hold them: the JIT drops them from the narrow kernel).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void FourRows<TLanes, TVector>(int j, int blocks, int inputs, ref float p0, ref float p1, ref float p2, ref float p3, ref float o0, ref float o1, ref float o2, ref float o3)
            where TLanes : struct, ILanes<TVector>
            where TVector : struct
        {
            var lanes = (nuint)TLanes.Count;
            var more = TLanes.FourRowBlocks > 2 && blocks > 2;
            var most = TLanes.FourRowBlocks > 3 && blocks > 3;
            var padded = Padded;
            ref var w = ref MemoryMarshal.GetArrayDataReference(_weights);
            ref var bias = ref MemoryMarshal.GetArrayDataReference(_bias);
            var at = (nuint)j;
            var a0 = TLanes.Load(ref bias, at);
            var a1 = blocks > 1 ? TLanes.Load(ref bias, at + lanes) : default;
            var a2 = more ? TLanes.Load(ref bias, at + (2 * lanes)) : default;
            var a3 = most ? TLanes.Load(ref bias, at + (3 * lanes)) : default;
            TVector b0 = a0, b1 = a1, b2 = a2, b3 = a3, c0 = a0, c1 = a1, c2 = a2, c3 = a3, d0 = a0, d1 = a1, d2 = a2, d3 = a3;
            for (var k = 0; k < inputs; k++)
            {
                var s0 = TLanes.Broadcast(Unsafe.Add(ref p0, k));
                var s1 = TLanes.Broadcast(Unsafe.Add(ref p1, k));
                var s2 = TLanes.Broadcast(Unsafe.Add(ref p2, k));
                var s3 = TLanes.Broadcast(Unsafe.Add(ref p3, k));
                ref var row = ref Unsafe.Add(ref w, (k * padded) + j);
                var v = TLanes.Load(ref row, 0);
                a0 = TLanes.Fma(s0, v, a0);
                b0 = TLanes.Fma(s1, v, b0);
                c0 = TLanes.Fma(s2, v, c0);
                d0 = TLanes.Fma(s3, v, d0);
                if (blocks > 1)
                {
                    v = TLanes.Load(ref row, lanes);
                    a1 = TLanes.Fma(s0, v, a1);
                    b1 = TLanes.Fma(s1, v, b1);
                    c1 = TLanes.Fma(s2, v, c1);
                    d1 = TLanes.Fma(s3, v, d1);
                    if (more)
                    {
                        v = TLanes.Load(ref row, 2 * lanes);
                        a2 = TLanes.Fma(s0, v, a2);
                        b2 = TLanes.Fma(s1, v, b2);
                        c2 = TLanes.Fma(s2, v, c2);
                        d2 = TLanes.Fma(s3, v, d2);
                        if (most)
                        {
                            v = TLanes.Load(ref row, 3 * lanes);
                            a3 = TLanes.Fma(s0, v, a3);
                            b3 = TLanes.Fma(s1, v, b3);
                            c3 = TLanes.Fma(s2, v, c3);
                            d3 = TLanes.Fma(s3, v, d3);
                        }
                    }
                }
            }

            TLanes.Store(a0, ref o0, at, _relu);
            TLanes.Store(b0, ref o1, at, _relu);
            TLanes.Store(c0, ref o2, at, _relu);
            TLanes.Store(d0, ref o3, at, _relu);
            if (blocks > 1)
            {
                TLanes.Store(a1, ref o0, at + lanes, _relu);
                TLanes.Store(b1, ref o1, at + lanes, _relu);
                TLanes.Store(c1, ref o2, at + lanes, _relu);
                TLanes.Store(d1, ref o3, at + lanes, _relu);
            }

            if (more)
            {
                TLanes.Store(a2, ref o0, at + (2 * lanes), _relu);
                TLanes.Store(b2, ref o1, at + (2 * lanes), _relu);
                TLanes.Store(c2, ref o2, at + (2 * lanes), _relu);
                TLanes.Store(d2, ref o3, at + (2 * lanes), _relu);
            }

            if (most)
            {
                TLanes.Store(a3, ref o0, at + (3 * lanes), _relu);
                TLanes.Store(b3, ref o1, at + (3 * lanes), _relu);
                TLanes.Store(c3, ref o2, at + (3 * lanes), _relu);
                TLanes.Store(d3, ref o3, at + (3 * lanes), _relu);
            }
        }
    }

    /// <summary>
    /// The vector operations of the layer kernels, over 256-bit (<see cref="Narrow"/>) or 512-bit (<see cref="Wide"/>)
    /// vectors: one kernel source, which the JIT specialises per width. Every output lane sums the same products in the same
    /// order (bias, then k = 0, 1, ... with one FMA each) whatever the width, so both widths give the same bits.
    /// </summary>
    private interface ILanes<TVector>
        where TVector : struct
    {
        static abstract int Count { get; }

        /// <summary>The most output blocks four rows' sums can keep in registers at once (16 ymm registers hold 4 × 2; 32 zmm, 4 × 4).</summary>
        static abstract int FourRowBlocks { get; }

        static abstract TVector Load(ref float source, nuint offset);

        static abstract TVector Broadcast(float value);

        static abstract TVector Fma(TVector x, TVector y, TVector addend);

        /// <summary>Stores <paramref name="value"/>, with ReLU (max with 0) when <paramref name="relu"/>.</summary>
        static abstract void Store(TVector value, ref float destination, nuint offset, bool relu);
    }

    private readonly struct Narrow : ILanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;

        public static int FourRowBlocks => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Fma(Vector256<float> x, Vector256<float> y, Vector256<float> addend) => Vector256.FusedMultiplyAdd(x, y, addend);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<float> value, ref float destination, nuint offset, bool relu) =>
            (relu ? Vector256.Max(value, Vector256<float>.Zero) : value).StoreUnsafe(ref destination, offset);
    }

    private readonly struct Wide : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;

        public static int FourRowBlocks => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Fma(Vector512<float> x, Vector512<float> y, Vector512<float> addend) => Vector512.FusedMultiplyAdd(x, y, addend);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<float> value, ref float destination, nuint offset, bool relu) =>
            (relu ? Vector512.Max(value, Vector512<float>.Zero) : value).StoreUnsafe(ref destination, offset);
    }

    /// <summary>The parts of an ONNX model this reader needs: nodes and float32 initializers (protobuf wire format, read by hand).</summary>
    private sealed class OnnxGraph
    {
        public List<OnnxNode> Nodes { get; } = [];

        public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);

        public static OnnxGraph Read(byte[] model)
        {
            var graph = new OnnxGraph();
            var found = false;
            foreach (var (field, _, value, _) in new Wire(model))
            {
                if (field == 7)
                {
                    found = true;
                    graph.ReadGraph(value);
                }
            }

            return found ? graph : throw new InvalidDataException("no graph");
        }

        private void ReadGraph(ReadOnlyMemory<byte> bytes)
        {
            foreach (var (field, _, value, _) in new Wire(bytes))
            {
                switch (field)
                {
                    case 1:
                        Nodes.Add(OnnxNode.Read(value));
                        break;
                    case 5:
                        var tensor = OnnxTensor.Read(value);
                        Initializers[tensor.Name] = tensor;
                        break;
                    default:
                        break;
                }
            }
        }
    }

    private sealed class OnnxNode
    {
        public string Op { get; private set; } = "";

        public List<string> Inputs { get; } = [];

        public List<string> Outputs { get; } = [];

        public Dictionary<string, (float? Float, long? Int)> Attributes { get; } = new(StringComparer.Ordinal);

        public static OnnxNode Read(ReadOnlyMemory<byte> bytes)
        {
            var node = new OnnxNode();
            foreach (var (field, _, value, _) in new Wire(bytes))
            {
                switch (field)
                {
                    case 1: node.Inputs.Add(Text(value)); break;
                    case 2: node.Outputs.Add(Text(value)); break;
                    case 4: node.Op = Text(value); break;
                    case 7 when value.Length > 0: throw new InvalidDataException("a node of another domain");
                    case 5:
                        string? name = null;
                        float? f = null;
                        long? i = null;
                        foreach (var (af, _, av, an) in new Wire(value))
                        {
                            switch (af)
                            {
                                case 1: name = Text(av); break;
                                case 2: f = BitConverter.Int32BitsToSingle((int)an); break;
                                case 3: i = an; break;
                                case 20: break;
                                default: throw new InvalidDataException("an attribute of another kind");
                            }
                        }

                        node.Attributes[name ?? throw new InvalidDataException("an attribute without a name")] = (f, i);
                        break;
                    default:
                        break;
                }
            }

            return node;
        }
    }

    private sealed record OnnxTensor(string Name, long[] Dims, float[] Data)
    {
        public static OnnxTensor Read(ReadOnlyMemory<byte> bytes)
        {
            var dims = new List<long>();
            var name = "";
            var type = 0L;
            ReadOnlyMemory<byte> raw = default;
            var floats = new List<float>();
            foreach (var (field, wire, value, number) in new Wire(bytes))
            {
                switch (field)
                {
                    case 1 when wire == 0: dims.Add(number); break;
                    case 1: foreach (var (_, _, _, d) in Wire.Packed(value)) { dims.Add(d); } break;
                    case 2: type = number; break;
                    case 4 when wire == 5: floats.Add(BitConverter.Int32BitsToSingle((int)number)); break;
                    case 4:
                        for (var at = 0; at + 4 <= value.Length; at += 4)
                        {
                            floats.Add(BinaryPrimitives.ReadSingleLittleEndian(value.Span[at..]));
                        }

                        break;
                    case 8: name = Text(value); break;
                    case 9: raw = value; break;
                    case 13 or 14: throw new InvalidDataException("external tensor data");
                    default: break;
                }
            }

            if (type != 1)
            {
                throw new InvalidDataException("an initializer that is not float32");
            }

            var count = 1L;
            foreach (var d in dims)
            {
                count *= d;
            }

            float[] data;
            if (!raw.IsEmpty)
            {
                data = new float[raw.Length / 4];
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Span[(i * 4)..]);
                }
            }
            else
            {
                data = [.. floats];
            }

            return data.Length == count ? new OnnxTensor(name, [.. dims], data) : throw new InvalidDataException("an initializer of the wrong size");
        }
    }

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>The fields of one protobuf message: (field number, wire type, bytes of a length-delimited value, number of a varint/fixed value).</summary>
    private readonly struct Wire(ReadOnlyMemory<byte> bytes)
    {
        public static Wire Packed(ReadOnlyMemory<byte> bytes) => new(bytes, packed: true);

        private readonly bool _packed;

        private Wire(ReadOnlyMemory<byte> bytes, bool packed)
            : this(bytes)
        {
            _packed = packed;
        }

        public IEnumerator<(int Field, int WireType, ReadOnlyMemory<byte> Value, long Number)> GetEnumerator()
        {
            var at = 0;
            while (at < bytes.Length)
            {
                if (_packed)
                {
                    yield return (0, 0, default, (long)Varint(bytes.Span, ref at));
                    continue;
                }

                var key = Varint(bytes.Span, ref at);
                var field = (int)(key >> 3);
                var wire = (int)(key & 7);
                switch (wire)
                {
                    case 0:
                        yield return (field, wire, default, (long)Varint(bytes.Span, ref at));
                        break;
                    case 1:
                        Need(at, 8);
                        yield return (field, wire, default, BinaryPrimitives.ReadInt64LittleEndian(bytes.Span[at..]));
                        at += 8;
                        break;
                    case 5:
                        Need(at, 4);
                        yield return (field, wire, default, BinaryPrimitives.ReadInt32LittleEndian(bytes.Span[at..]));
                        at += 4;
                        break;
                    case 2:
                        var length = (long)Varint(bytes.Span, ref at);
                        if (length < 0 || length > bytes.Length - at)
                        {
                            throw new InvalidDataException("a field runs past its message");
                        }

                        yield return (field, wire, bytes.Slice(at, (int)length), 0);
                        at += (int)length;
                        break;
                    default:
                        throw new InvalidDataException("an unknown wire type");
                }
            }
        }

        private void Need(int at, int count)
        {
            if (at + count > bytes.Length)
            {
                throw new InvalidDataException("a field runs past its message");
            }
        }

        private static ulong Varint(ReadOnlySpan<byte> span, ref int at)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (at >= span.Length)
                {
                    throw new InvalidDataException("a truncated varint");
                }

                var b = span[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("a varint longer than 10 bytes");
        }
    }
}
