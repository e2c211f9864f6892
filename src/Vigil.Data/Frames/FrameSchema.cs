namespace Vigil.Data;

/// <summary>A column name with its kind.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Kind">The column kind.</param>
public sealed record ColumnSchema(string Name, ColumnKind Kind);

/// <summary>An ordered list of column names and kinds: inferred from data or given explicitly.</summary>
public sealed class FrameSchema
{
    private readonly ColumnSchema[] _columns;

    /// <summary>Creates a schema; names must be unique.</summary>
    public FrameSchema(IEnumerable<ColumnSchema> columns)
    {
        _columns = [.. columns];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in _columns)
        {
            if (!seen.Add(c.Name))
            {
                throw new ArgumentException($"Column name '{c.Name}' appears more than once in the schema.", nameof(columns));
            }
        }
    }

    /// <summary>The columns in order.</summary>
    public IReadOnlyList<ColumnSchema> Columns => _columns;

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public ColumnSchema? Find(string name) => Array.Find(_columns, c => string.Equals(c.Name, name, StringComparison.Ordinal));

    /// <summary>Parses "name:kind,name:kind" (kinds: float64, float32, categorical, string, timestamp).</summary>
    public static FrameSchema Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cols = new List<ColumnSchema>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || colon == part.Length - 1)
            {
                throw new FormatException($"Schema entry '{part}' is not of the form name:kind.");
            }

            cols.Add(new ColumnSchema(part[..colon].Trim(), ParseKind(part[(colon + 1)..].Trim())));
        }

        return new FrameSchema(cols);
    }

    /// <summary>Parses a kind name (case-insensitive): float64|double, float32|float, categorical|category, string|text, timestamp|datetime.</summary>
    public static ColumnKind ParseKind(string kind) => kind.ToUpperInvariant() switch
    {
        "FLOAT64" or "DOUBLE" => ColumnKind.Float64,
        "FLOAT32" or "FLOAT" => ColumnKind.Float32,
        "CATEGORICAL" or "CATEGORY" => ColumnKind.Categorical,
        "STRING" or "TEXT" => ColumnKind.String,
        "TIMESTAMP" or "DATETIME" => ColumnKind.Timestamp,
        _ => throw new FormatException($"Unknown column kind '{kind}'; expected float64, float32, categorical, string or timestamp."),
    };

    /// <inheritdoc />
    public override string ToString() => string.Join(",", _columns.Select(c => $"{c.Name}:{c.Kind.ToString().ToLowerInvariant()}"));
}
