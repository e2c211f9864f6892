namespace Vigil.Monitoring.Statistics;

/// <summary>
/// Sorts finite doubles ascending by an LSD radix sort on their order-preserving 64-bit keys (three 11-bit passes
/// are skipped when a digit is the same for every value): a few milliseconds per million values, one scratch buffer.
/// The result equals <see cref="Array.Sort(Array)"/> for finite values (−0.0 sorts before +0.0, which compare equal).
/// </summary>
internal static class RadixSort
{
    private const int Bits = 11;
    private const int Buckets = 1 << Bits;
    private const int Passes = 6;

    /// <summary>Sorts <paramref name="values"/> in place.</summary>
    public static void Sort(double[] values)
    {
        var n = values.Length;
        if (n < 4096)
        {
            Array.Sort(values);
            return;
        }

        var keys = new ulong[n];
        var scratch = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            keys[i] = (bits & 0x8000_0000_0000_0000UL) != 0 ? ~bits : bits | 0x8000_0000_0000_0000UL;
        }

        var counts = new int[Passes * Buckets];
        for (var i = 0; i < n; i++)
        {
            var k = keys[i];
            for (var p = 0; p < Passes; p++)
            {
                counts[(p * Buckets) + (int)((k >> (p * Bits)) & (Buckets - 1))]++;
            }
        }

        for (var p = 0; p < Passes; p++)
        {
            var offset = p * Buckets;
            var digit0 = (int)((keys[0] >> (p * Bits)) & (Buckets - 1));
            if (counts[offset + digit0] == n)
            {
                continue;
            }

            var sum = 0;
            for (var b = 0; b < Buckets; b++)
            {
                var c = counts[offset + b];
                counts[offset + b] = sum;
                sum += c;
            }

            var shift = p * Bits;
            for (var i = 0; i < n; i++)
            {
                var k = keys[i];
                scratch[counts[offset + (int)((k >> shift) & (Buckets - 1))]++] = k;
            }

            (keys, scratch) = (scratch, keys);
        }

        for (var i = 0; i < n; i++)
        {
            var k = keys[i];
            var bits = (k & 0x8000_0000_0000_0000UL) != 0 ? k & 0x7FFF_FFFF_FFFF_FFFFUL : ~k;
            values[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
    }
}
