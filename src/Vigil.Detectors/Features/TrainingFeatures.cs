using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// The training rows' features, transformed when first asked for: the whole matrix (<see cref="All"/>) for detectors
/// that read every row, or only the rows a detector samples (<see cref="Take"/>): an isolation forest reads at most
/// 256 rows a tree and the reference profile 16,384, so transforming all of a large file's rows would be work (and
/// fresh memory) that the bundle does not need. A row's features are the same bits either way.
/// </summary>
internal sealed class TrainingFeatures
{
    private readonly FeatureTransform _transform;
    private readonly Frame _data;
    private FeatureMatrix? _all;

    /// <summary>Checks every value of <paramref name="data"/> as the whole transform would, and throws its first error.</summary>
    /// <exception cref="SchemaMismatchException">A required column is missing or has another kind.</exception>
    /// <exception cref="FeatureDataException">A value is infinite, or missing under <see cref="MissingPolicy.Error"/>.</exception>
    public TrainingFeatures(FeatureTransform transform, Frame data)
    {
        _transform = transform;
        _data = data;
        transform.Check(data);
    }

    /// <summary>The number of training rows.</summary>
    public int Rows => _data.RowCount;

    /// <summary>The number of features.</summary>
    public int Columns => _transform.OutputCount;

    /// <summary>Every training row transformed (once).</summary>
    public FeatureMatrix All => _all ??= _transform.Transform(_data);

    /// <summary>The features of training rows <paramref name="rows"/> (ascending, distinct): row i of the result is row rows[i].</summary>
    public FeatureMatrix Take(int[] rows) => _all is { } all ? all.Take(rows) : _transform.Transform(_data.Take(rows));
}
