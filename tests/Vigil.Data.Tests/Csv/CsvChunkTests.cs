using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvChunkTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string MixedFile(int rows)
    {
        var rng = new SplitMix64(11);
        var sb = new StringBuilder("x,city,when,note\n");
        for (var i = 0; i < rows; i++)
        {
            // Cities first seen late get new codes in later chunks.
            var city = i < rows / 2 ? "c" + rng.Next(5) : "c" + rng.Next(30);
            sb.Append(rng.Next(10) == 0 ? string.Empty : (rng.NextDouble() * 100).ToString("R", System.Globalization.CultureInfo.InvariantCulture))
              .Append(',').Append(rng.Next(15) == 0 ? string.Empty : city)
              .Append(",2024-03-").Append((1 + rng.Next(28)).ToString("00", System.Globalization.CultureInfo.InvariantCulture)).Append("T10:00:00Z")
              .Append(",\"n ").Append(i).Append("\"\n");
        }

        return _dir.Write("mixed.csv", sb.ToString());
    }

    [Fact]
    public void Chunks_hold_the_same_values_as_a_whole_read()
    {
        var path = MixedFile(10_000);
        var options = new CsvReadOptions { InferenceRows = 500, Schema = FrameSchema.Parse("note:string") };

        var whole = CsvFile.Read(path, options);
        var chunks = CsvFile.ReadChunks(path, 777, options).ToList();

        chunks.Count.ShouldBe(13);
        chunks.ShouldAllBe(c => c.Schema.ToString() == whole.Schema.ToString());
        chunks.Take(12).ShouldAllBe(c => c.RowCount == 777);
        FrameAssert.Equal(whole, Frame.Concat(chunks));
    }

    [Fact]
    public void Chunks_filled_into_returned_storage_hold_the_same_values_as_a_whole_read()
    {
        var path = MixedFile(10_000);
        var options = new CsvReadOptions { InferenceRows = 500, Schema = FrameSchema.Parse("note:string") };
        var whole = CsvFile.Read(path, options);
        var recycler = new ChunkRecycler();
        var copies = new List<Frame>();
        var returned = new HashSet<double[]>(ReferenceEqualityComparer.Instance);
        var reused = 0;

        foreach (var chunk in CsvFile.ReadChunks(path, 777, options, recycler))
        {
            var x = ((Float64Column)chunk["x"]).Storage;
            reused += returned.Contains(x) ? 1 : 0;
            copies.Add(chunk.Take(Enumerable.Range(0, chunk.RowCount).ToArray()));
            returned.Add(x);
            recycler.Return(chunk); // its values are overwritten by the next chunk
        }

        reused.ShouldBe(12); // every chunk after the first
        FrameAssert.Equal(whole, Frame.Concat(copies));
    }

    [Fact]
    public void Categorical_codes_never_change_and_each_chunk_has_the_dictionary_so_far()
    {
        var path = MixedFile(6_000);

        var chunks = CsvFile.ReadChunks(path, 1000, new CsvReadOptions { InferenceRows = 200 }).ToList();

        var dictionaries = chunks.Select(c => ((CategoricalColumn)c["city"]).Dictionary).ToList();
        for (var i = 1; i < dictionaries.Count; i++)
        {
            dictionaries[i].Count.ShouldBeGreaterThanOrEqualTo(dictionaries[i - 1].Count);
            dictionaries[i].Take(dictionaries[i - 1].Count).ShouldBe(dictionaries[i - 1]);
        }

        dictionaries[0].Count.ShouldBe(5);
        dictionaries[^1].Count.ShouldBe(30);
        var whole = (CategoricalColumn)CsvFile.Read(path, new CsvReadOptions { InferenceRows = 200 })["city"];
        whole.Dictionary.ShouldBe(dictionaries[^1]);
        var row = 0;
        foreach (var chunk in chunks)
        {
            var city = (CategoricalColumn)chunk["city"];
            for (var r = 0; r < chunk.RowCount; r++, row++)
            {
                city.Codes[r].ShouldBe(whole.Codes[row]);
                city[r].ShouldBe(whole[row]);
            }
        }
    }

    [Fact]
    public void A_file_with_only_a_header_gives_one_empty_chunk_with_the_schema()
    {
        var path = _dir.Write("h.csv", "a,b\n");

        var chunks = CsvFile.ReadChunks(path, 10, new CsvReadOptions { Schema = FrameSchema.Parse("b:string") }).ToList();

        chunks.Count.ShouldBe(1);
        chunks[0].RowCount.ShouldBe(0);
        chunks[0].Schema.ToString().ShouldBe("a:float64,b:string");
    }

    [Fact]
    public void The_chunk_count_is_exact_when_rows_divide_evenly()
    {
        var sb = new StringBuilder("a\n");
        for (var i = 0; i < 300; i++)
        {
            sb.Append(i).Append('\n');
        }

        var path = _dir.Write("even.csv", sb.ToString());

        var sizes = CsvFile.ReadChunks(path, 100).Select(c => c.RowCount).ToList();

        sizes.ShouldBe([100, 100, 100]);
    }

    [Fact]
    public void Reading_chunks_is_lazy_and_opens_the_file_only_when_enumerated()
    {
        var path = _dir.File("later.csv");

        var chunks = CsvFile.ReadChunks(path, 10);
        File.WriteAllText(path, "a\n1\n");

        chunks.Single().RowCount.ShouldBe(1);
    }

    [Fact]
    public void Streams_can_be_read_in_chunks_and_inferred()
    {
        var bytes = "k,v\na,1\nb,2\na,3\n"u8.ToArray();

        var schema = CsvFile.InferSchema(new MemoryStream(bytes), "mem.csv");
        var chunks = CsvFile.ReadChunks(new MemoryStream(bytes), "mem.csv", 2).ToList();

        schema.ToString().ShouldBe("k:categorical,v:float64");
        chunks.Select(c => c.RowCount).ShouldBe([2, 1]);
        ((CategoricalColumn)chunks[1]["k"]).Codes[0].ShouldBe(0);
        ((CategoricalColumn)chunks[1]["k"]).Dictionary.ShouldBe(["a", "b"]);
    }

    [Fact]
    public void Stopping_early_closes_the_file()
    {
        var sb = new StringBuilder("a\n");
        for (var i = 0; i < 200_000; i++)
        {
            sb.Append(i).Append('\n');
        }

        var path = _dir.Write("stop.csv", sb.ToString());

        CsvFile.ReadChunks(path, 1000).First().RowCount.ShouldBe(1000);

        // An exclusive open fails while any reader still holds the file.
        using var exclusive = File.Open(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        exclusive.Length.ShouldBeGreaterThan(0);
    }
}
