namespace Vigil.Detectors;

/// <summary>
/// The shape of a dense feed-forward network and the layout of its parameters in one flat float array:
/// for each layer <c>l</c>, the row-major weights <c>W_l[in×out]</c> then the biases <c>b_l[out]</c>.
/// </summary>
internal sealed class DenseNetwork
{
    public DenseNetwork(int[] sizes, Activation hidden, Activation output)
    {
        Sizes = sizes;
        Hidden = hidden;
        Output = output;
        Layers = sizes.Length - 1;
        WeightOffset = new int[Layers];
        BiasOffset = new int[Layers];
        var p = 0L;
        var widest = 0;
        for (var l = 0; l < Layers; l++)
        {
            WeightOffset[l] = (int)p;
            p += (long)sizes[l] * sizes[l + 1];
            BiasOffset[l] = (int)p;
            p += sizes[l + 1];
            if (p > int.MaxValue / 2)
            {
                throw new ArgumentException("The network has too many parameters.");
            }
        }

        foreach (var s in sizes)
        {
            widest = Math.Max(widest, s);
        }

        ParameterCount = (int)p;
        Widest = widest;
    }

    /// <summary>Layer widths, input first and output (= input width) last.</summary>
    public int[] Sizes { get; }

    public int Layers { get; }

    public Activation Hidden { get; }

    public Activation Output { get; }

    public int[] WeightOffset { get; }

    public int[] BiasOffset { get; }

    public int ParameterCount { get; }

    public int Widest { get; }

    public int Inputs => Sizes[0];

    public Activation ActivationOf(int layer) => layer == Layers - 1 ? Output : Hidden;

    public ReadOnlySpan<float> Weights(ReadOnlySpan<float> parameters, int layer) =>
        parameters.Slice(WeightOffset[layer], Sizes[layer] * Sizes[layer + 1]);

    public ReadOnlySpan<float> Biases(ReadOnlySpan<float> parameters, int layer) =>
        parameters.Slice(BiasOffset[layer], Sizes[layer + 1]);

    /// <summary>
    /// Reconstructs <paramref name="rows"/> rows of <paramref name="input"/> into <paramref name="output"/>, using
    /// <paramref name="a"/> and <paramref name="b"/> (each at least <c>rows * Widest</c>) as scratch.
    /// </summary>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, Span<float> a, Span<float> b, Span<float> output)
    {
        var current = input;
        for (var l = 0; l < Layers; l++)
        {
            var n = Sizes[l + 1];
            var target = l == Layers - 1 ? output : (l % 2 == 0 ? a : b);
            var dest = target[..(rows * n)];
            DenseKernels.Gemm(current, Weights(parameters, l), dest, rows, Sizes[l], n, Biases(parameters, l));
            DenseKernels.Activate(dest, ActivationOf(l));
            current = dest;
        }
    }
}
