using System.Collections.Concurrent;
using Prometheus;

namespace Vigil.Serving;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (several servers can live in one test process).
/// Exposed at <c>GET /metrics</c> in the Prometheus text format.
/// </summary>
public sealed class ServingMetrics
{
    private static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter _requests;
    private readonly Histogram _latency;
    private readonly Counter _rows;
    private readonly Counter _loads;
    private readonly Counter _loadFailures;
    private readonly Gauge _loadedVersion;
    private readonly Gauge _queueDepth;
    private readonly Counter _swaps;
    private readonly Gauge _swappedAt;
    private readonly Gauge _listenerConnected;
    private readonly Counter _notifications;
    private readonly Counter _logWritten;
    private readonly Counter _logDropped;
    private readonly Counter _logWriteFailures;
    private readonly Counter _logDeadLettered;
    private readonly Counter _logAltered;
    private readonly Counter _logRejected;
    private readonly Gauge _logRetrying;
    private readonly Gauge _walBytes;
    private readonly Counter _walFsyncs;
    private readonly Counter _walRows;
    private readonly Counter _fxExplanations;
    private readonly Gauge _featureDrift;
    private readonly Gauge _datasetDriftShare;
    private readonly Gauge _datasetDrift;
    private readonly Gauge _alertRate;
    private readonly Gauge _referenceAlertRate;
    private readonly Gauge _scoreDrift;
    private readonly Gauge _driftWindowItems;
    private readonly ConcurrentDictionary<(string Route, int Status), Counter.Child> _requestChildren = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> _latencyChildren = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter.Child> _rowChildren = new(StringComparer.Ordinal);

    /// <summary>Creates the metrics in a new registry.</summary>
    public ServingMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry); // process_* (CPU seconds, memory, threads, open handles, start time) and dotnet_* (GC counts, heap bytes)
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("vigil_http_requests_total", "HTTP requests by route and status code.", "route", "status");
        _latency = factory.CreateHistogram("vigil_http_request_duration_seconds", "HTTP request latency by route, from the first byte read to the last byte written.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = LatencyBuckets });
        _rows = factory.CreateCounter("vigil_rows_scored_total", "Rows (instances) scored, by model.", "model");
        _loads = factory.CreateCounter("vigil_model_loads_total", "Model versions loaded, by model.", "model");
        _loadFailures = factory.CreateCounter("vigil_model_load_failures_total", "Failed model loads, by model.", "model");
        _loadedVersion = factory.CreateGauge("vigil_model_loaded_version", "The registry version currently served, by model.", "model");
        _swaps = factory.CreateCounter("vigil_model_swaps_total", "Model version changes (first loads included), by model and what triggered the refresh (start, poll, notify, admin).", "model", "trigger");
        _swappedAt = factory.CreateGauge("vigil_model_swapped_timestamp_seconds", "When the served version of the model last changed (Unix seconds).", "model");
        _listenerConnected = factory.CreateGauge("vigil_registry_listener_connected", "1 while the PostgreSQL LISTEN connection for registry changes is open, else 0 (always 0 on SQLite or with VIGIL_REGISTRY_NOTIFY=false).");
        _notifications = factory.CreateCounter("vigil_registry_notifications_total", "Registry change notifications received (PostgreSQL NOTIFY).");
        _queueDepth = factory.CreateGauge("vigil_inference_log_queue_depth", "Inference log rows waiting to be written.");
        _logWritten = factory.CreateCounter("vigil_inference_log_written_rows_total", "Inference log rows written to the sink.");
        _logDropped = factory.CreateCounter("vigil_inference_log_dropped_rows_total", "Inference log rows dropped because the queue was full (drop mode only).");
        _logWriteFailures = factory.CreateCounter("vigil_inference_log_write_failures_total", "Failed inference log batch writes (each is retried).");
        _logDeadLettered = factory.CreateCounter("vigil_inference_log_dead_letter_rows_total", "Inference log rows the sink refused permanently, written to the dead-letter file instead.");
        _logAltered = factory.CreateCounter("vigil_inference_log_altered_rows_total", "Inference log rows whose text had to be made storable (NUL or invalid UTF-16/UTF-8 replaced).");
        _logRejected = factory.CreateCounter("vigil_inference_log_rejected_requests_total", "Requests answered 503 because their row could not be made durable (ack mode: write-ahead file at its cap or disk failure).");
        _logRetrying = factory.CreateGauge("vigil_inference_log_retrying", "1 while the inference log destination is failing transiently and writes are being retried, else 0.");
        _walBytes = factory.CreateGauge("vigil_inference_log_wal_bytes", "Bytes in the inference log write-ahead file not yet shipped to the destination.");
        _walFsyncs = factory.CreateCounter("vigil_inference_log_wal_fsyncs_total", "fsyncs of the inference log write-ahead file (one per group commit).");
        _walRows = factory.CreateCounter("vigil_inference_log_wal_rows_total", "Inference log rows made durable in the write-ahead file.");
        _fxExplanations = factory.CreateCounter("vigil_fx_explanations_total",
            "FX anomaly reasons by LLM explanation outcome: rewritten, or the template kept (timeout, error, empty, unconfigured, over_limit).", "outcome");
        _featureDrift = factory.CreateGauge("vigil_feature_drift",
            "Online drift of a feature: its statistic (stattest label; Jensen-Shannon distance or PSI: higher is more drift; p-value tests: lower) over the model's sliding window against the bundle's reference profile bins.",
            "model", "feature", "stattest");
        _datasetDriftShare = factory.CreateGauge("vigil_dataset_drift_share", "Share of the model's features drifting in its online window (dataset drift at >= 0.5).", "model");
        _datasetDrift = factory.CreateGauge("vigil_dataset_drift", "1 when the model's online window shows dataset drift (drift share >= 0.5), else 0.", "model");
        _alertRate = factory.CreateGauge("vigil_alert_rate", "Share of the scored items in the model's online window above its threshold.", "model");
        _referenceAlertRate = factory.CreateGauge("vigil_reference_alert_rate", "The model's alert rate on its reference profile at its threshold.", "model");
        _scoreDrift = factory.CreateGauge("vigil_score_drift", "Online drift of the model's score distribution against the reference profile (stattest label).", "model", "stattest");
        _driftWindowItems = factory.CreateGauge("vigil_online_drift_window_items", "Decided items in the model's online drift window.", "model");
    }

    /// <summary>The registry holding every metric of this server.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts a finished request.</summary>
    public void Request(string route, int status, double seconds)
    {
        _requestChildren.GetOrAdd((route, status), static (k, c) => c.WithLabels(k.Route, k.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)), _requests).Inc();
        _latencyChildren.GetOrAdd(route, static (k, h) => h.WithLabels(k), _latency).Observe(seconds);
    }

    /// <summary>Counts <paramref name="count"/> FX anomaly explanations with <paramref name="outcome"/>.</summary>
    public void FxExplanation(string outcome, int count = 1) => _fxExplanations.WithLabels(outcome).Inc(count);

    /// <summary>Counts rows scored by <paramref name="model"/>.</summary>
    public void RowsScored(string model, int rows) =>
        _rowChildren.GetOrAdd(model, static (k, c) => c.WithLabels(k), _rows).Inc(rows);

    /// <summary>Records that <paramref name="model"/> now serves <paramref name="version"/>.</summary>
    public void ModelLoaded(string model, int version)
    {
        _loads.WithLabels(model).Inc();
        _loadedVersion.WithLabels(model).Set(version);
    }

    /// <summary>Records that the served version of <paramref name="model"/> changed at <paramref name="at"/>.</summary>
    public void ModelSwapped(string model, string trigger, DateTimeOffset at)
    {
        _swaps.WithLabels(model, trigger).Inc();
        _swappedAt.WithLabels(model).Set(at.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Records the state of the registry listener.</summary>
    public void ListenerConnected(bool connected) => _listenerConnected.Set(connected ? 1 : 0);

    /// <summary>Counts a registry notification.</summary>
    public void RegistryNotification() => _notifications.Inc();

    /// <summary>Counts a failed model load.</summary>
    public void ModelLoadFailed(string model) => _loadFailures.WithLabels(model).Inc();

    /// <summary>Sets the inference log queue depth.</summary>
    public void QueueDepth(int depth) => _queueDepth.Set(depth);

    /// <summary>Counts written inference log rows.</summary>
    public void LogWritten(int rows) => _logWritten.Inc(rows);

    /// <summary>Counts a dropped inference log row.</summary>
    public void LogDropped() => _logDropped.Inc();

    /// <summary>Counts a failed batch write.</summary>
    public void LogWriteFailed() => _logWriteFailures.Inc();

    /// <summary>Counts a row written to the dead-letter file.</summary>
    public void LogDeadLettered() => _logDeadLettered.Inc();

    /// <summary>Counts rows whose text was made storable.</summary>
    public void LogAltered(int rows) => _logAltered.Inc(rows);

    /// <summary>Counts a request answered 503 because its row could not be made durable.</summary>
    public void LogRejected() => _logRejected.Inc();

    /// <summary>Sets whether writes to the destination are being retried.</summary>
    public void LogRetrying(bool retrying) => _logRetrying.Set(retrying ? 1 : 0);

    /// <summary>Sets the bytes held by the write-ahead file.</summary>
    public void WalBytes(long bytes) => _walBytes.Set(bytes);

    /// <summary>Counts one group commit of <paramref name="rows"/> rows (one fsync).</summary>
    public void WalFlushed(int rows)
    {
        _walFsyncs.Inc();
        _walRows.Inc(rows);
    }

    /// <summary>Rows written to the dead-letter file so far.</summary>
    public double DeadLetteredRows => _logDeadLettered.Value;

    /// <summary>Rows made storable so far.</summary>
    public double AlteredRows => _logAltered.Value;

    /// <summary>Dropped rows so far.</summary>
    public double DroppedRows => _logDropped.Value;

    /// <summary>Written rows so far.</summary>
    public double WrittenRows => _logWritten.Value;

    /// <summary>Sets the online drift gauges of <paramref name="model"/> from a report over <paramref name="items"/> windowed items.</summary>
    public void OnlineDrift(string model, Vigil.Monitoring.DriftReport report, int items)
    {
        ArgumentNullException.ThrowIfNull(report);
        var current = new HashSet<(string, string)>();
        foreach (var f in report.Features)
        {
            _featureDrift.WithLabels(model, f.Name, f.StatTest).Set(f.Score);
            current.Add((f.Name, f.StatTest));
        }

        // A series this report no longer has (a feature the new version dropped, another statistic) is removed, not left
        // at its last value for an alert rule to keep reading.
        foreach (var labels in _featureDrift.GetAllLabelValues())
        {
            if (labels[0] == model && !current.Contains((labels[1], labels[2])))
            {
                _featureDrift.RemoveLabelled(labels);
            }
        }

        foreach (var labels in _scoreDrift.GetAllLabelValues())
        {
            if (labels[0] == model && (report.Prediction is null || labels[1] != report.Prediction.StatTest))
            {
                _scoreDrift.RemoveLabelled(labels);
            }
        }

        if (report.Prediction is null)
        {
            _alertRate.RemoveLabelled(model);
            _referenceAlertRate.RemoveLabelled(model);
        }

        _datasetDriftShare.WithLabels(model).Set(report.DriftShare);
        _datasetDrift.WithLabels(model).Set(report.DatasetDrift ? 1 : 0);
        _driftWindowItems.WithLabels(model).Set(items);
        if (report.Prediction is { } p)
        {
            _alertRate.WithLabels(model).Set(p.AlertRateCurrent);
            _referenceAlertRate.WithLabels(model).Set(p.AlertRateReference);
            _scoreDrift.WithLabels(model, p.StatTest).Set(p.Score);
        }
    }

    /// <summary>Removes the online drift series of every model not in <paramref name="served"/> (a model no longer served).</summary>
    public void ForgetOnlineDrift(IReadOnlySet<string> served)
    {
        ArgumentNullException.ThrowIfNull(served);
        foreach (var gauge in (Gauge[])[_featureDrift, _scoreDrift, _datasetDriftShare, _datasetDrift, _driftWindowItems, _alertRate, _referenceAlertRate])
        {
            foreach (var labels in gauge.GetAllLabelValues())
            {
                if (!served.Contains(labels[0]))
                {
                    gauge.RemoveLabelled(labels);
                }
            }
        }
    }

    /// <summary>Writes every metric in the Prometheus text exposition format.</summary>
    public Task WriteAsync(Stream destination, CancellationToken cancellationToken) =>
        Registry.CollectAndExportAsTextAsync(destination, cancellationToken);
}
