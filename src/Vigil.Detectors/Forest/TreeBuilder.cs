using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// Grows one isolation tree the way scikit-learn's <c>ExtraTreeRegressor(splitter='random', max_features=1)</c>
/// does inside <c>IsolationForest</c>: at each node draw features (without replacement) among the tree's
/// features until one is not constant on the node's rows, then a threshold uniform in [min, max) of that
/// feature; rows with <c>x &lt;= threshold</c> go left. A node is a leaf at the depth limit, with fewer than
/// two distinct rows, or when every feature is constant on it.
/// </summary>
internal sealed class TreeBuilder
{
    /// <summary>scikit-learn's <c>FEATURE_THRESHOLD</c>: a feature is constant when max &lt;= min + 1e-7.</summary>
    private const double FeatureThreshold = 1e-7;

    private readonly float[] _columns; // column-major copy of the tree's rows: _columns[k * _rows + m]
    private readonly int _rows;
    private readonly int[] _treeFeatures;
    private readonly int[] _order;
    private readonly int[] _index;
    private readonly int _depthLimit;
    private readonly VigilRandom _rng;
    private readonly List<int> _feature = [];
    private readonly List<float> _threshold = [];
    private readonly List<int> _left = [];
    private readonly List<int> _right = [];
    private readonly List<int> _samples = [];

    private TreeBuilder(FeatureMatrix x, int[] rows, int[] treeFeatures, int depthLimit, VigilRandom rng)
    {
        _rows = rows.Length;
        _treeFeatures = treeFeatures;
        _depthLimit = depthLimit;
        _rng = rng;
        _order = new int[treeFeatures.Length];
        for (var k = 0; k < _order.Length; k++)
        {
            _order[k] = k;
        }

        _index = new int[_rows];
        _columns = new float[treeFeatures.Length * _rows];
        var data = x.Data;
        var d = x.Columns;
        for (var m = 0; m < _rows; m++)
        {
            _index[m] = m;
            var rowStart = rows[m] * d;
            for (var k = 0; k < treeFeatures.Length; k++)
            {
                _columns[(k * _rows) + m] = data[rowStart + treeFeatures[k]];
            }
        }
    }

    /// <summary>Grows a tree on the distinct training rows <paramref name="rows"/> using only <paramref name="treeFeatures"/>.</summary>
    public static IsolationTree Build(FeatureMatrix x, int[] rows, int[] treeFeatures, int depthLimit, VigilRandom rng)
    {
        var builder = new TreeBuilder(x, rows, treeFeatures, depthLimit, rng);
        builder.Grow(0, builder._rows, 0);
        return new IsolationTree([.. builder._feature], [.. builder._threshold], [.. builder._left], [.. builder._right], [.. builder._samples]);
    }

    private int Grow(int start, int end, int depth)
    {
        var id = _feature.Count;
        var n = end - start;
        _feature.Add(-1);
        _threshold.Add(0f);
        _left.Add(-1);
        _right.Add(-1);
        _samples.Add(n);
        if (depth >= _depthLimit || n < 2)
        {
            return id;
        }

        // Draw features without replacement until one is not constant on this node (partial Fisher-Yates).
        var k = _order.Length;
        for (var i = 0; i < k; i++)
        {
            var j = i + _rng.Next(k - i);
            (_order[i], _order[j]) = (_order[j], _order[i]);
            var local = _order[i];
            var column = _columns.AsSpan(local * _rows, _rows);
            var min = float.PositiveInfinity;
            var max = float.NegativeInfinity;
            for (var p = start; p < end; p++)
            {
                var v = column[_index[p]];
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            if (max <= min + FeatureThreshold)
            {
                continue;
            }

            // scikit-learn: threshold = rand_uniform(min, max); if it lands on max, use min.
            var t = ((double)max - min) * _rng.NextDouble() + min;
            if (t >= max)
            {
                t = min;
            }

            // Largest float <= t, so that (float x) <= threshold is the same test as (double)x <= t.
            var threshold = (float)t;
            if (threshold > t)
            {
                threshold = MathF.BitDecrement(threshold);
            }

            var split = Partition(column, start, end, threshold);
            _feature[id] = _treeFeatures[local];
            _threshold[id] = threshold;
            _left[id] = Grow(start, split, depth + 1);
            _right[id] = Grow(split, end, depth + 1);
            return id;
        }

        return id;
    }

    private int Partition(ReadOnlySpan<float> column, int start, int end, float threshold)
    {
        var lo = start;
        var hi = end - 1;
        while (lo <= hi)
        {
            if (column[_index[lo]] <= threshold)
            {
                lo++;
            }
            else
            {
                (_index[lo], _index[hi]) = (_index[hi], _index[lo]);
                hi--;
            }
        }

        return lo;
    }
}
