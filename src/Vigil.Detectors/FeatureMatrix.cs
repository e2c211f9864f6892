using System.Globalization;
using System.Runtime.Intrinsics;

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

    /// <summary>A new matrix of rows <paramref name="rows"/> (copied, in the order given).</summary>
    internal FeatureMatrix Take(ReadOnlySpan<int> rows)
    {
        var values = new float[rows.Length * Columns];
        for (var i = 0; i < rows.Length; i++)
        {
            Row(rows[i]).CopyTo(values.AsSpan(i * Columns, Columns));
        }

        return new FeatureMatrix(values, rows.Length, _names);
    }

    /// <summary>The value at row <paramref name="row"/>, column <paramref name="column"/>.</summary>
    public float this[int row, int column] => Row(row)[column];

    /// <summary>
    /// Throws when a value is NaN or infinite, naming the first one's row and column: <paramref name="what"/> names the
    /// matrix ("training matrix"), <paramref name="who"/> the detectors that need finite values ("isolation forests").
    /// </summary>
    /// <exception cref="ArgumentException">A value is not finite.</exception>
    internal void RequireFinite(string what, string who)
    {
        var values = Values;
        var i = 0;
        // Four values at a time (x - x is 0 only for finite x): a training matrix holds millions of values, and the
        // scalar loop below then only finds the first offender in the block that has one.
        for (; i <= values.Length - Vector128<float>.Count; i += Vector128<float>.Count)
        {
            var v = Vector128.Create(values.Slice(i, Vector128<float>.Count));
            if (!Vector128.EqualsAll(v - v, Vector128<float>.Zero))
            {
                break;
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"The {what} holds {values[i]} at row {i / Columns}, column '{_names[i % Columns]}'; {who} need finite values (impute missing values first)."),
                    "x");
            }
        }
    }
}
