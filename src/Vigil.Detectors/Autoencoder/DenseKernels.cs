using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Detectors;

/// <summary>
/// Row-major float32 kernels of the autoencoder. Every output element is accumulated over <c>k</c> in
/// ascending order with fused multiply-adds, whether a lane of a vector or the scalar tail computes it, so
/// matrix products do not depend on the SIMD width of the machine or on how rows are blocked. Activations use
/// TensorPrimitives' vectorised tanh/sigmoid: on one machine a value is the same whatever the thread count (shard
/// shapes are fixed), but the last bits may differ between machines with different vector widths.
/// </summary>
internal static class DenseKernels
{
    /// <summary>
    /// <c>C[m×n] = init + A[m×k] · B[k×n]</c>, where init is <paramref name="bias"/> broadcast over rows
    /// (when not empty) or zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, ReadOnlySpan<float> bias)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n || (!bias.IsEmpty && bias.Length < n))
        {
            throw new ArgumentException("Gemm operand too small.");
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var rc = ref MemoryMarshal.GetReference(c);
        var hasBias = !bias.IsEmpty;
        ref var rbias = ref MemoryMarshal.GetReference(bias);
        var w = Vector<float>.Count;
        var r = 0;
        for (; r + 4 <= m; r += 4)
        {
            ref var a0 = ref Unsafe.Add(ref ra, r * k);
            ref var a1 = ref Unsafe.Add(ref a0, k);
            ref var a2 = ref Unsafe.Add(ref a1, k);
            ref var a3 = ref Unsafe.Add(ref a2, k);
            ref var c0 = ref Unsafe.Add(ref rc, r * n);
            ref var c1 = ref Unsafe.Add(ref c0, n);
            ref var c2 = ref Unsafe.Add(ref c1, n);
            ref var c3 = ref Unsafe.Add(ref c2, n);
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j + (2 * w) <= n; j += 2 * w)
                {
                    var init0 = hasBias ? LoadVector(ref rbias, j) : Vector<float>.Zero;
                    var init1 = hasBias ? LoadVector(ref rbias, j + w) : Vector<float>.Zero;
                    Vector<float> s00 = init0, s01 = init1, s10 = init0, s11 = init1, s20 = init0, s21 = init1, s30 = init0, s31 = init1;
                    ref var bj = ref Unsafe.Add(ref rb, j);
                    for (var p = 0; p < k; p++)
                    {
                        var b0 = LoadVector(ref bj, 0);
                        var b1 = LoadVector(ref bj, w);
                        var x0 = new Vector<float>(Unsafe.Add(ref a0, p));
                        var x1 = new Vector<float>(Unsafe.Add(ref a1, p));
                        var x2 = new Vector<float>(Unsafe.Add(ref a2, p));
                        var x3 = new Vector<float>(Unsafe.Add(ref a3, p));
                        s00 = Vector.FusedMultiplyAdd(x0, b0, s00);
                        s01 = Vector.FusedMultiplyAdd(x0, b1, s01);
                        s10 = Vector.FusedMultiplyAdd(x1, b0, s10);
                        s11 = Vector.FusedMultiplyAdd(x1, b1, s11);
                        s20 = Vector.FusedMultiplyAdd(x2, b0, s20);
                        s21 = Vector.FusedMultiplyAdd(x2, b1, s21);
                        s30 = Vector.FusedMultiplyAdd(x3, b0, s30);
                        s31 = Vector.FusedMultiplyAdd(x3, b1, s31);
                        bj = ref Unsafe.Add(ref bj, n);
                    }

                    StoreVector(s00, ref c0, j);
                    StoreVector(s01, ref c0, j + w);
                    StoreVector(s10, ref c1, j);
                    StoreVector(s11, ref c1, j + w);
                    StoreVector(s20, ref c2, j);
                    StoreVector(s21, ref c2, j + w);
                    StoreVector(s30, ref c3, j);
                    StoreVector(s31, ref c3, j + w);
                }

                for (; j + w <= n; j += w)
                {
                    var init = hasBias ? LoadVector(ref rbias, j) : Vector<float>.Zero;
                    Vector<float> s0 = init, s1 = init, s2 = init, s3 = init;
                    ref var bj = ref Unsafe.Add(ref rb, j);
                    for (var p = 0; p < k; p++)
                    {
                        var b0 = LoadVector(ref bj, 0);
                        s0 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a0, p)), b0, s0);
                        s1 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a1, p)), b0, s1);
                        s2 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a2, p)), b0, s2);
                        s3 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a3, p)), b0, s3);
                        bj = ref Unsafe.Add(ref bj, n);
                    }

                    StoreVector(s0, ref c0, j);
                    StoreVector(s1, ref c1, j);
                    StoreVector(s2, ref c2, j);
                    StoreVector(s3, ref c3, j);
                }
            }

            for (; j < n; j++)
            {
                var init = hasBias ? Unsafe.Add(ref rbias, j) : 0f;
                float s0 = init, s1 = init, s2 = init, s3 = init;
                for (var p = 0; p < k; p++)
                {
                    var bv = Unsafe.Add(ref rb, (p * n) + j);
                    s0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a0, p), bv, s0);
                    s1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a1, p), bv, s1);
                    s2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a2, p), bv, s2);
                    s3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a3, p), bv, s3);
                }

                Unsafe.Add(ref c0, j) = s0;
                Unsafe.Add(ref c1, j) = s1;
                Unsafe.Add(ref c2, j) = s2;
                Unsafe.Add(ref c3, j) = s3;
            }
        }

        for (; r < m; r++)
        {
            ref var a0 = ref Unsafe.Add(ref ra, r * k);
            ref var c0 = ref Unsafe.Add(ref rc, r * n);
            var j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j + w <= n; j += w)
                {
                    var s0 = hasBias ? LoadVector(ref rbias, j) : Vector<float>.Zero;
                    ref var bj = ref Unsafe.Add(ref rb, j);
                    for (var p = 0; p < k; p++)
                    {
                        s0 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref a0, p)), LoadVector(ref bj, 0), s0);
                        bj = ref Unsafe.Add(ref bj, n);
                    }

                    StoreVector(s0, ref c0, j);
                }
            }

            for (; j < n; j++)
            {
                var s0 = hasBias ? Unsafe.Add(ref rbias, j) : 0f;
                for (var p = 0; p < k; p++)
                {
                    s0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a0, p), Unsafe.Add(ref rb, (p * n) + j), s0);
                }

                Unsafe.Add(ref c0, j) = s0;
            }
        }
    }

    /// <summary>Writes the transpose of the row-major <c>rows×cols</c> matrix <paramref name="source"/> into <paramref name="destination"/> (<c>cols×rows</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int cols)
    {
        for (var r = 0; r < rows; r++)
        {
            var row = source.Slice(r * cols, cols);
            for (var c = 0; c < cols; c++)
            {
                destination[(c * rows) + r] = row[c];
            }
        }
    }

    /// <summary>
    /// Applies <paramref name="activation"/> in place. Spans shorter than 16 values are padded so that every value
    /// goes through TensorPrimitives' full-vector path: a value's result then does not depend on the span's length
    /// (one row explained alone equals the same row scored in a block).
    /// </summary>
    public static void Activate(Span<float> values, Activation activation)
    {
        const int MinLength = 16;
        if (values.Length < MinLength && activation is Activation.Tanh or Activation.Sigmoid)
        {
            Span<float> padded = stackalloc float[MinLength];
            padded.Clear();
            values.CopyTo(padded);
            ActivateCore(padded, activation);
            padded[..values.Length].CopyTo(values);
            return;
        }

        ActivateCore(values, activation);
    }

    private static void ActivateCore(Span<float> values, Activation activation)
    {
        switch (activation)
        {
            case Activation.Relu:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = MathF.Max(values[i], 0f);
                }

                break;
            case Activation.Tanh:
                System.Numerics.Tensors.TensorPrimitives.Tanh(values, values);
                break;
            case Activation.Sigmoid:
                System.Numerics.Tensors.TensorPrimitives.Sigmoid(values, values);
                break;
            case Activation.Linear:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>Multiplies <paramref name="gradient"/> in place by the activation's derivative, given its output <paramref name="output"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyByDerivative(Span<float> gradient, ReadOnlySpan<float> output, Activation activation)
    {
        switch (activation)
        {
            case Activation.Relu:
                for (var i = 0; i < gradient.Length; i++)
                {
                    gradient[i] = output[i] > 0f ? gradient[i] : 0f;
                }

                break;
            case Activation.Tanh:
                for (var i = 0; i < gradient.Length; i++)
                {
                    gradient[i] *= 1f - (output[i] * output[i]);
                }

                break;
            case Activation.Sigmoid:
                for (var i = 0; i < gradient.Length; i++)
                {
                    gradient[i] *= output[i] * (1f - output[i]);
                }

                break;
            case Activation.Linear:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>Adds the rows of the row-major <c>rows×cols</c> matrix into <paramref name="sums"/>, row by row in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddColumnSums(ReadOnlySpan<float> matrix, int rows, int cols, Span<float> sums)
    {
        for (var r = 0; r < rows; r++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(sums[..cols], matrix.Slice(r * cols, cols), sums[..cols]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> LoadVector(ref float source, int offset) =>
        Vector.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector(Vector<float> value, ref float destination, int offset) =>
        value.StoreUnsafe(ref destination, (nuint)offset);
}
