using BenchmarkDotNet.Attributes;
using Vigil.Tracking;

namespace Vigil.Benchmarks;

/// <summary>
/// Inference log write throughput: 100,000 rows (hashed payloads, about 300 bytes each) in batches, into SQLite
/// (target above 100,000 rows/s), a Parquet folder and, when VIGIL_TEST_POSTGRES is set, PostgreSQL.
/// Rows/s = 100,000 / Mean.
/// Run: dotnet run -c Release --project benchmarks/Vigil.Benchmarks -- --filter '*InferenceLogBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class InferenceLogBenchmarks
{
    private const int Rows = 100_000;
    private const long T0 = 1_772_366_400_000_000;
    private static readonly string Hash = "sha256:" + new string('c', 64);

    private string _home = "";
    private IInferenceLogSink _sink = null!;
    private InferenceRecord[] _rows = [];
    private int _iteration;

    [ParamsSource(nameof(Destinations))]
    public string Destination { get; set; } = "sqlite";

    [Params(1_000, 10_000)]
    public int BatchSize { get; set; }

    public static IEnumerable<string> Destinations() =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("VIGIL_TEST_POSTGRES"))
            ? ["sqlite", "parquet"]
            : ["sqlite", "parquet", "postgres"];

    [GlobalSetup]
    public async Task Setup()
    {
        _home = Path.Combine(Path.GetTempPath(), "vigil-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_home);
        _sink = Destination switch
        {
            "sqlite" => await InferenceLogStore.OpenAsync("sqlite:" + Path.Combine(_home, "vigil.db"), _home),
            "parquet" => new ParquetInferenceLogSink(Path.Combine(_home, "inference")),
            _ => await OpenPostgresAsync(),
        };
    }

    private async Task<IInferenceLogSink> OpenPostgresAsync()
    {
        var admin = Environment.GetEnvironmentVariable("VIGIL_TEST_POSTGRES")!;
        var schema = "bench_" + Guid.NewGuid().ToString("N");
        await using (var c = new Npgsql.NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", c);
            await create.ExecuteNonQueryAsync();
        }
        return await InferenceLogStore.OpenAsync(new Npgsql.NpgsqlConnectionStringBuilder(admin) { SearchPath = schema }.ConnectionString, _home);
    }

    /// <summary>Fresh log ids for every iteration (rows already stored would be skipped).</summary>
    [IterationSetup]
    public void NewRows()
    {
        _iteration++;
        _rows = new InferenceRecord[Rows];
        for (var i = 0; i < Rows; i++)
        {
            var start = T0 + (((long)_iteration * Rows) + i) * 100;
            _rows[i] = new InferenceRecord
            {
                LogId = Guid.CreateVersion7().ToString("N"),
                RequestId = Guid.NewGuid().ToString("N"),
                StartUs = start,
                EndUs = start + 850,
                Route = "v1/predict",
                Model = (i & 3) == 0 ? "aml" : "fraud",
                Version = 4,
                Status = 200,
                Rows = 1,
                ScoredRows = 1,
                RequestPayload = Hash,
                ResponsePayload = Hash,
                ParseUs = 40,
                TransformUs = 15,
                ScoreUs = 120,
            };
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _sink.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    /// <summary>100,000 rows in batches of <see cref="BatchSize"/> (one transaction or file each).</summary>
    [Benchmark]
    public async Task Write100kRowsInBatches()
    {
        for (var offset = 0; offset < Rows; offset += BatchSize)
        {
            await _sink.WriteAsync(new ArraySegment<InferenceRecord>(_rows, offset, Math.Min(BatchSize, Rows - offset)));
        }
    }
}
