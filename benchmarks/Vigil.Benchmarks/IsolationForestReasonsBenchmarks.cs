using BenchmarkDotNet.Attributes;
using Vigil.Detectors;

namespace Vigil.Benchmarks;

/// <summary>
/// Per-row isolation-forest reasons as serving computes them: 100 trees, 10 features, max_samples 256,
/// one row at a time on one thread. Times are per row (<see cref="RowsPerCall"/> rows per invocation).
/// </summary>
[MemoryDiagnoser]
public class IsolationForestReasonsBenchmarks
{
    private const int RowsPerCall = 1024;
    private FeatureMatrix _rows = null!;
    private IsolationForestModel _model = null!;
    private double[] _contributions = null!;
    private double[] _score = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = new IsolationForest(new IsolationForestOptions { Seed = 1, MaxDegreeOfParallelism = 1 }).Fit(IsolationForestBenchmarks.Gaussian(1, 10_000));
        _rows = IsolationForestBenchmarks.Gaussian(2, RowsPerCall);
        _contributions = new double[_model.FeatureCount];
        _score = new double[1];
    }

    /// <summary>Contributions of one row (all trees).</summary>
    [Benchmark(OperationsPerInvoke = RowsPerCall)]
    public double Contributions()
    {
        var sum = 0.0;
        for (var r = 0; r < RowsPerCall; r++)
        {
            _model.Contributions(_rows.Row(r), _contributions);
            sum += _contributions[0];
        }

        return sum;
    }

    /// <summary>For comparison: scoring the same rows one at a time.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RowsPerCall)]
    public double ScoreOneRow()
    {
        var sum = 0.0;
        for (var r = 0; r < RowsPerCall; r++)
        {
            _model.ScoreRows(_rows.Row(r), 1, _score);
            sum += _score[0];
        }

        return sum;
    }
}
