using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// Writes inference log rows in the background: requests enqueue into a bounded channel; one reader takes up to a
/// batch at a time and writes it to the sink, retrying a failed batch (with back-off) until it is written. When the
/// queue is full a request waits (back-pressure, the default) or its row is dropped and counted (drop mode). On
/// shutdown the queue is closed and drained: every enqueued row is written before the process ends.
/// </summary>
public sealed partial class InferenceLogWriter : IHostedLifecycleService, IAsyncDisposable
{
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    private readonly Channel<InferenceRecord> _channel;
    private readonly IInferenceLogSink? _sink;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ServingOptions _options;
    private Task? _pump;
    private int _depth;

    /// <summary>Creates the writer; a null sink means the log is off.</summary>
    public InferenceLogWriter(IInferenceLogSink? sink, ServingOptions options, ServingMetrics metrics, ILogger<InferenceLogWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _sink = sink;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _channel = Channel.CreateBounded<InferenceRecord>(new BoundedChannelOptions(options.InferenceLogCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>True when rows are being logged.</summary>
    public bool Enabled => _sink is not null;

    /// <summary>Where rows go, for <c>/v1/version</c> and logs.</summary>
    public string Destination => _sink?.Description ?? "off";

    /// <summary>Rows waiting to be written.</summary>
    public int QueueDepth => Volatile.Read(ref _depth);

    /// <summary>
    /// Enqueues <paramref name="record"/>. In wait mode this waits while the queue is full; in drop mode a full
    /// queue drops the row and counts it. After shutdown began, rows are still accepted until the drain ends.
    /// </summary>
    public ValueTask EnqueueAsync(InferenceRecord record, CancellationToken cancellationToken = default)
    {
        if (_sink is null)
        {
            return ValueTask.CompletedTask;
        }

        if (_channel.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _depth);
            return ValueTask.CompletedTask;
        }

        if (_options.InferenceLogWhenFull == QueueFullMode.Drop)
        {
            _metrics.LogDropped();
            return ValueTask.CompletedTask;
        }

        return WaitAndWriteAsync(record, cancellationToken);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_sink is not null)
        {
            _pump = Task.Run(PumpAsync, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing: the web server is still finishing in-flight requests, which log their rows; see <see cref="StoppedAsync"/>.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// After the web server has stopped (every in-flight request answered and enqueued), closes the queue and waits
    /// until every row is written (or the shutdown timeout fires).
    /// </summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        if (_pump is not null)
        {
            await _pump.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        if (_pump is not null)
        {
            await _pump.ConfigureAwait(false);
        }

        if (_sink is not null)
        {
            await _sink.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WaitAndWriteAsync(InferenceRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _depth);
        }
        catch (ChannelClosedException)
        {
            // Shutdown drained and closed the log while this request was waiting: write it directly.
            await WriteWithRetryAsync([record]).ConfigureAwait(false);
        }
    }

    private async Task PumpAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<InferenceRecord>(_options.InferenceLogBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Linger briefly when the queue holds less than a batch: a few large transactions cost far less than
            // many one-row ones, and rows still reach the store within milliseconds.
            if (reader.Count < _options.InferenceLogBatch && !reader.Completion.IsCompleted)
            {
                await Task.Delay(Linger).ConfigureAwait(false);
            }

            while (batch.Count < _options.InferenceLogBatch && reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            await WriteWithRetryAsync(batch).ConfigureAwait(false);
            Interlocked.Add(ref _depth, -batch.Count);
            _metrics.QueueDepth(QueueDepth);
            batch.Clear();
        }
    }

    private async Task WriteWithRetryAsync(IReadOnlyList<InferenceRecord> batch)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _sink!.WriteAsync(batch).ConfigureAwait(false);
                _metrics.LogWritten(batch.Count);
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _metrics.LogWriteFailed();
                LogWriteFailed(batch.Count, attempt, e.Message);
                await Task.Delay(delay).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
            }
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "Inference log batch of {Rows} rows failed to write (attempt {Attempt}); retrying: {Error}")]
    private partial void LogWriteFailed(int rows, int attempt, string error);
}
