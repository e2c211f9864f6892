namespace Vigil.Tracking;

/// <summary>Timestamps are stored as unix microseconds (UTC) in every store.</summary>
internal static class Micros
{
    public static long From(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset To(long micros) =>
        new(DateTimeOffset.UnixEpoch.Ticks + (micros * TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);

    public static DateTimeOffset? To(long? micros) => micros is { } m ? To(m) : null;
}
