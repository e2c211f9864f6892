using System.Globalization;
using BenchmarkDotNet.Attributes;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Benchmarks;

/// <summary>
/// Scoring a frame through a whole bundle (bind, transform in chunks, detector) as <c>vigil score</c> and
/// <c>vigil evaluate</c> do: an isolation forest (100 trees, max_samples 256) over 8 numeric columns and one
/// categorical column of 6 values (14 features after one-hot), 200,000 rows; the transform alone; one row's reasons as serving asks.
/// </summary>
[MemoryDiagnoser]
public class BundleScoringBenchmarks
{
    private const int NumericColumns = 8;
    private ModelBundle _bundle = null!;
    private Frame _frame = null!;
    private double[] _scores = null!;
    private float[] _row = null!;
    private float[] _features = null!;

    [Params(200_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bundle = ModelBundle.Train(Build(1, 20_000), new TrainSpec { Forest = new IsolationForestOptions { Seed = 1 } });
        _frame = Build(2, Rows);
        _scores = new double[Rows];
        _row = new float[_bundle.Transform.OutputCount];
        _features = new float[Rows * _bundle.Transform.OutputCount];
        _bundle.Transform.Transform(Build(3, 1), _row);
    }

    /// <summary>The whole frame: bind, transform in chunks, score (all cores).</summary>
    [Benchmark]
    public void ScoreFrame() => _bundle.Score(_frame, _scores);

    /// <summary>The feature transform alone (the batch encoding path), on the calling thread.</summary>
    [Benchmark]
    public void TransformFrame() => _bundle.Transform.Transform(_frame, _features);

    /// <summary>Top-5 reasons of one transformed row (serving's path).</summary>
    [Benchmark]
    public IReadOnlyList<FeatureContribution> ExplainOneRow() => _bundle.ExplainFeatures(_row, 5);

    private static Frame Build(ulong seed, int rows)
    {
        var x = IsolationForestBenchmarks.Gaussian(seed, rows);
        var columns = new List<Column>();
        for (var c = 0; c < NumericColumns; c++)
        {
            var values = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                values[r] = x.Data[(r * x.Columns) + c];
            }

            columns.Add(new Float64Column("n" + c.ToString(CultureInfo.InvariantCulture), values));
        }

        string[] kinds = ["grocery", "fuel", "travel", "online", "electronics", "other"];
        var category = new string?[rows];
        for (var r = 0; r < rows; r++)
        {
            category[r] = kinds[(int)(Math.Abs(x.Data[(r * x.Columns) + 9]) * 2) % kinds.Length];
        }

        columns.Add(CategoricalColumn.FromValues("merchant_category", category));
        return new Frame(columns);
    }
}
