using System.Globalization;

namespace Vigil.Data;

/// <summary>A column of 64-bit floats; NaN marks a missing value.</summary>
public sealed class Float64Column : Column
{
    private readonly double[] _values;

    /// <summary>Wraps <paramref name="values"/> (not copied); the first <paramref name="length"/> entries are the rows.</summary>
    public Float64Column(string name, double[] values, int? length = null)
        : base(name, length ?? values.Length)
    {
        CheckLength(values.Length, Length, name);
        _values = values;
    }

    /// <inheritdoc />
    public override ColumnKind Kind => ColumnKind.Float64;

    /// <summary>The values, one per row.</summary>
    public ReadOnlySpan<double> Values => _values.AsSpan(0, Length);

    /// <summary>The values as memory, for asynchronous writers.</summary>
    internal ReadOnlyMemory<double> Memory => _values.AsMemory(0, Length);

    /// <summary>The whole wrapped array (it may be longer than the column), for <see cref="ChunkRecycler"/>.</summary>
    internal double[] Storage => _values;

    /// <summary>The value at a row.</summary>
    public double this[int row] => _values[row];

    /// <inheritdoc />
    public override bool IsMissing(int row) => double.IsNaN(_values[row]);

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows) => new Float64Column(Name, TakeArray(Values, rows));

    /// <inheritdoc />
    public override Column Rename(string name) => new Float64Column(name, _values, Length);

    /// <inheritdoc />
    public override string FormatValue(int row)
    {
        var v = _values[row];
        return double.IsNaN(v) ? string.Empty : v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override double GetDouble(int row) => _values[row];
}

/// <summary>A column of 32-bit floats; NaN marks a missing value.</summary>
public sealed class Float32Column : Column
{
    private readonly float[] _values;

    /// <summary>Wraps <paramref name="values"/> (not copied); the first <paramref name="length"/> entries are the rows.</summary>
    public Float32Column(string name, float[] values, int? length = null)
        : base(name, length ?? values.Length)
    {
        CheckLength(values.Length, Length, name);
        _values = values;
    }

    /// <inheritdoc />
    public override ColumnKind Kind => ColumnKind.Float32;

    /// <summary>The values, one per row.</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(0, Length);

    /// <summary>The values as memory, for asynchronous writers.</summary>
    internal ReadOnlyMemory<float> Memory => _values.AsMemory(0, Length);

    /// <summary>The value at a row.</summary>
    public float this[int row] => _values[row];

    /// <inheritdoc />
    public override bool IsMissing(int row) => float.IsNaN(_values[row]);

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows) => new Float32Column(Name, TakeArray(Values, rows));

    /// <inheritdoc />
    public override Column Rename(string name) => new Float32Column(name, _values, Length);

    /// <inheritdoc />
    public override string FormatValue(int row)
    {
        var v = _values[row];
        return float.IsNaN(v) ? string.Empty : v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override double GetDouble(int row) => _values[row];
}

/// <summary>A column of UTC instants stored as microseconds since the Unix epoch; <see cref="long.MinValue"/> marks a missing value.</summary>
public sealed class TimestampColumn : Column
{
    /// <summary>The stored value that marks a missing timestamp.</summary>
    public const long Missing = long.MinValue;

    private readonly long[] _micros;

    /// <summary>Wraps <paramref name="unixMicros"/> (not copied).</summary>
    public TimestampColumn(string name, long[] unixMicros, int? length = null)
        : base(name, length ?? unixMicros.Length)
    {
        CheckLength(unixMicros.Length, Length, name);
        _micros = unixMicros;
    }

    /// <inheritdoc />
    public override ColumnKind Kind => ColumnKind.Timestamp;

    /// <summary>Microseconds since 1970-01-01T00:00:00Z, one per row.</summary>
    public ReadOnlySpan<long> UnixMicros => _micros.AsSpan(0, Length);

    /// <summary>The instant at a row; throws when missing.</summary>
    public DateTimeOffset this[int row] => FromMicros(_micros[row]);

    /// <summary>Converts microseconds since the epoch to an instant.</summary>
    public static DateTimeOffset FromMicros(long micros) =>
        DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond);

    /// <summary>Converts an instant to microseconds since the epoch.</summary>
    public static long ToMicros(DateTimeOffset instant) =>
        (instant.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    /// <inheritdoc />
    public override bool IsMissing(int row) => _micros[row] == Missing;

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows) => new TimestampColumn(Name, TakeArray(UnixMicros, rows));

    /// <inheritdoc />
    public override Column Rename(string name) => new TimestampColumn(name, _micros, Length);

    /// <inheritdoc />
    public override string FormatValue(int row) =>
        IsMissing(row) ? string.Empty : FromMicros(_micros[row]).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override double GetDouble(int row) => IsMissing(row) ? double.NaN : _micros[row];
}
