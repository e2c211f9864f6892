using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static Vigil.Detectors.ModelBinary;

namespace Vigil.Detectors;

/// <summary>
/// A trained dense autoencoder. The score of a row is its weighted mean squared reconstruction error:
/// each input group (all numeric features form the group <c>"numeric"</c>, each one-hot encoded categorical
/// column its own group) contributes its mean squared error times its weight, divided by the total weight.
/// Higher = more anomalous; a row is an anomaly when its score is above <see cref="Threshold"/>.
/// </summary>
public sealed class AutoencoderModel : IExplainableDetector, IRowScorer
{
    /// <summary>The detector kind stored in bundles.</summary>
    public const string DetectorKind = "autoencoder";

    /// <summary>The group holding every numeric (non one-hot) feature.</summary>
    public const string NumericGroup = "numeric";

    private const int BlockRows = 128;
    private const int BinaryVersion = 1;
    private static readonly byte[] Magic = "VGLAENC1"u8.ToArray();

    private readonly DenseNetwork _network;
    private readonly float[] _parameters;
    private readonly string[] _groupNames;
    private readonly double[] _groupWeights;
    private readonly int[] _groupOf;
    private readonly double[] _featureWeight; // c_f: score = sum_f c_f (xhat_f - x_f)^2
    private readonly double[] _groupScale;    // w_g / W per group
    private readonly int[] _groupSize;
    private readonly int? _maxDegreeOfParallelism;
    private readonly float[] _mean;
    private readonly float[] _inverseStd;
    private readonly double[] _errorScale;

    internal AutoencoderModel(DenseNetwork network, float[] parameters, string[] groupNames, double[] groupWeights, int[] groupOf,
        float[] mean, float[] inverseStd, double[] errorScale, double threshold, int? maxDegreeOfParallelism, AutoencoderTrainingSummary? training)
    {
        _errorScale = errorScale;
        _mean = mean;
        _inverseStd = inverseStd;
        _network = network;
        _parameters = parameters;
        _groupNames = groupNames;
        _groupWeights = groupWeights;
        _groupOf = groupOf;
        _maxDegreeOfParallelism = maxDegreeOfParallelism;
        Threshold = threshold;
        Training = training;
        (_featureWeight, _groupScale, _groupSize) = FeatureWeights(groupOf, groupWeights);
        for (var f = 0; f < _featureWeight.Length; f++)
        {
            _featureWeight[f] *= errorScale[f];
        }
    }

    /// <inheritdoc />
    public string Kind => DetectorKind;

    /// <inheritdoc />
    public int FeatureCount => _network.Inputs;

    /// <summary>Scores above this are anomalies: the <c>(1 - contamination)</c> quantile of the training scores.</summary>
    public double Threshold { get; }

    /// <summary>Layer widths from input to output (input and output widths equal <see cref="FeatureCount"/>).</summary>
    public IReadOnlyList<int> LayerSizes => _network.Sizes;

    /// <summary>Activation of the hidden layers.</summary>
    public Activation HiddenActivation => _network.Hidden;

    /// <summary>Activation of the output layer.</summary>
    public Activation OutputActivation => _network.Output;

    /// <summary>Input group names (see the class remarks).</summary>
    public IReadOnlyList<string> GroupNames => _groupNames;

    /// <summary>Input group weights, in the order of <see cref="GroupNames"/>.</summary>
    public IReadOnlyList<double> GroupWeights => _groupWeights;

    /// <summary>The group index of each feature.</summary>
    public IReadOnlyList<int> FeatureGroups => _groupOf;

    /// <summary>What happened while training; null for a model read from a bundle.</summary>
    public AutoencoderTrainingSummary? Training { get; }

    internal DenseNetwork Network => _network;

    /// <summary>The flat parameter array (weights then biases, layer by layer); do not modify.</summary>
    internal float[] Parameters => _parameters;

    internal AutoencoderModel WithThreshold(double threshold) =>
        new(_network, _parameters, _groupNames, _groupWeights, _groupOf, _mean, _inverseStd, _errorScale, threshold, _maxDegreeOfParallelism, Training);

    /// <summary>
    /// The per-feature centre subtracted before the network (the training mean when standardising, else 0);
    /// reconstruction errors are measured on <c>(x - Center) · InverseScale</c>.
    /// </summary>
    public IReadOnlyList<float> Center => _mean;

    /// <summary>
    /// The per-feature factor on squared errors: 1 / the feature's mean squared training error when errors are
    /// normalised (<see cref="AutoencoderOptions.NormalizeErrors"/>), else 1.
    /// </summary>
    public IReadOnlyList<double> ErrorScale => _errorScale;

    /// <summary>A copy whose squared errors are multiplied by <paramref name="errorScale"/> per feature.</summary>
    internal AutoencoderModel WithErrorScale(double[] errorScale, AutoencoderTrainingSummary? training) =>
        new(_network, _parameters, _groupNames, _groupWeights, _groupOf, _mean, _inverseStd, errorScale, Threshold, _maxDegreeOfParallelism, training);

    /// <summary>The per-feature factor applied after centring (1 / training standard deviation when standardising, else 1).</summary>
    public IReadOnlyList<float> InverseScale => _inverseStd;

    /// <summary>Writes the standardised form of <paramref name="rows"/> rows of <paramref name="input"/> into <paramref name="output"/>.</summary>
    internal void Standardize(ReadOnlySpan<float> input, int rows, Span<float> output)
    {
        var d = FeatureCount;
        for (var r = 0; r < rows; r++)
        {
            var x = input.Slice(r * d, d);
            var z = output.Slice(r * d, d);
            System.Numerics.Tensors.TensorPrimitives.Subtract(x, _mean, z);
            System.Numerics.Tensors.TensorPrimitives.Multiply(z, _inverseStd, z);
        }
    }

    /// <summary>Scores every row of <paramref name="x"/>.</summary>
    public double[] Score(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var scores = new double[x.Rows];
        Score(x, scores);
        return scores;
    }

    /// <inheritdoc />
    public void Score(FeatureMatrix x, Span<double> scores)
    {
        ArgumentNullException.ThrowIfNull(x);
        RowBlocks.CheckShape(FeatureCount, x, scores.Length);
        RowBlocks.Score(this, x, _maxDegreeOfParallelism, scores);
    }

    /// <summary>The reconstruction of every row of <paramref name="x"/> (row-major, <c>Rows × FeatureCount</c>).</summary>
    public float[] Reconstruct(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        RowBlocks.CheckShape(FeatureCount, x, x.Rows);
        var d = FeatureCount;
        var output = new float[x.Rows * d];
        var scratch = ArrayPool<float>.Shared.Rent(2 * BlockRows * _network.Widest);
        var z = ArrayPool<float>.Shared.Rent(BlockRows * d);
        try
        {
            for (var start = 0; start < x.Rows; start += BlockRows)
            {
                var count = Math.Min(BlockRows, x.Rows - start);
                Standardize(x.Values.Slice(start * d, count * d), count, z);
                var o = output.AsSpan(start * d, count * d);
                Forward(_parameters, z.AsSpan(0, count * d), count, scratch.AsSpan(0, 2 * BlockRows * _network.Widest), o);
                for (var r = 0; r < count; r++)
                {
                    var row = o.Slice(r * d, d);
                    System.Numerics.Tensors.TensorPrimitives.Divide(row, _inverseStd, row);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, _mean, row);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
            ArrayPool<float>.Shared.Return(z);
        }

        return output;
    }

    /// <summary>
    /// The per-feature contributions to the score of <paramref name="row"/>: <c>c_f (x̂_f - x_f)²</c> on standardised
    /// values, where <c>c_f = weight(group) / (|group| · total weight) · ErrorScale_f</c>; they sum to the row's score.
    /// </summary>
    public void Contributions(ReadOnlySpan<float> row, Span<double> contributions)
    {
        var d = FeatureCount;
        if (row.Length != d || contributions.Length < d)
        {
            throw new ArgumentException($"Expected a row of {d} features and room for {d} contributions (got {row.Length} and {contributions.Length}).", nameof(row));
        }

        var scratch = ArrayPool<float>.Shared.Rent((2 * _network.Widest) + (2 * d));
        try
        {
            var output = scratch.AsSpan(2 * _network.Widest, d);
            var z = scratch.AsSpan((2 * _network.Widest) + d, d);
            Standardize(row, 1, z);
            _network.Forward(_parameters, z, 1, scratch.AsSpan(0, _network.Widest), scratch.AsSpan(_network.Widest, _network.Widest), output);
            for (var f = 0; f < d; f++)
            {
                var e = (double)output[f] - z[f];
                contributions[f] = _featureWeight[f] * e * e;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>The mean squared reconstruction error of each input group for <paramref name="row"/> (unweighted), in <see cref="GroupNames"/> order.</summary>
    public void GroupErrors(ReadOnlySpan<float> row, Span<double> errors)
    {
        if (errors.Length < _groupNames.Length)
        {
            throw new ArgumentException($"Room for {_groupNames.Length} group errors is needed.", nameof(errors));
        }

        Span<double> contributions = FeatureCount <= 512 ? stackalloc double[FeatureCount] : new double[FeatureCount];
        Contributions(row, contributions);
        errors[.._groupNames.Length].Clear();
        for (var f = 0; f < FeatureCount; f++)
        {
            var g = _groupOf[f];
            if (_featureWeight[f] > 0)
            {
                errors[g] += contributions[f] / _featureWeight[f] / _groupSize[g];
            }
        }
    }

    /// <summary>Scores <paramref name="rows"/> row-major rows on the calling thread.</summary>
    public void ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores) => ScoreRows(_parameters, data, rows, scores);

    /// <summary>Scores with other <paramref name="parameters"/> (training's validation); rows are standardised first.</summary>
    internal void ScoreRows(ReadOnlySpan<float> parameters, ReadOnlySpan<float> data, int rows, Span<double> scores)
    {
        var d = FeatureCount;
        var block = Math.Min(BlockRows, Math.Max(1, rows));
        var scratch = ArrayPool<float>.Shared.Rent((2 * block * _network.Widest) + (2 * block * d));
        try
        {
            var output = scratch.AsSpan(2 * block * _network.Widest, block * d);
            var z = scratch.AsSpan((2 * block * _network.Widest) + (block * d), block * d);
            for (var start = 0; start < rows; start += block)
            {
                var count = Math.Min(block, rows - start);
                var input = z[..(count * d)];
                Standardize(data.Slice(start * d, count * d), count, input);
                Forward(parameters, input, count, scratch.AsSpan(0, 2 * block * _network.Widest), output[..(count * d)]);
                for (var r = 0; r < count; r++)
                {
                    scores[start + r] = RowError(input.Slice(r * d, d), output.Slice(r * d, d));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    internal double RowError(ReadOnlySpan<float> x, ReadOnlySpan<float> reconstruction)
    {
        var sum = 0.0;
        var w = _featureWeight;
        for (var f = 0; f < x.Length; f++)
        {
            var e = (double)reconstruction[f] - x[f];
            sum += w[f] * e * e;
        }

        return sum;
    }

    /// <summary>The loss weight of each feature (<c>c_f</c>).</summary>
    internal ReadOnlySpan<double> FeatureWeight => _featureWeight;

    private void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, Span<float> scratch, Span<float> output)
    {
        var half = scratch.Length / 2;
        _network.Forward(parameters, input, rows, scratch[..half], scratch[half..], output);
    }

    internal static (double[] FeatureWeight, double[] GroupScale, int[] GroupSize) FeatureWeights(int[] groupOf, double[] groupWeights)
    {
        var size = new int[groupWeights.Length];
        foreach (var g in groupOf)
        {
            size[g]++;
        }

        var total = 0.0;
        for (var g = 0; g < size.Length; g++)
        {
            if (size[g] > 0)
            {
                total += groupWeights[g];
            }
        }

        if (!(total > 0))
        {
            throw new ArgumentException("The input groups' weights sum to 0; at least one group with features needs a positive weight.");
        }

        var scale = new double[size.Length];
        for (var g = 0; g < size.Length; g++)
        {
            scale[g] = groupWeights[g] / total;
        }

        var weight = new double[groupOf.Length];
        for (var f = 0; f < groupOf.Length; f++)
        {
            weight[f] = scale[groupOf[f]] / size[groupOf[f]];
        }

        return (weight, scale, size);
    }

    /// <summary>Writes the little-endian binary form (see <see cref="Read"/>).</summary>
    internal byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(BinaryVersion);
            w.Write(_network.Sizes.Length);
            foreach (var s in _network.Sizes)
            {
                w.Write(s);
            }

            w.Write((int)_network.Hidden);
            w.Write((int)_network.Output);
            w.Write(Threshold);
            w.Write(_groupNames.Length);
            for (var g = 0; g < _groupNames.Length; g++)
            {
                var name = Encoding.UTF8.GetBytes(_groupNames[g]);
                w.Write(name.Length);
                w.Write(name);
                w.Write(_groupWeights[g]);
            }

            foreach (var g in _groupOf)
            {
                w.Write(g);
            }

            foreach (var v in _mean)
            {
                w.Write(v);
            }

            foreach (var v in _inverseStd)
            {
                w.Write(v);
            }

            foreach (var v in _errorScale)
            {
                w.Write(v);
            }

            w.Write(_parameters.Length);
            var bytes = new byte[_parameters.Length * 4];
            for (var i = 0; i < _parameters.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), _parameters[i]);
            }

            w.Write(bytes);
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Reads the binary form: magic <c>VGLAENC1</c>; int32 version, int32 layer-size count then the sizes,
    /// int32 hidden and output activations, float64 threshold; int32 group count and per group an int32 UTF-8
    /// length, the name and a float64 weight; int32 group index per input feature; float32 centre and float32 inverse scale per input feature; float64 error scale per input feature; int32 parameter count and the
    /// float32 parameters (per layer row-major weights in×out then biases). All little-endian. Throws
    /// <see cref="InvalidDataException"/> describing the first problem.
    /// </summary>
    internal static AutoencoderModel Read(ReadOnlySpan<byte> bytes)
    {
        var p = ReadHeader(bytes, Magic, "autoencoder", BinaryVersion);

        var count = ReadInt(bytes, ref p, "header");
        if (count < 2 || count > 64)
        {
            throw new InvalidDataException($"has an invalid layer count {count}");
        }

        var sizes = new int[count];
        for (var i = 0; i < count; i++)
        {
            sizes[i] = ReadInt(bytes, ref p, "layer sizes");
            if (sizes[i] < 1 || sizes[i] > 65_536)
            {
                throw new InvalidDataException($"has an invalid width {sizes[i]} for layer {i}");
            }
        }

        if (sizes[0] != sizes[^1])
        {
            throw new InvalidDataException($"has input width {sizes[0]} but output width {sizes[^1]}");
        }

        var hidden = (Activation)ReadInt(bytes, ref p, "header");
        var output = (Activation)ReadInt(bytes, ref p, "header");
        if (!Enum.IsDefined(hidden) || !Enum.IsDefined(output))
        {
            throw new InvalidDataException($"names unknown activations ({(int)hidden}, {(int)output})");
        }

        var threshold = ReadDouble(bytes, ref p, "header");
        var groups = ReadInt(bytes, ref p, "groups");
        if (groups < 1 || groups > sizes[0])
        {
            throw new InvalidDataException($"has an invalid group count {groups} for {sizes[0]} features");
        }

        var names = new string[groups];
        var weights = new double[groups];
        for (var g = 0; g < groups; g++)
        {
            var length = ReadInt(bytes, ref p, "groups");
            if (length < 0 || length > 4096 || bytes.Length - p < length)
            {
                throw new InvalidDataException($"has an invalid name length {length} for group {g}");
            }

            names[g] = Encoding.UTF8.GetString(bytes.Slice(p, length));
            p += length;
            weights[g] = ReadDouble(bytes, ref p, "groups");
            if (!(weights[g] >= 0 && double.IsFinite(weights[g])))
            {
                throw new InvalidDataException($"has the invalid weight {weights[g].ToString("R", CultureInfo.InvariantCulture)} for group '{names[g]}'");
            }
        }

        var groupOf = new int[sizes[0]];
        for (var f = 0; f < groupOf.Length; f++)
        {
            groupOf[f] = ReadInt(bytes, ref p, "feature groups");
            if ((uint)groupOf[f] >= (uint)groups)
            {
                throw new InvalidDataException($"puts feature {f} in the unknown group {groupOf[f]}");
            }
        }

        var mean = new float[sizes[0]];
        var inverseStd = new float[sizes[0]];
        foreach (var (target, what) in new[] { (mean, "centre"), (inverseStd, "inverse scale") })
        {
            for (var f = 0; f < target.Length; f++)
            {
                Need(bytes, p, 4, what);
                target[f] = BinaryPrimitives.ReadSingleLittleEndian(bytes[p..]);
                p += 4;
                if (!float.IsFinite(target[f]))
                {
                    throw new InvalidDataException($"has a non-finite {what} for feature {f}");
                }
            }
        }

        var errorScale = new double[sizes[0]];
        for (var f = 0; f < errorScale.Length; f++)
        {
            errorScale[f] = ReadDouble(bytes, ref p, "error scale");
            if (!(errorScale[f] > 0 && double.IsFinite(errorScale[f])))
            {
                throw new InvalidDataException($"has the invalid error scale {errorScale[f].ToString("R", CultureInfo.InvariantCulture)} for feature {f}");
            }
        }

        DenseNetwork network;
        try
        {
            network = new DenseNetwork(sizes, hidden, output);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        var parameterCount = ReadInt(bytes, ref p, "parameters");
        if (parameterCount != network.ParameterCount)
        {
            throw new InvalidDataException($"holds {parameterCount} parameters but its layer sizes need {network.ParameterCount}");
        }

        if (bytes.Length - p != parameterCount * 4L)
        {
            throw new InvalidDataException($"has {bytes.Length - p} bytes of parameters but {parameterCount * 4L} are expected (truncated or trailing bytes)");
        }

        var parameters = new float[parameterCount];
        for (var i = 0; i < parameterCount; i++)
        {
            parameters[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(p + (i * 4)));
            if (!float.IsFinite(parameters[i]))
            {
                throw new InvalidDataException($"holds the non-finite parameter {parameters[i].ToString(CultureInfo.InvariantCulture)} at index {i}");
            }
        }

        try
        {
            return new AutoencoderModel(network, parameters, names, weights, groupOf, mean, inverseStd, errorScale, threshold, maxDegreeOfParallelism: null, training: null);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

}

/// <summary>What happened while an autoencoder was trained.</summary>
/// <param name="EpochsRun">Epochs run (early stopping may end training before the limit).</param>
/// <param name="BestEpoch">The 1-based epoch whose weights were kept (the last one without validation).</param>
/// <param name="BestValidationLoss">The validation loss of the kept weights; NaN without a validation split.</param>
/// <param name="TrainRows">Rows used for gradient steps.</param>
/// <param name="ValidationRows">Rows held out for early stopping.</param>
/// <param name="EpochSeconds">Wall time of each epoch's gradient steps (validation excluded).</param>
/// <param name="TrainLosses">Mean training loss of each epoch (over its mini-batches).</param>
/// <param name="ValidationLosses">Validation loss after each epoch (empty without a validation split).</param>
public sealed record AutoencoderTrainingSummary(
    int EpochsRun,
    int BestEpoch,
    double BestValidationLoss,
    int TrainRows,
    int ValidationRows,
    IReadOnlyList<double> EpochSeconds,
    IReadOnlyList<double> TrainLosses,
    IReadOnlyList<double> ValidationLosses);
