namespace Vigil.Detectors;

/// <summary>
/// A dense, row-major matrix of 32-bit floats: the input of every detector. Row <c>i</c> occupies
/// <c>Data[i * Columns .. (i + 1) * Columns)</c>.
/// </summary>
public sealed class FeatureMatrix
{
    private readonly string[] _names;

    /// <summary>
    /// Wraps <paramref name="data"/> (not copied). Its first <c>rows * names.Count</c> entries are the
    /// values; a longer array (e.g. a pooled buffer) is allowed.
    /// </summary>
    /// <param name="data">Row-major values.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="names">One name per column.</param>
    public FeatureMatrix(float[] data, int rows, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        _names = [.. names];
        Columns = _names.Length;
        if (Columns == 0 && rows > 0)
        {
            throw new ArgumentException("A feature matrix with rows needs at least one column.", nameof(names));
        }

        var needed = (long)rows * Columns;
        if (data.LongLength < needed)
        {
            throw new ArgumentException(
                $"Feature matrix data holds {data.LongLength} values but {rows} rows x {Columns} columns = {needed} were declared.",
                nameof(data));
        }

        Data = data;
        Rows = rows;
    }

    /// <summary>The number of rows.</summary>
    public int Rows { get; }

    /// <summary>The number of columns (features).</summary>
    public int Columns { get; }

    /// <summary>The column names, in order.</summary>
    public IReadOnlyList<string> ColumnNames => _names;

    /// <summary>The backing array (row-major); may be longer than <c>Rows * Columns</c>.</summary>
#pragma warning disable CA1819 // Exposed on purpose: the matrix is a thin view over a caller-owned buffer.
    public float[] Data { get; }
#pragma warning restore CA1819

    /// <summary>The values of the matrix (exactly <c>Rows * Columns</c> entries).</summary>
    public ReadOnlySpan<float> Values => Data.AsSpan(0, Rows * Columns);

    /// <summary>The values of row <paramref name="i"/>.</summary>
    public ReadOnlySpan<float> Row(int i)
    {
        if ((uint)i >= (uint)Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, $"Row index must be in [0, {Rows}).");
        }

        return Data.AsSpan(i * Columns, Columns);
    }

    /// <summary>The value at row <paramref name="row"/>, column <paramref name="column"/>.</summary>
    public float this[int row, int column] => Row(row)[column];
}
