namespace Vigil.Data;

/// <summary>
/// A dictionary-encoded column: each row holds a code into <see cref="Dictionary"/>; -1 marks a missing value.
/// </summary>
public sealed class CategoricalColumn : Column
{
    /// <summary>The code that marks a missing value.</summary>
    public const int Missing = -1;

    private readonly int[] _codes;
    private readonly string[] _dictionary;

    /// <summary>Wraps <paramref name="codes"/> and <paramref name="dictionary"/> (not copied).</summary>
    public CategoricalColumn(string name, int[] codes, string[] dictionary, int? length = null)
        : base(name, length ?? codes.Length)
    {
        CheckLength(codes.Length, Length, name);
        _codes = codes;
        _dictionary = dictionary;
    }

    /// <summary>Encodes <paramref name="values"/>; codes follow first appearance; null is missing.</summary>
    public static CategoricalColumn FromValues(string name, IReadOnlyList<string?> values)
    {
        var codes = new int[values.Count];
        var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
        var dictionary = new List<string>();
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (v is null)
            {
                codes[i] = Missing;
                continue;
            }

            if (!lookup.TryGetValue(v, out var code))
            {
                code = dictionary.Count;
                lookup.Add(v, code);
                dictionary.Add(v);
            }

            codes[i] = code;
        }

        return new CategoricalColumn(name, codes, [.. dictionary]);
    }

    /// <inheritdoc />
    public override ColumnKind Kind => ColumnKind.Categorical;

    /// <summary>The code per row; -1 when missing.</summary>
    public ReadOnlySpan<int> Codes => _codes.AsSpan(0, Length);

    /// <summary>The distinct values; a code indexes this list.</summary>
    public IReadOnlyList<string> Dictionary => _dictionary;

    /// <summary>The value at a row, or null when missing.</summary>
    public string? this[int row] => _codes[row] < 0 ? null : _dictionary[_codes[row]];

    /// <inheritdoc />
    public override bool IsMissing(int row) => _codes[row] < 0;

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows) => new CategoricalColumn(Name, TakeArray(Codes, rows), _dictionary);

    /// <inheritdoc />
    public override Column Rename(string name) => new CategoricalColumn(name, _codes, _dictionary, Length);

    /// <inheritdoc />
    public override string FormatValue(int row) => this[row] ?? string.Empty;

    /// <inheritdoc />
    public override double GetDouble(int row) => _codes[row] < 0 ? double.NaN : _codes[row];
}

/// <summary>A column of free text; null marks a missing value.</summary>
public sealed class StringColumn : Column
{
    private readonly string?[] _values;

    /// <summary>Wraps <paramref name="values"/> (not copied).</summary>
    public StringColumn(string name, string?[] values, int? length = null)
        : base(name, length ?? values.Length)
    {
        CheckLength(values.Length, Length, name);
        _values = values;
    }

    /// <inheritdoc />
    public override ColumnKind Kind => ColumnKind.String;

    /// <summary>The values, one per row.</summary>
    public ReadOnlySpan<string?> Values => _values.AsSpan(0, Length);

    /// <summary>The value at a row, or null when missing.</summary>
    public string? this[int row] => _values[row];

    /// <inheritdoc />
    public override bool IsMissing(int row) => _values[row] is null;

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows) => new StringColumn(Name, TakeArray(Values, rows));

    /// <inheritdoc />
    public override Column Rename(string name) => new StringColumn(name, _values, Length);

    /// <inheritdoc />
    public override string FormatValue(int row) => _values[row] ?? string.Empty;

    /// <inheritdoc />
    public override double GetDouble(int row) => double.NaN;
}
