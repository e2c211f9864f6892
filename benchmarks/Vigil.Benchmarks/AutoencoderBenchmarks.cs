using BenchmarkDotNet.Attributes;
using Vigil.Detectors;

namespace Vigil.Benchmarks;

/// <summary>
/// Autoencoder [20, 64, 32, 8, 32, 64, 20] (tanh, linear output): one training epoch on 50,000 rows with batch
/// 256, scoring 100,000 rows, and the per-row reasons a serving layer asks for. eng/bench-autoencoder.sh
/// compares the epoch time with PyTorch.
/// </summary>
[MemoryDiagnoser]
public class AutoencoderBenchmarks
{
    private const int Features = 20;
    private static readonly AutoencoderOptions Options = new()
    {
        HiddenLayers = [64, 32, 8, 32, 64],
        Epochs = 1,
        BatchSize = 256,
        ValidationFraction = 0,
        TrimFraction = 0,
        Seed = 1,
    };

    private FeatureMatrix _train = null!;
    private FeatureMatrix _score = null!;
    private AutoencoderModel _model = null!;
    private double[] _scores = null!;
    private double[] _contributions = null!;

    [GlobalSetup]
    public void Setup()
    {
        _train = Uniform(1, 50_000);
        _score = Uniform(2, 100_000);
        _model = new Autoencoder(Options).Fit(_train);
        _scores = new double[_score.Rows];
        _contributions = new double[Features];
    }

    /// <summary>One epoch (plus the threshold pass over the training rows).</summary>
    [Benchmark]
    public AutoencoderModel TrainOneEpoch() => new Autoencoder(Options).Fit(_train);

    /// <summary>Scoring 100,000 rows (parallel chunks).</summary>
    [Benchmark]
    public void Score() => _model.Score(_score, _scores);

    /// <summary>Per-feature contributions of one row.</summary>
    [Benchmark]
    public void ContributionsOfOneRow() => _model.Contributions(_score.Row(17), _contributions);

    private static FeatureMatrix Uniform(ulong seed, int rows)
    {
        var data = new float[rows * Features];
        var state = seed;
        for (var i = 0; i < data.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            data[i] = ((z ^ (z >> 31)) >> 40) * (1f / (1 << 24));
        }

        var names = new string[Features];
        for (var f = 0; f < Features; f++)
        {
            names[f] = "f" + f.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new FeatureMatrix(data, rows, names);
    }
}
