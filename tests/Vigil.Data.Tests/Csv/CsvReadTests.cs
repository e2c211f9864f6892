using System.IO.Compression;
using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvReadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_numbers_with_missing_values_as_float64()
    {
        var path = _dir.Write("a.csv", "x,y\n1.5,-2\n,3e2\nNaN,-Infinity\n");

        var frame = CsvFile.Read(path);

        frame.RowCount.ShouldBe(3);
        var x = (Float64Column)frame["x"];
        var y = (Float64Column)frame["y"];
        x[0].ShouldBe(1.5);
        double.IsNaN(x[1]).ShouldBeTrue();
        double.IsNaN(x[2]).ShouldBeTrue();
        y.Values.ToArray().ShouldBe([-2.0, 300.0, double.NegativeInfinity]);
    }

    [Fact]
    public void Quoted_fields_hold_delimiters_line_breaks_and_doubled_quotes()
    {
        var path = _dir.Write("q.csv", "id,text\n1,\"a,b\"\n2,\"line1\nline2\"\n3,\"say \"\"hi\"\"\"\n4,plain\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("text:string") });

        var text = (StringColumn)frame["text"];
        text.Values.ToArray().ShouldBe(["a,b", "line1\nline2", "say \"hi\"", "plain"]);
        ((Float64Column)frame["id"]).Values.ToArray().ShouldBe([1.0, 2.0, 3.0, 4.0]);
    }

    [Fact]
    public void Crlf_line_ends_and_a_byte_order_mark_are_accepted()
    {
        var path = _dir.File("bom.csv");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("name,v\r\n\"x\r\ny\",1\r\nz,2\r\n")]);

        var frame = CsvFile.Read(path);

        frame.Columns[0].Name.ShouldBe("name");
        var name = (CategoricalColumn)frame["name"];
        name[0].ShouldBe("x\r\ny");
        name[1].ShouldBe("z");
        ((Float64Column)frame["v"]).Values.ToArray().ShouldBe([1.0, 2.0]);
    }

    [Fact]
    public void Last_line_without_a_line_break_is_read()
    {
        var path = _dir.Write("last.csv", "a,b\n1,2\n3,4");

        var frame = CsvFile.Read(path);

        ((Float64Column)frame["b"]).Values.ToArray().ShouldBe([2.0, 4.0]);
    }

    [Fact]
    public void Blank_lines_are_skipped_when_there_are_several_columns()
    {
        var path = _dir.Write("blank.csv", "a,b\n1,2\n\n3,4\n\n");

        var frame = CsvFile.Read(path);

        ((Float64Column)frame["a"]).Values.ToArray().ShouldBe([1.0, 3.0]);
    }

    [Fact]
    public void With_one_column_a_blank_line_is_a_missing_value()
    {
        var path = _dir.Write("one.csv", "a\n1\n\n3\n");

        var frame = CsvFile.Read(path);

        var a = ((Float64Column)frame["a"]).Values.ToArray();
        a.Length.ShouldBe(3);
        double.IsNaN(a[1]).ShouldBeTrue();
    }

    [Fact]
    public void A_quoted_empty_field_is_an_empty_string_and_an_unquoted_one_is_missing()
    {
        var path = _dir.Write("empty.csv", "s,c\n\"\",\"\"\n,\nx,y\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("s:string,c:categorical") });

        var s = (StringColumn)frame["s"];
        var c = (CategoricalColumn)frame["c"];
        s[0].ShouldBe(string.Empty);
        s[1].ShouldBeNull();
        c[0].ShouldBe(string.Empty);
        c[1].ShouldBeNull();
        c.Codes.ToArray().ShouldBe([0, CategoricalColumn.Missing, 1]);
    }

    [Fact]
    public void Gzip_files_are_detected_by_extension_and_by_magic_bytes()
    {
        var bytes = Encoding.UTF8.GetBytes("a,b\n1,x\n2,y\n");
        var gz = _dir.File("data.csv.gz");
        using (var file = File.Create(gz))
        using (var zip = new GZipStream(file, CompressionLevel.Fastest))
        {
            zip.Write(bytes);
        }

        var disguised = _dir.File("data-gz.csv");
        File.Copy(gz, disguised);

        foreach (var path in new[] { gz, disguised })
        {
            var frame = CsvFile.Read(path);
            ((Float64Column)frame["a"]).Values.ToArray().ShouldBe([1.0, 2.0]);
            ((CategoricalColumn)frame["b"])[1].ShouldBe("y");
        }
    }

    [Fact]
    public void Streams_are_read_like_files_including_non_seekable_gzip()
    {
        var bytes = Encoding.UTF8.GetBytes("a\n1\n2\n");
        var compressed = new MemoryStream();
        using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        var plain = CsvFile.Read(new MemoryStream(bytes), "mem.csv");
        var zipped = CsvFile.Read(new NonSeekableStream(compressed.ToArray()), "mem.csv.gz");

        ((Float64Column)plain["a"]).Values.ToArray().ShouldBe([1.0, 2.0]);
        ((Float64Column)zipped["a"]).Values.ToArray().ShouldBe([1.0, 2.0]);
    }

    [Fact]
    public void Other_delimiters_are_supported()
    {
        var path = _dir.Write("semi.csv", "a;b\n1,5;\"x;y\"\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Delimiter = ';', Schema = FrameSchema.Parse("a:string,b:string") });

        ((StringColumn)frame["a"])[0].ShouldBe("1,5");
        ((StringColumn)frame["b"])[0].ShouldBe("x;y");
    }

    [Fact]
    public void Selected_columns_are_returned_in_the_requested_order_and_others_are_not_converted()
    {
        var path = _dir.Write("sel.csv", "a,b,c\n1,not-a-number-but-unread,3\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Columns = ["c", "a"], Schema = FrameSchema.Parse("b:float64") });

        frame.Columns.Select(c => c.Name).ShouldBe(["c", "a"]);
        ((Float64Column)frame["c"])[0].ShouldBe(3.0);
    }

    [Fact]
    public void A_row_larger_than_the_read_buffer_is_read_whole()
    {
        var big = new string('x', 3 << 20);
        var path = _dir.Write("big.csv", $"id,text\n1,{big}\n2,\"{big}\"\n3,short\n");

        var frame = CsvFile.Read(path, new CsvReadOptions { Schema = FrameSchema.Parse("text:string") });

        var text = (StringColumn)frame["text"];
        text[0]!.Length.ShouldBe(big.Length);
        text[1].ShouldBe(big);
        text[2].ShouldBe("short");
    }

    [Fact]
    public void Many_rows_across_buffer_refills_keep_every_value_and_line()
    {
        var sb = new StringBuilder("i,q\n");
        for (var i = 0; i < 120_000; i++)
        {
            sb.Append(i).Append(i % 7 == 0 ? ",\"q,\"\"" + i + "\"\n" : ",v" + (i % 3) + "\n");
        }

        var path = _dir.Write("many.csv", sb.ToString());

        var frame = CsvFile.Read(path, new CsvReadOptions { InferenceRows = 100, Schema = FrameSchema.Parse("q:string") });

        var ids = ((Float64Column)frame["i"]).Values;
        ids.Length.ShouldBe(120_000);
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i].ShouldBe(i);
        }

        var q = (StringColumn)frame["q"];
        q[7].ShouldBe("q,\"7");
        q[119_999].ShouldBe("v" + (119_999 % 3));
    }

    [Fact]
    public void Parallel_and_sequential_reads_give_the_same_frame()
    {
        var sb = new StringBuilder("a,b,c,d\n");
        var rng = new SplitMix64(7);
        for (var i = 0; i < 30_000; i++)
        {
            sb.Append(rng.NextDouble()).Append(',').Append("k").Append(rng.Next(40)).Append(',')
              .Append(rng.Next(3) == 0 ? string.Empty : "2024-01-0" + (1 + rng.Next(9))).Append(',').Append(-rng.NextDouble()).Append('\n');
        }

        var path = _dir.Write("par.csv", sb.ToString());

        var one = CsvFile.Read(path, new CsvReadOptions { MaxDegreeOfParallelism = 1 });
        var two = CsvFile.Read(path, new CsvReadOptions { MaxDegreeOfParallelism = 2 });

        one.Schema.ToString().ShouldBe("a:float64,b:categorical,c:timestamp,d:float64");
        FrameAssert.Equal(one, two);
        ((CategoricalColumn)one["b"]).Dictionary.ShouldBe(((CategoricalColumn)two["b"]).Dictionary);
    }

    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 3));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
