using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static Vigil.Detectors.ModelBinary;

namespace Vigil.Detectors;

/// <summary>
/// A fitted isolation forest. <see cref="Score(FeatureMatrix, Span{double})"/> returns the anomaly score of
/// the original paper, <c>s(x) = 2^(-E[h(x)] / c(maxSamples))</c> in (0, 1], higher = more anomalous.
/// scikit-learn's <c>score_samples(x)</c> is <c>-s(x)</c> and its <c>decision_function(x)</c> is
/// <c>-s(x) - offset_</c>; this model's <see cref="Threshold"/> is <c>-offset_</c> (0.5 for
/// <c>contamination='auto'</c>), and a row is an anomaly when <c>s(x) &gt; Threshold</c>, exactly when
/// scikit-learn's <c>predict</c> returns -1. With a single training row per tree (c = 0) every score is 0.5,
/// as in scikit-learn.
/// <para>
/// Per-row reasons (<see cref="Contributions"/>) are Saabas-style path contributions for the expected path
/// length: a node holding <c>n</c> training rows at depth <c>k</c> predicts a path length of <c>k + c(n)</c>, so
/// the step from a node with <c>n_p</c> rows to its child with <c>n_c</c> rows, split on feature <c>f</c>,
/// shortens the predicted path by <c>c(n_p) - c(n_c) - 1</c>; that amount, divided by
/// <c>TreeCount * c(MaxSamples)</c>, is credited to <c>f</c>. The contributions telescope to
/// <c>1 + log2 s(x)</c>: positive values push the row towards an anomaly, negative ones towards normal, and a row
/// scoring 0.5 has contributions summing to 0.
/// </para>
/// </summary>
public sealed class IsolationForestModel : IExplainableDetector, IRowScorer
{
    /// <summary>The detector kind stored in bundles.</summary>
    public const string DetectorKind = "iforest";

    private const int BlockRows = 128;
    private static readonly byte[] Magic = "VGLIFST1"u8.ToArray();
    private const int BinaryVersion = 1;

    private readonly IsolationTree[] _trees;
    private readonly Node[] _nodes;
    private readonly double[] _leafValue;
    private readonly int[] _root;
    private readonly int[] _steps;
    private readonly double _denominator;

    // Built on the first Contributions call: per node, how much stepping from its parent into it raised the
    // normalised anomaly (0 for roots, padding and when c(MaxSamples) = 0). Indexed like _nodes, or in the perfect
    // layout per tree by heap position over its 2^(D+1) - 1 split and leaf slots, starting at nodeStart + leafStart.
    private double[]? _stepGain;
    private readonly double _contributionBaseline;

    // Perfect (complete) layout used when every tree is at most MaxPerfectDepth deep: tree t occupies
    // 2^D - 1 split nodes in heap order (children of i are 2i+1, 2i+2) and 2^D leaf values, where D is
    // its deepest leaf. Shallower leaves are padded with pass-through splits (threshold +inf, always left),
    // so every row takes exactly D branch-free steps per tree.
    private const int MaxPerfectDepth = 12;
    private readonly PerfectNode[]? _perfectNodes;

    // The perfect layout's split nodes again, each feature as the byte offset of its column in a block laid out by
    // ToColumns: batch scoring reads a row's value with one load and no index arithmetic.
    private readonly ColumnNode[]? _columnNodes;
    private readonly double[]? _perfectLeaves;
    private readonly int[]? _perfectNodeStart;
    private readonly int[]? _perfectLeafStart;
    private readonly int? _maxDegreeOfParallelism;

    internal IsolationForestModel(int featureCount, int maxSamples, IsolationTree[] trees, double threshold, int? maxDegreeOfParallelism)
    {
        FeatureCount = featureCount;
        MaxSamples = maxSamples;
        Threshold = threshold;
        _trees = trees;
        _maxDegreeOfParallelism = maxDegreeOfParallelism;
        _denominator = trees.Length * PathLength.Average(maxSamples);
        var total = 0;
        foreach (var tree in trees)
        {
            total += tree.NodeCount;
        }

        _nodes = new Node[total];
        _leafValue = new double[total];
        _root = new int[trees.Length];
        _steps = new int[trees.Length];
        var offset = 0;
        for (var t = 0; t < trees.Length; t++)
        {
            var tree = trees[t];
            var depths = tree.ComputeDepths(featureCount)
                ?? throw new InvalidDataException($"tree {t} is not a valid pre-order binary tree over {featureCount} features");
            _root[t] = offset;
            var steps = 0;
            for (var i = 0; i < tree.NodeCount; i++)
            {
                var g = offset + i;
                if (tree.Feature[i] < 0)
                {
                    // Leaves loop onto themselves so every row can take the same number of steps.
                    _nodes[g] = new Node(0, float.PositiveInfinity, g, g);
                    _leafValue[g] = depths[i] + PathLength.Average(tree.Samples[i]);
                    steps = Math.Max(steps, depths[i]);
                }
                else
                {
                    _nodes[g] = new Node(tree.Feature[i], tree.Threshold[i], offset + tree.Left[i], offset + tree.Right[i]);
                }
            }

            if (_denominator != 0)
            {
                _contributionBaseline += PathLength.Average(tree.Samples[0]) / _denominator;
            }

            _steps[t] = steps;
            offset += tree.NodeCount;
        }

        var maxSteps = 0;
        foreach (var steps in _steps)
        {
            maxSteps = Math.Max(maxSteps, steps);
        }

        if (maxSteps <= MaxPerfectDepth)
        {
            BuildPerfectLayout(out _perfectNodes, out _perfectLeaves, out _perfectNodeStart, out _perfectLeafStart);
            _columnNodes = new ColumnNode[_perfectNodes.Length];
            for (var i = 0; i < _columnNodes.Length; i++)
            {
                var node = _perfectNodes[i];
                _columnNodes[i] = new ColumnNode(node.Feature * BlockRows * sizeof(float), node.Threshold);
            }
        }
    }

    private void BuildPerfectLayout(out PerfectNode[] nodes, out double[] leaves, out int[] nodeStart, out int[] leafStart)
    {
        nodeStart = new int[_trees.Length];
        leafStart = new int[_trees.Length];
        int totalNodes = 0, totalLeaves = 0;
        for (var t = 0; t < _trees.Length; t++)
        {
            nodeStart[t] = totalNodes;
            leafStart[t] = totalLeaves;
            totalNodes += (1 << _steps[t]) - 1;
            totalLeaves += 1 << _steps[t];
        }

        nodes = new PerfectNode[totalNodes];
        leaves = new double[totalLeaves];
        for (var t = 0; t < _trees.Length; t++)
        {
            var tree = _trees[t];
            var depth = _steps[t];
            var n = nodes.AsSpan(nodeStart[t], (1 << depth) - 1);
            var l = leaves.AsSpan(leafStart[t], 1 << depth);
            Place(tree, _root[t], 0, 0, 0, depth, n, l);
        }
    }

    private void Place(IsolationTree tree, int globalOffset, int node, int heap, int level, int depth, Span<PerfectNode> nodes, Span<double> leaves)
    {
        if (tree.Feature[node] >= 0)
        {
            nodes[heap] = new PerfectNode(tree.Feature[node], tree.Threshold[node]);
            Place(tree, globalOffset, tree.Left[node], (2 * heap) + 1, level + 1, depth, nodes, leaves);
            Place(tree, globalOffset, tree.Right[node], (2 * heap) + 2, level + 1, depth, nodes, leaves);
            return;
        }

        Pad(heap, level, depth, _leafValue[globalOffset + node], nodes, leaves);
    }

    private static void Pad(int heap, int level, int depth, double value, Span<PerfectNode> nodes, Span<double> leaves)
    {
        if (level == depth)
        {
            leaves[heap - ((1 << depth) - 1)] = value;
            return;
        }

        nodes[heap] = new PerfectNode(0, float.PositiveInfinity);
        Pad((2 * heap) + 1, level + 1, depth, value, nodes, leaves);
        Pad((2 * heap) + 2, level + 1, depth, value, nodes, leaves);
    }

    /// <inheritdoc />
    public string Kind => DetectorKind;

    /// <inheritdoc />
    public int FeatureCount { get; }

    /// <summary>
    /// Scores above this are anomalies: 0.5 for <c>contamination = auto</c>, otherwise the
    /// <c>(1 - contamination)</c> quantile of the training scores.
    /// </summary>
    public double Threshold { get; }

    /// <summary>The number of rows each tree was grown on (resolved <c>max_samples</c>).</summary>
    public int MaxSamples { get; }

    /// <summary>The number of trees.</summary>
    public int TreeCount => _trees.Length;

    /// <summary>The number of nodes over all trees.</summary>
    public int NodeCount => _nodes.Length;

    /// <summary>The depth limit used while growing: <c>ceil(log2(max(MaxSamples, 2)))</c>.</summary>
    public int DepthLimit => PathLength.DepthLimit(MaxSamples);

    internal IReadOnlyList<IsolationTree> Trees => _trees;

    /// <summary>The deepest leaf of tree <paramref name="tree"/>.</summary>
    internal int TreeDepth(int tree) => _steps[tree];

    /// <summary>
    /// What the contributions of every row add up to minus <c>log2 s(x)</c>: the mean over trees of
    /// <c>c(root rows) / c(MaxSamples)</c>. Exactly 1 when every root holds <see cref="MaxSamples"/> distinct rows
    /// (no bootstrap); below 1 with bootstrap; 0 when <c>c(MaxSamples) = 0</c>.
    /// </summary>
    internal double ContributionBaseline => _contributionBaseline;

    /// <summary>
    /// Writes each feature's share of how quickly the forest isolates <paramref name="row"/>: along the row's path in
    /// every tree, a split on feature <c>f</c> from a node of <c>n_p</c> training rows to a child of <c>n_c</c> rows
    /// credits <c>f</c> with <c>(c(n_p) - c(n_c) - 1) / (TreeCount * c(MaxSamples))</c>, the shortening of the
    /// expected path length that split caused beyond the one step it cost. The values sum to <c>1 + log2 s(x)</c>
    /// (with bootstrap, to a baseline below 1 plus <c>log2 s(x)</c>): positive = pushes the score above 0.5
    /// (isolates the row faster than a typical split), negative = makes the row look normal. Features never split on
    /// along the row's paths get 0. Deterministic, thread-safe, one node visit per tree level, and allocation-free after
    /// the first call (which builds the per-node gains once).
    /// </summary>
    /// <exception cref="ArgumentException">The row does not have <see cref="FeatureCount"/> values, holds NaN or infinity, or the output is shorter.</exception>
    public void Contributions(ReadOnlySpan<float> row, Span<double> contributions)
    {
        var output = CheckedContributionRow(row, contributions);
        var gains = Volatile.Read(ref _stepGain) ?? BuildStepGains();
        if (_perfectNodes is not null)
        {
            AddPerfectContributions(row, output, gains);
            return;
        }

        var nodes = _nodes;
        for (var t = 0; t < _root.Length; t++)
        {
            var n = _root[t];
            for (var s = _steps[t]; s > 0; s--)
            {
                var a = nodes[n];
                if (a.Left == n)
                {
                    break; // a leaf above the tree's deepest level
                }

                n = row[a.Feature] <= a.Threshold ? a.Left : a.Right;
                output[a.Feature] += gains[n];
            }
        }
    }

    /// <summary>True with the perfect layout (every tree at most 12 levels deep): see <see cref="TryScoreWithContributions"/>.</summary>
    public bool ScoresWhileExplaining => _perfectNodes is not null;

    /// <summary>
    /// The score <see cref="Score(FeatureMatrix, Span{double})"/> gives <paramref name="row"/> and its <see cref="Contributions"/>, from one walk of
    /// the trees (the leaves reached give the path lengths, summed in tree order as scoring sums them, so the score is
    /// the same to the bit); false with the general layout (trees deeper than the perfect layout allows).
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Contributions"/>.</exception>
    public bool TryScoreWithContributions(ReadOnlySpan<float> row, Span<double> contributions, out double score)
    {
        if (_perfectNodes is null)
        {
            score = double.NaN;
            return false;
        }

        var output = CheckedContributionRow(row, contributions);
        var gains = Volatile.Read(ref _stepGain) ?? BuildStepGains();
        var pathSum = AddPerfectContributions(row, output, gains);
        score = _denominator != 0 ? Math.Pow(2.0, -(pathSum / _denominator)) : 0.5;
        return true;
    }

    private Span<double> CheckedContributionRow(ReadOnlySpan<float> row, Span<double> contributions)
    {
        var d = FeatureCount;
        if (row.Length != d || contributions.Length < d)
        {
            throw new ArgumentException($"Expected a row of {d} features and room for {d} contributions (got {row.Length} and {contributions.Length}).", nameof(row));
        }

        for (var f = 0; f < d; f++)
        {
            if (!float.IsFinite(row[f]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"The row holds {row[f]} at feature {f}; isolation forests need finite values (impute missing values first)."),
                    nameof(row));
            }
        }

        var output = contributions[..d];
        output.Clear();
        return output;
    }

    /// <summary>
    /// The perfect-layout walk: D branch-free steps per tree; padding splits (feature 0, always left) add a gain of 0.
    /// No bounds checks: the row and output hold FeatureCount values and every feature was checked against it.
    /// Eight (then four) trees walk together (their independent loads overlap, as in <see cref="PerfectPathSum"/>) and
    /// record their paths; the gains are then added in the order of the two-trees-at-a-time walk this replaced (pairs of equal depth
    /// interleaved by level, other trees one after the other), so every contribution keeps its exact value.
    /// </summary>
    private double AddPerfectContributions(ReadOnlySpan<float> row, Span<double> output, double[] gains)
    {
        ref var x = ref MemoryMarshal.GetReference(row);
        ref var o = ref MemoryMarshal.GetReference(output);
        var trees = _root.Length;
        var pathSum = 0.0; // the leaves' path lengths in tree order, as PerfectPathSum adds them
        Span<int> paths = stackalloc int[8 * MaxPerfectDepth];
        ref var path = ref MemoryMarshal.GetReference(paths);
        var t = 0;
        for (; t + 8 <= trees; t += 8)
        {
            // Eight chains of dependent loads in flight instead of four: a tree's next node waits on its last
            // comparison, so more trees at once keep the core busy while the nodes come from the L2 cache.
            ref var n0 = ref PerfectNodesOf(t);
            ref var n1 = ref PerfectNodesOf(t + 1);
            ref var n2 = ref PerfectNodesOf(t + 2);
            ref var n3 = ref PerfectNodesOf(t + 3);
            ref var n4 = ref PerfectNodesOf(t + 4);
            ref var n5 = ref PerfectNodesOf(t + 5);
            ref var n6 = ref PerfectNodesOf(t + 6);
            ref var n7 = ref PerfectNodesOf(t + 7);
            var common = _steps[t];
            for (var k = 1; k < 8; k++)
            {
                common = Math.Min(common, _steps[t + k]);
            }

            ref var p0 = ref path;
            ref var p1 = ref Unsafe.Add(ref path, MaxPerfectDepth);
            ref var p2 = ref Unsafe.Add(ref path, 2 * MaxPerfectDepth);
            ref var p3 = ref Unsafe.Add(ref path, 3 * MaxPerfectDepth);
            ref var p4 = ref Unsafe.Add(ref path, 4 * MaxPerfectDepth);
            ref var p5 = ref Unsafe.Add(ref path, 5 * MaxPerfectDepth);
            ref var p6 = ref Unsafe.Add(ref path, 6 * MaxPerfectDepth);
            ref var p7 = ref Unsafe.Add(ref path, 7 * MaxPerfectDepth);
            int i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;
            for (var s = 0; s < common; s++)
            {
                Unsafe.Add(ref p0, s) = i0 = Step(ref n0, ref x, i0);
                Unsafe.Add(ref p1, s) = i1 = Step(ref n1, ref x, i1);
                Unsafe.Add(ref p2, s) = i2 = Step(ref n2, ref x, i2);
                Unsafe.Add(ref p3, s) = i3 = Step(ref n3, ref x, i3);
                Unsafe.Add(ref p4, s) = i4 = Step(ref n4, ref x, i4);
                Unsafe.Add(ref p5, s) = i5 = Step(ref n5, ref x, i5);
                Unsafe.Add(ref p6, s) = i6 = Step(ref n6, ref x, i6);
                Unsafe.Add(ref p7, s) = i7 = Step(ref n7, ref x, i7);
            }

            i0 = StepOn(ref n0, ref x, ref p0, common, _steps[t], i0);
            i1 = StepOn(ref n1, ref x, ref p1, common, _steps[t + 1], i1);
            i2 = StepOn(ref n2, ref x, ref p2, common, _steps[t + 2], i2);
            i3 = StepOn(ref n3, ref x, ref p3, common, _steps[t + 3], i3);
            i4 = StepOn(ref n4, ref x, ref p4, common, _steps[t + 4], i4);
            i5 = StepOn(ref n5, ref x, ref p5, common, _steps[t + 5], i5);
            i6 = StepOn(ref n6, ref x, ref p6, common, _steps[t + 6], i6);
            i7 = StepOn(ref n7, ref x, ref p7, common, _steps[t + 7], i7);
            AddRecordedPair(t, ref p0, ref p1, ref o, gains);
            AddRecordedPair(t + 2, ref p2, ref p3, ref o, gains);
            AddRecordedPair(t + 4, ref p4, ref p5, ref o, gains);
            AddRecordedPair(t + 6, ref p6, ref p7, ref o, gains);
            pathSum += LeafOf(t, i0);
            pathSum += LeafOf(t + 1, i1);
            pathSum += LeafOf(t + 2, i2);
            pathSum += LeafOf(t + 3, i3);
            pathSum += LeafOf(t + 4, i4);
            pathSum += LeafOf(t + 5, i5);
            pathSum += LeafOf(t + 6, i6);
            pathSum += LeafOf(t + 7, i7);
        }

        for (; t + 4 <= trees; t += 4)
        {
            ref var n0 = ref PerfectNodesOf(t);
            ref var n1 = ref PerfectNodesOf(t + 1);
            ref var n2 = ref PerfectNodesOf(t + 2);
            ref var n3 = ref PerfectNodesOf(t + 3);
            int d0 = _steps[t], d1 = _steps[t + 1], d2 = _steps[t + 2], d3 = _steps[t + 3];
            var common = Math.Min(Math.Min(d0, d1), Math.Min(d2, d3));
            ref var p0 = ref path;
            ref var p1 = ref Unsafe.Add(ref path, MaxPerfectDepth);
            ref var p2 = ref Unsafe.Add(ref path, 2 * MaxPerfectDepth);
            ref var p3 = ref Unsafe.Add(ref path, 3 * MaxPerfectDepth);
            int i0 = 0, i1 = 0, i2 = 0, i3 = 0;
            for (var s = 0; s < common; s++)
            {
                Unsafe.Add(ref p0, s) = i0 = Step(ref n0, ref x, i0);
                Unsafe.Add(ref p1, s) = i1 = Step(ref n1, ref x, i1);
                Unsafe.Add(ref p2, s) = i2 = Step(ref n2, ref x, i2);
                Unsafe.Add(ref p3, s) = i3 = Step(ref n3, ref x, i3);
            }

            i0 = StepOn(ref n0, ref x, ref p0, common, d0, i0);
            i1 = StepOn(ref n1, ref x, ref p1, common, d1, i1);
            i2 = StepOn(ref n2, ref x, ref p2, common, d2, i2);
            i3 = StepOn(ref n3, ref x, ref p3, common, d3, i3);

            AddRecordedPair(t, ref p0, ref p1, ref o, gains);
            AddRecordedPair(t + 2, ref p2, ref p3, ref o, gains);
            pathSum += LeafOf(t, i0);
            pathSum += LeafOf(t + 1, i1);
            pathSum += LeafOf(t + 2, i2);
            pathSum += LeafOf(t + 3, i3);
        }

        for (; t + 1 < trees; t += 2)
        {
            var depth = _steps[t];
            if (_steps[t + 1] != depth)
            {
                pathSum += LeafOf(t, AddPerfectTreeContributions(t, ref x, ref o, gains));
                pathSum += LeafOf(t + 1, AddPerfectTreeContributions(t + 1, ref x, ref o, gains));
                continue;
            }

            ref var nodes0 = ref PerfectNodesOf(t);
            ref var gain0 = ref PerfectGainsOf(t, gains);
            ref var nodes1 = ref PerfectNodesOf(t + 1);
            ref var gain1 = ref PerfectGainsOf(t + 1, gains);
            int i0 = 0, i1 = 0;
            for (var s = depth; s > 0; s--)
            {
                var a = Unsafe.Add(ref nodes0, i0);
                var b = Unsafe.Add(ref nodes1, i1);
                var right0 = Unsafe.Add(ref x, a.Feature) > a.Threshold;
                var right1 = Unsafe.Add(ref x, b.Feature) > b.Threshold;
                i0 = (2 * i0) + 1 + Unsafe.As<bool, byte>(ref right0);
                i1 = (2 * i1) + 1 + Unsafe.As<bool, byte>(ref right1);
                Unsafe.Add(ref o, a.Feature) += Unsafe.Add(ref gain0, i0);
                Unsafe.Add(ref o, b.Feature) += Unsafe.Add(ref gain1, i1);
            }

            pathSum += LeafOf(t, i0);
            pathSum += LeafOf(t + 1, i1);
        }

        if (t < trees)
        {
            pathSum += LeafOf(t, AddPerfectTreeContributions(t, ref x, ref o, gains));
        }

        return pathSum;
    }

    /// <summary>The path length of tree <paramref name="t"/>'s leaf at heap index <paramref name="i"/> (after its D steps).</summary>
    private double LeafOf(int t, int i) =>
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_perfectLeaves!), _perfectLeafStart![t] + i - ((1 << _steps[t]) - 1));

    /// <summary>
    /// Adds the gains along the recorded paths of trees <paramref name="t"/> and t + 1 (each path: the node index after
    /// each step), in the two-tree walk's order: interleaved by level when both trees are equally deep, else tree by tree.
    /// </summary>
    private void AddRecordedPair(int t, ref int path0, ref int path1, ref double o, double[] gains)
    {
        ref var nodes0 = ref PerfectNodesOf(t);
        ref var gain0 = ref PerfectGainsOf(t, gains);
        ref var nodes1 = ref PerfectNodesOf(t + 1);
        ref var gain1 = ref PerfectGainsOf(t + 1, gains);
        int d0 = _steps[t], d1 = _steps[t + 1];
        if (d0 == d1)
        {
            int from0 = 0, from1 = 0;
            for (var s = 0; s < d0; s++)
            {
                var to0 = Unsafe.Add(ref path0, s);
                var to1 = Unsafe.Add(ref path1, s);
                Unsafe.Add(ref o, Unsafe.Add(ref nodes0, from0).Feature) += Unsafe.Add(ref gain0, to0);
                Unsafe.Add(ref o, Unsafe.Add(ref nodes1, from1).Feature) += Unsafe.Add(ref gain1, to1);
                from0 = to0;
                from1 = to1;
            }

            return;
        }

        AddRecordedTree(d0, ref path0, ref nodes0, ref gain0, ref o);
        AddRecordedTree(d1, ref path1, ref nodes1, ref gain1, ref o);
    }

    private static void AddRecordedTree(int depth, ref int path, ref PerfectNode nodes, ref double gain, ref double o)
    {
        var from = 0;
        for (var s = 0; s < depth; s++)
        {
            var to = Unsafe.Add(ref path, s);
            Unsafe.Add(ref o, Unsafe.Add(ref nodes, from).Feature) += Unsafe.Add(ref gain, to);
            from = to;
        }
    }

    private int AddPerfectTreeContributions(int t, ref float x, ref double o, double[] gains)
    {
        ref var nodes = ref PerfectNodesOf(t);
        ref var gain = ref PerfectGainsOf(t, gains);
        var i = 0;
        for (var s = _steps[t]; s > 0; s--)
        {
            var node = Unsafe.Add(ref nodes, i);
            var right = Unsafe.Add(ref x, node.Feature) > node.Threshold;
            i = (2 * i) + 1 + Unsafe.As<bool, byte>(ref right);
            Unsafe.Add(ref o, node.Feature) += Unsafe.Add(ref gain, i);
        }

        return i;
    }

    private ref PerfectNode PerfectNodesOf(int t) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_perfectNodes!), _perfectNodeStart![t]);

    private ref double PerfectGainsOf(int t, double[] gains) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(gains), _perfectNodeStart![t] + _perfectLeafStart![t]);

    private double[] BuildStepGains()
    {
        double[] gains;
        if (_perfectNodes is not null)
        {
            gains = new double[_perfectNodes.Length + _perfectLeaves!.Length];
            for (var t = 0; t < _trees.Length; t++)
            {
                PlaceGains(_trees[t], 0, 0, gains.AsSpan(_perfectNodeStart![t] + _perfectLeafStart![t], (2 << _steps[t]) - 1));
            }
        }
        else
        {
            gains = new double[_nodes.Length];
            for (var t = 0; t < _trees.Length; t++)
            {
                var tree = _trees[t];
                for (var i = 0; i < tree.NodeCount; i++)
                {
                    if (tree.Feature[i] >= 0)
                    {
                        gains[_root[t] + tree.Left[i]] = StepGain(tree, i, tree.Left[i]);
                        gains[_root[t] + tree.Right[i]] = StepGain(tree, i, tree.Right[i]);
                    }
                }
            }
        }

        return Interlocked.CompareExchange(ref _stepGain, gains, null) ?? gains;
    }

    /// <summary>Fills the heap slots of <paramref name="node"/>'s subtree; slots under a padded leaf stay 0.</summary>
    private void PlaceGains(IsolationTree tree, int node, int heap, Span<double> gains)
    {
        if (tree.Feature[node] < 0)
        {
            return;
        }

        var left = (2 * heap) + 1;
        gains[left] = StepGain(tree, node, tree.Left[node]);
        gains[left + 1] = StepGain(tree, node, tree.Right[node]);
        PlaceGains(tree, tree.Left[node], left, gains);
        PlaceGains(tree, tree.Right[node], left + 1, gains);
    }

    /// <summary>(c(n_parent) - c(n_child) - 1) / (TreeCount * c(MaxSamples)), or 0 when c(MaxSamples) = 0.</summary>
    private double StepGain(IsolationTree tree, int parent, int child) => _denominator == 0
        ? 0.0
        : (PathLength.Average(tree.Samples[parent]) - PathLength.Average(tree.Samples[child]) - 1.0) / _denominator;

    /// <summary>A copy with another threshold.</summary>
    internal IsolationForestModel WithThreshold(double threshold) =>
        new(FeatureCount, MaxSamples, _trees, threshold, _maxDegreeOfParallelism);

    /// <summary>Scores every row of <paramref name="x"/>; see the class remarks for the scale.</summary>
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
        EnsureFinite(x, "scoring");
        RowBlocks.Score(this, x, _maxDegreeOfParallelism, scores);
    }

    /// <summary>Scores <paramref name="rows"/> row-major rows on the calling thread; no allocation.</summary>
    void IRowScorer.ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores) => ScoreRows(data, rows, scores);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the hot loop: compiled fully optimized at once, not run as ReadyToRun code until tier-up
    internal void ScoreRows(ReadOnlySpan<float> data, int rows, Span<double> scores)
    {
        Span<double> accumulator = stackalloc double[BlockRows];
        Span<int> starts = stackalloc int[BlockRows];
        var d = FeatureCount;
        var columns = _perfectNodes is not null && rows >= 8 ? ArrayPool<float>.Shared.Rent(BlockRows * d) : null; // fewer rows walk one by one
        try
        {
            for (var start = 0; start < rows; start += BlockRows)
            {
                var count = Math.Min(BlockRows, rows - start);
                var acc = accumulator[..count];
                acc.Clear();
                var block = data.Slice(start * d, count * d);
                if (_perfectNodes is not null)
                {
                    // Groups of eight rows walk each tree together; the rows left over (all of them for a request of one
                    // to seven items, the server's usual case) walk four trees at a time instead.
                    var grouped = count & ~7;
                    if (grouped > 0)
                    {
                        ToColumns(block[..(grouped * d)], d, columns!);
                        var groupAcc = acc[..grouped];
                        for (var t = 0; t < _root.Length; t++)
                        {
                            AddPerfectTree(t, columns!, groupAcc, starts);
                        }
                    }

                    for (var r = grouped; r < count; r++)
                    {
                        acc[r] = PerfectPathSum(ref Unsafe.Add(ref MemoryMarshal.GetReference(block), r * d));
                    }
                }
                else
                {
                    for (var t = 0; t < _root.Length; t++)
                    {
                        AddTree(_root[t], _steps[t], block, d, acc);
                    }
                }

                var output = scores.Slice(start, count);
                for (var r = 0; r < count; r++)
                {
                    output[r] = _denominator != 0 ? Math.Pow(2.0, -(acc[r] / _denominator)) : 0.5;
                }
            }
        }
        finally
        {
            if (columns is not null)
            {
                ArrayPool<float>.Shared.Return(columns);
            }
        }
    }

    /// <summary>
    /// Copies row-major <paramref name="block"/> (at most <see cref="BlockRows"/> rows of <paramref name="d"/> values) to
    /// <paramref name="columns"/> column by column, feature <c>f</c> of row <c>r</c> at <c>f * BlockRows + r</c>.
    /// </summary>
    private static void ToColumns(ReadOnlySpan<float> block, int d, float[] columns)
    {
        var rows = block.Length / d;
        for (var f = 0; f < d; f++)
        {
            var column = columns.AsSpan(f * BlockRows, rows);
            for (var r = 0; r < column.Length; r++)
            {
                column[r] = block[(r * d) + f];
            }
        }
    }

    /// <summary>
    /// Adds tree <paramref name="t"/>'s path lengths for the rows of a block laid out by <see cref="ToColumns"/>, a whole
    /// number of groups of eight (<see cref="PerfectPathSum"/> walks the rest). Eight rows walk the tree together so
    /// their independent loads overlap; with the block column by column, the eight rows share one base address (a
    /// row's value of feature f is at f * BlockRows from it), which leaves enough registers for the eight walks.
    /// Indices need no bounds checks: the heap index stays below 2^D - 1 for D steps, features were checked against
    /// the column count, and the caller's block holds acc.Length rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddPerfectTree(int t, float[] columns, Span<double> acc, Span<int> starts)
    {
        var depth = _steps[t];
        ref var nodes = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_columnNodes!), _perfectNodeStart![t]);
        ref var leaves = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_perfectLeaves!), _perfectLeafStart![t]);
        ref var x = ref MemoryMarshal.GetArrayDataReference(columns);
        var leafBase = (nint)(1 << depth) - 1;
        var rows = acc.Length;
        var top = TopLevels(ref nodes, ref x, depth, rows, starts);
        ref var start = ref MemoryMarshal.GetReference(starts);
        var r = 0;
        for (; r + 8 <= rows; r += 8)
        {
            ref var xr = ref Unsafe.Add(ref x, r);
            ref var sr = ref Unsafe.Add(ref start, r);
            nint i0 = sr, i1 = Unsafe.Add(ref sr, 1), i2 = Unsafe.Add(ref sr, 2), i3 = Unsafe.Add(ref sr, 3);
            nint i4 = Unsafe.Add(ref sr, 4), i5 = Unsafe.Add(ref sr, 5), i6 = Unsafe.Add(ref sr, 6), i7 = Unsafe.Add(ref sr, 7);
            for (var s = top; s < depth; s++)
            {
                i0 = ColumnStep(ref nodes, ref xr, i0);
                i1 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 1), i1);
                i2 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 2), i2);
                i3 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 3), i3);
                i4 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 4), i4);
                i5 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 5), i5);
                i6 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 6), i6);
                i7 = ColumnStep(ref nodes, ref Unsafe.Add(ref xr, 7), i7);
            }

            ref var a = ref acc[r];
            a += Unsafe.Add(ref leaves, i0 - leafBase);
            Unsafe.Add(ref a, 1) += Unsafe.Add(ref leaves, i1 - leafBase);
            Unsafe.Add(ref a, 2) += Unsafe.Add(ref leaves, i2 - leafBase);
            Unsafe.Add(ref a, 3) += Unsafe.Add(ref leaves, i3 - leafBase);
            Unsafe.Add(ref a, 4) += Unsafe.Add(ref leaves, i4 - leafBase);
            Unsafe.Add(ref a, 5) += Unsafe.Add(ref leaves, i5 - leafBase);
            Unsafe.Add(ref a, 6) += Unsafe.Add(ref leaves, i6 - leafBase);
            Unsafe.Add(ref a, 7) += Unsafe.Add(ref leaves, i7 - leafBase);
        }

        Debug.Assert(r == rows, "the caller passes whole groups of eight rows");
    }

    /// <summary>Tree levels <see cref="TopLevels"/> walks with vector compares, when the hardware has them.</summary>
    private const int VectorLevels = 4;

    /// <summary>
    /// Walks the first levels (up to <see cref="VectorLevels"/>) of one tree for the <paramref name="rows"/> rows of a
    /// column-wise block, eight rows per vector, and writes each row's heap index after them to <paramref name="starts"/>;
    /// returns the number of levels walked (0 without vector hardware). Near the root a level has few nodes, so comparing
    /// every row of the vector with each of them (and keeping the comparison of the node the row is at) costs less than
    /// the one-row-at-a-time steps, whose dependent loads wait on each other. Same comparisons (value &gt; threshold), so
    /// the same path as <see cref="ColumnStep"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // vector code: never run at tier 0
    private static int TopLevels(ref ColumnNode nodes, ref float x, int depth, int rows, Span<int> starts)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            starts[..rows].Clear();
            return 0;
        }

        var levels = Math.Min(depth, VectorLevels);
        ref var start = ref MemoryMarshal.GetReference(starts);
        for (var r = 0; r + Vector256<float>.Count <= rows; r += Vector256<float>.Count)
        {
            var index = Vector256<int>.Zero;
            for (var level = 0; level < levels; level++)
            {
                var right = Vector256<int>.Zero;
                var first = (1 << level) - 1;
                for (var h = first; h <= 2 * first; h++)
                {
                    var node = Unsafe.Add(ref nodes, h);
                    var value = Vector256.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, (nint)node.Offset), (nuint)r);
                    var greater = Vector256.GreaterThan(value, Vector256.Create(node.Threshold)).AsInt32();
                    right |= greater & Vector256.Equals(index, Vector256.Create(h));
                }

                index = index + index + Vector256<int>.One - right; // right is -1 where true: 2i + 1 + (x > t)
            }

            index.StoreUnsafe(ref Unsafe.Add(ref start, r));
        }

        return levels;
    }

    /// <summary>One step of <see cref="AddPerfectTree"/>: <paramref name="row"/> is the row's value of feature 0 in a column-wise block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint ColumnStep(ref ColumnNode nodes, ref float row, nint i)
    {
        ref var node = ref Unsafe.Add(ref nodes, i);
        var right = Unsafe.AddByteOffset(ref row, (nint)node.Offset) > node.Threshold;
        return (2 * i) + 1 + Unsafe.As<bool, byte>(ref right);
    }

    /// <summary>
    /// The sum over the trees of one row's path lengths, four trees walking together so that their independent loads
    /// overlap (one row has no other rows to interleave with). The leaves are added in tree order, as
    /// <see cref="AddPerfectTree"/> adds them, so a row scores the same bits whichever way it is walked.
    /// </summary>
    private double PerfectPathSum(ref float row)
    {
        ref var allNodes = ref MemoryMarshal.GetArrayDataReference(_perfectNodes!);
        ref var allLeaves = ref MemoryMarshal.GetArrayDataReference(_perfectLeaves!);
        var nodeStart = _perfectNodeStart!;
        var leafStart = _perfectLeafStart!;
        var steps = _steps;
        var trees = _root.Length;
        var sum = 0.0;
        var t = 0;
        for (; t + 4 <= trees; t += 4)
        {
            ref var n0 = ref Unsafe.Add(ref allNodes, nodeStart[t]);
            ref var n1 = ref Unsafe.Add(ref allNodes, nodeStart[t + 1]);
            ref var n2 = ref Unsafe.Add(ref allNodes, nodeStart[t + 2]);
            ref var n3 = ref Unsafe.Add(ref allNodes, nodeStart[t + 3]);
            int d0 = steps[t], d1 = steps[t + 1], d2 = steps[t + 2], d3 = steps[t + 3];
            var common = Math.Min(Math.Min(d0, d1), Math.Min(d2, d3));
            int i0 = 0, i1 = 0, i2 = 0, i3 = 0;
            for (var s = 0; s < common; s++)
            {
                i0 = Step(ref n0, ref row, i0);
                i1 = Step(ref n1, ref row, i1);
                i2 = Step(ref n2, ref row, i2);
                i3 = Step(ref n3, ref row, i3);
            }

            for (var s = common; s < d0; s++)
            {
                i0 = Step(ref n0, ref row, i0);
            }

            for (var s = common; s < d1; s++)
            {
                i1 = Step(ref n1, ref row, i1);
            }

            for (var s = common; s < d2; s++)
            {
                i2 = Step(ref n2, ref row, i2);
            }

            for (var s = common; s < d3; s++)
            {
                i3 = Step(ref n3, ref row, i3);
            }

            sum += Unsafe.Add(ref allLeaves, leafStart[t] + i0 - ((1 << d0) - 1));
            sum += Unsafe.Add(ref allLeaves, leafStart[t + 1] + i1 - ((1 << d1) - 1));
            sum += Unsafe.Add(ref allLeaves, leafStart[t + 2] + i2 - ((1 << d2) - 1));
            sum += Unsafe.Add(ref allLeaves, leafStart[t + 3] + i3 - ((1 << d3) - 1));
        }

        for (; t < trees; t++)
        {
            ref var nodes = ref Unsafe.Add(ref allNodes, nodeStart[t]);
            var depth = steps[t];
            var i = 0;
            for (var s = 0; s < depth; s++)
            {
                i = Step(ref nodes, ref row, i);
            }

            sum += Unsafe.Add(ref allLeaves, leafStart[t] + i - ((1 << depth) - 1));
        }

        return sum;
    }

    /// <summary>The steps <paramref name="from"/> to <paramref name="depth"/> of one tree's walk from node <paramref name="i"/>, each recorded in <paramref name="path"/>.</summary>
    private static int StepOn(ref PerfectNode nodes, ref float row, ref int path, int from, int depth, int i)
    {
        for (var s = from; s < depth; s++)
        {
            Unsafe.Add(ref path, s) = i = Step(ref nodes, ref row, i);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ref PerfectNode nodes, ref float row, int i)
    {
        var node = Unsafe.Add(ref nodes, i);
        var right = Unsafe.Add(ref row, node.Feature) > node.Threshold;
        return (2 * i) + 1 + Unsafe.As<bool, byte>(ref right);
    }

    private void AddTree(int root, int steps, ReadOnlySpan<float> block, int d, Span<double> acc)
    {
        var nodes = _nodes;
        var leaf = _leafValue;
        var rows = acc.Length;
        var r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            var x0 = block.Slice(r * d, d);
            var x1 = block.Slice((r + 1) * d, d);
            var x2 = block.Slice((r + 2) * d, d);
            var x3 = block.Slice((r + 3) * d, d);
            int n0 = root, n1 = root, n2 = root, n3 = root;
            for (var s = 0; s < steps; s++)
            {
                var a = nodes[n0];
                var b = nodes[n1];
                var c = nodes[n2];
                var e = nodes[n3];
                n0 = x0[a.Feature] <= a.Threshold ? a.Left : a.Right;
                n1 = x1[b.Feature] <= b.Threshold ? b.Left : b.Right;
                n2 = x2[c.Feature] <= c.Threshold ? c.Left : c.Right;
                n3 = x3[e.Feature] <= e.Threshold ? e.Left : e.Right;
            }

            acc[r] += leaf[n0];
            acc[r + 1] += leaf[n1];
            acc[r + 2] += leaf[n2];
            acc[r + 3] += leaf[n3];
        }

        for (; r < rows; r++)
        {
            var x = block.Slice(r * d, d);
            var n = root;
            for (var s = 0; s < steps; s++)
            {
                var a = nodes[n];
                n = x[a.Feature] <= a.Threshold ? a.Left : a.Right;
            }

            acc[r] += leaf[n];
        }
    }

    /// <summary>Throws naming the first row and column holding NaN or infinity.</summary>
    internal static void EnsureFinite(FeatureMatrix x, string purpose) => x.RequireFinite($"{purpose} matrix", "isolation forests");

    /// <summary>Writes the little-endian binary form (see <see cref="Read"/>).</summary>
    internal byte[] ToBytes()
    {
        var size = 8 + (4 * 5) + 8;
        foreach (var tree in _trees)
        {
            size += 4 + (tree.NodeCount * 20);
        }

        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        var p = 8;
        WriteInt(span, ref p, BinaryVersion);
        WriteInt(span, ref p, FeatureCount);
        WriteInt(span, ref p, MaxSamples);
        WriteInt(span, ref p, _trees.Length);
        WriteInt(span, ref p, _nodes.Length);
        BinaryPrimitives.WriteDoubleLittleEndian(span[p..], Threshold);
        p += 8;
        foreach (var tree in _trees)
        {
            WriteInt(span, ref p, tree.NodeCount);
            for (var i = 0; i < tree.NodeCount; i++)
            {
                WriteInt(span, ref p, tree.Feature[i]);
                BinaryPrimitives.WriteSingleLittleEndian(span[p..], tree.Threshold[i]);
                p += 4;
                WriteInt(span, ref p, tree.Left[i]);
                WriteInt(span, ref p, tree.Right[i]);
                WriteInt(span, ref p, tree.Samples[i]);
            }
        }

        return bytes;
    }

    /// <summary>
    /// Reads the binary form: magic <c>VGLIFST1</c>, then int32 version, feature count, max samples,
    /// tree count, total node count, float64 threshold; then per tree an int32 node count and per node
    /// int32 feature (-1 = leaf), float32 threshold, int32 left, int32 right, int32 training rows.
    /// Throws <see cref="InvalidDataException"/> describing the first problem.
    /// </summary>
    internal static IsolationForestModel Read(ReadOnlySpan<byte> bytes)
    {
        var p = ReadHeader(bytes, Magic, "isolation-forest", BinaryVersion);

        var featureCount = ReadInt(bytes, ref p, "header");
        var maxSamples = ReadInt(bytes, ref p, "header");
        var treeCount = ReadInt(bytes, ref p, "header");
        var totalNodes = ReadInt(bytes, ref p, "header");
        var threshold = ReadDouble(bytes, ref p, "header");
        if (featureCount < 1 || maxSamples < 1 || treeCount < 1 || totalNodes < treeCount)
        {
            throw new InvalidDataException($"has an invalid header (features {featureCount}, max samples {maxSamples}, trees {treeCount}, nodes {totalNodes})");
        }

        var needed = (long)p + (treeCount * 4L) + (totalNodes * 20L);
        if (bytes.Length < needed)
        {
            throw new InvalidDataException($"is truncated: the header announces {treeCount} trees and {totalNodes} nodes ({needed} bytes) but the file has {bytes.Length} bytes");
        }

        var trees = new IsolationTree[treeCount];
        var seen = 0L;
        for (var t = 0; t < treeCount; t++)
        {
            var context = string.Create(CultureInfo.InvariantCulture, $"tree {t}");
            var n = ReadInt(bytes, ref p, context);
            seen += n;
            if (n < 1 || seen > totalNodes)
            {
                throw new InvalidDataException($"{context} has an invalid node count {n}");
            }

            var feature = new int[n];
            var thresholds = new float[n];
            var left = new int[n];
            var right = new int[n];
            var samples = new int[n];
            for (var i = 0; i < n; i++)
            {
                feature[i] = ReadInt(bytes, ref p, context);
                thresholds[i] = ReadFloat(bytes, ref p, context);
                left[i] = ReadInt(bytes, ref p, context);
                right[i] = ReadInt(bytes, ref p, context);
                samples[i] = ReadInt(bytes, ref p, context);
                if (samples[i] < 1)
                {
                    throw new InvalidDataException($"{context} node {i} has {samples[i]} training rows");
                }
            }

            trees[t] = new IsolationTree(feature, thresholds, left, right, samples);
        }

        if (seen != totalNodes)
        {
            throw new InvalidDataException($"holds {seen} nodes but its header announces {totalNodes}");
        }

        if (p != bytes.Length)
        {
            throw new InvalidDataException($"has {bytes.Length - p} unexpected trailing bytes after the last tree");
        }

        return new IsolationForestModel(featureCount, maxSamples, trees, threshold, maxDegreeOfParallelism: null);
    }

    private static void WriteInt(Span<byte> span, ref int p, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(span[p..], value);
        p += 4;
    }

    private readonly record struct Node(int Feature, float Threshold, int Left, int Right);

    private readonly record struct PerfectNode(int Feature, float Threshold);

    /// <summary>A split of the perfect layout for column-wise blocks: <see cref="Offset"/> is its feature's column, in bytes.</summary>
    private readonly record struct ColumnNode(int Offset, float Threshold);
}
