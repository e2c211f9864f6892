namespace Vigil.Data;

/// <summary>Walker's alias method: O(1) draws from a fixed discrete distribution.</summary>
internal sealed class AliasTable
{
    private readonly double[] _probability;
    private readonly int[] _alias;

    public AliasTable(ReadOnlySpan<double> weights)
    {
        var n = weights.Length;
        if (n == 0)
        {
            throw new ArgumentException("An alias table needs at least one weight.", nameof(weights));
        }

        var total = 0.0;
        foreach (var w in weights)
        {
            if (!(w >= 0) || double.IsInfinity(w))
            {
                throw new ArgumentException("Weights must be finite and non-negative.", nameof(weights));
            }

            total += w;
        }

        if (!(total > 0))
        {
            throw new ArgumentException("At least one weight must be positive.", nameof(weights));
        }

        _probability = new double[n];
        _alias = new int[n];
        var scaled = new double[n];
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (var i = n - 1; i >= 0; i--)
        {
            scaled[i] = weights[i] * n / total;
            (scaled[i] < 1.0 ? small : large).Push(i);
        }

        while (small.Count > 0 && large.Count > 0)
        {
            var s = small.Pop();
            var l = large.Pop();
            _probability[s] = scaled[s];
            _alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1.0;
            (scaled[l] < 1.0 ? small : large).Push(l);
        }

        while (large.Count > 0)
        {
            var l = large.Pop();
            _probability[l] = 1.0;
            _alias[l] = l;
        }

        while (small.Count > 0)
        {
            var s = small.Pop();
            _probability[s] = 1.0;
            _alias[s] = s;
        }
    }

    public int Count => _probability.Length;

    public int Sample(VigilRandom random)
    {
        var i = random.Next(_probability.Length);
        return random.NextDouble() < _probability[i] ? i : _alias[i];
    }
}
