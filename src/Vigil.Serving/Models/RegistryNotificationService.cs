using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>How the server learns about registry changes, for <c>/v1/models</c>.</summary>
internal sealed class RegistryWatch
{
    private readonly Lock _lock = new();
    private bool _connected;
    private string? _error;
    private DateTimeOffset? _lastNotification;
    private long _notifications;

    /// <summary><c>notify+poll</c> (PostgreSQL LISTEN/NOTIFY with polling as fallback), <c>poll</c> or <c>manual</c> (neither).</summary>
    public required string Mode { get; init; }

    public object Describe(int refreshSeconds)
    {
        lock (_lock)
        {
            return new
            {
                mode = Mode,
                pollSeconds = refreshSeconds,
                listening = _connected,
                listenerError = _error,
                notifications = _notifications,
                lastNotificationAt = _lastNotification,
            };
        }
    }

    public void State(RegistryListenerState state)
    {
        lock (_lock)
        {
            _connected = state.Connected;
            _error = state.Error;
        }
    }

    public void Notified(DateTimeOffset at)
    {
        lock (_lock)
        {
            _notifications++;
            _lastNotification = at;
        }
    }
}

/// <summary>
/// On a PostgreSQL store (unless <see cref="ServingOptions.RegistryNotifications"/> is off): listens for registry
/// changes and refreshes the served models as soon as one of them changes, so an alias move reaches this replica
/// within the time of one notification plus one load. Each (re)connect refreshes everything once (notifications
/// sent while disconnected are lost); <see cref="ModelRefreshService"/> keeps polling meanwhile.
/// </summary>
internal sealed partial class RegistryNotificationService(
    ModelCache cache, ITrackingStore store, ServingOptions options, ServingMetrics metrics, RegistryWatch watch, TimeProvider time,
    ILogger<RegistryNotificationService> logger) : BackgroundService
{
    public static RegistryWatch CreateWatch(ITrackingStore store, ServingOptions options) => new()
    {
        Mode = options.RegistryNotifications && RegistryChangeListener.TryCreate(store) is not null ? "notify+poll"
            : options.RefreshSeconds > 0 ? "poll" : "manual",
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RegistryNotifications || RegistryChangeListener.TryCreate(store) is not { } listener)
        {
            return;
        }

        await listener.RunAsync(OnChangeAsync, OnState, stoppingToken).ConfigureAwait(false);
    }

    private async Task OnChangeAsync(string? model, CancellationToken cancellationToken)
    {
        if (model is not null)
        {
            watch.Notified(time.GetUtcNow());
            metrics.RegistryNotification();
            if (!IsServed(model))
            {
                return;
            }
        }

        try
        {
            await cache.RefreshAsync(model is null && !cache.IsReady ? "start" : "notify", cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            LogRefreshFailed(model ?? "(all)", e.Message);
        }
    }

    private void OnState(RegistryListenerState state)
    {
        watch.State(state);
        metrics.ListenerConnected(state.Connected);
        if (state.Connected)
        {
            LogListening(RegistryChangeListener.Channel);
        }
        else
        {
            LogListenFailed(state.Error ?? "disconnected");
        }
    }

    private bool IsServed(string model)
    {
        foreach (var spec in cache.Specs)
        {
            if (spec.Name == model)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Listening for registry changes on PostgreSQL channel {Channel}")]
    private partial void LogListening(string channel);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Registry change listener disconnected, reconnecting (polling continues): {Error}")]
    private partial void LogListenFailed(string error);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Refresh after a registry change of {Model} failed: {Error}")]
    private partial void LogRefreshFailed(string model, string error);
}
