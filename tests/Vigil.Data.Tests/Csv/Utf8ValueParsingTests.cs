using System.Globalization;
using System.Numerics;
using System.Text;
using Vigil.Data.Csv;

namespace Vigil.Data.Tests.Csv;

public sealed class Utf8ValueParsingTests
{
    [Fact]
    public void The_powers_of_five_table_is_the_computed_one()
    {
        // The table is source (no BigInteger work at startup); this is the algorithm that made it (fast_float's).
        var table = Utf8Double.PowersOfFive;
        Assert.Equal(2 * (308 + 342 + 1), table.Length);
        var two128 = BigInteger.One << 128;
        var two127 = BigInteger.One << 127;
        var mask64 = (BigInteger.One << 64) - 1;
        for (var q = -342; q <= 308; q++)
        {
            BigInteger c;
            if (q < 0)
            {
                var power5 = BigInteger.Pow(5, -q);
                var z = (int)power5.GetBitLength();
                var b = q >= -27 ? z + 127 : (2 * z) + 128;
                c = (BigInteger.One << b) / power5 + 1;
                while (c >= two128)
                {
                    c >>= 1;
                }
            }
            else
            {
                c = BigInteger.Pow(5, q);
                while (c < two127)
                {
                    c <<= 1;
                }

                while (c >= two128)
                {
                    c >>= 1;
                }
            }

            var index = 2 * (q + 342);
            Assert.Equal((ulong)(c >> 64), table[index]);
            Assert.Equal((ulong)(c & mask64), table[index + 1]);
        }
    }

    [Fact]
    public void Fast_double_parsing_matches_the_runtime_bit_for_bit()
    {
        var rng = new SplitMix64(2024);
        var mismatches = new List<string>();
        for (var i = 0; i < 100_000; i++)
        {
            var bits = BitConverter.Int64BitsToDouble((long)rng.Next());
            foreach (var text in new[]
            {
                double.IsFinite(bits) ? bits.ToString("R", CultureInfo.InvariantCulture) : "0",
                ((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(60) - 30)).ToString("R", CultureInfo.InvariantCulture),
                RandomDigits(rng),
            })
            {
                Check(text, mismatches);
            }
        }

        foreach (var text in new[]
        {
            "0", "-0", "+5", "1.", ".5", "1e308", "1.7976931348623157e308", "1.7976931348623159e308", "2e308", "4.9e-324",
            "2.4703282292062327e-324", "2.4703282292062328e-324", "2.2250738585072011e-308", "9007199254740993",
            "9007199254740995", "0.000123456789012345678", "123456789012345678901234", "1e23", " 1.5", "1.5 ",
            "abc", "", "-", ".", "1e", "1e+", "12345678.87654321", "1234567a", "NaN", "Infinity", "-Infinity",
        })
        {
            Check(text, mismatches);
        }

        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Numbers_with_many_leading_zeros_match_the_runtime_bit_for_bit()
    {
        // Leading zeros do not count against the fast path's 19 digits; the value must stay exact around that limit
        // (shortest round-trip values below 0.01 have 17 significant digits after the zeros).
        var rng = new SplitMix64(31);
        var mismatches = new List<string>();
        foreach (var text in new[]
        {
            "0.00048912291157896534", "-0.004891229115789653", "0.0000000000000000000012345678901234567",
            "0.00012345678901234567891", "0.0001234567890123456789", "000000000000000000001.5", "0000000000000000000000",
            "0.000000000000000000000", "-0.0000000000000000000000000000000000012345678901234567891", "100000000000000000000",
            "0.000000000000000000001e5", "00000000000000000000123456789012345678.9", "0.0000000000000000000009999999999999999999",
        })
        {
            Check(text, mismatches);
        }

        for (var i = 0; i < 50_000; i++)
        {
            var zeros = new string('0', rng.Next(30));
            var digits = new StringBuilder();
            var count = 1 + rng.Next(22);
            for (var k = 0; k < count; k++)
            {
                digits.Append((char)('0' + (k == 0 ? 1 + rng.Next(9) : rng.Next(10))));
            }

            Check($"0.{zeros}{digits}", mismatches);
            Check($"-{zeros}{digits}.{rng.Next(1000)}", mismatches);
            Check(((rng.NextDouble() - 0.5) * Math.Pow(10, -rng.Next(8))).ToString("R", CultureInfo.InvariantCulture), mismatches);
        }

        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void Field_parsing_in_a_buffer_matches_the_runtime_bit_for_bit_whatever_follows_the_field()
    {
        var rng = new SplitMix64(77);
        var mismatches = new List<string>();
        var texts = new List<string>
        {
            "0", "-0", "0.0", "-0.0", "+5", "1.", ".5", "-.5", "5.", "-", ".", "..", "1.2.3", "00000000", "000000001",
            "12345678", "123456789", "12345678.87654321", "12345678.876543219", "1234567.8", "-12345678.1",
            "99999999.99999999", "9007199254740993", "90071992.54740993", "9007199.254740993", "0.00000001", "0.000000001",
            "1e5", "1.5e-3", "1,5", " 1.5", "1.5 ", "1.5x", "NaN", "inf", "-Infinity", "1234567a", "a", "0.1", "0.2", "0.3",
            "124.365", "29.606", "0.682251", "1.23457e+06", "1e-05", "4.9e-324",
        };
        for (var i = 0; i < 100_000; i++)
        {
            texts.Add(RandomPlainDecimal(rng));
        }

        for (var i = 0; i < 20_000; i++)
        {
            texts.Add(RandomDigits(rng));
            texts.Add(((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(30) - 15)).ToString("G6", CultureInfo.InvariantCulture));
        }

        // Each field is followed by bytes that must not change it: a delimiter and digits, a dot, or the end of the buffer.
        var followers = new[] { ",12345678.9", ".5", "12", "\n7.25,1", "" };
        foreach (var text in texts)
        {
            foreach (var follower in followers)
            {
                var field = Encoding.UTF8.GetBytes(text);
                var buffer = Encoding.UTF8.GetBytes(text + follower + new string('9', rng.Next(2) == 0 ? 0 : 30));
                var ok1 = double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var expected)
                    || Utf8Double.TryParse(field, out expected);
                var ok2 = Utf8Double.TryParseField(buffer, field.Length, out var actual);
                if (ok1 != ok2 || (ok1 && BitConverter.DoubleToInt64Bits(expected) != BitConverter.DoubleToInt64Bits(actual)))
                {
                    mismatches.Add($"'{text}' + '{follower}': runtime {expected:R} ({ok1}), field {actual:R} ({ok2})");
                }
            }
        }

        mismatches.ShouldBeEmpty();
    }

    /// <summary>An optional '-', 0 to 9 digits with leading zeros now and then, then often '.' and 0 to 9 more digits.</summary>
    private static string RandomPlainDecimal(SplitMix64 rng)
    {
        var sb = new StringBuilder();
        if (rng.Next(3) == 0)
        {
            sb.Append('-');
        }

        var whole = rng.Next(10);
        for (var k = 0; k < whole; k++)
        {
            sb.Append((char)('0' + (k == 0 && rng.Next(4) != 0 ? 1 + rng.Next(9) : rng.Next(10))));
        }

        if (rng.Next(4) != 0)
        {
            sb.Append('.');
            var fraction = rng.Next(10);
            for (var k = 0; k < fraction; k++)
            {
                sb.Append((char)('0' + rng.Next(10)));
            }
        }

        return sb.ToString();
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-INF", double.NegativeInfinity)]
    [InlineData("+Inf", double.PositiveInfinity)]
    public void Inf_spellings_are_accepted(string text, double expected)
    {
        Utf8Double.TryParse(Encoding.UTF8.GetBytes(text), out var v).ShouldBeTrue();
        v.ShouldBe(expected);
    }

    [Fact]
    public void Timestamps_format_and_parse_back_to_the_same_microsecond()
    {
        var rng = new SplitMix64(5);
        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            var micros = (long)(rng.Next() % 6_000_000_000_000_000UL) - 1_000_000_000_000_000L;

            Utf8Timestamp.TryFormat(micros, buffer, out var n).ShouldBeTrue();
            Utf8Timestamp.TryParse(buffer[..n], out var back).ShouldBeTrue();

            back.ShouldBe(micros);
        }
    }

    private static void Check(string text, List<string> mismatches)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ok1 = double.TryParse(bytes, NumberStyles.Float, CultureInfo.InvariantCulture, out var expected);
        var ok2 = Utf8Double.TryParse(bytes, out var actual);
        if (ok1 != ok2 || (ok1 && BitConverter.DoubleToInt64Bits(expected) != BitConverter.DoubleToInt64Bits(actual)))
        {
            mismatches.Add($"{text}: runtime {expected:R} ({ok1}), fast {actual:R} ({ok2})");
        }
    }

    private static string RandomDigits(SplitMix64 rng)
    {
        var sb = new StringBuilder();
        if (rng.Next(2) == 0)
        {
            sb.Append('-');
        }

        var digits = 1 + rng.Next(21);
        for (var k = 0; k < digits; k++)
        {
            sb.Append((char)('0' + rng.Next(10)));
        }

        if (rng.Next(2) == 0)
        {
            sb.Insert(rng.Next(sb.Length + 1), '.');
        }

        if (rng.Next(3) == 0)
        {
            sb.Append('e').Append(rng.Next(680) - 350);
        }

        return sb.ToString();
    }
}
