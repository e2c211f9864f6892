using System.Globalization;

namespace Vigil.Data.Csv;

/// <summary>
/// Parses and formats ISO-8601 instants as UTF-8, as microseconds since the Unix epoch (UTC).
/// Accepted: <c>yyyy-MM-dd</c>, and <c>yyyy-MM-dd</c> followed by <c>T</c> or a space and
/// <c>HH:mm</c>, optional <c>:ss</c>, optional fraction of 1 to 9 digits (floored to microseconds),
/// optional <c>Z</c> or offset <c>+HH:mm</c>, <c>+HHmm</c>, <c>+HH</c>. No offset means UTC.
/// </summary>
internal static class Utf8Timestamp
{
    private const long MicrosPerSecond = 1_000_000;
    private const long MicrosPerDay = 86_400 * MicrosPerSecond;

    /// <summary>Parses one instant; false when the text is not one of the accepted forms or not a real date/time.</summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out long unixMicros)
    {
        unixMicros = 0;
        if (s.Length < 10 || s[4] != (byte)'-' || s[7] != (byte)'-'
            || !Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
            || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), month) || year < 1)
        {
            return false;
        }

        var micros = DaysFromCivil(year, month, day) * MicrosPerDay;
        if (s.Length == 10)
        {
            unixMicros = micros;
            return true;
        }

        if ((s[10] != (byte)'T' && s[10] != (byte)'t' && s[10] != (byte)' ') || s.Length < 16 || s[13] != (byte)':'
            || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || hour > 23 || minute > 59)
        {
            return false;
        }

        micros += ((hour * 3600L) + (minute * 60L)) * MicrosPerSecond;
        var i = 16;
        if (i < s.Length && s[i] == (byte)':')
        {
            if (!Digits(s, i + 1, 2, out var second) || second > 59)
            {
                return false;
            }

            micros += second * MicrosPerSecond;
            i += 3;
            if (i < s.Length && (s[i] == (byte)'.' || s[i] == (byte)','))
            {
                i++;
                var start = i;
                long fraction = 0;
                while (i < s.Length && (uint)(s[i] - '0') <= 9)
                {
                    if (i - start < 6)
                    {
                        fraction = (fraction * 10) + (s[i] - '0');
                    }

                    i++;
                }

                var count = i - start;
                if (count is 0 or > 9)
                {
                    return false;
                }

                for (var k = count; k < 6; k++)
                {
                    fraction *= 10;
                }

                micros += fraction;
            }
        }

        if (i == s.Length)
        {
            unixMicros = micros;
            return true;
        }

        var sign = s[i];
        if ((sign == (byte)'Z' || sign == (byte)'z') && i + 1 == s.Length)
        {
            unixMicros = micros;
            return true;
        }

        if (sign != (byte)'+' && sign != (byte)'-')
        {
            return false;
        }

        var rest = s[(i + 1)..];
        int offHours;
        var offMinutes = 0;
        if (rest.Length == 2)
        {
            if (!Digits(rest, 0, 2, out offHours))
            {
                return false;
            }
        }
        else if (rest.Length == 4)
        {
            if (!Digits(rest, 0, 2, out offHours) || !Digits(rest, 2, 2, out offMinutes))
            {
                return false;
            }
        }
        else if (rest.Length == 5 && rest[2] == (byte)':')
        {
            if (!Digits(rest, 0, 2, out offHours) || !Digits(rest, 3, 2, out offMinutes))
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (offHours > 18 || offMinutes > 59)
        {
            return false;
        }

        var offset = ((offHours * 60L) + offMinutes) * 60 * MicrosPerSecond;
        unixMicros = sign == (byte)'+' ? micros - offset : micros + offset;
        return true;
    }

    /// <summary>Writes <c>yyyy-MM-ddTHH:mm:ss[.ffffff]Z</c> (fraction without trailing zeros) into <paramref name="destination"/>.</summary>
    public static bool TryFormat(long unixMicros, Span<byte> destination, out int written)
    {
        var utc = DateTime.UnixEpoch.AddTicks(unixMicros * TimeSpan.TicksPerMicrosecond);
        return utc.TryFormat(destination, out written, "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length)
        {
            return false;
        }

        for (var i = start; i < start + count; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).</summary>
    private static long DaysFromCivil(int year, int month, int day)
    {
        long y = month <= 2 ? year - 1 : year;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yoe = y - (era * 400);
        var mp = (month + 9) % 12;
        var doy = ((153 * mp) + 2) / 5 + day - 1;
        var doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146_097) + doe - 719_468;
    }
}
