using Dapper;

namespace Vigil.Tracking;

/// <summary>Table <c>flow_schedules</c> (schema version 9): one row per named flow schedule.</summary>
internal sealed partial class SqlTrackingStore
{
    /// <summary>The first schema version with table <c>flow_schedules</c>.</summary>
    internal const int SchedulesVersion = 9;

    private const string ScheduleSelectTemplate = """
        SELECT name AS Name, flow AS Flow, cron AS Cron, cron_text AS CronText, time_zone AS TimeZone, params_json AS ParamsJson,
               CASE WHEN paused THEN 1 ELSE 0 END AS PausedFlag, {0} AS DistributedFlag, created_us AS CreatedUs, updated_us AS UpdatedUs, last_fire_us AS LastFireUs
        FROM flow_schedules
        """;

    /// <summary>The first schema version with <c>flow_schedules.distributed</c> and the step commit tables.</summary>
    internal const int DistributedVersion = 10;

    private string ScheduleSelect => string.Format(System.Globalization.CultureInfo.InvariantCulture, ScheduleSelectTemplate,
        SchemaVersion >= DistributedVersion ? "CASE WHEN distributed THEN 1 ELSE 0 END" : "0");

    internal Task<bool> InsertScheduleAsync(ScheduleRow row, CancellationToken ct)
    {
        RequireSchedules();
        return WriteAsync(async (c, tx) =>
        {
            if (row.Distributed && SchemaVersion < DistributedVersion)
            {
                throw new TrackingException($"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)}, which has no distributed schedules; open it with all migrations applied");
            }

            var n = await c.ExecuteAsync(Cmd(SchemaVersion >= DistributedVersion
                ? """
                INSERT INTO flow_schedules (name, flow, cron, cron_text, time_zone, params_json, paused, distributed, created_us, updated_us, last_fire_us)
                VALUES (@Name, @Flow, @Cron, @CronText, @TimeZone, @ParamsJson, @Paused, @Distributed, @CreatedUs, @UpdatedUs, NULL)
                ON CONFLICT (name) DO NOTHING
                """
                : """
                INSERT INTO flow_schedules (name, flow, cron, cron_text, time_zone, params_json, paused, created_us, updated_us, last_fire_us)
                VALUES (@Name, @Flow, @Cron, @CronText, @TimeZone, @ParamsJson, @Paused, @CreatedUs, @UpdatedUs, NULL)
                ON CONFLICT (name) DO NOTHING
                """, row, tx, ct)).ConfigureAwait(false);
            return n == 1;
        }, ct);
    }

    internal Task<IReadOnlyList<ScheduleRow>> ListSchedulesAsync(CancellationToken ct)
    {
        RequireSchedules();
        return ReadAsync<IReadOnlyList<ScheduleRow>>(async (c, tx) =>
            [.. await c.QueryAsync<ScheduleRow>(Cmd(ScheduleSelect + " ORDER BY name", null, tx, ct)).ConfigureAwait(false)], ct);
    }

    internal Task<ScheduleRow?> FindScheduleAsync(string name, CancellationToken ct)
    {
        RequireSchedules();
        return ReadAsync(async (c, tx) =>
            await c.QuerySingleOrDefaultAsync<ScheduleRow>(Cmd(ScheduleSelect + " WHERE name = @name", new { name }, tx, ct)).ConfigureAwait(false), ct);
    }

    internal Task<bool> DeleteScheduleAsync(string name, CancellationToken ct)
    {
        RequireSchedules();
        return WriteAsync(async (c, tx) =>
            await c.ExecuteAsync(Cmd("DELETE FROM flow_schedules WHERE name = @name", new { name }, tx, ct)).ConfigureAwait(false) == 1, ct);
    }

    /// <summary>Sets the paused flag; returns false when no schedule has that name. A change bumps updated_us.</summary>
    internal Task<bool> SetSchedulePausedAsync(string name, bool paused, CancellationToken ct)
    {
        RequireSchedules();
        var now = NowUs();
        return WriteAsync(async (c, tx) =>
        {
            var current = await c.QuerySingleOrDefaultAsync<ScheduleRow>(Cmd(ScheduleSelect + " WHERE name = @name" + _db.ForUpdate, new { name }, tx, ct)).ConfigureAwait(false);
            if (current is null)
            {
                return false;
            }

            if (current.Paused != paused)
            {
                await c.ExecuteAsync(Cmd("UPDATE flow_schedules SET paused = @paused, updated_us = @now WHERE name = @name",
                    new { name, paused, now = Math.Max(now, current.UpdatedUs + 1) }, tx, ct)).ConfigureAwait(false);
            }

            return true;
        }, ct);
    }

    /// <summary>Records a fire of the schedule (its scheduled fire time); the latest one wins.</summary>
    internal Task RecordScheduleFireAsync(string name, long fireUs, CancellationToken ct)
    {
        RequireSchedules();
        return WriteAsync(async (c, tx) =>
            await c.ExecuteAsync(Cmd("UPDATE flow_schedules SET last_fire_us = @fireUs WHERE name = @name AND (last_fire_us IS NULL OR last_fire_us < @fireUs)",
                new { name, fireUs }, tx, ct)).ConfigureAwait(false), ct);
    }

    private void RequireSchedules()
    {
        if (SchemaVersion < SchedulesVersion)
        {
            throw new TrackingException(
                $"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)}, which has no flow schedules; open it with all migrations applied");
        }
    }
}

/// <summary>A row of table <c>flow_schedules</c>.</summary>
internal sealed class ScheduleRow
{
    public string Name { get; set; } = "";

    public string Flow { get; set; } = "";

    public string Cron { get; set; } = "";

    public string CronText { get; set; } = "";

    public string TimeZone { get; set; } = "";

    public string ParamsJson { get; set; } = "{}";

    public long PausedFlag { get; set; }

    public bool Paused
    {
        get => PausedFlag != 0;
        set => PausedFlag = value ? 1 : 0;
    }

    public long DistributedFlag { get; set; }

    public bool Distributed
    {
        get => DistributedFlag != 0;
        set => DistributedFlag = value ? 1 : 0;
    }

    public long CreatedUs { get; set; }

    public long UpdatedUs { get; set; }

    public long? LastFireUs { get; set; }
}
