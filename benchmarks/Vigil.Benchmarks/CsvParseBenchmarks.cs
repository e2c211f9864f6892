using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Vigil.Data;

namespace Vigil.Benchmarks;

/// <summary>
/// Parses a 1,000,000-row x 10-column numeric CSV (fixed seed) with <see cref="CsvFile"/>.
/// Results are per row (OperationsPerInvoke), so rows/s = 1e9 / Mean[ns].
/// "full" values are random doubles in shortest round-trip form (about 18 characters, like pandas
/// writes them); "short" values have two decimals (like amounts).
/// </summary>
[MemoryDiagnoser]
public class CsvParseBenchmarks
{
    private const int Rows = 1_000_000;
    private const int Columns = 10;

    private string _path = string.Empty;

    [Params("full", "short")]
    public string Values { get; set; } = "full";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"vigil-csvbench-{Values}-{Environment.ProcessId}.csv");
        WriteFile(_path, Values == "short", seed: 42);

        // A plain Stopwatch figure next to BenchmarkDotNet's (best of three, after one warm-up read).
        foreach (var threads in new[] { 1, -1 })
        {
            var options = new CsvReadOptions { MaxDegreeOfParallelism = threads };
            CsvFile.Read(_path, options);
            var best = double.MaxValue;
            for (var i = 0; i < 3; i++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var rows = CsvFile.Read(_path, options).RowCount;
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
                if (rows != Rows)
                {
                    throw new InvalidOperationException($"Read {rows} rows, expected {Rows}.");
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"// Stopwatch CsvParse {Values} threads={(threads == 1 ? "1" : "all")}: {Rows:N0} rows in {best * 1000:F0} ms = {Rows / best / 1e6:F2} M rows/s"));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(OperationsPerInvoke = Rows)]
    public int Read_one_thread() => CsvFile.Read(_path, new CsvReadOptions { MaxDegreeOfParallelism = 1 }).RowCount;

    [Benchmark(OperationsPerInvoke = Rows)]
    public int Read_all_cores() => CsvFile.Read(_path).RowCount;

    [Benchmark(OperationsPerInvoke = Rows)]
    public int ReadChunks_all_cores()
    {
        var rows = 0;
        foreach (var chunk in CsvFile.ReadChunks(_path))
        {
            rows += chunk.RowCount;
        }

        return rows;
    }

    /// <summary>Writes the benchmark file: header f0..f9, then rows of values from a SplitMix64 generator.</summary>
    public static void WriteFile(string path, bool shortValues, ulong seed)
    {
        var state = seed;
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 20);
        for (var c = 0; c < Columns; c++)
        {
            writer.Write(c == 0 ? "f0" : string.Create(CultureInfo.InvariantCulture, $",f{c}"));
        }

        writer.Write('\n');
        Span<char> text = stackalloc char[64];
        for (var r = 0; r < Rows; r++)
        {
            for (var c = 0; c < Columns; c++)
            {
                if (c > 0)
                {
                    writer.Write(',');
                }

                var x = (((Next(ref state) >> 11) * (1.0 / (1UL << 53))) * 2000) - 1000;
                if (shortValues)
                {
                    x = Math.Round(x, 2);
                }

                x.TryFormat(text, out var n, "R", CultureInfo.InvariantCulture);
                writer.Write(text[..n]);
            }

            writer.Write('\n');
        }
    }

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
