using BenchmarkDotNet.Attributes;
using Vigil.Detectors;

namespace Vigil.Benchmarks;

/// <summary>
/// Isolation forest scoring and fitting: 100 trees, 10 features, max_samples 256 (scikit-learn defaults).
/// Rows per second = Rows / mean time.
/// </summary>
[MemoryDiagnoser]
public class IsolationForestBenchmarks
{
    private const int Features = 10;
    private FeatureMatrix _train = null!;
    private FeatureMatrix _score = null!;
    private IsolationForestModel _model = null!;
    private IsolationForestModel _sequential = null!;
    private double[] _scores = null!;

    [Params(1_000_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _train = Gaussian(1, 10_000);
        _score = Gaussian(2, Rows);
        _model = new IsolationForest(new IsolationForestOptions { Seed = 1 }).Fit(_train);
        _sequential = new IsolationForest(new IsolationForestOptions { Seed = 1, MaxDegreeOfParallelism = 1 }).Fit(_train);
        _scores = new double[Rows];
    }

    /// <summary>Parallel scoring over row blocks (all cores).</summary>
    [Benchmark]
    public void Score() => _model.Score(_score, _scores);

    /// <summary>Scoring on one thread.</summary>
    [Benchmark]
    public void ScoreOneThread() => _sequential.Score(_score, _scores);

    /// <summary>Fitting 100 trees on 10,000 rows.</summary>
    [Benchmark]
    public IsolationForestModel Fit() => new IsolationForest(new IsolationForestOptions { Seed = 1 }).Fit(_train);

    internal static FeatureMatrix Gaussian(ulong seed, int rows)
    {
        // SplitMix64 + Box-Muller: deterministic input data.
        var data = new float[rows * Features];
        var state = seed;
        for (var i = 0; i < data.Length; i += 2)
        {
            var u1 = ((Next(ref state) >> 11) + 1) * (1.0 / (1UL << 53));
            var u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            var r = Math.Sqrt(-2.0 * Math.Log(u1));
            data[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            data[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }

        var names = new string[Features];
        for (var f = 0; f < Features; f++)
        {
            names[f] = "f" + f.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new FeatureMatrix(data, rows, names);
    }

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
