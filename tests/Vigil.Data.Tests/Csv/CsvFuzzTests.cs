using System.Text;

namespace Vigil.Data.Tests.Csv;

public sealed class CsvFuzzTests : IDisposable
{
    private static readonly string[] Nasty =
    [
        "", " ", "\"", "\"\"", ",", ",,", "\n", "\r\n", "\r", "a\"b", "\"quoted\"", " lead", "trail ", "x\ny\rz",
        "NaN", "1e5", "-0", "2024-01-31", "ünï", "日本語", "emoji 🎉", "\t", "a,b\nc", "#", "null", "\uFEFFbom",
    ];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    [InlineData(6UL)]
    public void Random_frames_with_nasty_values_survive_write_then_read(ulong seed)
    {
        var rng = new SplitMix64(seed);
        var frame = RandomFrame(rng, rows: 1 + rng.Next(3000));
        var path = _dir.File(seed % 2 == 0 ? "fuzz.csv.gz" : "fuzz.csv");
        var options = new CsvReadOptions { Schema = frame.Schema, InferenceRows = 1 + rng.Next(500) };

        CsvFile.Write(frame, path);
        var whole = CsvFile.Read(path, options);
        var chunks = CsvFile.ReadChunks(path, 1 + rng.Next(700), options with { MaxDegreeOfParallelism = 1 }).ToList();

        FrameAssert.Equal(frame, whole);
        FrameAssert.Equal(frame, Frame.Concat(chunks));
    }

    [Fact]
    public void Random_text_is_either_read_or_refused_with_a_located_error()
    {
        var rng = new SplitMix64(99);
        for (var i = 0; i < 300; i++)
        {
            var sb = new StringBuilder("a,b\n");
            var length = rng.Next(200);
            const string Alphabet = "ab1,\"\n\r .e-";
            for (var k = 0; k < length; k++)
            {
                sb.Append(Alphabet[rng.Next(Alphabet.Length)]);
            }

            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            try
            {
                var frame = CsvFile.Read(new MemoryStream(bytes), "fuzz.csv");
                frame.Columns.Count.ShouldBe(2);
            }
            catch (DataFormatException ex)
            {
                ex.File.ShouldBe("fuzz.csv");
                ex.Line.ShouldBeGreaterThan(1);
            }
        }
    }

    private static Frame RandomFrame(SplitMix64 rng, int rows)
    {
        var columns = new List<Column>();
        var count = 1 + rng.Next(6);
        for (var c = 0; c < count; c++)
        {
            var name = "c" + c + (rng.Next(4) == 0 ? Nasty[rng.Next(Nasty.Length)] : string.Empty);
            if (string.IsNullOrWhiteSpace(name))
            {
                name = "c" + c;
            }

            switch (rng.Next(5))
            {
                case 0:
                    var d = new double[rows];
                    for (var r = 0; r < rows; r++)
                    {
                        d[r] = rng.Next(8) switch
                        {
                            0 => double.NaN,
                            1 => BitConverter.Int64BitsToDouble((long)rng.Next()) is var x && double.IsFinite(x) ? x : 0,
                            2 => Math.Round((rng.NextDouble() - 0.5) * 1000, 2),
                            3 => rng.Next(2) == 0 ? double.PositiveInfinity : double.NegativeInfinity,
                            _ => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(40) - 20),
                        };
                    }

                    columns.Add(new Float64Column(name, d));
                    break;
                case 1:
                    var f = new float[rows];
                    for (var r = 0; r < rows; r++)
                    {
                        f[r] = rng.Next(6) == 0 ? float.NaN : (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(20) - 10));
                    }

                    columns.Add(new Float32Column(name, f));
                    break;
                case 2:
                    var t = new long[rows];
                    for (var r = 0; r < rows; r++)
                    {
                        t[r] = rng.Next(6) == 0 ? TimestampColumn.Missing : (long)(rng.Next() % 8_000_000_000_000_000UL) - 2_000_000_000_000_000L;
                    }

                    columns.Add(new TimestampColumn(name, t));
                    break;
                case 3:
                    var pool = Enumerable.Range(0, 1 + rng.Next(40)).Select(_ => RandomText(rng)).ToArray();
                    var k = new string?[rows];
                    for (var r = 0; r < rows; r++)
                    {
                        k[r] = rng.Next(7) == 0 ? null : pool[rng.Next(pool.Length)];
                    }

                    columns.Add(CategoricalColumn.FromValues(name, k));
                    break;
                default:
                    var s = new string?[rows];
                    for (var r = 0; r < rows; r++)
                    {
                        s[r] = rng.Next(7) == 0 ? null : RandomText(rng);
                    }

                    columns.Add(new StringColumn(name, s));
                    break;
            }
        }

        return new Frame(columns);
    }

    private static string RandomText(SplitMix64 rng)
    {
        var sb = new StringBuilder();
        var parts = rng.Next(4);
        for (var i = 0; i < parts; i++)
        {
            sb.Append(rng.Next(2) == 0 ? Nasty[rng.Next(Nasty.Length)] : "w" + rng.Next(1000));
        }

        return sb.ToString();
    }
}
