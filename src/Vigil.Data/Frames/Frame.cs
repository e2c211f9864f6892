namespace Vigil.Data;

/// <summary>
/// An immutable table of equally long, uniquely named <see cref="Column"/>s.
/// </summary>
public sealed class Frame
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a frame; every column must have the same length and a unique name.</summary>
    public Frame(IEnumerable<Column> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = [.. columns];
        _index = new Dictionary<string, int>(_columns.Length, StringComparer.Ordinal);
        RowCount = _columns.Length == 0 ? 0 : _columns[0].Length;
        for (var i = 0; i < _columns.Length; i++)
        {
            var c = _columns[i];
            if (c.Length != RowCount)
            {
                throw new ArgumentException(
                    $"Column '{c.Name}' has {c.Length} rows but column '{_columns[0].Name}' has {RowCount}.", nameof(columns));
            }

            if (!_index.TryAdd(c.Name, i))
            {
                throw new ArgumentException($"Column name '{c.Name}' appears more than once.", nameof(columns));
            }
        }
    }

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The columns in order.</summary>
    public IReadOnlyList<Column> Columns => _columns;

    /// <summary>The schema (names and kinds) of this frame.</summary>
    public FrameSchema Schema => new(_columns.Select(c => new ColumnSchema(c.Name, c.Kind)));

    /// <summary>The column named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming the known columns otherwise.</summary>
    public Column this[string name] => TryGetColumn(name, out var c)
        ? c
        : throw new KeyNotFoundException($"Column '{name}' not found; columns are: {string.Join(", ", _columns.Select(x => x.Name))}.");

    /// <summary>Looks up a column by name.</summary>
    public bool TryGetColumn(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Column? column)
    {
        if (_index.TryGetValue(name, out var i))
        {
            column = _columns[i];
            return true;
        }

        column = null;
        return false;
    }

    /// <summary>True when the frame has a column named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _index.ContainsKey(name);

    /// <summary>A new frame with the rows at <paramref name="rows"/>, in that order.</summary>
    public Frame Take(ReadOnlySpan<int> rows)
    {
        var cols = new Column[_columns.Length];
        for (var i = 0; i < cols.Length; i++)
        {
            cols[i] = _columns[i].Take(rows);
        }

        return new Frame(cols);
    }

    /// <summary>A new frame with only the named columns, in the given order.</summary>
    public Frame Select(params IEnumerable<string> names) => new(names.Select(n => this[n]));

    /// <summary>A new frame without the named columns (names not present are ignored).</summary>
    public Frame Drop(params IEnumerable<string> names)
    {
        var drop = new HashSet<string>(names, StringComparer.Ordinal);
        return new Frame(_columns.Where(c => !drop.Contains(c.Name)));
    }

    /// <summary>A new frame with <paramref name="column"/> appended, or replacing the column of the same name.</summary>
    public Frame With(Column column)
    {
        var cols = _columns.ToList();
        if (_index.TryGetValue(column.Name, out var i))
        {
            cols[i] = column;
        }
        else
        {
            cols.Add(column);
        }

        return new Frame(cols);
    }

    /// <summary>Stacks frames with the same schema vertically (categorical dictionaries are merged).</summary>
    public static Frame Concat(IReadOnlyList<Frame> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0)
        {
            return new Frame([]);
        }

        if (frames.Count == 1)
        {
            return frames[0];
        }

        var first = frames[0];
        var total = frames.Sum(f => f.RowCount);
        var cols = new Column[first._columns.Length];
        for (var c = 0; c < cols.Length; c++)
        {
            var name = first._columns[c].Name;
            var kind = first._columns[c].Kind;
            foreach (var f in frames)
            {
                var other = f[name];
                if (other.Kind != kind)
                {
                    throw new ArgumentException($"Column '{name}' is {kind} in the first frame but {other.Kind} in another.", nameof(frames));
                }
            }

            cols[c] = kind switch
            {
                ColumnKind.Float64 => new Float64Column(name, ConcatArrays(frames, name, static col => ((Float64Column)col).Values, total)),
                ColumnKind.Float32 => new Float32Column(name, ConcatArrays(frames, name, static col => ((Float32Column)col).Values, total)),
                ColumnKind.Timestamp => new TimestampColumn(name, ConcatArrays(frames, name, static col => ((TimestampColumn)col).UnixMicros, total)),
                ColumnKind.String => new StringColumn(name, ConcatArrays(frames, name, static col => ((StringColumn)col).Values, total)),
                ColumnKind.Categorical => ConcatCategorical(frames, name, total),
                _ => throw new NotSupportedException(kind.ToString()),
            };
        }

        return new Frame(cols);
    }

    private delegate ReadOnlySpan<T> SpanOf<T>(Column column);

    private static T[] ConcatArrays<T>(IReadOnlyList<Frame> frames, string name, SpanOf<T> span, int total)
    {
        var result = new T[total];
        var offset = 0;
        foreach (var f in frames)
        {
            var s = span(f[name]);
            s.CopyTo(result.AsSpan(offset));
            offset += s.Length;
        }

        return result;
    }

    private static CategoricalColumn ConcatCategorical(IReadOnlyList<Frame> frames, string name, int total)
    {
        var codes = new int[total];
        var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
        var dictionary = new List<string>();
        var offset = 0;
        foreach (var f in frames)
        {
            var col = (CategoricalColumn)f[name];
            var remap = new int[col.Dictionary.Count];
            for (var i = 0; i < remap.Length; i++)
            {
                var v = col.Dictionary[i];
                if (!lookup.TryGetValue(v, out var code))
                {
                    code = dictionary.Count;
                    lookup.Add(v, code);
                    dictionary.Add(v);
                }

                remap[i] = code;
            }

            var src = col.Codes;
            for (var i = 0; i < src.Length; i++)
            {
                codes[offset + i] = src[i] < 0 ? CategoricalColumn.Missing : remap[src[i]];
            }

            offset += src.Length;
        }

        return new CategoricalColumn(name, codes, [.. dictionary]);
    }
}
