using System.Globalization;
using Vigil.Data;

namespace Vigil.Evaluation;

/// <summary>Reads a 0/1 label column from a frame.</summary>
public static class Labels
{
    /// <summary>
    /// The labels of <paramref name="column"/> as 0/1: numeric columns must hold 0 or 1; categorical and string
    /// columns may hold 0/1, true/false, yes/no, fraud/normal, anomaly/normal. Anything else, or a missing label,
    /// throws <see cref="ArgumentException"/> naming the row and value.
    /// </summary>
    public static int[] From(Frame frame, string column)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var col = frame[column];
        var labels = new int[col.Length];
        switch (col)
        {
            case Float64Column f:
                var values = f.Values;
                for (var i = 0; i < labels.Length; i++)
                {
                    labels[i] = values[i] switch
                    {
                        0.0 => 0,
                        1.0 => 1,
                        var v => throw Bad(column, i, v.ToString("R", CultureInfo.InvariantCulture)),
                    };
                }

                break;
            default:
                for (var i = 0; i < labels.Length; i++)
                {
                    labels[i] = col.Kind is ColumnKind.Float32
                        ? col.GetDouble(i) switch { 0.0 => 0, 1.0 => 1, _ => throw Bad(column, i, col.FormatValue(i)) }
                        : ParseText(column, i, col.FormatValue(i));
                }

                break;
        }

        return labels;
    }

    /// <summary>True when both classes occur.</summary>
    public static bool HasBothClasses(ReadOnlySpan<int> labels)
    {
        bool zero = false, one = false;
        foreach (var l in labels)
        {
            zero |= l == 0;
            one |= l == 1;
            if (zero && one)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The number of 1 labels.</summary>
    public static int Positives(ReadOnlySpan<int> labels)
    {
        var n = 0;
        foreach (var l in labels)
        {
            n += l;
        }

        return n;
    }

    private static int ParseText(string column, int row, string text) => text.Trim().ToUpperInvariant() switch
    {
        "1" or "1.0" or "TRUE" or "YES" or "FRAUD" or "ANOMALY" => 1,
        "0" or "0.0" or "FALSE" or "NO" or "NORMAL" or "LEGIT" => 0,
        _ => throw Bad(column, row, text),
    };

    private static ArgumentException Bad(string column, int row, string value) =>
        new($"label column '{column}' row {row + 1}: expected 0 or 1, found '{(value.Length == 0 ? "(missing)" : value)}'");
}
