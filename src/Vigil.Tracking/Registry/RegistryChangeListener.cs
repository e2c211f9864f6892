using Npgsql;

namespace Vigil.Tracking;

/// <summary>The state of a <see cref="RegistryChangeListener"/>.</summary>
/// <param name="Connected">True while the LISTEN connection is open.</param>
/// <param name="Error">Why it is not connected (null when connected).</param>
public readonly record struct RegistryListenerState(bool Connected, string? Error);

/// <summary>
/// Hears registry changes on a PostgreSQL store: every alias or stage move, rollback and new version is announced with
/// <c>pg_notify('vigil_registry', MODEL)</c> in the writing transaction (so it arrives on commit, never for a change
/// that rolled back), and this listener waits for them on one dedicated connection (<c>LISTEN</c> +
/// <c>WaitAsync</c>), reconnecting with back-off (0.5 s doubling to 10 s) when the connection drops. After every
/// (re)connect it reports a change of every model (<c>null</c>), because notifications sent while it was away are lost.
/// SQLite has no notifications: <see cref="TryCreate"/> returns null there and servers poll.
/// </summary>
public sealed class RegistryChangeListener
{
    /// <summary>The notification channel.</summary>
    public const string Channel = "vigil_registry";

    private readonly string _connectionString;

    private RegistryChangeListener(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false, // a dedicated session: LISTEN belongs to it
            KeepAlive = 10, // notice a dead peer within seconds even when no notification comes
            ApplicationName = "vigil-listen",
        };
        _connectionString = builder.ConnectionString;
    }

    /// <summary>A listener on the store's PostgreSQL database, or null when the store has no notifications (SQLite).</summary>
    public static RegistryChangeListener? TryCreate(ITrackingStore store) =>
        store is SqlTrackingStore { PostgresConnectionString: { } cs } ? new RegistryChangeListener(cs) : null;

    /// <summary>
    /// Listens until <paramref name="cancellationToken"/> is cancelled, calling <paramref name="onChange"/> with the model
    /// name of each notification (null after each connect: anything may have changed). Calls are sequential; a slow
    /// handler delays the next call, and notifications that arrive meanwhile are queued by the connection.
    /// </summary>
    public async Task RunAsync(Func<string?, CancellationToken, Task> onChange, Action<RegistryListenerState>? onState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        var delay = TimeSpan.FromMilliseconds(500);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                var pending = new Queue<string>();
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == Channel)
                    {
                        pending.Enqueue(e.Payload);
                    }
                };
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand("LISTEN " + Channel, connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                onState?.Invoke(new RegistryListenerState(true, null));
                delay = TimeSpan.FromMilliseconds(500);
                await onChange(null, cancellationToken).ConfigureAwait(false);
                while (true)
                {
                    // Notification events are raised on this task, inside WaitAsync: the queue needs no lock.
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                    while (pending.TryDequeue(out var model))
                    {
                        await onChange(model, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException or InvalidOperationException)
            {
                onState?.Invoke(new RegistryListenerState(false, e.Message));
            }

            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(10_000, delay.TotalMilliseconds * 2));
        }
    }
}
