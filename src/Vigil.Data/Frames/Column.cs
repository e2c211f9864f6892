namespace Vigil.Data;

/// <summary>
/// One named, typed column of a <see cref="Frame"/>. Columns are immutable once built: the typed
/// subclasses expose their storage as read-only spans.
/// </summary>
public abstract class Column
{
    private protected Column(string name, int length)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Name = name;
        Length = length;
    }

    /// <summary>The column name, unique within a frame.</summary>
    public string Name { get; }

    /// <summary>The number of rows.</summary>
    public int Length { get; }

    /// <summary>The physical kind.</summary>
    public abstract ColumnKind Kind { get; }

    /// <summary>True when the value at <paramref name="row"/> is missing.</summary>
    public abstract bool IsMissing(int row);

    /// <summary>A new column holding the rows at <paramref name="rows"/>, in that order.</summary>
    public abstract Column Take(ReadOnlySpan<int> rows);

    /// <summary>A copy of this column under another name.</summary>
    public abstract Column Rename(string name);

    /// <summary>The value at <paramref name="row"/> formatted with the invariant culture; empty when missing.</summary>
    public abstract string FormatValue(int row);

    /// <summary>The value at <paramref name="row"/> as a double: the number, the categorical code,
    /// or the timestamp in microseconds; NaN when missing or not numeric.</summary>
    public abstract double GetDouble(int row);

    private protected static T[] TakeArray<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> rows)
    {
        var result = new T[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            result[i] = source[rows[i]];
        }

        return result;
    }

    private protected static void CheckLength(int actual, int length, string name)
    {
        if (actual < length)
        {
            throw new ArgumentException($"Column '{name}' storage holds {actual} values but {length} rows were declared.", nameof(length));
        }
    }
}
