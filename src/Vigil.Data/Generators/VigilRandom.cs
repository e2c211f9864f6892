using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vigil.Data;

/// <summary>
/// A small, explicit, seeded pseudo-random generator (xoshiro256** seeded through SplitMix64).
/// The integer stream depends only on the seed, never on the .NET version or the machine, so the
/// same seed gives the same data everywhere. Not thread-safe: give each thread its own instance
/// (see <see cref="Fork"/>). Not for cryptography.
/// </summary>
public sealed class VigilRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator whose whole output is determined by <paramref name="seed"/>.</summary>
    public VigilRandom(ulong seed)
    {
        Seed = seed;
        var sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>
    /// A new, independent generator derived from this generator's seed and <paramref name="stream"/>:
    /// the same (seed, stream) pair always gives the same generator, whatever this one has already drawn.
    /// </summary>
    public VigilRandom Fork(ulong stream)
    {
        var sm = Seed ^ (stream * 0xD1B54A32D192ED03UL);
        var derived = SplitMix64(ref sm) ^ SplitMix64(ref sm);
        return new VigilRandom(derived);
    }

    /// <summary>
    /// A generator for stream <paramref name="stream"/> of <paramref name="seed"/> (e.g. one per tree):
    /// the same (seed, stream) pair always gives the same generator. A different derivation from
    /// <see cref="Fork"/>, kept because trained models pin the streams it gives.
    /// </summary>
    public static VigilRandom ForStream(ulong seed, ulong stream)
    {
        var x = seed ^ (0x9E3779B97F4A7C15UL * (stream + 1));
        return new VigilRandom(SplitMix64(ref x));
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    public double NextDouble(double min, double max) => min + ((max - min) * NextDouble());

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            ThrowNonPositive(maxExclusive);
        }

        var range = (ulong)maxExclusive;
        var m = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0UL - range) % range;
            while (low < threshold)
            {
                m = Math.BigMul(NextUInt64(), range, out low);
            }
        }

        return (int)m;
    }

    /// <summary>A uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public int Next(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"Must be greater than minInclusive ({minInclusive}).");
        }

        return minInclusive + Next(maxExclusive - minInclusive);
    }

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool NextBool(double probability) => NextDouble() < probability;

    /// <summary>A standard normal draw (mean 0, standard deviation 1), by the Box–Muller transform.</summary>
    public double NextGaussian()
    {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A normal draw with the given mean and standard deviation.</summary>
    public double NextGaussian(double mean, double standardDeviation) => mean + (standardDeviation * NextGaussian());

    /// <summary>An exponential draw with the given rate (mean 1 / <paramref name="rate"/>).</summary>
    public double NextExponential(double rate = 1.0)
    {
        if (!(rate > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The rate must be positive.");
        }

        return -Math.Log(1.0 - NextDouble()) / rate;
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(T[] items) => Shuffle(items.AsSpan());

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>One step of SplitMix64: advances <paramref name="state"/> and returns the mixed output.</summary>
    internal static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static void ThrowNonPositive(int maxExclusive) =>
        throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "Must be positive.");
}
