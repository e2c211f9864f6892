using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Vigil.Serving;

/// <summary>
/// Loads the configured models at start-up (retrying with back-off until each one loads; <c>/readyz</c> answers 503
/// meanwhile) and then re-resolves their aliases every <see cref="ServingOptions.RefreshSeconds"/> (the fallback of
/// <see cref="RegistryNotificationService"/> on PostgreSQL, the only way on SQLite).
/// </summary>
internal sealed partial class ModelRefreshService(ModelCache cache, ServingOptions options, ILogger<ModelRefreshService> logger, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await cache.RefreshAsync(cache.IsReady ? "poll" : "start", stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogRefreshFailed(e.Message);
            }

            TimeSpan wait;
            if (!cache.IsReady)
            {
                wait = delay;
                delay = TimeSpan.FromMilliseconds(Math.Min(10_000, delay.TotalMilliseconds * 2));
            }
            else if (options.RefreshSeconds > 0)
            {
                wait = TimeSpan.FromSeconds(options.RefreshSeconds);
            }
            else
            {
                return;
            }

            try
            {
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Model refresh failed: {Error}")]
    private partial void LogRefreshFailed(string error);
}
