using System.Globalization;
using Vigil.Data;

namespace Vigil.Lifecycle;

/// <summary>
/// Which rows are out of time: all of them (the default), the last <see cref="OotDays"/> days by
/// <see cref="TimeColumn"/>, or the rows at or after <see cref="OotStart"/>.
/// </summary>
public sealed record OutOfTimeWindow
{
    /// <summary>Every row.</summary>
    public static readonly OutOfTimeWindow AllRows = new();

    /// <summary>The timestamp column the window is over.</summary>
    public string TimeColumn { get; init; } = "timestamp";

    /// <summary>Only the last D days of the data (up to its latest timestamp); exclusive with <see cref="OotStart"/>.</summary>
    public double? OotDays { get; init; }

    /// <summary>Only rows at or after this instant; exclusive with <see cref="OotDays"/>.</summary>
    public DateTimeOffset? OotStart { get; init; }

    /// <summary>The rows of <paramref name="frame"/> in the window and a description of the window.</summary>
    /// <exception cref="LifecycleException">Not a timestamp column, both or a bad bound, or the window cannot be cut.</exception>
    internal (Frame Rows, string Window) Select(Frame frame)
    {
        if (OotDays is not null && OotStart is not null)
        {
            throw new LifecycleException($"give {nameof(OotDays)} or {nameof(OotStart)}, not both");
        }

        if (OotDays is null && OotStart is null)
        {
            return (frame, "all rows");
        }

        if (!frame.Contains(TimeColumn) || frame[TimeColumn] is not TimestampColumn ts)
        {
            throw new LifecycleException(nameof(TimeColumn), frame.Contains(TimeColumn)
                ? $"{TimeColumn}: not a timestamp column"
                : $"{TimeColumn}: no such column; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
        }

        var micros = ts.UnixMicros;
        long min = long.MaxValue, max = long.MinValue;
        foreach (var t in micros)
        {
            if (t == TimestampColumn.Missing)
            {
                continue;
            }

            min = Math.Min(min, t);
            max = Math.Max(max, t);
        }

        DateTimeOffset from;
        if (OotDays is { } d)
        {
            if (!(d > 0))
            {
                throw new LifecycleException(nameof(OotDays), $"must be > 0, got {d.ToString(CultureInfo.InvariantCulture)}");
            }

            from = TimestampColumn.FromMicros(max).AddDays(-d);
        }
        else
        {
            from = OotStart!.Value;
        }

        var window = $"{TimeColumn} >= {from.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}";
        if (from <= TimestampColumn.FromMicros(min))
        {
            return (frame, window);
        }

        try
        {
            var split = Splits.OutOfTime(micros, from, TimeSpan.Zero);
            return (frame.Take(split.Test), window);
        }
        catch (ArgumentException e)
        {
            throw new LifecycleException($"out-of-time window {window}: {e.Message}");
        }
    }
}
