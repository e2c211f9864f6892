using System.Buffers.Binary;
using System.Globalization;
using static Vigil.Detectors.ModelBinary;

namespace Vigil.Detectors;

/// <summary>
/// A LightGBM binary classifier as plain arrays, scored by Vigil's own code: the raw score is
/// <c>bias + Σ_t weight_t · leaf_t(x)</c> (a split sends a row left when <c>x[feature] &lt;= threshold</c>) and the
/// score is the probability <c>1 / (1 + exp(slope · raw + offset))</c>, as ML.NET's Platt calibrator computes it.
/// Per-row reasons are Saabas contributions: along each tree's path, the change of the node's expected value
/// (mean leaf value weighted by training rows) is credited to the split feature.
/// </summary>
public sealed class LightGbmModel : IExplainableDetector, IRowScorer
{
    /// <summary>The detector kind stored in bundles.</summary>
    public const string DetectorKind = "lightgbm";

    private const int BinaryVersion = 1;
    private static readonly byte[] Magic = "VGLLGBM1"u8.ToArray();

    private readonly int[] _nodeStart;   // per tree, into the internal-node arrays
    private readonly int[] _leafStart;   // per tree, into the leaf arrays
    private readonly double[] _treeWeight;
    private readonly int[] _feature;
    private readonly float[] _threshold;
    private readonly int[] _left;        // >= 0: internal node of the same tree; < 0: ~leaf
    private readonly int[] _right;
    private readonly double[] _nodeValue; // expected value of each internal node
    private readonly double[] _leafValue;

    internal LightGbmModel(int featureCount, double bias, double slope, double offset, double threshold,
        double[] treeWeight, int[] nodeStart, int[] leafStart, int[] feature, float[] splitThreshold, int[] left, int[] right,
        double[] nodeValue, double[] leafValue)
    {
        FeatureCount = featureCount;
        Bias = bias;
        Slope = slope;
        Offset = offset;
        Threshold = threshold;
        _treeWeight = treeWeight;
        _nodeStart = nodeStart;
        _leafStart = leafStart;
        _feature = feature;
        _threshold = splitThreshold;
        _left = left;
        _right = right;
        _nodeValue = nodeValue;
        _leafValue = leafValue;
        Validate();
    }

    /// <inheritdoc />
    public string Kind => DetectorKind;

    /// <inheritdoc />
    public int FeatureCount { get; }

    /// <summary>Predicted probabilities above this are anomalies (default 0.5).</summary>
    public double Threshold { get; }

    /// <summary>The constant added to the trees' sum.</summary>
    public double Bias { get; }

    /// <summary>The Platt calibrator's slope (<c>-sigmoid</c> for LightGBM).</summary>
    public double Slope { get; }

    /// <summary>The Platt calibrator's offset.</summary>
    public double Offset { get; }

    /// <summary>The number of trees.</summary>
    public int TreeCount => _treeWeight.Length;

    /// <summary>The expected raw score over the training rows (what contributions are measured from).</summary>
    public double ExpectedRawScore
    {
        get
        {
            var sum = Bias;
            for (var t = 0; t < _treeWeight.Length; t++)
            {
                sum += _treeWeight[t] * RootValue(t);
            }

            return sum;
        }
    }

    internal LightGbmModel WithThreshold(double threshold) =>
        new(FeatureCount, Bias, Slope, Offset, threshold, _treeWeight, _nodeStart, _leafStart, _feature, _threshold, _left, _right, _nodeValue, _leafValue);

    /// <summary>Scores every row of <paramref name="x"/>: the predicted probability of label 1.</summary>
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

        ScoreRows(x.Values, x.Rows, scores);
    }

    /// <summary>The raw (uncalibrated) score of one row.</summary>
    public double RawScore(ReadOnlySpan<float> row)
    {
        var sum = Bias;
        for (var t = 0; t < _treeWeight.Length; t++)
        {
            sum += _treeWeight[t] * _leafValue[_leafStart[t] + Leaf(t, row)];
        }

        return sum;
    }

    /// <summary>The probability for a raw score, through the Platt calibrator (the raw score is rounded to float32 first, as ML.NET does).</summary>
    public double Probability(double raw) => 1.0 / (1.0 + Math.Exp((Slope * (float)raw) + Offset));

    /// <inheritdoc />
    public void ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores)
    {
        var d = FeatureCount;
        for (var r = 0; r < rows; r++)
        {
            scores[r] = Probability(RawScore(data.Slice(r * d, d)));
        }
    }

    /// <summary>
    /// Saabas contributions of each feature to the raw score of <paramref name="row"/>; they sum to
    /// <c>RawScore(row) - ExpectedRawScore</c>.
    /// </summary>
    public void Contributions(ReadOnlySpan<float> row, Span<double> contributions)
    {
        if (row.Length != FeatureCount || contributions.Length < FeatureCount)
        {
            throw new ArgumentException($"Expected a row of {FeatureCount} features and room for {FeatureCount} contributions.", nameof(row));
        }

        contributions[..FeatureCount].Clear();
        for (var t = 0; t < _treeWeight.Length; t++)
        {
            var w = _treeWeight[t];
            var start = _nodeStart[t];
            if (_nodeStart[t + 1] == start)
            {
                continue; // a single-leaf tree splits nothing
            }

            var node = 0;
            var value = _nodeValue[start];
            while (true)
            {
                var g = start + node;
                var next = row[_feature[g]] <= _threshold[g] ? _left[g] : _right[g];
                var nextValue = next >= 0 ? _nodeValue[start + next] : _leafValue[_leafStart[t] + ~next];
                contributions[_feature[g]] += w * (nextValue - value);
                if (next < 0)
                {
                    break;
                }

                node = next;
                value = nextValue;
            }
        }
    }

    private double RootValue(int t) =>
        _nodeStart[t + 1] > _nodeStart[t] ? _nodeValue[_nodeStart[t]] : _leafValue[_leafStart[t]];

    private int Leaf(int t, ReadOnlySpan<float> row)
    {
        var start = _nodeStart[t];
        if (_nodeStart[t + 1] == start)
        {
            return 0;
        }

        var node = 0;
        while (true)
        {
            var g = start + node;
            node = row[_feature[g]] <= _threshold[g] ? _left[g] : _right[g];
            if (node < 0)
            {
                return ~node;
            }
        }
    }

    /// <summary>Checks that every tree is a proper binary tree whose paths end in its own leaves.</summary>
    private void Validate()
    {
        var trees = _treeWeight.Length;
        if (_nodeStart.Length != trees + 1 || _leafStart.Length != trees + 1)
        {
            throw new InvalidDataException("has inconsistent tree offsets");
        }

        for (var t = 0; t < trees; t++)
        {
            var nodes = _nodeStart[t + 1] - _nodeStart[t];
            var leaves = _leafStart[t + 1] - _leafStart[t];
            if (nodes < 0 || leaves != nodes + 1)
            {
                throw new InvalidDataException($"tree {t} has {nodes} splits and {leaves} leaves; a binary tree has one more leaf than splits");
            }

            for (var i = 0; i < nodes; i++)
            {
                var g = _nodeStart[t] + i;
                if ((uint)_feature[g] >= (uint)FeatureCount || float.IsNaN(_threshold[g]))
                {
                    throw new InvalidDataException($"tree {t} node {i} splits on feature {_feature[g]} of {FeatureCount} or has a NaN threshold");
                }
            }

            if (nodes == 0)
            {
                continue;
            }

            // Walk from the root: every split and leaf must be reached exactly once (no cycles, no sharing).
            var seenNodes = new bool[nodes];
            var seenLeaves = new bool[leaves];
            var stack = new Stack<int>();
            stack.Push(0);
            seenNodes[0] = true;
            var reached = 1;
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                var g = _nodeStart[t] + i;
                foreach (var child in (ReadOnlySpan<int>)[_left[g], _right[g]])
                {
                    if (child >= 0)
                    {
                        if (child >= nodes || seenNodes[child])
                        {
                            throw new InvalidDataException($"tree {t} node {i} has the invalid or shared child node {child}");
                        }

                        seenNodes[child] = true;
                        reached++;
                        stack.Push(child);
                    }
                    else
                    {
                        var leaf = ~child;
                        if (leaf >= leaves || seenLeaves[leaf])
                        {
                            throw new InvalidDataException($"tree {t} node {i} has the invalid or shared leaf {leaf}");
                        }

                        seenLeaves[leaf] = true;
                    }
                }
            }

            if (reached != nodes)
            {
                throw new InvalidDataException($"tree {t} has {nodes - reached} splits that cannot be reached from its root");
            }
        }
    }

    /// <summary>Writes the little-endian binary form (see <see cref="Read"/>).</summary>
    internal byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(Magic);
            w.Write(BinaryVersion);
            w.Write(FeatureCount);
            w.Write(_treeWeight.Length);
            w.Write(Bias);
            w.Write(Slope);
            w.Write(Offset);
            w.Write(Threshold);
            for (var t = 0; t < _treeWeight.Length; t++)
            {
                var nodes = _nodeStart[t + 1] - _nodeStart[t];
                w.Write(_treeWeight[t]);
                w.Write(nodes);
                for (var i = 0; i < nodes; i++)
                {
                    var g = _nodeStart[t] + i;
                    w.Write(_feature[g]);
                    w.Write(_threshold[g]);
                    w.Write(_left[g]);
                    w.Write(_right[g]);
                    w.Write(_nodeValue[g]);
                }

                for (var i = 0; i <= nodes; i++)
                {
                    w.Write(_leafValue[_leafStart[t] + i]);
                }
            }
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Reads the binary form: magic <c>VGLLGBM1</c>; int32 version, feature count, tree count; float64 bias,
    /// calibrator slope, offset and threshold; per tree a float64 weight, an int32 split count n, n splits
    /// (int32 feature, float32 threshold, int32 left, int32 right — a negative child is <c>~leaf</c> —, float64
    /// expected value) and n + 1 float64 leaf values. Little-endian. Throws <see cref="InvalidDataException"/>.
    /// </summary>
    internal static LightGbmModel Read(ReadOnlySpan<byte> bytes)
    {
        var p = ReadHeader(bytes, Magic, "LightGBM", BinaryVersion);

        var features = ReadInt(bytes, ref p, "header");
        var trees = ReadInt(bytes, ref p, "header");
        if (features < 1 || trees < 1 || trees > 1_000_000)
        {
            throw new InvalidDataException($"has an invalid header ({features} features, {trees} trees)");
        }

        var bias = ReadDouble(bytes, ref p, "header");
        var slope = ReadDouble(bytes, ref p, "header");
        var offset = ReadDouble(bytes, ref p, "header");
        var threshold = ReadDouble(bytes, ref p, "header");
        if (!double.IsFinite(bias) || !double.IsFinite(slope) || !double.IsFinite(offset))
        {
            throw new InvalidDataException("has a non-finite bias or calibrator");
        }

        var weights = new double[trees];
        var nodeStart = new int[trees + 1];
        var leafStart = new int[trees + 1];
        var feature = new List<int>();
        var splitThreshold = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var nodeValue = new List<double>();
        var leafValue = new List<double>();
        for (var t = 0; t < trees; t++)
        {
            var context = string.Create(CultureInfo.InvariantCulture, $"tree {t}");
            weights[t] = ReadDouble(bytes, ref p, context);
            var nodes = ReadInt(bytes, ref p, context);
            if (nodes < 0 || (long)nodes * 24 > bytes.Length - p)
            {
                throw new InvalidDataException($"{context} has an invalid split count {nodes}");
            }

            nodeStart[t] = feature.Count;
            leafStart[t] = leafValue.Count;
            for (var i = 0; i < nodes; i++)
            {
                feature.Add(ReadInt(bytes, ref p, context));
                Need(bytes, p, 4, context);
                splitThreshold.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[p..]));
                p += 4;
                left.Add(ReadInt(bytes, ref p, context));
                right.Add(ReadInt(bytes, ref p, context));
                nodeValue.Add(ReadDouble(bytes, ref p, context));
            }

            for (var i = 0; i <= nodes; i++)
            {
                var v = ReadDouble(bytes, ref p, context);
                if (!double.IsFinite(v))
                {
                    throw new InvalidDataException($"{context} leaf {i} has a non-finite value");
                }

                leafValue.Add(v);
            }
        }

        nodeStart[trees] = feature.Count;
        leafStart[trees] = leafValue.Count;
        if (p != bytes.Length)
        {
            throw new InvalidDataException($"has {bytes.Length - p} unexpected trailing bytes after the last tree");
        }

        return new LightGbmModel(features, bias, slope, offset, threshold, weights, nodeStart, leafStart,
            [.. feature], [.. splitThreshold], [.. left], [.. right], [.. nodeValue], [.. leafValue]);
    }

}
