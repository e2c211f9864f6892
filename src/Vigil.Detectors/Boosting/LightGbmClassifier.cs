using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Vigil.Detectors;

/// <summary>
/// Trains a supervised LightGBM binary classifier with Microsoft.ML.LightGbm, then copies the tree ensemble and
/// the calibrator into a <see cref="LightGbmModel"/> (plain arrays scored by Vigil's code). No ML.NET model file
/// is kept: a bundle holds only data.
/// </summary>
public sealed class LightGbmClassifier
{
    private readonly LightGbmOptions _options;

    /// <summary>Creates a trainer; the options are validated.</summary>
    public LightGbmClassifier(LightGbmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>Trains on <paramref name="x"/> with 0/1 <paramref name="labels"/> (both classes must occur).</summary>
    /// <exception cref="ArgumentException">Labels are missing, not 0/1, of one class only, or values are not finite.</exception>
    public LightGbmModel Fit(FeatureMatrix x, ReadOnlySpan<int> labels) => Fit(x, labels, null, out _);

    /// <summary>Trains; when <paramref name="reference"/> is given, also returns ML.NET's own probabilities for its rows.</summary>
    internal LightGbmModel Fit(FeatureMatrix x, ReadOnlySpan<int> labels, FeatureMatrix? reference, out float[]? referenceProbabilities)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (labels.Length != x.Rows)
        {
            throw new ArgumentException($"{labels.Length} labels were given for {x.Rows} rows.", nameof(labels));
        }

        int positives = 0, negatives = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            switch (labels[i])
            {
                case 0: negatives++; break;
                case 1: positives++; break;
                default: throw new ArgumentException($"Label {labels[i]} at row {i} is not 0 or 1.", nameof(labels));
            }
        }

        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException($"LightGBM needs both classes in the labels (found {positives} positive and {negatives} negative rows).", nameof(labels));
        }

        var values = x.Values;
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"The training matrix holds a non-finite value at row {i / x.Columns}, column '{x.ColumnNames[i % x.Columns]}'.", nameof(x));
            }
        }

        var d = x.Columns;
        var ml = new MLContext(_options.Seed);
        var schema = SchemaDefinition.Create(typeof(TrainingRow));
        schema[nameof(TrainingRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var rows = new TrainingRow[x.Rows];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = new TrainingRow { Features = x.Row(r).ToArray(), Label = labels[r] == 1 };
        }

        var data = ml.Data.LoadFromEnumerable(rows, schema);
        var o = _options;
        var trainerOptions = new LightGbmBinaryTrainer.Options
        {
            LabelColumnName = nameof(TrainingRow.Label),
            FeatureColumnName = nameof(TrainingRow.Features),
            NumberOfIterations = o.Iterations,
            NumberOfLeaves = o.Leaves,
            LearningRate = o.LearningRate,
            MinimumExampleCountPerLeaf = o.MinRowsPerLeaf,
            MaximumBinCountPerFeature = o.MaxBins,
            UnbalancedSets = o.Unbalanced,
            WeightOfPositiveExamples = o.ScalePositiveWeight,
            Sigmoid = 1.0,
            Seed = o.Seed,
            NumberOfThreads = o.Threads,
            UseCategoricalSplit = false,
            Silent = true,
            Verbose = false,
            Booster = new GradientBooster.Options
            {
                L2Regularization = o.L2,
                L1Regularization = 0,
                MinimumChildWeight = o.MinHessianPerLeaf,
                MinimumSplitGain = 0,
                SubsampleFraction = 1,
                FeatureFraction = 1,
            },
        };
        var transformer = ml.BinaryClassification.Trainers.LightGbm(trainerOptions).Fit(data);
        var calibrated = transformer.Model;
        if (calibrated.Calibrator is not PlattCalibrator platt)
        {
            throw new InvalidOperationException($"ML.NET returned the calibrator {calibrated.Calibrator?.GetType().Name ?? "null"}; a Platt calibrator was expected.");
        }

        var model = Extract(calibrated.SubModel.TrainedTreeEnsemble, d, platt, x);
        referenceProbabilities = null;
        if (reference is not null)
        {
            var referenceRows = new TrainingRow[reference.Rows];
            for (var r = 0; r < referenceRows.Length; r++)
            {
                referenceRows[r] = new TrainingRow { Features = reference.Row(r).ToArray() };
            }

            var scored = transformer.Transform(ml.Data.LoadFromEnumerable(referenceRows, schema));
            referenceProbabilities = [.. scored.GetColumn<float>("Probability")];
        }

        return model;
    }

    private LightGbmModel Extract(RegressionTreeEnsemble ensemble, int d, PlattCalibrator platt, FeatureMatrix x)
    {
        var trees = ensemble.Trees;
        var weights = new double[trees.Count];
        var nodeStart = new int[trees.Count + 1];
        var leafStart = new int[trees.Count + 1];
        var feature = new List<int>();
        var threshold = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var leafValue = new List<double>();
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            weights[t] = ensemble.TreeWeights[t];
            nodeStart[t] = feature.Count;
            leafStart[t] = leafValue.Count;
            var splits = tree.NumberOfNodes;
            for (var i = 0; i < splits; i++)
            {
                if (tree.CategoricalSplitFlags[i])
                {
                    throw new InvalidOperationException($"LightGBM tree {t} node {i} has a categorical split; Vigil trains with numeric splits only.");
                }

                feature.Add(tree.NumericalSplitFeatureIndexes[i]);
                threshold.Add(tree.NumericalSplitThresholds[i]);
                left.Add(tree.LeftChild[i]);
                right.Add(tree.RightChild[i]);
            }

            for (var i = 0; i < tree.NumberOfLeaves; i++)
            {
                leafValue.Add(tree.LeafValues[i]);
            }
        }

        nodeStart[^1] = feature.Count;
        leafStart[^1] = leafValue.Count;
        var nodeValue = ExpectedValues(x, nodeStart, leafStart, feature, threshold, left, right, leafValue);
        return new LightGbmModel(d, ensemble.Bias, platt.Slope, platt.Offset, _options.Threshold, weights, nodeStart, leafStart,
            [.. feature], [.. threshold], [.. left], [.. right], nodeValue, [.. leafValue]);
    }

    /// <summary>
    /// The expected value of every split node: the mean of its leaves' values weighted by how many training
    /// rows reach each leaf (a node no row reaches gets the plain mean of its children).
    /// </summary>
    private static double[] ExpectedValues(FeatureMatrix x, int[] nodeStart, int[] leafStart, List<int> feature, List<float> threshold,
        List<int> left, List<int> right, List<double> leafValue)
    {
        var leafCount = new long[leafValue.Count];
        var trees = nodeStart.Length - 1;
        var d = x.Columns;
        for (var r = 0; r < x.Rows; r++)
        {
            var row = x.Data.AsSpan(r * d, d);
            for (var t = 0; t < trees; t++)
            {
                var start = nodeStart[t];
                if (nodeStart[t + 1] == start)
                {
                    leafCount[leafStart[t]]++;
                    continue;
                }

                var node = 0;
                while (node >= 0)
                {
                    var g = start + node;
                    node = row[feature[g]] <= threshold[g] ? left[g] : right[g];
                }

                leafCount[leafStart[t] + ~node]++;
            }
        }

        var values = new double[feature.Count];
        for (var t = 0; t < trees; t++)
        {
            if (nodeStart[t + 1] > nodeStart[t])
            {
                Expected(t, 0, nodeStart, leafStart, left, right, leafValue, leafCount, values);
            }
        }

        return values;
    }

    private static (double Sum, long Count) Expected(int t, int node, int[] nodeStart, int[] leafStart, List<int> left, List<int> right,
        List<double> leafValue, long[] leafCount, double[] values)
    {
        var g = nodeStart[t] + node;
        var (ls, lc, lv) = Child(left[g]);
        var (rs, rc, rv) = Child(right[g]);
        var count = lc + rc;
        values[g] = count > 0 ? (ls + rs) / count : (lv + rv) / 2;
        return (count > 0 ? ls + rs : values[g], count);

        (double Sum, long Count, double Value) Child(int child)
        {
            if (child < 0)
            {
                var leaf = leafStart[t] + ~child;
                return (leafValue[leaf] * leafCount[leaf], leafCount[leaf], leafValue[leaf]);
            }

            var (sum, c) = Expected(t, child, nodeStart, leafStart, left, right, leafValue, leafCount, values);
            return (c > 0 ? sum : 0, c, values[nodeStart[t] + child]);
        }
    }

    /// <summary>One training row as ML.NET reads it.</summary>
    internal sealed class TrainingRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
