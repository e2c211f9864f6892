using System.Buffers;
using System.Text;
using System.Text.Json;
using Vigil.Fx;

namespace Vigil.Serving.Tests;

/// <summary>The streaming FX request reader: shapes, per-deal type errors, bodies split across buffers, shared texts.</summary>
public sealed class FxRequestReaderTests
{
    private const string Example = """{"Client":"FISAU","FX_Instrument_Type":"FX Forward","BUnit":"0-GLOBAL","Cpty":"CBA","PrimaryCurr":"USD","BuyCurr":"USD","SellCurr":"AUD","BuyAmount":10000000.0,"SellAmount":-10000000.0,"SpotRate":1.0,"ForwardPoints":0.0,"DealDate":"2025-09-01","MaturityDate":"2025-09-25","UniqueId":"FX.FWD.Request.100097","ContLeg":0}""";

    private static readonly FxRawDeal Expected = new()
    {
        Client = "FISAU", FxInstrumentType = "FX Forward", BUnit = "0-GLOBAL", Cpty = "CBA", PrimaryCurr = "USD", BuyCurr = "USD", SellCurr = "AUD",
        BuyAmount = 10000000.0, SellAmount = -10000000.0, SpotRate = 1.0, ForwardPoints = 0.0, DealDate = "2025-09-01", MaturityDate = "2025-09-25",
        UniqueId = "FX.FWD.Request.100097", ContLeg = 0,
    };

    private const string Columns = "\"columns\":[\"Client\",\"FX_Instrument_Type\",\"BUnit\",\"Cpty\",\"PrimaryCurr\",\"BuyCurr\",\"SellCurr\",\"BuyAmount\",\"SellAmount\",\"SpotRate\",\"ForwardPoints\",\"DealDate\",\"MaturityDate\",\"UniqueId\",\"ContLeg\"]";

    private const string Row = "[\"FISAU\",\"FX Forward\",\"0-GLOBAL\",\"CBA\",\"USD\",\"USD\",\"AUD\",10000000.0,-10000000.0,1.0,0.0,\"2025-09-01\",\"2025-09-25\",\"FX.FWD.Request.100097\",0]";

    public static TheoryData<string, string> Shapes => new()
    {
        { "list", $"[{Example}]" },
        { "inputs", $"{{\"inputs\":[{Example}]}}" },
        { "instances", $"{{\"instances\":[{Example}]}}" },
        { "dataframe_records after another key", $"{{\"params\":{{\"a\":[1,2]}},\"dataframe_records\":[{Example}]}}" },
        { "dataframe_split", $"{{\"dataframe_split\":{{{Columns},\"data\":[{Row}]}}}}" },
        { "dataframe_split with data first", $"{{\"dataframe_split\":{{\"data\":[{Row}],\"index\":[0],{Columns}}}}}" },
        { "escaped names and an ignored nested field", Example.Replace("\"Client\"", "\"Cl\\u0069ent\"").Replace("\"ContLeg\":0", "\"ContLeg\":0,\"Extra\":{\"x\":[1,{\"y\":2}]}") },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_shape_reads_the_example_field_for_field_whole_or_split_in_small_buffers(string shape, string body)
    {
        if (shape.StartsWith("escaped", StringComparison.Ordinal))
        {
            body = $"[{body}]";
        }

        foreach (var segment in new[] { int.MaxValue, 7, 1 })
        {
            var read = FxRequestReader.Read(Sequence(body, segment));
            read.Deals.Length.ShouldBe(1, shape);
            read.Errors[0].ShouldBeNull(shape);
            read.Deals[0].ShouldBe(Expected, $"{shape}, segments of {segment} bytes");
        }
    }

    [Fact]
    public void A_value_of_the_wrong_type_fails_its_deal_only_naming_the_field()
    {
        var body = "[" + string.Join(",",
            Example,
            Example.Replace("\"Cpty\":\"CBA\"", "\"Cpty\":{\"name\":\"CBA\"}"),
            Example.Replace("\"BuyAmount\":10000000.0", "\"BuyAmount\":1e400"),
            Example.Replace("\"SpotRate\":1.0", "\"SpotRate\":\"1.0\""),
            "[1,2]",
            Example.Replace("\"UniqueId\":\"FX.FWD.Request.100097\"", "\"UniqueId\":100097"),
            Example.Replace("\"ContLeg\":0", "\"ContLeg\":null")) + "]";
        var read = FxRequestReader.Read(Sequence(body, int.MaxValue));
        read.Errors.ShouldBe([
            null,
            "Cpty: must be a string (got an object)",
            "BuyAmount: must be a finite number (got 1e400)",
            "SpotRate: must be a finite number (got a string)",
            "deal[4]: must be a JSON object (got a list)",
            null,
            null,
        ]);
        read.Deals[0].ShouldBe(Expected);
        read.Deals[5].UniqueId.ShouldBe("100097");
        read.Deals[6].ContLeg.ShouldBeNull();
    }

    [Fact]
    public void A_row_of_the_wrong_length_fails_its_deal_only()
    {
        var read = FxRequestReader.Read(Sequence($"{{\"dataframe_split\":{{{Columns},\"data\":[{Row},[\"FISAU\"],{{\"a\":1}},{Row}]}}}}", 5));
        read.Errors.ShouldBe([null, "dataframe_split.data[1]: has 1 values for 15 columns", "dataframe_split.data[2]: must be a list of values (got an object)", null]);
        read.Deals[3].ShouldBe(Expected);
    }

    [Theory]
    [InlineData("", typeof(JsonException))]
    [InlineData("[{\"Client\":", typeof(JsonException))]
    [InlineData("[] []", typeof(JsonException))]
    [InlineData("{\"inputs\":[]", typeof(JsonException))]
    [InlineData("{\"inputs\":[]} x", typeof(JsonException))]
    [InlineData("42", typeof(RequestShapeException))]
    [InlineData("{\"deals\":[]}", typeof(RequestShapeException))]
    [InlineData("{\"inputs\":{}}", typeof(RequestShapeException))]
    [InlineData("{\"dataframe_split\":{\"columns\":[\"Client\"]}}", typeof(RequestShapeException))]
    [InlineData("{\"dataframe_split\":{\"data\":[]}}", typeof(RequestShapeException))]
    [InlineData("{\"dataframe_split\":{\"columns\":[1],\"data\":[]}}", typeof(RequestShapeException))]
    public void A_body_that_is_not_JSON_or_of_no_accepted_shape_fails_the_request(string body, Type exception)
    {
        Exception? thrown = null;
        try
        {
            FxRequestReader.Read(Sequence(body, int.MaxValue));
        }
        catch (Exception e)
        {
            thrown = e;
        }

        thrown.ShouldNotBeNull(body);
        thrown.ShouldBeAssignableTo(exception, body);
    }

    [Fact]
    public void Invalid_UTF8_in_a_text_fails_the_request_and_never_enters_the_shared_texts()
    {
        var bytes = Encoding.UTF8.GetBytes("[{\"Cpty\":\"C\u00e9A\"}]");
        var at = Array.IndexOf(bytes, (byte)0xC3);
        bytes[at + 1] = 0x41; // a lead byte followed by an ASCII byte
        Should.Throw<InvalidOperationException>(() => FxRequestReader.Read(new ReadOnlySequence<byte>(bytes)));
        Should.Throw<InvalidOperationException>(() => FxRequestReader.Read(new ReadOnlySequence<byte>(bytes)));
    }

    [Fact]
    public void Repeated_texts_of_a_batch_are_one_string_and_ids_stay_their_own()
    {
        var read = FxRequestReader.Read(Sequence($"[{Example},{Example.Replace("100097", "100098")}]", int.MaxValue));
        read.Deals[0].Cpty.ShouldBeSameAs(read.Deals[1].Cpty);
        read.Deals[0].DealDate.ShouldBeSameAs(read.Deals[1].DealDate);
        read.Deals[1].UniqueId.ShouldBe("FX.FWD.Request.100098");
    }

    [Fact]
    public void The_plain_path_reads_random_bodies_exactly_as_the_general_reader_does_or_leaves_them_to_it()
    {
        // Fixed seed: 3,000 bodies of 1-4 deals mixing every value form the plain path takes (strings, numbers of every
        // shape, literals, absent and repeated fields) with forms it must leave to the general reader (escapes, non-ASCII,
        // nested values, other shapes, broken JSON). Whichever path reads a body, the deals, errors or exception are the same.
        var random = new Random(20261202);
        var plain = 0;
        for (var n = 0; n < 3_000; n++)
        {
            var body = RandomBody(random);
            var bytes = Encoding.UTF8.GetBytes(body);
            var general = Outcome(() => FxRequestReader.ReadGeneral(new ReadOnlySequence<byte>(bytes)));
            var read = Outcome(() => FxRequestReader.Read(new ReadOnlySequence<byte>(bytes)));
            var split = Outcome(() => FxRequestReader.Read(Sequence(body, 9)));
            read.ShouldBe(general, body);
            split.ShouldBe(Outcome(() => FxRequestReader.ReadGeneral(Sequence(body, 9))), body); // (Utf8JsonReader words some errors differently over segments)
            if (FxRequestReader.TryReadPlain(bytes) is not null)
            {
                plain++;
            }
        }

        plain.ShouldBeGreaterThan(1_000); // the plain path took a good share of them
    }

    [Fact]
    public void The_plain_path_parses_numbers_to_the_same_double_as_the_general_reader()
    {
        var random = new Random(7);
        var numbers = new List<string>
        {
            "0", "-0", "0.0", "-0.0", "0.000", "-0.000", "0e5", "-0e-5", "0E+0", "-0.0e400", "0e-400", "1", "-1", "10000000.0", "-10000000.0", "0.1", "0.2", "0.3", "2105892.46", "-1384519", "0.65745",
            "123456789012345", "1234567890123456", "12345678901234567890", "9007199254740993", "1e22", "1e23", "1e-22", "1e-23",
            "1.7976931348623157e308", "5e-324", "1e400", "-1e400", "123.456e-5", "1E+2", "1e0", "0.000001", "1.5e-7",
            "999999999999999", "1000000000000000", "99999999999999.9", "0.999999999999999", "0.0000000000000000012", "0.00000000000000000012",
            "100000000000000000000e-10", "0.00000000000000000000000000000000000000000001", "1234567890123456789", "12345678901234567890.5",
        };
        for (var i = 0; i < 4_000; i++)
        {
            var digits = random.Next(1, 18);
            var mantissa = new StringBuilder();
            mantissa.Append((char)('1' + random.Next(9)));
            for (var d = 1; d < digits; d++)
            {
                mantissa.Append((char)('0' + random.Next(10)));
            }

            var text = mantissa.ToString();
            var point = random.Next(0, digits + 1);
            if (point < digits && point > 0)
            {
                text = text[..point] + "." + text[point..];
            }

            if (random.Next(4) == 0)
            {
                text += "e" + random.Next(-30, 31).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            numbers.Add(random.Next(2) == 0 ? "-" + text : text);
        }

        var body = "[" + string.Join(",", numbers.Select(x => $"{{\"BuyAmount\":{x},\"UniqueId\":{x}}}")) + "]";
        var bytes = Encoding.UTF8.GetBytes(body);
        var fast = FxRequestReader.TryReadPlain(bytes).ShouldNotBeNull();
        var general = FxRequestReader.ReadGeneral(new ReadOnlySequence<byte>(bytes));
        for (var i = 0; i < numbers.Count; i++)
        {
            fast.Errors[i].ShouldBe(general.Errors[i], numbers[i]);
            fast.Deals[i].UniqueId.ShouldBe(numbers[i]);
            BitConverter.DoubleToInt64Bits(fast.Deals[i].BuyAmount ?? double.NaN).ShouldBe(BitConverter.DoubleToInt64Bits(general.Deals[i].BuyAmount ?? double.NaN), numbers[i]);
        }
    }

    /// <summary>What reading gives: every deal's fields (numbers by their bits) and error, or the exception's type and message.</summary>
    private static string Outcome(Func<FxReadResult> read)
    {
        try
        {
            var result = read();
            var text = new StringBuilder();
            for (var i = 0; i < result.Deals.Length; i++)
            {
                var d = result.Deals[i];
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{d with { BuyAmount = null, SellAmount = null, SpotRate = null, ForwardPoints = null, ContLeg = null }} ");
                foreach (var x in new[] { d.BuyAmount, d.SellAmount, d.SpotRate, d.ForwardPoints, d.ContLeg })
                {
                    text.Append(x is { } v ? BitConverter.DoubleToInt64Bits(v).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null").Append(' ');
                }

                text.Append(result.Errors[i] ?? "ok").Append('\n');
            }

            return text.ToString();
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    private static readonly string[] Names =
        ["Client", "FX_Instrument_Type", "BUnit", "Cpty", "PrimaryCurr", "BuyCurr", "SellCurr", "BuyAmount", "SellAmount", "SpotRate", "ForwardPoints", "DealDate", "MaturityDate", "UniqueId", "ContLeg", "Extra"];

    private static readonly string[] Values =
    [
        "\"FISAU\"", "\"FX Forward\"", "\"0-GLOBAL\"", "\"CBA\"", "\"USD\"", "\"AUD\"", "\"2025-09-01\"", "\"FX.FWD.Request.100097\"", "\"\"", "\" \"",
        "\"~!@#$%^&*()_+{}|:<>?\u007f\"", "0", "-0", "1.5", "-10000000.0", "2105892.46", "1e400", "12345678901234567890", "1E-7", "0.1e2", "true", "false", "null",
    ];

    /// <summary>Values the plain path leaves to the general reader.</summary>
    private static readonly string[] OtherValues =
    [
        "\"C\\u0042A\"", "\"a\\\"b\"", "\"Z\u00fcrich\"", "{\"x\":[1,2]}", "[]", "[1,\"a\"]", "{}", "01", "1.", "-", "tru", "nul", "\"\t\"",
    ];

    private static string RandomBody(Random random)
    {
        var deals = new List<string>();
        var count = random.Next(1, 5);
        for (var d = 0; d < count; d++)
        {
            var members = new List<string>();
            var fields = random.Next(0, 18);
            for (var f = 0; f < fields; f++)
            {
                var space = random.Next(6) == 0 ? " \n\t" : "";
                var value = random.Next(80) == 0 ? OtherValues[random.Next(OtherValues.Length)] : Values[random.Next(Values.Length)];
                members.Add($"{space}\"{Names[random.Next(Names.Length)]}\"{space}:{space}{value}{space}");
            }

            deals.Add(random.Next(100) == 0 ? "[1]" : "{" + string.Join(",", members) + "}");
        }

        var list = "[" + string.Join(",", deals) + "]";
        var body = random.Next(8) switch
        {
            0 => $"{{\"inputs\":{list}}}",
            1 => $"{{\"dataframe_records\": {list} }}",
            2 => $"{{\"instances\":{list},\"inputs\":[]}}",
            _ => $" {list}\r\n",
        };
        return random.Next(25) switch
        {
            0 => body[..random.Next(body.Length)],
            1 => body.Replace("}]", "},]", StringComparison.Ordinal),
            2 => body + "x",
            _ => body,
        };
    }

    /// <summary><paramref name="body"/> as UTF-8 in segments of at most <paramref name="size"/> bytes (as a pipe hands them over).</summary>
    private static ReadOnlySequence<byte> Sequence(string body, int size)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        if (size >= bytes.Length)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var chunk = bytes.AsMemory(at, Math.Min(size, bytes.Length - at));
            last = last is null ? (first = new Segment(chunk, 0)) : last.Append(chunk);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
