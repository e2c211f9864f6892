using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vigil.Monitoring;

namespace Vigil.Serving;

/// <summary>
/// Every <see cref="ServingOptions.OnlineDriftSeconds"/>, computes each served model's drift over its online window
/// (<see cref="SlidingProfileDrift"/>, filled by the scoring pipeline) and sets the Prometheus gauges
/// (<c>vigil_feature_drift</c>, <c>vigil_dataset_drift_share</c>, <c>vigil_alert_rate</c>, ...). The statistics run
/// here, never on the request path. Does nothing when <see cref="ServingOptions.OnlineDrift"/> is off.
/// </summary>
internal sealed partial class OnlineDriftService(ModelCache cache, ServingOptions options, ServingMetrics metrics, ILogger<OnlineDriftService> logger, TimeProvider time) : BackgroundService
{
    /// <summary>Computes the gauges of every served model once (also what each timer tick does).</summary>
    public void Update()
    {
        var served = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in cache.Snapshot.Values)
        {
            served.Add(model.Name);
        }

        metrics.ForgetOnlineDrift(served);
        foreach (var model in cache.Snapshot.Values)
        {
            if (model.CurrentDriftWindow is not { } window)
            {
                continue;
            }

            var items = window.Count;
            if (items == 0)
            {
                continue;
            }

            try
            {
                metrics.OnlineDrift(model.Name, window.Report(), items);
            }
            catch (Exception e) when (e is DriftException or ArgumentException or InvalidOperationException or OverflowException)
            {
                LogDriftFailed(model.Name, e.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.OnlineDrift)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.OnlineDriftSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Update();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 90, Level = LogLevel.Warning, Message = "Online drift of model {Model} could not be computed: {Error}")]
    private partial void LogDriftFailed(string model, string error);
}
