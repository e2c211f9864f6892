using System.Text;

namespace Vigil.Data.Tests.Csv;

/// <summary>A few unparsable values in a numeric column are errors (or skipped rows when asked), never a silent change of kind.</summary>
public sealed class CsvBadValueTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A transactions file of <paramref name="rows"/> rows with "x" as the amount of data row <paramref name="badRow"/> (line badRow + 1).</summary>
    private string Transactions(string name, int rows, int badRow)
    {
        var sb = new StringBuilder("id,amount,merchant\n");
        for (var i = 1; i <= rows; i++)
        {
            sb.Append(i).Append(',').Append(i == badRow ? "x" : (i * 1.5).ToString(System.Globalization.CultureInfo.InvariantCulture))
              .Append(",m").Append(i % 7).Append('\n');
        }

        return _dir.Write(name, sb.ToString());
    }

    [Theory]
    [InlineData(5, 2)] // a tiny file: line 3
    [InlineData(20_000, 2)] // a big file: line 3, inside the inference sample
    [InlineData(20_000, 15_000)] // a big file: line 15,001, after the sample
    public void An_x_in_a_numeric_column_is_an_error_naming_file_line_and_column(int rows, int badRow)
    {
        var path = Transactions("tx.csv", rows, badRow);

        CsvFile.InferSchema(path).ToString().ShouldBe("id:float64,amount:float64,merchant:categorical");
        var ex = Should.Throw<DataFormatException>(() => CsvFile.Read(path));
        ex.Message.ShouldStartWith($"{path}: line {badRow + 1}, column 'amount' (2): cannot parse \"x\" as float64 (the kind float64 was inferred from the first 10000 rows, where most values are numbers; fix the value, drop such rows with --on-bad-value skip, or give an explicit schema, for example --schema 'amount:string')");
        ex.Line.ShouldBe(badRow + 1);
    }

    [Theory]
    [InlineData(5, 2)]
    [InlineData(20_000, 2)]
    [InlineData(20_000, 15_000)]
    public void Skip_drops_the_row_and_reports_it(int rows, int badRow)
    {
        var path = Transactions("tx.csv", rows, badRow);
        var skipped = new List<DataFormatException>();

        var frame = CsvFile.Read(path, new CsvReadOptions { OnBadValue = BadValueHandling.Skip, RowSkipped = skipped.Add, MaxDegreeOfParallelism = 2 });

        frame.RowCount.ShouldBe(rows - 1);
        var ids = ((Float64Column)frame["id"]).Values.ToArray();
        ids.ShouldNotContain(badRow);
        ids[badRow - 2].ShouldBe(badRow - 1);
        ids[badRow - 1].ShouldBe(badRow + 1);
        ((Float64Column)frame["amount"]).Values.ToArray()[badRow - 1].ShouldBe((badRow + 1) * 1.5);
        frame["merchant"].Length.ShouldBe(rows - 1);
        var e = skipped.ShouldHaveSingleItem();
        e.Message.ShouldBe($"{path}: line {badRow + 1}, column 'amount' (2): cannot parse \"x\" as float64");
    }

    [Fact]
    public void Skip_works_across_chunks()
    {
        var path = Transactions("tx.csv", 3000, 1500);
        var skipped = 0;
        var total = 0;
        foreach (var chunk in CsvFile.ReadChunks(path, 1000, new CsvReadOptions { OnBadValue = BadValueHandling.Skip, RowSkipped = _ => skipped++ }))
        {
            total += chunk.RowCount;
        }

        total.ShouldBe(2999);
        skipped.ShouldBe(1);
    }

    [Fact]
    public void An_explicit_schema_reads_the_column_as_asked()
    {
        var path = Transactions("tx.csv", 5, 2);
        var frame = CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("amount:string") });
        frame.Schema.ToString().ShouldBe("id:float64,amount:string,merchant:categorical");
        ((StringColumn)frame["amount"]).Values.ToArray()[1].ShouldBe("x");
    }

    [Fact]
    public void A_genuinely_categorical_column_stays_categorical()
    {
        // Half or fewer of the values are numbers: codes with a few numeric-looking ones are categories, not bad numbers.
        var path = _dir.Write("codes.csv", "code\nA\nB\n7\nC\n9\nA\n");
        CsvFile.InferSchema(path).ToString().ShouldBe("code:categorical");
        CsvFile.Read(path).RowCount.ShouldBe(6);
    }

    [Fact]
    public void A_mostly_timestamp_column_with_a_bad_value_is_an_error()
    {
        var path = _dir.Write("dates.csv", "t\n2024-01-01\n2024-01-02\nsoon\n2024-01-04\n");
        CsvFile.InferSchema(path).ToString().ShouldBe("t:timestamp");
        Should.Throw<DataFormatException>(() => CsvFile.Read(path)).Message.ShouldStartWith($"{path}: line 4, column 't' (1): cannot parse \"soon\" as timestamp (the kind timestamp was inferred from the first 10000 rows, where most values are timestamps;");
    }
}
