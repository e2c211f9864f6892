using System.Globalization;
using Quartz;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>
/// Reads the cron expressions of flow schedules: the standard 5-field crontab form (minute hour day-of-month month
/// day-of-week, day-of-week 0-7 with 0 and 7 Sunday, e.g. <c>0 5 * * MON</c>) or Quartz's 6/7-field form with seconds
/// first (<c>0 0 5 ? * MON</c>, <c>*/2 * * * * ?</c>), and the @ macros (<c>@daily</c>, <c>@hourly</c>, ...). Either way
/// the stored form is Quartz's.
/// </summary>
public static class ScheduleCron
{
    /// <summary>The help text for a <c>--cron</c> option.</summary>
    public const string Syntax =
        "5 fields (minute hour day-of-month month day-of-week, as crontab: \"0 5 * * MON\") or Quartz's 6/7 fields with seconds first (\"*/2 * * * * ?\", \"0 0 5 ? * MON\"); @daily, @hourly and the other @ macros too";

    /// <summary>The Quartz form of <paramref name="text"/>.</summary>
    /// <exception cref="FlowException">Not a valid cron expression (one line naming why and the accepted forms).</exception>
    public static string ToQuartz(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = string.Join(' ', text.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        var fields = trimmed.Length == 0 ? 0 : trimmed.Split(' ').Length;
        var format = fields == 5 ? CronFormat.Unix : CronFormat.Quartz;
        if (!trimmed.StartsWith('@') && fields is not (5 or 6 or 7))
        {
            throw new FlowException($"--cron \"{text}\": {fields.ToString(CultureInfo.InvariantCulture)} field{(fields == 1 ? "" : "s")}; expected {Syntax}");
        }

        try
        {
            return CronExpression.Parse(trimmed, format).CronExpressionString;
        }
        catch (FormatException e)
        {
            throw new FlowException($"--cron \"{text}\": {OneLine(e.Message)}; expected {Syntax}");
        }
    }

    /// <summary>The time zone named <paramref name="id"/> (IANA like <c>Europe/Paris</c>, or Windows), UTC when null or empty.</summary>
    /// <exception cref="FlowException">No such time zone.</exception>
    public static TimeZoneInfo Zone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Equals("UTC", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new FlowException($"--timezone {id}: no such time zone; use an IANA name such as Europe/Paris or America/New_York, or UTC");
        }
    }

    /// <summary>The first fire of <paramref name="schedule"/> after <paramref name="after"/> (null: never, or paused).</summary>
    public static DateTimeOffset? NextFire(FlowSchedule schedule, DateTimeOffset after)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (schedule.Paused)
        {
            return null;
        }

        var cron = new CronExpression(schedule.Cron, Zone(schedule.TimeZone));
        return cron.GetNextValidTimeAfter(after);
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
