using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// Writes inference log rows in the background and keeps the log's promises when the destination misbehaves.
/// <list type="bullet">
/// <item><c>async</c> mode (<see cref="InferenceLogDurability.Async"/>): requests enqueue into a bounded channel after
/// their response; one reader takes up to a batch at a time and writes it. When the queue is full a request waits
/// (back-pressure, the default) or its row is dropped and counted (drop mode).</item>
/// <item><c>ack</c> mode (<see cref="InferenceLogDurability.Ack"/>): a request appends its row to the
/// <see cref="InferenceWriteAheadLog"/> and is answered once the row is fsynced; a shipper loop writes sealed segments to
/// the destination and deletes them. A destination outage grows the write-ahead folder (up to its cap, then 503).</item>
/// </list>
/// Every write tells a transient failure (store down, disk full, timeout: retried with bounded exponential back-off
/// and jitter, never dropped) from a permanent one (a row that can never be stored: the batch is split in halves down to
/// single rows, and a single row that still fails goes to the <see cref="InferenceDeadLetterFile"/>, counted), see
/// <see cref="InferenceLogFailure"/>. Rows are made storable first (<see cref="InferenceRecordSanitizer"/>). On stop
/// the writer gets <see cref="ServingOptions.InferenceLogShutdownSeconds"/>; what it could not write by then is saved
/// in the write-ahead folder (written at the next start) and the log says how many rows and where.
/// </summary>
public sealed partial class InferenceLogWriter : IHostedLifecycleService, IAsyncDisposable
{
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    // How long an idle shipper lets the active write-ahead segment fill before it asks for it to be sealed: at most 20
    // files a second, and rows reach the log store at most that much later (ack mode's promise is the fsync). The
    // shipper decodes and writes a whole segment at once, and on a saturated 2-core server that burst is what the
    // acknowledged requests queue behind: eng/bench-serve.sh's ack load (wrk 2 threads, 32 connections, persistent
    // servers in 3 rotating rounds of 8 s, 2026-12-02) gave a p99 of 13.6-14.5 ms at 200 ms and 6.6-7.7 ms at 50 ms
    // (6.9-7.7 at 10 and 20 ms) for the same req/s. (A new file's first fsync, the reason for 200 ms earlier, was not
    // the tail: with fsync made a no-op the p99 stayed at 10.7-13.9 ms at 200 ms.)
    private static readonly TimeSpan SegmentLinger = TimeSpan.FromMilliseconds(50);

    private readonly Channel<InferenceRecord> _channel;
    private readonly IInferenceLogSink? _sink;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ServingOptions _options;
    private readonly InferenceWriteAheadLog? _wal;
    private readonly FileStream? _walLock;
    private readonly InferenceDeadLetterFile? _deadLetter;
    private readonly ResiliencePipeline _retry;
    private readonly CancellationTokenSource _hardStop = new();
    private readonly List<InferenceRecord> _leftover = [];
    private readonly TimeProvider _time;
    private Task? _pump;
    private Task? _shipper;
    private int _depth;
    private string? _lastError;
    private DateTimeOffset? _failingSince;
    private int _stopped;

    /// <summary>Creates the writer; a null sink means the log is off.</summary>
    /// <exception cref="InferenceLogUnavailableException">ack mode and the write-ahead folder cannot be opened or is used by another server.</exception>
    public InferenceLogWriter(IInferenceLogSink? sink, ServingOptions options, ServingMetrics metrics, ILogger<InferenceLogWriter> logger)
        : this(sink, options, metrics, logger, null, null)
    {
    }

    /// <summary>Creates the writer with the longest delay between retries (tests shorten it) and a clock.</summary>
    /// <exception cref="InferenceLogUnavailableException">ack mode and the write-ahead folder cannot be opened or is used by another server.</exception>
    public InferenceLogWriter(IInferenceLogSink? sink, ServingOptions options, ServingMetrics metrics, ILogger<InferenceLogWriter> logger, TimeSpan? maxRetryDelay, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _sink = sink;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _channel = Channel.CreateBounded<InferenceRecord>(new BoundedChannelOptions(options.InferenceLogCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        var maxDelay = maxRetryDelay ?? TimeSpan.FromSeconds(5);
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && ShouldRetry(e, args.AttemptNumber)),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = maxDelay < TimeSpan.FromMilliseconds(100) ? maxDelay : TimeSpan.FromMilliseconds(100),
            MaxDelay = maxDelay,
            OnRetry = args =>
            {
                OnTransientFailure(args.Outcome.Exception!, args.AttemptNumber + 1, args.RetryDelay);
                return ValueTask.CompletedTask;
            },
        }).Build();
        if (sink is null)
        {
            return;
        }

        var home = StoreFactory.ResolveHome(options.Home);
        _deadLetter = new InferenceDeadLetterFile(options.InferenceLogDeadLetter ?? Path.Combine(home, "inference-log-dead-letter.jsonl"), _time);
        var folder = Path.GetFullPath(options.InferenceLogWalFolder ?? Path.Combine(home, "inference-wal"));
        try
        {
            Directory.CreateDirectory(folder);
            _walLock = new FileStream(Path.Combine(folder, "wal.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var message = $"cannot lock the inference log write-ahead folder {folder} (another vigil serve on the same home, or no access): {e.Message}; give each server its own VIGIL_HOME or VIGIL_INFERENCE_LOG_WAL_FOLDER";
            if (options.InferenceLogDurability == InferenceLogDurability.Ack)
            {
                throw new InferenceLogUnavailableException(message, e);
            }

            LogWalUnavailable(message);
            return;
        }

        _wal = new InferenceWriteAheadLog(folder, options.InferenceLogWalMaxBytes, metrics: metrics);
        if (_wal.ReplaySegments > 0)
        {
            LogReplaying(_wal.ReplaySegments, _wal.Bytes, folder, sink.Description);
        }
    }

    /// <summary>True when rows are being logged.</summary>
    public bool Enabled => _sink is not null;

    /// <summary>
    /// True when the destination stores items encoded (the SQL stores): a request then hands over its row with
    /// <see cref="InferenceRecord.ItemsEncoded"/> rather than item objects (see <see cref="EnqueueAsync"/>).
    /// </summary>
    public bool WantsEncodedItems => _sink?.StoresEncodedItems == true;

    /// <summary>True in ack mode: the response waits for <see cref="EnqueueAsync"/>, which completes once the row is durable.</summary>
    public bool AcknowledgesBeforeResponse => _sink is not null && _options.InferenceLogDurability == InferenceLogDurability.Ack;

    /// <summary>Where rows go, for <c>/v1/version</c> and logs.</summary>
    public string Destination => _sink?.Description ?? "off";

    /// <summary>Rows waiting to be written (async mode's queue plus the rows being written).</summary>
    public int QueueDepth => Volatile.Read(ref _depth);

    /// <summary>The write-ahead log (null when the log is off or its folder is used by another server in async mode).</summary>
    public InferenceWriteAheadLog? WriteAheadLog => _wal;

    /// <summary>The dead-letter file (null when the log is off).</summary>
    public InferenceDeadLetterFile? DeadLetter => _deadLetter;

    /// <summary>The log's state for <c>/readyz</c>: healthy or retrying, what is pending, what was dead-lettered.</summary>
    public InferenceLogStatus Status => new(
        _options.InferenceLogDurability.ToString().ToLowerInvariant(),
        Destination,
        _sink is null ? "off" : _failingSince is null ? "ok" : "retrying",
        QueueDepth,
        _wal?.Bytes ?? 0,
        _wal?.SealedSegments ?? 0,
        (long)_metrics.DeadLetteredRows,
        (long)_metrics.AlteredRows,
        _lastError,
        _failingSince);

    /// <summary>
    /// Logs <paramref name="record"/>. async mode: enqueues it (waiting while the queue is full, or dropping and counting
    /// it in drop mode). ack mode: completes once the row is fsynced to the write-ahead file.
    /// </summary>
    /// <exception cref="InferenceLogUnavailableException">ack mode: the row cannot be made durable (write-ahead file at its cap, disk failure).</exception>
    public ValueTask EnqueueAsync(InferenceRecord record, CancellationToken cancellationToken = default)
    {
        if (_sink is null)
        {
            return ValueTask.CompletedTask;
        }

        if (_options.InferenceLogDurability == InferenceLogDurability.Ack)
        {
            var clean = InferenceRecordSanitizer.Sanitize(record);
            if (!ReferenceEquals(clean, record))
            {
                _metrics.LogAltered(1);
            }

            var appended = _wal!.AppendAsync(clean);
            if (appended.IsCompletedSuccessfully)
            {
                return ValueTask.CompletedTask;
            }

            return new ValueTask(ObserveRejection(appended));
        }

        // A queued row lives until its batch is written, through a collection or two at full load: its items as one
        // encoded array cost those collections a single copy instead of a few dozen objects (the store writes the bytes).
        // The scoring paths build rows encoded already (WantsEncodedItems); this covers any other caller.
        if (WantsEncodedItems)
        {
            record = record.WithEncodedItems();
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
            if (_wal is not null)
            {
                _shipper = Task.Run(ShipAsync, CancellationToken.None);
            }
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
    /// After the web server has stopped (every in-flight request answered and logged), closes the queue and the
    /// write-ahead file and waits, at most <see cref="ServingOptions.InferenceLogShutdownSeconds"/>, until every row is
    /// written. Rows still unwritten then are saved in the write-ahead folder (written at the next start), or in the
    /// dead-letter file when that fails; the log names the count and the place.
    /// </summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || _sink is null)
        {
            return;
        }

        _channel.Writer.TryComplete();
        var limit = TimeSpan.FromSeconds(_options.InferenceLogShutdownSeconds);
        var pumpDone = _pump ?? Task.CompletedTask;
        var work = Task.WhenAll(pumpDone, CloseWalAndShipAsync());
        try
        {
            await work.WaitAsync(limit, _time, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }

        // The limit passed: stop retrying, and keep what is left where the next start finds it.
        await _hardStop.CancelAsync().ConfigureAwait(false);
        await work.ConfigureAwait(false);
        List<InferenceRecord> left;
        lock (_leftover)
        {
            left = [.. _leftover];
            _leftover.Clear();
        }

        while (_channel.Reader.TryRead(out var queued))
        {
            left.Add(queued);
        }

        var walRows = _wal is { IsEmpty: false } ? _wal.SealedSegments : 0;
        if (left.Count > 0)
        {
            await SpillAsync(left).ConfigureAwait(false);
        }

        if (walRows > 0)
        {
            LogShutdownWalLeft(_wal!.SealedSegments, _wal.Bytes, Destination, _options.InferenceLogShutdownSeconds, _wal.Folder);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StoppedAsync(CancellationToken.None).ConfigureAwait(false);
        if (_wal is not null)
        {
            await _wal.DisposeAsync().ConfigureAwait(false);
        }

        if (_walLock is not null)
        {
            await _walLock.DisposeAsync().ConfigureAwait(false);
        }

        if (_sink is not null)
        {
            await _sink.DisposeAsync().ConfigureAwait(false);
        }

        _hardStop.Dispose();
    }

    /// <summary>
    /// Writes <paramref name="rows"/> to the sink, telling transient failures (retried) from permanent ones (isolated by
    /// halving, single rows dead-lettered). Returns false when the hard stop interrupted it; the rows it did not handle
    /// are then added to <paramref name="leftover"/> (when given).
    /// </summary>
    internal async Task<bool> WriteRowsAsync(IReadOnlyList<InferenceRecord> rows, List<InferenceRecord>? leftover)
    {
        var batch = SanitizeAll(rows);
        var token = _hardStop.Token;
        try
        {
            await _retry.ExecuteAsync(static (state, ct) => new ValueTask(state.Sink.WriteAsync(state.Batch, ct)), (Sink: _sink!, Batch: batch), token).ConfigureAwait(false);
            _metrics.LogWritten(batch.Count);
            Recovered();
            return true;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Keep(leftover, batch);
            return false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _metrics.LogWriteFailed();
            if (batch.Count == 1)
            {
                return await DeadLetterAsync(batch[0], e, leftover).ConfigureAwait(false);
            }

            LogIsolating(batch.Count, Destination, Describe(e));
            var half = batch.Count / 2;
            var first = await WriteRowsAsync(Slice(batch, 0, half), leftover).ConfigureAwait(false);
            var second = await WriteRowsAsync(Slice(batch, half, batch.Count - half), leftover).ConfigureAwait(false);
            return first && second;
        }
    }

    private static bool ShouldRetry(Exception e, int attempt) => InferenceLogFailure.Classify(e) switch
    {
        InferenceLogFailureKind.Transient => true,
        InferenceLogFailureKind.Unknown => attempt < 2, // three tries, then handled as permanent (isolated, never lost)
        _ => false,
    };

    /// <summary>The exception's message followed by each inner cause its message does not already hold.</summary>
    private static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!text.Contains(inner.Message, StringComparison.Ordinal))
            {
                text += ": " + inner.Message;
            }
        }

        return text;
    }

    private static IReadOnlyList<InferenceRecord> Slice(IReadOnlyList<InferenceRecord> rows, int start, int count)
    {
        var part = new InferenceRecord[count];
        for (var i = 0; i < count; i++)
        {
            part[i] = rows[start + i];
        }

        return part;
    }

    private void Keep(List<InferenceRecord>? leftover, IReadOnlyList<InferenceRecord> rows)
    {
        if (leftover is null)
        {
            return;
        }

        lock (leftover)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                leftover.Add(rows[i]);
            }
        }
    }

    private IReadOnlyList<InferenceRecord> SanitizeAll(IReadOnlyList<InferenceRecord> rows)
    {
        InferenceRecord[]? copy = null;
        var altered = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var clean = InferenceRecordSanitizer.Sanitize(rows[i]);
            if (!ReferenceEquals(clean, rows[i]))
            {
                if (copy is null)
                {
                    copy = new InferenceRecord[rows.Count];
                    for (var j = 0; j < i; j++)
                    {
                        copy[j] = rows[j];
                    }
                }

                altered++;
            }

            if (copy is not null)
            {
                copy[i] = clean;
            }
        }

        if (altered > 0)
        {
            _metrics.LogAltered(altered);
        }

        return copy ?? rows;
    }

    private async Task<bool> DeadLetterAsync(InferenceRecord row, Exception failure, List<InferenceRecord>? leftover)
    {
        var reason = $"{Destination} refused the row permanently: {Describe(failure)}";
        try
        {
            await _retry.ExecuteAsync(static (state, ct) => new ValueTask(state.File.AppendAsync(state.Row, state.Reason, ct)),
                (File: _deadLetter!, Row: row, Reason: reason), _hardStop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_hardStop.IsCancellationRequested)
        {
            Keep(leftover, [row]);
            return false;
        }

        _metrics.LogDeadLettered();
        LogDeadLettered(row.LogId, row.RequestId, _deadLetter!.Path, reason);
        return true;
    }

    private void OnTransientFailure(Exception e, int attempt, TimeSpan delay)
    {
        _metrics.LogWriteFailed();
        _metrics.LogRetrying(true);
        _lastError = Describe(e);
        _failingSince ??= _time.GetUtcNow();
        LogWriteFailed(Destination, attempt, delay.TotalMilliseconds, _lastError);
    }

    private void Recovered()
    {
        if (_failingSince is { } since)
        {
            _failingSince = null;
            _metrics.LogRetrying(false);
            LogRecovered(Destination, (_time.GetUtcNow() - since).TotalSeconds);
        }
    }

    private async Task ObserveRejection(Task appended)
    {
        try
        {
            await appended.ConfigureAwait(false);
        }
        catch (InferenceLogUnavailableException)
        {
            _metrics.LogRejected();
            throw;
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
            await WriteRowsAsync([record], _leftover).ConfigureAwait(false);
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

            var completed = await WriteRowsAsync(batch, _leftover).ConfigureAwait(false);
            Interlocked.Add(ref _depth, -batch.Count);
            _metrics.QueueDepth(QueueDepth);
            batch.Clear();
            if (!completed)
            {
                return; // the hard stop: the rest of the queue is saved by StoppedAsync
            }
        }
    }

    private async Task CloseWalAndShipAsync()
    {
        if (_wal is not null)
        {
            await _wal.CloseAsync().ConfigureAwait(false);
        }

        if (_shipper is not null)
        {
            await _shipper.ConfigureAwait(false);
        }
    }

    /// <summary>Ships sealed write-ahead segments to the sink, oldest first, deleting each once written.</summary>
    private async Task ShipAsync()
    {
        var wal = _wal!;
        while (true)
        {
            string? segment;
            try
            {
                segment = await wal.NextSegmentAsync(SegmentLinger, _hardStop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (segment is null)
            {
                return;
            }

            List<InferenceRecord> records;
            try
            {
                (records, var ignored, var problem) = InferenceWriteAheadLog.ReadSegment(segment);
                if (ignored > 0)
                {
                    LogTornTail(segment, ignored, problem ?? "", records.Count);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                string kept;
                try
                {
                    kept = wal.Quarantine(segment);
                }
                catch (Exception moveFailure) when (moveFailure is IOException or UnauthorizedAccessException)
                {
                    LogSegmentUnreadable(segment, e.Message, segment);
                    await Task.Delay(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
                    continue;
                }

                LogSegmentUnreadable(segment, e.Message, kept);
                continue;
            }

            var batchSize = _options.InferenceLogBatch;
            for (var start = 0; start < records.Count; start += batchSize)
            {
                var part = records.GetRange(start, Math.Min(batchSize, records.Count - start));
                if (!await WriteRowsAsync(part, leftover: null).ConfigureAwait(false))
                {
                    return; // hard stop: the segment stays on disk for the next start (a row already written is ignored then)
                }
            }

            try
            {
                wal.Release(segment);
            }
            catch (InferenceLogUnavailableException e)
            {
                LogSegmentUnreadable(segment, e.Message, segment);
                await Task.Delay(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Saves rows a stop could not write: in the write-ahead folder, else the dead-letter file.</summary>
    private async Task SpillAsync(List<InferenceRecord> rows)
    {
        if (_wal is not null)
        {
            try
            {
                var path = _wal.Spill(rows);
                LogShutdownSpilled(rows.Count, Destination, _options.InferenceLogShutdownSeconds, path);
                return;
            }
            catch (InferenceLogUnavailableException e)
            {
                LogSpillFailed(rows.Count, _wal.Folder, e.Message);
            }
        }

        var saved = 0;
        foreach (var row in rows)
        {
            try
            {
                await _deadLetter!.AppendAsync(row, $"not written to {Destination} before the stop limit of {_options.InferenceLogShutdownSeconds} s (VIGIL_INFERENCE_LOG_SHUTDOWN_SECONDS)").ConfigureAwait(false);
                saved++;
                _metrics.LogDeadLettered();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogLost(rows.Count - saved, _deadLetter!.Path, e.Message);
                return;
            }
        }

        LogShutdownSpilled(saved, Destination, _options.InferenceLogShutdownSeconds, _deadLetter!.Path);
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "Inference log write to {Destination} failed (attempt {Attempt}), transient; retrying in {DelayMs:F0} ms: {Error}")]
    private partial void LogWriteFailed(string destination, int attempt, double delayMs, string error);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Inference log writes to {Destination} succeed again after {Seconds:F1} s of failures")]
    private partial void LogRecovered(string destination, double seconds);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "Inference log batch of {Rows} rows refused by {Destination} (permanent failure: {Error}); writing it in halves to isolate the bad row")]
    private partial void LogIsolating(int rows, string destination, string error);

    [LoggerMessage(EventId = 33, Level = LogLevel.Error, Message = "Inference log row {LogId} (request {RequestId}) can never be stored; written to the dead-letter file {Path}: {Reason}")]
    private partial void LogDeadLettered(string logId, string requestId, string path, string reason);

    [LoggerMessage(EventId = 34, Level = LogLevel.Warning, Message = "Stop: {Rows} inference log rows not written to {Destination} within {Seconds} s (VIGIL_INFERENCE_LOG_SHUTDOWN_SECONDS); saved in {Path}, written at the next start")]
    private partial void LogShutdownSpilled(int rows, string destination, int seconds, string path);

    [LoggerMessage(EventId = 35, Level = LogLevel.Warning, Message = "Stop: {Segments} write-ahead segments ({Bytes} bytes) not shipped to {Destination} within {Seconds} s; kept in {Folder}, shipped at the next start")]
    private partial void LogShutdownWalLeft(int segments, long bytes, string destination, int seconds, string folder);

    [LoggerMessage(EventId = 36, Level = LogLevel.Critical, Message = "Stop: {Rows} inference log rows are LOST: they could be saved neither in the write-ahead folder nor in the dead-letter file {Path}: {Error}")]
    private partial void LogLost(int rows, string path, string error);

    [LoggerMessage(EventId = 37, Level = LogLevel.Error, Message = "Stop: cannot save {Rows} inference log rows in the write-ahead folder {Folder} ({Error}); trying the dead-letter file")]
    private partial void LogSpillFailed(int rows, string folder, string error);

    [LoggerMessage(EventId = 38, Level = LogLevel.Information, Message = "Inference log: replaying {Segments} write-ahead segments ({Bytes} bytes) from {Folder} into {Destination}")]
    private partial void LogReplaying(int segments, long bytes, string folder, string destination);

    [LoggerMessage(EventId = 39, Level = LogLevel.Warning, Message = "Inference log write-ahead segment {Segment}: {Bytes} bytes at its end ignored ({Problem}; a write cut short by a crash, never acknowledged); {Records} records before it are shipped")]
    private partial void LogTornTail(string segment, long bytes, string problem, int records);

    [LoggerMessage(EventId = 40, Level = LogLevel.Error, Message = "Inference log write-ahead segment {Segment} cannot be read or removed ({Error}); kept as {KeptAs}")]
    private partial void LogSegmentUnreadable(string segment, string error, string keptAs);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "{Message}; rows a stop cannot write go to the dead-letter file instead")]
    private partial void LogWalUnavailable(string message);
}

/// <summary>The inference log's state as <c>/readyz</c> reports it.</summary>
/// <param name="Durability"><c>async</c> or <c>ack</c>.</param>
/// <param name="Destination">Where rows go.</param>
/// <param name="State"><c>ok</c>, <c>retrying</c> (the destination fails transiently; rows wait) or <c>off</c>.</param>
/// <param name="QueuedRows">Rows in async mode's memory queue.</param>
/// <param name="WalBytes">Bytes in the write-ahead folder not yet shipped.</param>
/// <param name="WalSegments">Sealed write-ahead segments waiting to be shipped.</param>
/// <param name="DeadLetteredRows">Rows written to the dead-letter file since start.</param>
/// <param name="AlteredRows">Rows whose text was made storable since start.</param>
/// <param name="LastError">The last transient failure, or null.</param>
/// <param name="FailingSince">When the current run of transient failures began, or null when writes succeed.</param>
public sealed record InferenceLogStatus(
    string Durability, string Destination, string State, int QueuedRows, long WalBytes, int WalSegments,
    long DeadLetteredRows, long AlteredRows, string? LastError, DateTimeOffset? FailingSince);
