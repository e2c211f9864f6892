using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Monitoring.Statistics;

/// <summary>
/// Sorts finite doubles ascending by an LSD radix sort on their order-preserving 64-bit keys: the keys are written in
/// place over the values (no key array), the histograms of all six 11-bit digits come from the same pass, a pass
/// whose digit is the same for every value is skipped (usually the top one or two), and the one scratch buffer is
/// pooled. The result equals <see cref="Array.Sort(Array)"/> for finite values (−0.0 sorts before +0.0, which
/// compare equal).
/// </summary>
internal static class RadixSort
{
    private const int Bits = 11;
    private const int Buckets = 1 << Bits;
    private const int Passes = 6;
    private const int SmallSort = 4096;
    private const ulong SignBit = 0x8000_0000_0000_0000UL;
    private const ulong ExponentMask = 0x7FF0_0000_0000_0000UL;

    /// <summary>Sorts <paramref name="values"/> (finite) in place.</summary>
    public static void Sort(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length < SmallSort)
        {
            Array.Sort(values);
            return;
        }

        var keys = MemoryMarshal.Cast<double, ulong>(values.AsSpan());
        var counts = new int[Passes * Buckets];
        if (ToKeys(keys, keys, counts) != keys.Length)
        {
            throw new ArgumentException("Only finite values can be radix-sorted.", nameof(values));
        }

        SortKeys(keys, counts);
    }

    /// <summary>
    /// The finite values of <paramref name="source"/>, ascending, in the first <paramref name="count"/> elements of an
    /// array rented from <see cref="ArrayPool{T}.Shared"/> (one pass to count them, one to copy them as keys while
    /// counting the digits, the radix passes, one to turn the keys back), and how many values were not finite (NaN, ±Inf).
    /// A rented array is memory already touched when the pool has one: a fresh array of a million values costs the
    /// kernel thousands of page faults on first write.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double[] RentSortedFinite(ReadOnlySpan<double> source, out int count, out int missing)
    {
        var finite = CountFinite(source);
        count = finite;
        missing = source.Length - finite;
        var result = ArrayPool<double>.Shared.Rent(finite);
        if (finite < SmallSort)
        {
            var k = 0;
            foreach (var v in source)
            {
                if ((BitConverter.DoubleToUInt64Bits(v) & ExponentMask) != ExponentMask)
                {
                    result[k++] = v;
                }
            }

            Array.Sort(result, 0, finite);
            return result;
        }

        var keys = MemoryMarshal.Cast<double, ulong>(result.AsSpan(0, finite));
        var counts = new int[Passes * Buckets];
        ToKeys(MemoryMarshal.Cast<double, ulong>(source), keys, counts);
        SortKeys(keys, counts);
        return result;
    }

    /// <summary>The number of finite values (exponent bits not all ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CountFinite(ReadOnlySpan<double> source)
    {
        var bits = MemoryMarshal.Cast<double, ulong>(source);
        var n = 0;
        for (var i = 0; i < bits.Length; i++)
        {
            n += (bits[i] & ExponentMask) != ExponentMask ? 1 : 0;
        }

        return n;
    }

    /// <summary>
    /// Writes the order-preserving key of every finite value of <paramref name="source"/> (as IEEE bits) to
    /// <paramref name="keys"/> (which may be the same memory) and counts its six digits; returns how many were written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ToKeys(ReadOnlySpan<ulong> source, Span<ulong> keys, int[] counts)
    {
        ref var c = ref MemoryMarshal.GetArrayDataReference(counts);
        ref var dst = ref MemoryMarshal.GetReference(keys);
        var k = 0;
        for (var i = 0; i < source.Length; i++)
        {
            var bits = source[i];
            if ((bits & ExponentMask) == ExponentMask)
            {
                continue;
            }

            // Negative: flip all bits (larger magnitude sorts first); positive: set the sign bit.
            var key = bits ^ ((ulong)((long)bits >> 63) | SignBit);
            Unsafe.Add(ref dst, k++) = key;
            Unsafe.Add(ref c, (int)(key & (Buckets - 1)))++;
            Unsafe.Add(ref c, Buckets + (int)((key >> Bits) & (Buckets - 1)))++;
            Unsafe.Add(ref c, (2 * Buckets) + (int)((key >> (2 * Bits)) & (Buckets - 1)))++;
            Unsafe.Add(ref c, (3 * Buckets) + (int)((key >> (3 * Bits)) & (Buckets - 1)))++;
            Unsafe.Add(ref c, (4 * Buckets) + (int)((key >> (4 * Bits)) & (Buckets - 1)))++;
            Unsafe.Add(ref c, (5 * Buckets) + (int)(key >> (5 * Bits)))++;
        }

        return k;
    }

    /// <summary>Sorts the keys with the digit counts of <see cref="ToKeys"/>, then turns them back into doubles in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortKeys(Span<ulong> keys, int[] counts)
    {
        var n = keys.Length;
        var rented = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            var from = keys;
            var to = rented.AsSpan(0, n);
            var first = keys[0];
            for (var p = 0; p < Passes; p++)
            {
                var offset = p * Buckets;
                var shift = p * Bits;
                if (counts[offset + (int)((first >> shift) & (Buckets - 1))] == n)
                {
                    continue;
                }

                var sum = 0;
                for (var b = 0; b < Buckets; b++)
                {
                    var count = counts[offset + b];
                    counts[offset + b] = sum;
                    sum += count;
                }

                Scatter(from, to, ref counts[offset], shift);
                var swap = from;
                from = to;
                to = swap;
            }

            // The sorted keys are in `from` (the input or the scratch buffer): back to doubles into `keys`.
            ref var src = ref MemoryMarshal.GetReference(from);
            ref var dst = ref MemoryMarshal.GetReference(keys);
            for (var i = 0; i < n; i++)
            {
                var key = Unsafe.Add(ref src, i);
                Unsafe.Add(ref dst, i) = key ^ ((ulong)((long)~key >> 63) | SignBit);
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(ReadOnlySpan<ulong> from, Span<ulong> to, ref int offsets, int shift)
    {
        ref var dst = ref MemoryMarshal.GetReference(to);
        for (var i = 0; i < from.Length; i++)
        {
            var key = from[i];
            ref var slot = ref Unsafe.Add(ref offsets, (int)((key >> shift) & (Buckets - 1)));
            Unsafe.Add(ref dst, slot++) = key;
        }
    }
}
