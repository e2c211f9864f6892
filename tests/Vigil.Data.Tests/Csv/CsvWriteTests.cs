using System.IO.Compression;
using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvWriteTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Frame EveryKind() => new([
        new Float64Column("f64", [1.5, double.NaN, -0.1, 1e-300, double.PositiveInfinity, 123456789.123]),
        new Float32Column("f32", [0.1f, float.NaN, -3f, float.MaxValue, 1e-40f, 2.5f]),
        CategoricalColumn.FromValues("cat", ["a", null, "b,c", "a", "", "say \"x\""]),
        new StringColumn("str", ["plain", null, "", "multi\nline", "crlf\r\n", "ünïcödé ✓"]),
        new TimestampColumn("ts", [
            TimestampColumn.ToMicros(new DateTimeOffset(2024, 1, 31, 12, 0, 0, TimeSpan.Zero)),
            TimestampColumn.Missing,
            TimestampColumn.ToMicros(new DateTimeOffset(1969, 7, 20, 20, 17, 40, TimeSpan.Zero)) + 123,
            0,
            TimestampColumn.ToMicros(new DateTimeOffset(2024, 1, 31, 12, 0, 0, TimeSpan.FromHours(5))),
            -1,
        ]),
    ]);

    [Fact]
    public void Float64_values_are_written_as_R_formats_them_whole_numbers_included()
    {
        double[] values = [0.0, -0.0, 1, -1, 2, 17, -123456, 999_999_999_999_999, -999_999_999_999_999, 1e15, -1e15, 4503599627370496,
            9007199254740993, 1e300, 0.5, -2.5, 1e-7, 123456789.123, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, double.Epsilon];
        var path = _dir.File("whole.csv");
        CsvFile.Write(new Frame([new Float64Column("v", values)]), path);
        var lines = File.ReadAllLines(path);
        Assert.Equal(["v", .. values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))], lines);
    }

    [Fact]
    public void Every_column_kind_round_trips_with_missing_values_and_quoting()
    {
        var frame = EveryKind();
        var path = _dir.File("all.csv");

        CsvFile.Write(frame, path);
        var back = CsvFile.Read(path, new CsvReadOptions { Schema = frame.Schema });

        FrameAssert.Equal(frame, back);
    }

    [Fact]
    public void Gzip_output_round_trips_and_is_really_compressed()
    {
        var frame = EveryKind();
        var path = _dir.File("all.csv.gz");

        CsvFile.Write(frame, path);

        var head = new byte[2];
        using (var f = File.OpenRead(path))
        {
            f.ReadExactly(head);
        }

        head.ShouldBe(new byte[] { 0x1F, 0x8B });
        FrameAssert.Equal(frame, CsvFile.Read(path, new CsvReadOptions { Schema = frame.Schema }));
    }

    [Fact]
    public void Output_uses_invariant_shortest_round_trip_numbers_and_iso_utc_timestamps()
    {
        var frame = new Frame([
            new Float64Column("x", [0.1, 1e21, -2.5, double.NaN]),
            new TimestampColumn("t", [
                TimestampColumn.ToMicros(new DateTimeOffset(2024, 1, 31, 12, 0, 0, TimeSpan.Zero)),
                TimestampColumn.ToMicros(new DateTimeOffset(2024, 1, 31, 12, 0, 0, 500, TimeSpan.Zero)),
                TimestampColumn.Missing,
                1,
            ]),
            new StringColumn("s", ["a\"b", "c,d", "", null]),
        ]);
        var stream = new MemoryStream();

        CsvFile.Write(frame, stream);

        Encoding.UTF8.GetString(stream.ToArray()).ShouldBe(
            "x,t,s\n" +
            "0.1,2024-01-31T12:00:00Z,\"a\"\"b\"\n" +
            "1E+21,2024-01-31T12:00:00.5Z,\"c,d\"\n" +
            "-2.5,,\"\"\n" +
            ",1970-01-01T00:00:00.000001Z,\n");
    }

    [Fact]
    public void The_streaming_writer_writes_the_header_once_and_reads_back_as_one_frame()
    {
        var path = _dir.File("stream.csv");
        var parts = new[]
        {
            new Frame([new Float64Column("v", [1, 2]), CategoricalColumn.FromValues("k", ["x", "y"])]),
            new Frame([new Float64Column("v", [3]), CategoricalColumn.FromValues("k", ["z"])]),
        };

        using (var writer = new CsvFrameWriter(path))
        {
            foreach (var part in parts)
            {
                writer.Write(part);
            }
        }

        File.ReadAllText(path).ShouldBe("v,k\n1,x\n2,y\n3,z\n");
        FrameAssert.Equal(Frame.Concat(parts), CsvFile.Read(path));
    }

    [Fact]
    public void The_streaming_writer_refuses_a_chunk_with_other_columns()
    {
        using var writer = new CsvFrameWriter(new MemoryStream());
        writer.Write(new Frame([new Float64Column("a", [1])]));

        var ex = Should.Throw<ArgumentException>(() => writer.Write(new Frame([new Float64Column("b", [1])])));

        ex.Message.ShouldContain("(a)");
        ex.Message.ShouldContain("(b)");
    }

    [Fact]
    public void Header_names_that_need_quotes_are_quoted()
    {
        var frame = new Frame([new Float64Column("a,b", [1]), new Float64Column("say \"hi\"", [2])]);
        var stream = new MemoryStream();

        CsvFile.Write(frame, stream);

        Encoding.UTF8.GetString(stream.ToArray()).ShouldBe("\"a,b\",\"say \"\"hi\"\"\"\n1,2\n");
        CsvFile.Read(new MemoryStream(stream.ToArray())).Columns.Select(c => c.Name).ShouldBe(["a,b", "say \"hi\""]);
    }

    [Fact]
    public void A_single_column_with_missing_values_round_trips()
    {
        var frame = new Frame([new StringColumn("s", ["a", null, "", null])]);
        var stream = new MemoryStream();

        CsvFile.Write(frame, stream);

        FrameAssert.Equal(frame, CsvFile.Read(new MemoryStream(stream.ToArray()), options: new CsvReadOptions { Schema = frame.Schema }));
    }

    [Fact]
    public void Another_delimiter_round_trips()
    {
        var frame = new Frame([new StringColumn("a", ["x;y", "1,5"]), new Float64Column("b", [1.25, 2])]);
        var stream = new MemoryStream();

        using (var writer = new CsvFrameWriter(stream, leaveOpen: true, delimiter: ';'))
        {
            writer.Write(frame);
        }

        Encoding.UTF8.GetString(stream.ToArray()).ShouldBe("a;b\n\"x;y\";1.25\n1,5;2\n");
        FrameAssert.Equal(frame, CsvFile.Read(new MemoryStream(stream.ToArray()), options: new CsvReadOptions { Delimiter = ';', Schema = frame.Schema }));
    }
}
