namespace Vigil.Monitoring.Statistics;

/// <summary>
/// numpy's legacy <c>RandomState</c> as far as Evidently's permutation test uses it: MT19937 seeded by
/// <c>np.random.seed(seed)</c> (init_genrand) and <c>choice(n, k, replace=False)</c>, which is the first k entries
/// of <c>permutation(n)</c>: a Fisher–Yates shuffle from the end drawing each index with numpy's masked
/// rejection sampler (<c>random_interval</c>). Same seed, same indices, bit for bit.
/// </summary>
internal sealed class NumpyRandom
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _pos;

    /// <summary>Seeds like <c>np.random.seed(seed)</c>.</summary>
    public NumpyRandom(uint seed)
    {
        _mt[0] = seed;
        for (var i = 1; i < N; i++)
        {
            var prev = _mt[i - 1];
            _mt[i] = unchecked((1812433253u * (prev ^ (prev >> 30))) + (uint)i);
        }

        _pos = N;
    }

    /// <summary>The next 32-bit output of MT19937 (tempered).</summary>
    public uint NextUInt32()
    {
        if (_pos >= N)
        {
            Generate();
        }

        var y = _mt[_pos++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A uniform integer in [0, max] by numpy's masked rejection (<c>random_interval</c>, 32-bit branch).</summary>
    public uint Interval(uint max)
    {
        if (max == 0)
        {
            return 0;
        }

        var mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > max)
        {
        }

        return value;
    }

    /// <summary>Fills <paramref name="permutation"/> with <c>permutation(len)</c>: 0..len−1 shuffled as numpy does.</summary>
    public void Permutation(Span<int> permutation)
    {
        for (var i = 0; i < permutation.Length; i++)
        {
            permutation[i] = i;
        }

        for (var i = permutation.Length - 1; i >= 1; i--)
        {
            var j = (int)Interval((uint)i);
            (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
        }
    }

    private void Generate()
    {
        const uint Upper = 0x80000000u;
        const uint Lower = 0x7fffffffu;
        int k;
        for (k = 0; k < N - M; k++)
        {
            var y = (_mt[k] & Upper) | (_mt[k + 1] & Lower);
            _mt[k] = _mt[k + M] ^ (y >> 1) ^ ((y & 1) == 0 ? 0u : 0x9908b0dfu);
        }

        for (; k < N - 1; k++)
        {
            var y = (_mt[k] & Upper) | (_mt[k + 1] & Lower);
            _mt[k] = _mt[k + M - N] ^ (y >> 1) ^ ((y & 1) == 0 ? 0u : 0x9908b0dfu);
        }

        var last = (_mt[N - 1] & Upper) | (_mt[0] & Lower);
        _mt[N - 1] = _mt[M - 1] ^ (last >> 1) ^ ((last & 1) == 0 ? 0u : 0x9908b0dfu);
        _pos = 0;
    }
}
