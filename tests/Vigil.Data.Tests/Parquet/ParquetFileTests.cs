using Parquet;
using Parquet.Schema;

namespace Vigil.Data.Tests;

public sealed class ParquetFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-parquet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Frame AllKinds()
    {
        var t0 = TimestampColumn.ToMicros(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero)) + 123_456;
        return new Frame([
            new Float64Column("f64", [1.5, double.NaN, -0.0, double.PositiveInfinity, 1e-300, -123456789.125]),
            new Float32Column("f32", [1.25f, 2.5f, float.NaN, -3f, float.MaxValue, 0f]),
            CategoricalColumn.FromValues("cat", ["grocery", null, "fuel", "grocery", "", "fuel"]),
            new StringColumn("text", ["héllo, \"world\"", null, "", "line\nbreak", "t000000005", "😀"]),
            new TimestampColumn("ts", [t0, TimestampColumn.Missing, 0, -1_000_001, t0 + 1, TimestampColumn.ToMicros(new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero))]),
        ]);
    }

    private static void ShouldEqual(Frame actual, Frame expected)
    {
        actual.RowCount.ShouldBe(expected.RowCount);
        actual.Schema.ToString().ShouldBe(expected.Schema.ToString());
        for (var c = 0; c < expected.Columns.Count; c++)
        {
            var e = expected.Columns[c];
            var a = actual.Columns[c];
            for (var r = 0; r < expected.RowCount; r++)
            {
                a.IsMissing(r).ShouldBe(e.IsMissing(r), $"column {e.Name} row {r}");
                a.FormatValue(r).ShouldBe(e.FormatValue(r), $"column {e.Name} row {r}");
            }
        }
    }

    [Fact]
    public void Every_kind_round_trips_with_its_missing_values()
    {
        var frame = AllKinds();
        var path = PathOf("all.parquet");

        ParquetFile.Write(frame, path);
        var back = ParquetFile.Read(path);

        ShouldEqual(back, frame);
        var f64 = ((Float64Column)back["f64"]).Values.ToArray();
        double.IsNegative(f64[2]).ShouldBeTrue("negative zero keeps its sign");
        double.IsNaN(f64[1]).ShouldBeTrue();
        ((Float32Column)back["f32"]).Values.ToArray().ShouldBe([1.25f, 2.5f, float.NaN, -3f, float.MaxValue, 0f]);
        ((TimestampColumn)back["ts"]).UnixMicros.ToArray().ShouldBe(((TimestampColumn)frame["ts"]).UnixMicros.ToArray());
        var cat = (CategoricalColumn)back["cat"];
        cat[1].ShouldBeNull();
        cat[4].ShouldBe(string.Empty);
        ((StringColumn)back["text"])[1].ShouldBeNull();
        ((StringColumn)back["text"])[2].ShouldBe(string.Empty);
    }

    [Fact]
    public void Schema_is_read_without_the_data_and_keeps_the_written_kinds()
    {
        var path = PathOf("schema.parquet");
        ParquetFile.Write(AllKinds(), path);

        ParquetFile.ReadSchema(path).ToString().ShouldBe("f64:float64,f32:float32,cat:categorical,text:string,ts:timestamp");
    }

    [Fact]
    public void Empty_frame_round_trips_with_its_schema()
    {
        var empty = AllKinds().Take([]);
        var path = PathOf("empty.parquet");

        ParquetFile.Write(empty, path);
        var back = ParquetFile.Read(path);

        back.RowCount.ShouldBe(0);
        back.Schema.ToString().ShouldBe(empty.Schema.ToString());
    }

    [Fact]
    public void Chunked_read_of_many_row_groups_equals_the_whole_read()
    {
        const int rows = 2_500;
        var values = new double[rows];
        var cats = new string?[rows];
        var micros = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            values[i] = i % 7 == 0 ? double.NaN : i * 0.5;
            cats[i] = i % 11 == 0 ? null : "k" + (i % 13).ToString(System.Globalization.CultureInfo.InvariantCulture);
            micros[i] = 1_700_000_000_000_000 + (i * 1_000_003L);
        }

        var frame = new Frame([
            new Float64Column("x", values),
            CategoricalColumn.FromValues("k", cats),
            new TimestampColumn("t", micros),
        ]);
        var path = PathOf("groups.parquet");
        ParquetFile.Write(frame, path, rowGroupSize: 1_000);

        var chunks = ParquetFile.ReadChunks(path).ToList();
        var whole = ParquetFile.Read(path);

        chunks.Select(c => c.RowCount).ShouldBe([1_000, 1_000, 500]);
        ShouldEqual(Frame.Concat(chunks), whole);
        ShouldEqual(whole, frame);
    }

    [Fact]
    public void Categorical_codes_are_stable_across_the_chunks_of_a_file()
    {
        var frame = new Frame([CategoricalColumn.FromValues("k", ["a", "b", "b", "c", "a", "d"])]);
        var path = PathOf("codes.parquet");
        ParquetFile.Write(frame, path, rowGroupSize: 2);

        var chunks = ParquetFile.ReadChunks(path).Select(c => (CategoricalColumn)c["k"]).ToList();

        chunks[0].Codes.ToArray().ShouldBe([0, 1]);
        chunks[1].Codes.ToArray().ShouldBe([1, 2]);
        chunks[2].Codes.ToArray().ShouldBe([0, 3]);
        chunks[2].Dictionary.ShouldBe(["a", "b", "c", "d"]);
    }

    [Fact]
    public void Streaming_writer_appends_row_groups_per_call()
    {
        var frame = AllKinds();
        var path = PathOf("stream.parquet");
        using (var writer = new ParquetFrameWriter(path, frame.Schema, rowGroupSize: 4))
        {
            writer.Write(frame.Take([0, 1, 2]));
            writer.Write(frame.Take([3, 4, 5]));
            writer.Write(frame.Take([]));
            writer.RowsWritten.ShouldBe(6);
        }

        ParquetFile.ReadChunks(path).Count().ShouldBe(2);
        ShouldEqual(ParquetFile.Read(path), frame);
    }

    [Fact]
    public void Streaming_writer_refuses_a_chunk_with_another_schema_naming_the_column()
    {
        var path = PathOf("mismatch.parquet");
        using var writer = new ParquetFrameWriter(path, FrameSchema.Parse("a:float64,b:string"));

        var ex = Should.Throw<ArgumentException>(() => writer.Write(new Frame([
            new Float64Column("a", [1.0]),
            new Float64Column("b", [2.0]),
        ])));

        ex.Message.ShouldContain("'b'");
        ex.Message.ShouldContain("mismatch.parquet");
    }

    [Fact]
    public void Truncated_file_is_refused_with_an_error_naming_the_file()
    {
        var path = PathOf("whole.parquet");
        ParquetFile.Write(AllKinds(), path);
        var truncated = PathOf("truncated.parquet");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);

        var ex = Should.Throw<InvalidDataException>(() => ParquetFile.Read(truncated));

        ex.Message.ShouldStartWith(truncated);
    }

    [Fact]
    public void Garbage_file_is_refused_with_an_error_naming_the_file()
    {
        var path = PathOf("garbage.parquet");
        File.WriteAllText(path, "customer_id,amount\nc1,12.5\n");

        Should.Throw<InvalidDataException>(() => ParquetFile.ReadSchema(path)).Message.ShouldStartWith(path);
        Should.Throw<InvalidDataException>(() => ParquetFile.ReadChunks(path).ToList()).Message.ShouldStartWith(path);
    }

    [Fact]
    public void Corrupted_column_data_is_refused_naming_the_file_and_the_column()
    {
        var n = 5_000;
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = i * 1.5;
        }

        var path = PathOf("corrupt.parquet");
        ParquetFile.Write(new Frame([new Float64Column("amount", values)]), path);
        var bytes = File.ReadAllBytes(path);
        for (var i = 4; i < bytes.Length / 2; i++)
        {
            bytes[i] = 0xFF;
        }

        File.WriteAllBytes(path, bytes);

        var ex = Should.Throw<InvalidDataException>(() => ParquetFile.Read(path));

        ex.Message.ShouldStartWith(path);
        ex.Message.ShouldContain("'amount'");
    }

    [Fact]
    public void Missing_file_is_reported_as_not_found()
    {
        Should.Throw<FileNotFoundException>(() => ParquetFile.Read(PathOf("nope.parquet")));
    }

    [Fact]
    public async Task Foreign_numbers_dates_and_strings_map_to_frame_kinds()
    {
        var path = PathOf("foreign.parquet");
        var i32 = new DataField<int>("i32");
        var i64 = new DataField<long?>("i64");
        var flag = new DataField<bool>("flag");
        var money = new DecimalDataField("money", 10, 2, isNullable: true);
        var day = new DateTimeDataField("day", DateTimeFormat.Date, isNullable: true);
        var millis = new DateTimeDataField("millis", DateTimeFormat.DateAndTime);
        var city = new DataField<string>("city", true);
        var id = new DataField<string>("id", true);
        var rows = 60;
        var cities = new string?[rows];
        var ids = new string?[rows];
        for (var i = 0; i < rows; i++)
        {
            cities[i] = i == 3 ? null : (i % 3) switch { 0 => "Oslo", 1 => "Lima", _ => "Pune" };
            ids[i] = "id" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(i32, i64, flag, money, day, millis, city, id), stream, cancellationToken: Ct))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(i32, Enumerable.Range(0, rows).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync<long>(i64, Enumerable.Range(0, rows).Select(i => i == 1 ? (long?)null : 10_000_000_000L + i).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync<bool>(flag, Enumerable.Range(0, rows).Select(i => i % 2 == 0).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync<decimal>(money, Enumerable.Range(0, rows).Select(i => i == 2 ? (decimal?)null : 12.34m + i).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync<DateTime>(day, Enumerable.Range(0, rows).Select(i => i == 0 ? (DateTime?)null : new DateTime(2024, 2, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(i)).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync<DateTime>(millis, Enumerable.Range(0, rows).Select(i => new DateTime(2024, 2, 1, 10, 30, 0, 250, DateTimeKind.Utc).AddSeconds(i)).ToArray().AsMemory(), cancellationToken: Ct);
            await group.WriteAsync(city, cities);
            await group.WriteAsync(id, ids);
        }

        ParquetFile.ReadSchema(path).ToString().ShouldBe(
            "i32:float64,i64:float64,flag:float64,money:float64,day:timestamp,millis:timestamp,city:categorical,id:string");
        var frame = ParquetFile.Read(path);
        ((Float64Column)frame["i32"])[5].ShouldBe(5.0);
        frame["i64"].IsMissing(1).ShouldBeTrue();
        ((Float64Column)frame["i64"])[2].ShouldBe(10_000_000_002.0);
        ((Float64Column)frame["flag"]).Values[..2].ToArray().ShouldBe([1.0, 0.0]);
        frame["money"].IsMissing(2).ShouldBeTrue();
        ((Float64Column)frame["money"])[3].ShouldBe(15.34);
        frame["day"].IsMissing(0).ShouldBeTrue();
        frame["day"].FormatValue(1).ShouldBe("2024-02-02T00:00:00Z");
        frame["millis"].FormatValue(2).ShouldBe("2024-02-01T10:30:02.25Z");
        ((CategoricalColumn)frame["city"]).Dictionary.ShouldBe(["Oslo", "Lima", "Pune"]);
        frame["city"].IsMissing(3).ShouldBeTrue();
        ((StringColumn)frame["id"])[59].ShouldBe("id59");
    }

    [Fact]
    public async Task Unsupported_column_type_is_refused_naming_the_file_column_and_type()
    {
        var path = PathOf("binary.parquet");
        var ok = new DataField<double>("ok");
        var blob = new DataField<byte[]>("blob", true);
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(ok, blob), stream, cancellationToken: Ct))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<double>(ok, new[] { 1.0 }.AsMemory(), cancellationToken: Ct);
            await group.WriteAsync(blob, [new byte[] { 1, 2 }]);
        }

        var ex = Should.Throw<InvalidDataException>(() => ParquetFile.Read(path));

        ex.Message.ShouldStartWith(path);
        ex.Message.ShouldContain("column 'blob' has unsupported type BYTE_ARRAY");
    }

    [Fact]
    public async Task Nested_column_is_refused_naming_the_column()
    {
        var path = PathOf("nested.parquet");
        var tags = new DataField<int[]>("tags");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(tags), stream, cancellationToken: Ct))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAllPartsAsync<int>(tags, new[] { 1, 2, 3 }.AsMemory(), new[] { 1, 1, 1 }.AsMemory(), new[] { 0, 1, 0 }.AsMemory(), Ct);
        }

        var ex = Should.Throw<InvalidDataException>(() => ParquetFile.ReadSchema(path));

        ex.Message.ShouldStartWith(path);
        ex.Message.ShouldContain("'tags'");
    }
}
