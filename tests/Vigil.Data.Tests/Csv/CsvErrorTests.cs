using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvErrorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_bad_number_names_file_line_column_and_the_text()
    {
        var path = _dir.Write("data.csv", "id,name,amount\n1,a,2.5\n2,b,\"12,x\"\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("amount:float64") }));

        ex.File.ShouldBe(path);
        ex.Line.ShouldBe(3);
        ex.Column.ShouldBe("amount");
        ex.ColumnIndex.ShouldBe(3);
        ex.Message.ShouldBe($"{path}: line 3, column 'amount' (3): cannot parse \"12,x\" as float64");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_earliest_bad_value_is_reported_whichever_column_and_row_block_holds_it(int threads)
    {
        // 40 columns and 30,000 rows, converted column by column over row blocks of a few hundred rows (one thread) or
        // over whole batches (two): of the bad values, the one on the earliest line wins, then the leftmost column on
        // that line; not the leftmost column's (c2, six lines later) nor the one a column converts first.
        var sb = new StringBuilder(string.Join(',', Enumerable.Range(0, 40).Select(c => $"c{c}"))).Append('\n');
        for (var r = 0; r < 30_000; r++)
        {
            for (var c = 0; c < 40; c++)
            {
                sb.Append(c > 0 ? "," : "").Append(
                    (r, c) switch { (12_344, 5) => "bad5", (12_344, 30) => "bad30", (12_350, 2) => "bad2", (25_000, 1) => "bad1", _ => (r + c).ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }

            sb.Append('\n');
        }

        var path = _dir.Write("wide.csv", sb.ToString());
        var options = new CsvReadOptions { Schema = FrameSchema.Parse(string.Join(',', Enumerable.Range(0, 40).Select(c => $"c{c}:float64"))), MaxDegreeOfParallelism = threads };

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, options));

        ex.Line.ShouldBe(12_346);
        ex.Column.ShouldBe("c5");
        ex.Detail.ShouldBe("cannot parse \"bad5\" as float64");
    }

    [Fact]
    public void A_bad_value_after_a_multi_line_field_reports_its_physical_line()
    {
        var path = _dir.Write("ml.csv", "note,amount\n\"one\ntwo\nthree\",1\nx,oops\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("amount:float64") }));

        ex.Line.ShouldBe(5);
        ex.Column.ShouldBe("amount");
    }

    [Fact]
    public void A_bad_timestamp_is_reported_with_its_kind()
    {
        var path = _dir.Write("ts.csv", "t\n2024-01-31\n2024-02-30\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("t:timestamp") }));

        ex.Line.ShouldBe(3);
        ex.Detail.ShouldBe("cannot parse \"2024-02-30\" as timestamp");
    }

    [Fact]
    public void A_row_with_too_few_fields_is_refused_with_its_line()
    {
        var path = _dir.Write("few.csv", "a,b,c\n1,2,3\n4,5\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(3);
        ex.ColumnIndex.ShouldBe(0);
        ex.Message.ShouldBe($"{path}: line 3: expected 3 fields, found 2");
    }

    [Fact]
    public void A_row_with_too_many_fields_is_refused_with_its_line()
    {
        var sb = new StringBuilder("a,b\n");
        for (var i = 0; i < 500; i++)
        {
            sb.Append("1,2\n");
        }

        sb.Append("1,2,3\n");
        var path = _dir.Write("many.csv", sb.ToString());

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(502);
        ex.Detail.ShouldBe("expected 2 fields, found 3");
    }

    [Fact]
    public void An_unterminated_quote_is_reported_at_the_line_where_the_field_starts()
    {
        var path = _dir.Write("unterminated.csv", "a,b\n1,x\n2,\"starts here\nand goes on\nforever\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(3);
        ex.Column.ShouldBe("b");
        ex.ColumnIndex.ShouldBe(2);
        ex.Detail.ShouldContain("unterminated quoted field");
    }

    [Fact]
    public void Text_after_a_closing_quote_is_refused()
    {
        var path = _dir.Write("after.csv", "a,b\n\"x\"y,1\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(2);
        ex.Column.ShouldBe("a");
        ex.Detail.ShouldContain("after the closing quote");
    }

    [Theory]
    [InlineData("")]
    [InlineData("\uFEFF")]
    public void An_empty_file_is_refused_because_a_header_is_required(string content)
    {
        var path = _dir.Write("empty.csv", content);

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(1);
        ex.Message.ShouldBe($"{path}: line 1: the file is empty; a header line with the column names is required");
    }

    [Fact]
    public void A_duplicate_header_name_is_refused_naming_both_positions()
    {
        var path = _dir.Write("dup.csv", "a,b,a\n1,2,3\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(1);
        ex.Column.ShouldBe("a");
        ex.ColumnIndex.ShouldBe(3);
        ex.Detail.ShouldContain("duplicate column name 'a' (also column 1)");
    }

    [Fact]
    public void An_empty_header_name_is_refused_with_its_position()
    {
        var path = _dir.Write("noname.csv", "a,,c\n1,2,3\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));

        ex.Line.ShouldBe(1);
        ex.ColumnIndex.ShouldBe(2);
        ex.Detail.ShouldContain("empty column name");
    }

    [Fact]
    public void A_schema_column_missing_from_the_file_is_named()
    {
        var path = _dir.Write("s.csv", "a,b\n1,2\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("a:float64,amount:float64") }));

        ex.Column.ShouldBe("amount");
        ex.Line.ShouldBe(1);
        ex.Detail.ShouldBe("column 'amount' named in the schema is not in the header; the header has: a, b");
    }

    [Fact]
    public void A_selected_column_missing_from_the_file_is_named()
    {
        var path = _dir.Write("s.csv", "a,b\n1,2\n");

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Columns = ["zz"] }));

        ex.Column.ShouldBe("zz");
    }

    [Fact]
    public void A_late_value_that_breaks_the_inferred_kind_is_reported_with_advice_while_reading_chunks()
    {
        var sb = new StringBuilder("id,amount\n");
        for (var i = 1; i <= 5000; i++)
        {
            sb.Append(i).Append(',').Append(i * 0.5).Append('\n');
        }

        sb.Append("5001,n/a\n");
        var path = _dir.Write("late.csv", sb.ToString());
        var options = new CsvReadOptions { InferenceRows = 100 };
        var seen = 0;

        var ex = Should.Throw<DataFormatException>(() =>
        {
            foreach (var chunk in CsvFile.ReadChunks(path, 1000, options))
            {
                seen += chunk.RowCount;
            }
        });

        seen.ShouldBe(5000);
        ex.Line.ShouldBe(5002);
        ex.Column.ShouldBe("amount");
        ex.ColumnIndex.ShouldBe(2);
        ex.Message.ShouldStartWith($"{path}: line 5002, column 'amount' (2): cannot parse \"n/a\" as float64 (the kind float64 was inferred from the first 100 rows");
        ex.Message.ShouldContain("--schema 'amount:string'");
    }

    [Fact]
    public void Invalid_utf8_in_a_text_column_is_refused_not_replaced()
    {
        var path = _dir.File("bad-utf8.csv");
        File.WriteAllBytes(path, [.. "s\nok\n"u8, 0xC3, 0x28, (byte)'\n']);

        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("s:string") }));

        ex.Line.ShouldBe(3);
        ex.Detail.ShouldBe("the value is not valid UTF-8");
    }

    [Fact]
    public void An_unnamed_stream_error_has_no_file_prefix()
    {
        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(new MemoryStream("a\nx1\n"u8.ToArray()), options: new CsvReadOptions { Schema = FrameSchema.Parse("a:float64") }));

        ex.File.ShouldBeNull();
        ex.Message.ShouldBe("line 2, column 'a' (1): cannot parse \"x1\" as float64");
    }
}
