using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Data.Csv;

/// <summary>
/// Parses invariant-culture decimal numbers straight from UTF-8 with correct (round-to-nearest-even)
/// results: Clinger's exact fast path, then the Eisel-Lemire algorithm (as in fast_float / .NET's own
/// parser), and <see cref="double.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider?, out double)"/>
/// for everything else (more than 19 digits, the rare undecidable case, NaN, Infinity, whitespace).
/// </summary>
internal static partial class Utf8Double
{
    private const int SmallestPowerOfTen = -342;
    private const int LargestPowerOfTen = 308;

    private static readonly double[] ExactPowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>Parses <paramref name="s"/>; accepts also NaN, Infinity, -Infinity and inf/-inf (any case).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(ReadOnlySpan<byte> s, out double value)
    {
        var n = s.Length;
        var i = 0;
        var negative = false;
        if (n == 0)
        {
            value = 0;
            return false;
        }

        var c = s[0];
        if (c == (byte)'-')
        {
            negative = true;
            i = 1;
        }
        else if (c == (byte)'+')
        {
            i = 1;
        }

        ulong w = 0;
        var intStart = i;
        while (i + 8 <= n && TryEightDigits(s, i, out var eight))
        {
            w = unchecked((w * 100_000_000) + eight);
            i += 8;
        }

        while (i < n)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9)
            {
                break;
            }

            w = unchecked((w * 10) + d);
            i++;
        }

        var digits = i - intStart;
        var exponent = 0;
        if (i < n && s[i] == (byte)'.')
        {
            i++;
            var fracStart = i;
            while (i + 8 <= n && TryEightDigits(s, i, out var eight))
            {
                w = unchecked((w * 100_000_000) + eight);
                i += 8;
            }

            while (i < n)
            {
                var d = (uint)(s[i] - '0');
                if (d > 9)
                {
                    break;
                }

                w = unchecked((w * 10) + d);
                i++;
            }

            exponent = fracStart - i;
            digits += i - fracStart;
        }

        if (digits > 19)
        {
            // Leading zeros (0.000123...) add nothing to w: only the significant digits must fit in 19. Without this,
            // a shortest round-trip value below 0.01 (17 significant digits) went to the runtime's slow parser.
            digits -= LeadingZeros(s[intStart..i]);
        }

        if (digits == 0 || digits > 19)
        {
            return Slow(s, out value);
        }

        if (i < n)
        {
            if ((s[i] | 0x20) != (byte)'e')
            {
                return Slow(s, out value);
            }

            i++;
            var expNegative = false;
            if (i < n && (s[i] == (byte)'-' || s[i] == (byte)'+'))
            {
                expNegative = s[i] == (byte)'-';
                i++;
            }

            var expStart = i;
            var e = 0;
            while (i < n)
            {
                var d = (uint)(s[i] - '0');
                if (d > 9)
                {
                    break;
                }

                if (e < 100_000)
                {
                    e = (e * 10) + (int)d;
                }

                i++;
            }

            if (i == expStart || i != n)
            {
                return Slow(s, out value);
            }

            exponent += expNegative ? -e : e;
        }

        if (w == 0)
        {
            value = negative ? -0.0 : 0.0;
            return true;
        }

        if (exponent is >= -22 and <= 22 && w <= (1UL << 53))
        {
            double v = w;
            v = exponent < 0 ? v / ExactPowersOfTen[-exponent] : v * ExactPowersOfTen[exponent];
            value = negative ? -v : v;
            return true;
        }

        if (TryEiselLemire(w, exponent, negative, out value))
        {
            return true;
        }

        return Slow(s, out value);
    }

    /// <summary>
    /// Parses the field made of the first <paramref name="length"/> bytes of <paramref name="s"/>, where
    /// <paramref name="s"/> may run on past the field (the rest of a CSV buffer). A plain decimal (an optional '-', at
    /// most 8 digits, optionally '.' and at most 8 more digits) is read with two 8-byte loads and no branch per digit,
    /// then Clinger's exact path (the mantissa below 2^53, one division by an exact power of ten: the correctly
    /// rounded double, as <see cref="double.Parse(string, IFormatProvider?)"/> gives); anything else, or a field too
    /// close to the end of <paramref name="s"/>, goes to <see cref="TryParse(ReadOnlySpan{byte}, out double)"/>. (The CSV float64
    /// column loop does the same with <see cref="PlainDecimalOrNaN"/> inline.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseField(ReadOnlySpan<byte> s, int length, out double value)
    {
        if (length > 0 && s.Length >= FieldLoadBytes)
        {
            value = PlainDecimalOrNaN(ref MemoryMarshal.GetReference(s), length);
            if (!double.IsNaN(value))
            {
                return true;
            }
        }

        return TryParse(s[..length], out value);
    }

    /// <summary>Bytes <see cref="PlainDecimalOrNaN"/> may read from the field start: sign, 8 digits, '.', 8 bytes.</summary>
    internal const int FieldLoadBytes = 24;

    /// <summary>
    /// The plain decimal of <paramref name="length"/> (at least 1) bytes at <paramref name="p"/>, or NaN when it is not
    /// one (then the full parser decides); <see cref="FieldLoadBytes"/> bytes from <paramref name="p"/> must be readable.
    /// NaN is never a plain decimal's value, so it serves as the "not here" answer without an out parameter (which
    /// would keep the result in memory in the caller's loop).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double PlainDecimalOrNaN(ref byte p, int length)
    {
        var negative = p == (byte)'-';
        var i0 = negative ? 1 : 0;
        var digits = length - i0;
        var a = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i0));

        // The first '.' among the 8 bytes after the sign (8 when there is none): the lowest zero byte of a ^ "........".
        // Without one there, the field must be at most 8 digits (a '.' further on falls back).
        var x = a ^ 0x2E2E_2E2E_2E2E_2E2EUL;
        var dot = (int)(BitOperations.TrailingZeroCount((x - 0x0101_0101_0101_0101UL) & ~x & 0x8080_8080_8080_8080UL) >> 3);
        var hasDot = dot < digits && dot < 8;
        var intDigits = hasDot ? dot : digits;
        var fracDigits = hasDot ? digits - dot - 1 : 0;
        if ((uint)intDigits > 8 || (uint)fracDigits > 8 || intDigits + fracDigits == 0)
        {
            return double.NaN;
        }

        var whole = LeadingDigitBytes(a, intDigits);
        var fraction = LeadingDigitBytes(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i0 + intDigits + 1)), fracDigits);
        if (!AreEightDigits(whole) || !AreEightDigits(fraction))
        {
            return double.NaN;
        }

        var w = (EightDigitsValue(whole) * PowersOfTenU64[fracDigits]) + EightDigitsValue(fraction);
        if (w > 1UL << 53)
        {
            return double.NaN;
        }

        // Clinger: w and 10^fracDigits are exact doubles, so one division rounds correctly.
        var v = (long)w / ExactPowersOfTen[fracDigits];
        return negative ? -v : v;
    }

    /// <summary>
    /// The first <paramref name="count"/> (0 to 8) bytes of <paramref name="v"/> (in memory order, little-endian) moved
    /// to the top, the bytes below filled with '0' (leading zeros); the bytes after them are dropped. Each shift is split
    /// in two so that 64 bits (count 0 or 8) give 0 instead of C#'s shift by 64 mod 64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LeadingDigitBytes(ulong v, int count)
    {
        var half = 4 * (8 - count);
        var fill = 4 * count;
        return ((v << half) << half) | ((0x3030_3030_3030_3030UL >> fill) >> fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AreEightDigits(ulong v) =>
        ((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) == 0x3333333333333333;

    /// <summary>The value of 8 ASCII digits (first in memory = most significant), SWAR as in fast_float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightDigitsValue(ulong v)
    {
        const ulong Mask = 0x000000FF000000FF;
        const ulong Mul1 = 0x000F424000000064;
        const ulong Mul2 = 0x0000271000000001;
        v -= 0x3030303030303030;
        v = (v * 10) + (v >> 8);
        return unchecked((((v & Mask) * Mul1) + (((v >> 16) & Mask) * Mul2)) >> 32);
    }

    private static readonly ulong[] PowersOfTenU64 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// <summary>Reads 8 ASCII digits at once (SWAR), as in fast_float; false when any of the 8 bytes is not a digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryEightDigits(ReadOnlySpan<byte> s, int at, out ulong value) =>
        TryEightDigits(BinaryPrimitives.ReadUInt64LittleEndian(s[at..]), out value);

    /// <summary>The 8 ASCII digits of <paramref name="v"/> (first in memory = most significant); false when one is not a digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryEightDigits(ulong v, out ulong value)
    {
        if (!AreEightDigits(v))
        {
            value = 0;
            return false;
        }

        value = EightDigitsValue(v);
        return true;
    }

    /// <summary>The '0' digits before the first nonzero digit of <paramref name="number"/> (digits and at most one '.').</summary>
    private static int LeadingZeros(ReadOnlySpan<byte> number)
    {
        var zeros = 0;
        foreach (var c in number)
        {
            if (c == (byte)'0')
            {
                zeros++;
            }
            else if (c != (byte)'.')
            {
                break;
            }
        }

        return zeros;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Slow(ReadOnlySpan<byte> s, out double value)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        var t = s.Trim(" \t"u8);
        var negative = false;
        if (t.Length > 0 && (t[0] == (byte)'-' || t[0] == (byte)'+'))
        {
            negative = t[0] == (byte)'-';
            t = t[1..];
        }

        if (t.Length == 3 && (t[0] | 0x20) == 'i' && (t[1] | 0x20) == 'n' && (t[2] | 0x20) == 'f')
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Eisel-Lemire: w * 10^q correctly rounded, or false when the 128-bit product cannot decide.</summary>
    private static bool TryEiselLemire(ulong w, int q, bool negative, out double value)
    {
        var sign = negative ? 1UL << 63 : 0UL;
        if (q < SmallestPowerOfTen)
        {
            value = BitConverter.UInt64BitsToDouble(sign);
            return true;
        }

        if (q > LargestPowerOfTen)
        {
            value = BitConverter.UInt64BitsToDouble(sign | (0x7FFUL << 52));
            return true;
        }

        var lz = BitOperations.LeadingZeroCount(w);
        w <<= lz;
        var index = 2 * (q - SmallestPowerOfTen);
        var hi = Math.BigMul(w, PowersOfFive[index], out var lo);
        const ulong PrecisionMask = ulong.MaxValue >> 55;
        if ((hi & PrecisionMask) == PrecisionMask)
        {
            var hi2 = Math.BigMul(w, PowersOfFive[index + 1], out _);
            lo = unchecked(lo + hi2);
            if (hi2 > lo)
            {
                hi++;
            }
        }

        if (lo == ulong.MaxValue && (q < -27 || q > 55))
        {
            value = 0;
            return false;
        }

        var upperBit = (int)(hi >> 63);
        var shift = upperBit + 64 - 52 - 3;
        var mantissa = hi >> shift;
        var power2 = ((((152170 + 65536) * q) >> 16) + 63) + upperBit - lz + 1023;
        if (power2 <= 0)
        {
            if (-power2 + 1 >= 64)
            {
                value = BitConverter.UInt64BitsToDouble(sign);
                return true;
            }

            mantissa >>= -power2 + 1;
            mantissa += mantissa & 1;
            mantissa >>= 1;
            power2 = mantissa < (1UL << 52) ? 0 : 1;
            value = BitConverter.UInt64BitsToDouble(sign | mantissa | ((ulong)power2 << 52));
            return true;
        }

        if (lo <= 1 && q is >= -4 and <= 23 && (mantissa & 3) == 1 && (mantissa << shift) == hi)
        {
            mantissa &= ~1UL;
        }

        mantissa += mantissa & 1;
        mantissa >>= 1;
        if (mantissa >= (2UL << 52))
        {
            mantissa = 1UL << 52;
            power2++;
        }

        mantissa &= ~(1UL << 52);
        if (power2 >= 0x7FF)
        {
            power2 = 0x7FF;
            mantissa = 0;
        }

        value = BitConverter.UInt64BitsToDouble(sign | mantissa | ((ulong)power2 << 52));
        return true;
    }
}
