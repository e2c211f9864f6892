using BenchmarkDotNet.Attributes;
using Vigil.Data;

namespace Vigil.Benchmarks;

/// <summary>
/// Synthetic transaction generation, in memory and end to end into Parquet (the issue asks for at
/// least 500k rows/s to Parquet). Rows per second = Rows / mean time.
/// Run: dotnet run -c Release --project benchmarks/Vigil.Benchmarks -- --filter '*GeneratorBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class GeneratorBenchmarks
{
    private string _path = string.Empty;

    [Params(2_000_000)]
    public long Rows { get; set; }

    private TransactionGeneratorOptions Options => new() { Rows = Rows, Seed = 42 };

    [GlobalSetup]
    public void Setup() => _path = Path.Combine(Path.GetTempPath(), $"vigil-bench-{Environment.ProcessId}.parquet");

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Description = "generate chunks in memory")]
    public long Generate()
    {
        long rows = 0;
        foreach (var chunk in TransactionGenerator.Generate(Options))
        {
            rows += chunk.RowCount;
        }

        return rows;
    }

    [Benchmark(Description = "generate to Parquet (end to end)")]
    public long GenerateToParquet() => TransactionGenerator.WriteTo(Options, _path);
}
