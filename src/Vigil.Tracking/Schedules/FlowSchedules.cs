using System.Text.Json;

namespace Vigil.Tracking;

/// <summary>A named schedule of a flow, as stored in the tracking store (table <c>flow_schedules</c>).</summary>
public sealed record FlowSchedule
{
    /// <summary>The schedule's unique name.</summary>
    public required string Name { get; init; }

    /// <summary>The flow: a built-in flow name or the full path of a flow YAML file.</summary>
    public required string Flow { get; init; }

    /// <summary>The cron expression in Quartz form (seconds first; 6 or 7 fields).</summary>
    public required string Cron { get; init; }

    /// <summary>The cron expression as the user wrote it.</summary>
    public required string CronText { get; init; }

    /// <summary>The time zone the cron expression is read in (an IANA or Windows id; "UTC" by default).</summary>
    public required string TimeZone { get; init; }

    /// <summary>The flow parameters each fire runs with.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether fires are suspended.</summary>
    public bool Paused { get; init; }

    /// <summary>Whether each fire runs the flow distributed: its steps as Quartz jobs run by <c>vigil worker</c> processes (PostgreSQL stores).</summary>
    public bool Distributed { get; init; }

    /// <summary>When the schedule was added.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When the schedule last changed (added, paused or resumed): a scheduler replaces its trigger when this moves.</summary>
    public DateTimeOffset Updated { get; init; }

    /// <summary>The scheduled time of the latest fire, or null before the first.</summary>
    public DateTimeOffset? LastFire { get; init; }
}

/// <summary>
/// The flow schedules of a tracking store (SQLite or PostgreSQL; table <c>flow_schedules</c>, schema version 9). Every
/// change is one transaction, so several processes may change and read schedules at once.
/// </summary>
public sealed class FlowScheduleStore
{
    private readonly SqlTrackingStore _store;

    private FlowScheduleStore(SqlTrackingStore store)
    {
        _store = store;
    }

    /// <summary>The schedules of <paramref name="store"/> (a store opened by <see cref="StoreFactory"/>).</summary>
    /// <exception cref="ArgumentException">The store is not one of Vigil's SQL stores.</exception>
    public static FlowScheduleStore For(ITrackingStore store) =>
        new(store as SqlTrackingStore ?? throw new ArgumentException("flow schedules need a store opened by StoreFactory", nameof(store)));

    /// <summary>The Npgsql connection string of a PostgreSQL store (for a clustered job store on the same database), else null.</summary>
    public string? PostgresConnectionString => _store.PostgresConnectionString;

    /// <summary>Adds a schedule.</summary>
    /// <exception cref="TrackingException">A schedule with that name exists.</exception>
    public async Task<FlowSchedule> AddAsync(FlowSchedule schedule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var now = Micros.From(DateTimeOffset.UtcNow);
        var row = new ScheduleRow
        {
            Name = schedule.Name,
            Flow = schedule.Flow,
            Cron = schedule.Cron,
            CronText = schedule.CronText,
            TimeZone = schedule.TimeZone,
            ParamsJson = JsonSerializer.Serialize(schedule.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value)),
            Paused = schedule.Paused,
            Distributed = schedule.Distributed,
            CreatedUs = now,
            UpdatedUs = now,
        };
        if (!await _store.InsertScheduleAsync(row, cancellationToken).ConfigureAwait(false))
        {
            throw new TrackingException($"schedule '{schedule.Name}' already exists; remove it first (vigil schedule remove {schedule.Name}) or choose another --name");
        }

        return ToSchedule(row);
    }

    /// <summary>Every schedule, by name.</summary>
    public async Task<IReadOnlyList<FlowSchedule>> ListAsync(CancellationToken cancellationToken = default) =>
        [.. (await _store.ListSchedulesAsync(cancellationToken).ConfigureAwait(false)).Select(ToSchedule)];

    /// <summary>The schedule named <paramref name="name"/>, or null.</summary>
    public async Task<FlowSchedule?> FindAsync(string name, CancellationToken cancellationToken = default) =>
        await _store.FindScheduleAsync(name, cancellationToken).ConfigureAwait(false) is { } row ? ToSchedule(row) : null;

    /// <summary>Removes the schedule.</summary>
    /// <exception cref="TrackingException">No schedule has that name.</exception>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!await _store.DeleteScheduleAsync(name, cancellationToken).ConfigureAwait(false))
        {
            throw Unknown(name);
        }
    }

    /// <summary>Pauses (true) or resumes (false) the schedule; doing what is already so changes nothing.</summary>
    /// <exception cref="TrackingException">No schedule has that name.</exception>
    public async Task SetPausedAsync(string name, bool paused, CancellationToken cancellationToken = default)
    {
        if (!await _store.SetSchedulePausedAsync(name, paused, cancellationToken).ConfigureAwait(false))
        {
            throw Unknown(name);
        }
    }

    /// <summary>Records that the schedule fired for <paramref name="scheduledFireTime"/> (kept when later than the one stored).</summary>
    public Task RecordFireAsync(string name, DateTimeOffset scheduledFireTime, CancellationToken cancellationToken = default) =>
        _store.RecordScheduleFireAsync(name, Micros.From(scheduledFireTime), cancellationToken);

    private TrackingException Unknown(string name) => new($"no schedule named '{name}' in the {_store.Backend} store {_store.Location} (vigil schedule list shows them)");

    private static FlowSchedule ToSchedule(ScheduleRow r) => new()
    {
        Name = r.Name,
        Flow = r.Flow,
        Cron = r.Cron,
        CronText = r.CronText,
        TimeZone = r.TimeZone,
        Parameters = JsonSerializer.Deserialize<Dictionary<string, string>>(r.ParamsJson) ?? [],
        Paused = r.Paused,
        Distributed = r.Distributed,
        Created = Micros.To(r.CreatedUs),
        Updated = Micros.To(r.UpdatedUs),
        LastFire = Micros.To(r.LastFireUs),
    };
}
