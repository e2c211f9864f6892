using System.Globalization;
using System.Text;

namespace Vigil.Data;

/// <summary>
/// Malformed input data, with where it is: the file, the 1-based physical line (the header is line 1)
/// and, when one field is at fault, the column name and 1-based position in the file.
/// The message reads like <c>data.csv: line 12, column 'amount' (3): cannot parse "12,x" as float64</c>.
/// </summary>
public sealed class DataFormatException : VigilException
{
    /// <summary>Creates an exception with a location; <paramref name="detail"/> says what is wrong.</summary>
    /// <param name="file">The file name or path (null when reading an unnamed stream).</param>
    /// <param name="line">The 1-based physical line; 0 when not tied to a line.</param>
    /// <param name="column">The column name, when known.</param>
    /// <param name="columnIndex">The 1-based column position in the file; 0 when unknown.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DataFormatException(string? file, long line, string? column, int columnIndex, string detail, Exception? innerException = null)
        : base(Compose(file, line, column, columnIndex, detail), innerException)
    {
        File = file;
        Line = line;
        Column = column;
        ColumnIndex = columnIndex;
        Detail = detail;
    }

    /// <summary>Creates an exception with a message only (no location).</summary>
    public DataFormatException(string message)
        : this(null, 0, null, 0, message)
    {
    }

    /// <summary>Creates an exception with a message only (no location) and an inner exception.</summary>
    public DataFormatException(string message, Exception innerException)
        : this(null, 0, null, 0, message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public DataFormatException()
        : this(null, 0, null, 0, "The data is malformed.")
    {
    }

    /// <summary>The file name or path as given by the caller; null for an unnamed stream.</summary>
    public string? File { get; }

    /// <summary>The 1-based physical line (header = line 1); 0 when the error is not tied to a line.</summary>
    public long Line { get; }

    /// <summary>The column name when known.</summary>
    public string? Column { get; }

    /// <summary>The 1-based column position in the file; 0 when unknown.</summary>
    public int ColumnIndex { get; }

    /// <summary>What is wrong, without the location prefix.</summary>
    public string Detail { get; }

    private static string Compose(string? file, long line, string? column, int columnIndex, string detail)
    {
        var sb = new StringBuilder();
        if (file is not null)
        {
            sb.Append(file);
        }

        if (line > 0)
        {
            sb.Append(sb.Length > 0 ? ": " : string.Empty).Append("line ").Append(line.ToString(CultureInfo.InvariantCulture));
        }

        if (column is not null || columnIndex > 0)
        {
            sb.Append(sb.Length > 0 ? ", " : string.Empty).Append("column");
            if (column is not null)
            {
                sb.Append(" '").Append(column).Append('\'');
            }

            if (columnIndex > 0)
            {
                sb.Append(" (").Append(columnIndex.ToString(CultureInfo.InvariantCulture)).Append(')');
            }
        }

        return sb.Length == 0 ? detail : sb.Append(": ").Append(detail).ToString();
    }
}
