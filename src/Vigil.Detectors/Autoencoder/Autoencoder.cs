using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// Trains a dense autoencoder (<see cref="AutoencoderModel"/>) on float32 row-major mini-batches with Adam.
/// Each mini-batch is split into fixed shards of <see cref="ShardRows"/> rows; shards run in parallel and their
/// gradients are summed in shard order, so the weights are bit-identical for a seed whatever the thread count.
/// </summary>
public sealed class Autoencoder
{
    /// <summary>Rows per gradient shard: the unit of parallel work inside a mini-batch.</summary>
    public const int ShardRows = 32;

    private readonly AutoencoderOptions _options;

    /// <summary>Creates a trainer; the options are validated.</summary>
    public Autoencoder(AutoencoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>Trains on every row of <paramref name="x"/> with all features in the group <c>"numeric"</c>.</summary>
    public AutoencoderModel Fit(FeatureMatrix x) => Fit(x, null);

    /// <summary>
    /// Trains on every row of <paramref name="x"/>. <paramref name="featureGroups"/> names the input group of
    /// each feature (null = all <c>"numeric"</c>); groups weigh <see cref="AutoencoderOptions.GroupWeights"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is empty or holds a non-finite value, or the groups do not match.</exception>
    public AutoencoderModel Fit(FeatureMatrix x, IReadOnlyList<string>? featureGroups)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rows < 1)
        {
            throw new ArgumentException("An autoencoder needs at least one training row.", nameof(x));
        }

        EnsureFinite(x);
        var d = x.Columns;
        var (groupNames, groupOf) = ResolveGroups(d, featureGroups);
        var groupWeights = new double[groupNames.Length];
        for (var g = 0; g < groupNames.Length; g++)
        {
            groupWeights[g] = _options.GroupWeights is { } gw && gw.TryGetValue(groupNames[g], out var w) ? w : 1.0;
        }

        var hidden = _options.HiddenLayers ?? AutoencoderOptions.DefaultHiddenLayers(d);
        var sizes = new int[hidden.Count + 2];
        sizes[0] = d;
        for (var i = 0; i < hidden.Count; i++)
        {
            sizes[i + 1] = hidden[i];
        }

        sizes[^1] = d;
        var network = new DenseNetwork(sizes, _options.HiddenActivation, _options.OutputActivation);
        var rng = new VigilRandom(_options.Seed);
        var parameters = Initialise(network, rng);
        var (mean, inverseStd) = Moments(x, _options.Standardize);
        var ones = new double[d];
        ones.AsSpan().Fill(1.0);
        var identityMean = new float[d];
        var identityScale = new float[d];
        identityScale.AsSpan().Fill(1f);

        // Training runs on the standardised rows; the shell model (identity standardisation) gives the loss
        // weights and scores validation rows with the current parameters.
        var standardized = x;
        var model = new AutoencoderModel(network, parameters, groupNames, groupWeights, groupOf, mean, inverseStd, ones, 0, _options.MaxDegreeOfParallelism, null);
        if (_options.Standardize)
        {
            var z = new float[x.Rows * d];
            model.Standardize(x.Values, x.Rows, z);
            standardized = new FeatureMatrix(z, x.Rows, x.ColumnNames);
        }

        var shell = new AutoencoderModel(network, parameters, groupNames, groupWeights, groupOf, identityMean, identityScale, ones, 0, _options.MaxDegreeOfParallelism, null);
        var session = new TrainingSession(network, shell, _options);
        var summary = session.Run(standardized, parameters, rng);

        model = new AutoencoderModel(network, parameters, groupNames, groupWeights, groupOf, mean, inverseStd, ones, 0, _options.MaxDegreeOfParallelism, summary);
        if (_options.NormalizeErrors)
        {
            model = model.WithErrorScale(ErrorScale(model, x), summary);
        }

        return model.WithThreshold(Quantile(model.Score(x), 1 - _options.Contamination));
    }

    /// <summary>
    /// 1 / each feature's mean squared (standardised) reconstruction error over <paramref name="x"/>, with the
    /// error floored at 1e-3 of the mean over features so that perfectly reconstructed features cannot dominate.
    /// </summary>
    private static double[] ErrorScale(AutoencoderModel model, FeatureMatrix x)
    {
        var d = x.Columns;
        var reconstruction = model.Reconstruct(x);
        var mse = new double[d];
        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Row(r);
            for (var f = 0; f < d; f++)
            {
                var e = (reconstruction[(r * d) + f] - (double)row[f]) * model.InverseScale[f];
                mse[f] += e * e;
            }
        }

        var mean = 0.0;
        for (var f = 0; f < d; f++)
        {
            mse[f] /= x.Rows;
            mean += mse[f] / d;
        }

        var floor = Math.Max(mean * 1e-3, 1e-12);
        var scale = new double[d];
        for (var f = 0; f < d; f++)
        {
            scale[f] = 1.0 / Math.Max(mse[f], floor);
        }

        return scale;
    }

    /// <summary>Per-feature training mean and 1 / standard deviation (1 for a constant feature); identity when not standardising.</summary>
    private static (float[] Mean, float[] InverseStd) Moments(FeatureMatrix x, bool standardize)
    {
        var d = x.Columns;
        var mean = new float[d];
        var inverse = new float[d];
        inverse.AsSpan().Fill(1f);
        if (!standardize)
        {
            return (mean, inverse);
        }

        var sum = new double[d];
        var squares = new double[d];
        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Row(r);
            for (var f = 0; f < d; f++)
            {
                sum[f] += row[f];
            }
        }

        for (var f = 0; f < d; f++)
        {
            sum[f] /= x.Rows;
        }

        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Row(r);
            for (var f = 0; f < d; f++)
            {
                var e = row[f] - sum[f];
                squares[f] += e * e;
            }
        }

        for (var f = 0; f < d; f++)
        {
            var std = Math.Sqrt(squares[f] / x.Rows);
            mean[f] = (float)sum[f];
            inverse[f] = std > 1e-6 ? (float)(1.0 / std) : 1f;
        }

        return (mean, inverse);
    }

    /// <summary>numpy's default (linear) percentile of <paramref name="values"/> at <paramref name="q"/> in [0, 1].</summary>
    internal static double Quantile(double[] values, double q)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    private static (string[] Names, int[] GroupOf) ResolveGroups(int d, IReadOnlyList<string>? featureGroups)
    {
        var groupOf = new int[d];
        if (featureGroups is null)
        {
            return ([AutoencoderModel.NumericGroup], groupOf);
        }

        if (featureGroups.Count != d)
        {
            throw new ArgumentException($"{featureGroups.Count} feature groups were given for {d} features.", nameof(featureGroups));
        }

        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var f = 0; f < d; f++)
        {
            var name = featureGroups[f];
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException($"Feature {f} has no group name.", nameof(featureGroups));
            }

            if (!index.TryGetValue(name, out var g))
            {
                g = names.Count;
                index[name] = g;
                names.Add(name);
            }

            groupOf[f] = g;
        }

        return ([.. names], groupOf);
    }

    /// <summary>Glorot-uniform weights (He-uniform for ReLU layers), zero biases, drawn layer by layer from <paramref name="rng"/>.</summary>
    private static float[] Initialise(DenseNetwork network, VigilRandom rng)
    {
        var parameters = new float[network.ParameterCount];
        for (var l = 0; l < network.Layers; l++)
        {
            var fanIn = network.Sizes[l];
            var fanOut = network.Sizes[l + 1];
            var limit = network.ActivationOf(l) == Activation.Relu
                ? Math.Sqrt(6.0 / fanIn)
                : Math.Sqrt(6.0 / (fanIn + fanOut));
            var w = parameters.AsSpan(network.WeightOffset[l], fanIn * fanOut);
            for (var i = 0; i < w.Length; i++)
            {
                w[i] = (float)(((2 * rng.NextDouble()) - 1) * limit);
            }
        }

        return parameters;
    }

    private static void EnsureFinite(FeatureMatrix x) => x.RequireFinite("training matrix", "autoencoders");

    /// <summary>Buffers and the loop of one training run.</summary>
    private sealed class TrainingSession
    {
        private readonly DenseNetwork _net;
        private readonly AutoencoderModel _shell;
        private readonly AutoencoderOptions _o;
        private readonly float[] _lossWeight; // 2 c_f, multiplied by 1 / batch rows per batch
        private readonly Shard[] _shards;
        private readonly float[] _transposed; // W_l^T for l >= 1, at the weight offsets
        private readonly float[] _gradient;
        private readonly float[] _m;
        private readonly float[] _v;
        private readonly bool[] _isWeight;
        private readonly ParallelOptions _parallel;
        private float _batchScale;

        public TrainingSession(DenseNetwork net, AutoencoderModel shell, AutoencoderOptions options)
        {
            _net = net;
            _shell = shell;
            _o = options;
            var d = net.Inputs;
            _lossWeight = new float[d];
            for (var f = 0; f < d; f++)
            {
                _lossWeight[f] = (float)(2 * shell.FeatureWeight[f]);
            }

            var batch = options.BatchSize;
            var shardCount = (batch + ShardRows - 1) / ShardRows;
            _shards = new Shard[shardCount];
            for (var s = 0; s < shardCount; s++)
            {
                _shards[s] = new Shard(net, Math.Min(ShardRows, batch));
            }

            _transposed = new float[net.ParameterCount];
            _gradient = new float[net.ParameterCount];
            _m = new float[net.ParameterCount];
            _v = new float[net.ParameterCount];
            _isWeight = new bool[net.ParameterCount];
            for (var l = 0; l < net.Layers; l++)
            {
                _isWeight.AsSpan(net.WeightOffset[l], net.Sizes[l] * net.Sizes[l + 1]).Fill(true);
            }

            _parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? -1 };
        }

        public AutoencoderTrainingSummary Run(FeatureMatrix x, float[] parameters, VigilRandom rng)
        {
            var n = x.Rows;
            var d = x.Columns;
            var order = new int[n];
            for (var i = 0; i < n; i++)
            {
                order[i] = i;
            }

            rng.Shuffle(order);
            var validationRows = _o.ValidationFraction > 0 ? Math.Max(1, (int)Math.Floor(n * _o.ValidationFraction)) : 0;
            if (n - validationRows < 1)
            {
                validationRows = 0;
            }

            var validationIndex = order.AsSpan(0, validationRows).ToArray();
            Array.Sort(validationIndex);
            var train = order.AsSpan(validationRows).ToArray();
            Array.Sort(train); // the epoch shuffles start from the sorted rows, independent of the split's draw order
            var validation = Gather(x, validationIndex);
            var validationScores = new double[validationRows];

            var batchData = new float[_o.BatchSize * d];
            var best = parameters.ToArray();
            var bestLoss = double.PositiveInfinity;
            var bestEpoch = 0;
            var sinceBest = 0;
            var step = 0L;
            var epochSeconds = new List<double>();
            var trainLosses = new List<double>();
            var validationLosses = new List<double>();
            var clock = new Stopwatch();
            var epoch = 0;
            while (epoch < _o.Epochs)
            {
                epoch++;
                rng.Shuffle(train);
                clock.Restart();
                var lossSum = 0.0;
                for (var start = 0; start < train.Length; start += _o.BatchSize)
                {
                    var rows = Math.Min(_o.BatchSize, train.Length - start);
                    for (var r = 0; r < rows; r++)
                    {
                        x.Data.AsSpan(train[start + r] * d, d).CopyTo(batchData.AsSpan(r * d, d));
                    }

                    lossSum += Step(parameters, batchData, rows, ++step) * rows;
                }

                epochSeconds.Add(clock.Elapsed.TotalSeconds);
                trainLosses.Add(lossSum / train.Length);
                if (validationRows == 0)
                {
                    bestEpoch = epoch;
                    continue;
                }

                var loss = MeanScore(parameters, validation, validationRows, validationScores);
                validationLosses.Add(loss);
                if (loss < bestLoss)
                {
                    bestLoss = loss;
                    bestEpoch = epoch;
                    sinceBest = 0;
                    parameters.AsSpan().CopyTo(best);
                }
                else if (++sinceBest >= _o.Patience)
                {
                    break;
                }
            }

            if (validationRows > 0)
            {
                best.AsSpan().CopyTo(parameters);
            }

            return new AutoencoderTrainingSummary(epoch, bestEpoch, validationRows > 0 ? bestLoss : double.NaN, train.Length, validationRows,
                epochSeconds, trainLosses, validationLosses);
        }

        /// <summary>One Adam step on a mini-batch; returns the batch's mean loss.</summary>
        private double Step(float[] parameters, float[] batch, int rows, long t)
        {
            var net = _net;
            for (var l = 1; l < net.Layers; l++)
            {
                DenseKernels.Transpose(net.Weights(parameters, l), _transposed.AsSpan(net.WeightOffset[l]), net.Sizes[l], net.Sizes[l + 1]);
            }

            _batchScale = 1f / rows;
            var shards = (rows + ShardRows - 1) / ShardRows;
            if (shards == 1)
            {
                _shards[0].Compute(this, parameters, batch, 0, rows);
            }
            else
            {
                Parallel.For(0, shards, _parallel, s =>
                {
                    var start = s * ShardRows;
                    _shards[s].Compute(this, parameters, batch, start, Math.Min(ShardRows, rows - start));
                });
            }

            var gradient = _gradient.AsSpan();
            _shards[0].Gradient.AsSpan().CopyTo(gradient);
            var loss = _shards[0].Loss;
            for (var s = 1; s < shards; s++)
            {
                TensorPrimitives.Add(gradient, _shards[s].Gradient, gradient);
                loss += _shards[s].Loss;
            }

            Adam(parameters, t);
            return loss / rows;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        private void Adam(float[] parameters, long t)
        {
            var b1 = (float)_o.Beta1;
            var b2 = (float)_o.Beta2;
            var lr = (float)_o.LearningRate;
            var eps = (float)_o.Epsilon;
            var decay = (float)_o.WeightDecay;
            var c1 = (float)(1 - Math.Pow(_o.Beta1, t));
            var c2 = (float)(1 - Math.Pow(_o.Beta2, t));
            var sqrtC2 = MathF.Sqrt(c2);
            var stepSize = lr / c1;
            var g = _gradient;
            var m = _m;
            var v = _v;
            for (var i = 0; i < parameters.Length; i++)
            {
                var gi = g[i];
                if (decay != 0 && _isWeight[i])
                {
                    gi += decay * parameters[i];
                }

                m[i] = (b1 * m[i]) + ((1 - b1) * gi);
                v[i] = (b2 * v[i]) + ((1 - b2) * gi * gi);
                // PyTorch's form: p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)
                parameters[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / sqrtC2) + eps);
            }
        }

        private double MeanScore(float[] parameters, float[] data, int rows, double[] scores)
        {
            const int chunk = 1024;
            var d = _net.Inputs;
            var chunks = (rows + chunk - 1) / chunk;
            Parallel.For(0, chunks, _parallel, c =>
            {
                var start = c * chunk;
                var count = Math.Min(chunk, rows - start);
                _shell.ScoreRows(parameters, data.AsSpan(start * d, count * d), count, scores.AsSpan(start, count));
            });
            var sum = 0.0;
            for (var i = 0; i < rows; i++)
            {
                sum += scores[i];
            }

            return sum / rows;
        }

        private static float[] Gather(FeatureMatrix x, int[] rows)
        {
            var d = x.Columns;
            var data = new float[Math.Max(1, rows.Length * d)];
            for (var i = 0; i < rows.Length; i++)
            {
                x.Data.AsSpan(rows[i] * d, d).CopyTo(data.AsSpan(i * d, d));
            }

            return data;
        }

        /// <summary>The buffers of one shard: activations of every layer, deltas, a transpose and a gradient.</summary>
        private sealed class Shard
        {
            private readonly float[][] _activations;
            private readonly float[] _deltaA;
            private readonly float[] _deltaB;
            private readonly float[] _transposedInput;
            private readonly double[] _rowLoss;
            private readonly double[] _sortedLoss;

            public Shard(DenseNetwork net, int rows)
            {
                _activations = new float[net.Layers + 1][];
                for (var l = 1; l <= net.Layers; l++)
                {
                    _activations[l] = new float[rows * net.Sizes[l]];
                }

                _deltaA = new float[rows * net.Widest];
                _deltaB = new float[rows * net.Widest];
                _transposedInput = new float[rows * net.Widest];
                _rowLoss = new double[rows];
                _sortedLoss = new double[rows];
                Gradient = new float[net.ParameterCount];
            }

            public float[] Gradient { get; }

            public double Loss { get; private set; }

            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
            public void Compute(TrainingSession session, float[] parameters, float[] batch, int start, int rows)
            {
                var net = session._net;
                var d = net.Inputs;
                ReadOnlySpan<float> input = batch.AsSpan(start * d, rows * d);

                // Forward, keeping every layer's output.
                var current = input;
                for (var l = 0; l < net.Layers; l++)
                {
                    var n = net.Sizes[l + 1];
                    var output = _activations[l + 1].AsSpan(0, rows * n);
                    DenseKernels.Gemm(current, net.Weights(parameters, l), output, rows, net.Sizes[l], n, net.Biases(parameters, l));
                    DenseKernels.Activate(output, net.ActivationOf(l));
                    current = output;
                }

                // Loss and its gradient with respect to the reconstruction: 2 c_f (xhat - x) / batch rows.
                var reconstruction = current;
                var delta = _deltaA.AsSpan(0, rows * d);
                var weight = session._lossWeight;
                var scale = session._batchScale;
                var loss = 0.0;
                var rowLoss = _rowLoss.AsSpan(0, rows);
                for (var r = 0; r < rows; r++)
                {
                    var l = 0.0;
                    for (var f = 0; f < d; f++)
                    {
                        var i = (r * d) + f;
                        var e = reconstruction[i] - input[i];
                        l += 0.5 * weight[f] * e * (double)e;
                        delta[i] = weight[f] * e * scale;
                    }

                    rowLoss[r] = l;
                    loss += l;
                }

                // Trimmed loss: the shard's worst-reconstructed rows (likely anomalies) give no gradient.
                var trim = (int)Math.Floor(session._o.TrimFraction * rows);
                if (trim > 0)
                {
                    var sorted = _sortedLoss.AsSpan(0, rows);
                    rowLoss.CopyTo(sorted);
                    sorted.Sort();
                    var cut = sorted[rows - trim - 1];
                    var dropped = 0;
                    for (var r = 0; r < rows && dropped < trim; r++)
                    {
                        if (rowLoss[r] > cut)
                        {
                            delta.Slice(r * d, d).Clear();
                            dropped++;
                        }
                    }
                }

                Loss = loss;
                DenseKernels.MultiplyByDerivative(delta, reconstruction, net.ActivationOf(net.Layers - 1));

                var other = _deltaB;
                var deltaIsA = true;
                for (var l = net.Layers - 1; l >= 0; l--)
                {
                    var inWidth = net.Sizes[l];
                    var outWidth = net.Sizes[l + 1];
                    ReadOnlySpan<float> layerInput = l == 0 ? input : _activations[l].AsSpan(0, rows * inWidth);
                    var at = _transposedInput.AsSpan(0, inWidth * rows);
                    DenseKernels.Transpose(layerInput, at, rows, inWidth);
                    DenseKernels.Gemm(at, delta, Gradient.AsSpan(net.WeightOffset[l], inWidth * outWidth), inWidth, rows, outWidth, default);
                    var biasGradient = Gradient.AsSpan(net.BiasOffset[l], outWidth);
                    biasGradient.Clear();
                    DenseKernels.AddColumnSums(delta, rows, outWidth, biasGradient);
                    if (l == 0)
                    {
                        break;
                    }

                    var previous = (deltaIsA ? other : _deltaA).AsSpan(0, rows * inWidth);
                    DenseKernels.Gemm(delta, session._transposed.AsSpan(net.WeightOffset[l], outWidth * inWidth), previous, rows, outWidth, inWidth, default);
                    DenseKernels.MultiplyByDerivative(previous, layerInput, net.ActivationOf(l - 1));
                    delta = previous;
                    deltaIsA = !deltaIsA;
                }
            }
        }
    }
}
