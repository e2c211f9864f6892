namespace Vigil.Detectors;

/// <summary>
/// One fitted isolation tree in pre-order: node 0 is the root, an internal node's left child is the
/// next node. <see cref="Feature"/> is -1 for leaves; a row goes left when <c>x[feature] &lt;= threshold</c>.
/// </summary>
internal sealed class IsolationTree
{
    public IsolationTree(int[] feature, float[] threshold, int[] left, int[] right, int[] samples)
    {
        Feature = feature;
        Threshold = threshold;
        Left = left;
        Right = right;
        Samples = samples;
    }

    public int[] Feature { get; }

    public float[] Threshold { get; }

    public int[] Left { get; }

    public int[] Right { get; }

    /// <summary>Distinct training rows that reached each node (scikit-learn's <c>n_node_samples</c>).</summary>
    public int[] Samples { get; }

    public int NodeCount => Feature.Length;

    /// <summary>
    /// The depth of every node, computed by walking the tree from the root. Returns null when the
    /// arrays do not describe a pre-order binary tree (bad child index, cycle, unreachable node).
    /// </summary>
    public int[]? ComputeDepths(int featureCount)
    {
        var n = NodeCount;
        if (n == 0 || Threshold.Length != n || Left.Length != n || Right.Length != n || Samples.Length != n)
        {
            return null;
        }

        var depth = new int[n];
        var visited = new bool[n];
        var stack = new Stack<int>();
        stack.Push(0);
        var count = 0;
        while (stack.Count > 0)
        {
            var i = stack.Pop();
            if (visited[i])
            {
                return null;
            }

            visited[i] = true;
            count++;
            if (Feature[i] == -1)
            {
                continue;
            }

            if (Feature[i] < 0 || Feature[i] >= featureCount || Left[i] != i + 1 || Right[i] <= Left[i] || Right[i] >= n)
            {
                return null;
            }

            depth[Left[i]] = depth[i] + 1;
            depth[Right[i]] = depth[i] + 1;
            stack.Push(Right[i]);
            stack.Push(Left[i]);
        }

        return count == n ? depth : null;
    }
}
