using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvInferenceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Kinds_follow_the_documented_rules()
    {
        var sb = new StringBuilder("num,special,date,datetime,cat,text,empty\n");
        for (var i = 0; i < 200; i++)
        {
            sb.Append(i % 5 == 0 ? string.Empty : i + ".25").Append(',')
              .Append(i % 3 == 0 ? "NaN" : i % 3 == 1 ? "-Infinity" : "1e3").Append(',')
              .Append("2024-01-").Append((1 + (i % 28)).ToString("00", System.Globalization.CultureInfo.InvariantCulture)).Append(',')
              .Append(i % 2 == 0 ? "2024-01-31T12:00:00Z" : "2024-01-31 12:00:00.5+02:00").Append(',')
              .Append("k").Append(i % 50).Append(',')
              .Append("t").Append(i % 51).Append(',')
              .Append('\n');
        }

        var path = _dir.Write("kinds.csv", sb.ToString());

        var schema = CsvFile.InferSchema(path);

        schema.ToString().ShouldBe("num:float64,special:float64,date:timestamp,datetime:timestamp,cat:categorical,text:string,empty:float64");
    }

    [Fact]
    public void Inference_is_settled_once_numbers_or_timestamps_are_more_than_half_of_the_sample()
    {
        var numbers = new Vigil.Data.Schema.ColumnKindInference(sampleSize: 10);
        for (var i = 0; i < 5; i++)
        {
            numbers.Settled.ShouldBeFalse();
            numbers.Add(Encoding.UTF8.GetBytes($"{i}.5"));
        }

        numbers.Settled.ShouldBeFalse(); // 5 of 10: the five still to come could all be text
        numbers.Add("x"u8);
        numbers.Settled.ShouldBeFalse();
        numbers.Add("6"u8);
        numbers.Settled.ShouldBeTrue();
        numbers.Result.ShouldBe(ColumnKind.Float64);

        var dates = new Vigil.Data.Schema.ColumnKindInference(sampleSize: 3);
        dates.Add("2024-01-31"u8);
        dates.Add("2024-02-01T00:00:00Z"u8);
        dates.Settled.ShouldBeTrue();
        dates.Result.ShouldBe(ColumnKind.Timestamp);
    }

    [Fact]
    public void Above_fifty_values_a_column_is_categorical_while_distinct_values_are_at_most_five_percent()
    {
        var sb = new StringBuilder("c\n");
        for (var i = 0; i < 2000; i++)
        {
            sb.Append("v").Append(i % 100).Append('\n');
        }

        var path = _dir.Write("share.csv", sb.ToString());

        CsvFile.InferSchema(path).Columns[0].Kind.ShouldBe(ColumnKind.Categorical);
        CsvFile.InferSchema(path, new CsvReadOptions { InferenceRows = 1000 }).Columns[0].Kind.ShouldBe(ColumnKind.String);
    }

    [Fact]
    public void Fully_quoted_numbers_with_quoted_empty_fields_are_float64_with_missing_values()
    {
        var path = _dir.Write("quoteall.csv", "\"a\",\"b\"\n\"1.5\",\"x\"\n\"\",\"y\"\n");

        var frame = CsvFile.Read(path);

        frame.Schema.ToString().ShouldBe("a:float64,b:categorical");
        var a = ((Float64Column)frame["a"]).Values.ToArray();
        a[0].ShouldBe(1.5);
        double.IsNaN(a[1]).ShouldBeTrue();
    }

    [Fact]
    public void Only_the_sampled_rows_decide_the_kind()
    {
        var path = _dir.Write("sample.csv", "a\n1\nx\ny\n");

        CsvFile.InferSchema(path, new CsvReadOptions { InferenceRows = 1 }).Columns[0].Kind.ShouldBe(ColumnKind.Float64);
        CsvFile.InferSchema(path).Columns[0].Kind.ShouldBe(ColumnKind.Categorical); // one number in three: categories
    }

    [Fact]
    public void An_explicit_schema_overrides_only_the_columns_it_names()
    {
        var path = _dir.Write("partial.csv", "a,b,c\n1,2,x\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("b:categorical,a:float32") });

        frame.Schema.ToString().ShouldBe("a:float32,b:categorical,c:categorical");
        ((CategoricalColumn)frame["b"])[0].ShouldBe("2");
        ((Float32Column)frame["a"])[0].ShouldBe(1f);
    }

    [Fact]
    public void Categorical_columns_option_forces_the_kind()
    {
        var path = _dir.Write("cat.csv", "zip,amount\n01234,1\n99999,2\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { CategoricalColumns = new HashSet<string> { "zip" } });

        frame.Schema.ToString().ShouldBe("zip:categorical,amount:float64");
        ((CategoricalColumn)frame["zip"])[0].ShouldBe("01234");
    }

    [Theory]
    [InlineData("2024-01-31", "2024-01-31T00:00:00Z")]
    [InlineData("2024-01-31T12:34:56Z", "2024-01-31T12:34:56Z")]
    [InlineData("2024-01-31 12:34:56", "2024-01-31T12:34:56Z")]
    [InlineData("2024-01-31T12:34", "2024-01-31T12:34:00Z")]
    [InlineData("2024-01-31T12:34:56.123456789Z", "2024-01-31T12:34:56.123456Z")]
    [InlineData("2024-01-31T12:34:56+02:00", "2024-01-31T10:34:56Z")]
    [InlineData("2024-01-31T01:00:00-0530", "2024-01-31T06:30:00Z")]
    [InlineData("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z")]
    [InlineData("2024-02-29", "2024-02-29T00:00:00Z")]
    public void Timestamps_are_read_as_utc_instants(string text, string expectedUtc)
    {
        var path = _dir.Write("t.csv", "t\n" + text + "\n");

        var t = (TimestampColumn)CsvFile.Read(path)["t"];

        t[0].ShouldBe(DateTimeOffset.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("2023-02-29")]
    [InlineData("2024-13-01")]
    [InlineData("2024-01-31T24:00:00")]
    [InlineData("2024-01-31T12:00:00+25:00")]
    [InlineData("2024-1-31")]
    [InlineData("31/01/2024")]
    [InlineData("2024-01-31T12:00:00.Z")]
    public void Text_that_is_not_a_real_iso_date_is_not_a_timestamp(string text)
    {
        var path = _dir.Write("t.csv", "t\n" + text + "\n");

        CsvFile.InferSchema(path).Columns[0].Kind.ShouldNotBe(ColumnKind.Timestamp);
    }
}
