using BenchmarkDotNet.Attributes;
using Vigil.Tracking;

namespace Vigil.Benchmarks;

/// <summary>
/// Tracking store targets: logging 100,000 metric points in batches into SQLite under 2 s, and resolving
/// models:/NAME@champion in the registry under 1 ms warm (what the server's model refresh does per served model
/// before it compares the version and bundle hash with the one it has loaded).
/// Run: dotnet run -c Release --project benchmarks/Vigil.Benchmarks -- --filter '*TrackingBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class TrackingBenchmarks
{
    private const int Points = 100_000;
    private static readonly string[] Keys = ["loss", "auc_roc", "auc_pr", "recall_at_1pct_fpr", "precision_at_100"];

    private string _home = "";
    private ITrackingStore _store = null!;
    private MetricPoint[] _points = [];
    private ModelUri _champion = null!;

    [Params(1_000, 10_000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _home = Path.Combine(Path.GetTempPath(), "vigil-bench-" + Guid.NewGuid().ToString("N"));
        _store = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(_home, "vigil.db"), _home);
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        _points = new MetricPoint[Points];
        for (var i = 0; i < Points; i++)
        {
            _points[i] = new MetricPoint(Keys[i % Keys.Length], i * 0.001, i / Keys.Length, t0.AddMilliseconds(i));
        }

        var bundle = await _store.Artifacts.PutAsync(new MemoryStream(new byte[64 * 1024]));
        for (var v = 0; v < 3; v++)
        {
            await _store.CreateModelVersionAsync("fraud", new NewModelVersion { BundleSha256 = bundle.Sha256, FeatureSchema = "amount:float64" });
        }
        await _store.SetAliasAsync("fraud", "champion", 2, "bench", "benchmark");
        _champion = ModelUri.Parse("models:/fraud@champion");
        await _store.ResolveAsync(_champion); // warm: connection open, statements prepared
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    /// <summary>A new run, then 100,000 points in batches of <see cref="BatchSize"/> (one transaction each).</summary>
    [Benchmark]
    public async Task LogMetrics100kInBatches()
    {
        var run = await _store.CreateRunAsync("bench");
        for (var offset = 0; offset < Points; offset += BatchSize)
        {
            await _store.LogMetricsAsync(run.RunId, new ArraySegment<MetricPoint>(_points, offset, Math.Min(BatchSize, Points - offset)));
        }
    }

    /// <summary>models:/fraud@champion → registry lookup (alias → version → bundle hash), as the server's refresh does.</summary>
    [Benchmark]
    public async Task<int> ResolveChampionWarm() => (await _store.ResolveAsync(_champion)).Version;
}
