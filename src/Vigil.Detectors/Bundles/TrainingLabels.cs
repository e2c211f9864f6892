using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>Reads a label column as 0/1 for supervised detectors.</summary>
internal static class TrainingLabels
{
    /// <summary>
    /// Numeric columns must hold 0 or 1; categorical and string columns may hold 0/1, true/false, yes/no,
    /// fraud/normal, anomaly/normal/legit. Anything else or a missing label throws <see cref="ArgumentException"/>
    /// naming the column, row (1-based) and value.
    /// </summary>
    public static int[] Read(Frame frame, string column)
    {
        var col = frame[column];
        var labels = new int[col.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = col.Kind is ColumnKind.Float64 or ColumnKind.Float32
                ? col.GetDouble(i) switch
                {
                    0.0 => 0,
                    1.0 => 1,
                    var v => throw Bad(column, i, double.IsNaN(v) ? string.Empty : v.ToString("R", CultureInfo.InvariantCulture)),
                }
                : col.FormatValue(i).Trim().ToUpperInvariant() switch
                {
                    "1" or "1.0" or "TRUE" or "YES" or "FRAUD" or "ANOMALY" => 1,
                    "0" or "0.0" or "FALSE" or "NO" or "NORMAL" or "LEGIT" => 0,
                    var text => throw Bad(column, i, text),
                };
        }

        return labels;
    }

    private static ArgumentException Bad(string column, int row, string value) =>
        new($"Label column '{column}' row {row + 1}: expected 0 or 1, found '{(value.Length == 0 ? "(missing)" : value)}'.", "spec");
}
