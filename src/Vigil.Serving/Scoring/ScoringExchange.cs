using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>The request body is larger than the configured limit.</summary>
internal sealed class BodyTooLargeException(long limit) : Exception($"The request body is larger than the limit of {limit} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>
/// One scoring request from body to inference log row, whatever the protocol: reads the whole body (with the size
/// limit), times the parse / transform / score stages, writes the response and enqueues exactly one log row.
/// </summary>
/// <remarks>
/// The request middleware creates the exchange of every request to a scoring path before anything else runs and keeps
/// it in the request's features (<see cref="Of"/>), so whatever answers the request — the endpoint, the size limit, the
/// rate limiter, the scoring key check, routing, the unhandled-error handler — answers through it and the request gets
/// one row; the middleware logs a request nothing answered (the client went away) when it ends
/// (<see cref="LogUnansweredAsync"/>). A row is enqueued before its response is written, so a writer that makes rows
/// durable can hold the response until its row is; a client that is gone by then is logged as
/// <see cref="ClientClosedRequest"/> with the response it would have got.
/// </remarks>
internal sealed class ScoringExchange
{
    /// <summary>The status logged for a request whose client closed the connection before the answer (nginx's 499).</summary>
    public const int ClientClosedRequest = 499;

    private readonly HttpContext _context;
    private readonly ServingRuntime _runtime;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly long _startUs;
    private ReadOnlySequence<byte> _body;
    private PipeReader? _reader;
    private long _parsed;
    private long _transformed;
    private long _scored;
    private int _logged;

    public ScoringExchange(HttpContext context, ServingRuntime runtime, string route)
    {
        _context = context;
        _runtime = runtime;
        Route = route;
        _startUs = (runtime.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
    }

    /// <summary>The exchange of a request to a scoring path (created by the request middleware), or null.</summary>
    public static ScoringExchange? Of(HttpContext context) => context.Features.Get<ScoringExchange>();

    /// <summary>The request's exchange: the middleware's, or a new one (registered in the request's features).</summary>
    public static ScoringExchange For(HttpContext context, ServingRuntime runtime, string route)
    {
        if (Of(context) is { } existing)
        {
            return existing;
        }

        var exchange = new ScoringExchange(context, runtime, route);
        context.Features.Set(exchange);
        return exchange;
    }

    /// <summary>True once the request's row was enqueued (or handed to a disabled log).</summary>
    public bool Logged => Volatile.Read(ref _logged) != 0;

    /// <summary>The protocol route label, e.g. <c>v1/predict</c>.</summary>
    public string Route { get; }

    /// <summary>The request body (valid after <see cref="ReadBodyAsync"/>).</summary>
    public ReadOnlySequence<byte> Body => _body;

    /// <summary>The model that scores (or would have scored) the request.</summary>
    public ServedModel? Model { get; set; }

    /// <summary>The requested model name when no loaded model matched.</summary>
    public string? ModelName { get; set; }

    /// <summary>The request's items once a model was found: the log row's per-item entries come from it.</summary>
    public FeatureBatch? Batch { get; set; }

    /// <summary>
    /// The per-model parts of a request that several models decided (FX: each deal goes to its client's model), one
    /// inference log row each with the same request id; null or empty: the request has one row (<see cref="Model"/>).
    /// </summary>
    public IReadOnlyList<LogPart>? Parts { get; set; }

    /// <summary>The number of items in the request.</summary>
    public int Rows { get; set; }

    /// <summary>The number of items scored.</summary>
    public int ScoredRows { get; set; }

    /// <summary>Reads the whole body; throws <see cref="BodyTooLargeException"/> beyond the limit.</summary>
    public async ValueTask ReadBodyAsync()
    {
        var limit = _runtime.Options.MaxBodyBytes;
        if (_context.Request.ContentLength is { } declared && declared > limit)
        {
            throw new BodyTooLargeException(limit);
        }

        _reader = _context.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _reader.ReadAsync(_context.RequestAborted).ConfigureAwait(false);
            }
            catch
            {
                // Nothing was read: there is no buffer to release when the response is written.
                _reader = null;
                throw;
            }

            if (result.Buffer.Length > limit)
            {
                _reader.AdvanceTo(result.Buffer.End);
                _reader = null;
                throw new BodyTooLargeException(limit);
            }

            if (result.IsCompleted)
            {
                _body = result.Buffer;
                return;
            }

            _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>Asks the server to close the connection after the response (the request body was not read to its end).</summary>
    public void CloseConnection() => _context.Response.Headers.Connection = "close";

    /// <summary>Closes the connection without an answer (its client is gone).</summary>
    public void Abort() => _context.Abort();

    /// <summary>Marks the end of parsing.</summary>
    public void Parsed() => _parsed = Stopwatch.GetTimestamp();

    /// <summary>Marks the end of the feature transform.</summary>
    public void Transformed() => _transformed = Stopwatch.GetTimestamp();

    /// <summary>Marks the end of scoring.</summary>
    public void Scored() => _scored = Stopwatch.GetTimestamp();

    /// <summary>Writes a JSON response built by <paramref name="write"/> with <paramref name="status"/> and logs the exchange.</summary>
    public async Task RespondJsonAsync<TState>(int status, TState state, Action<Utf8JsonWriter, TState> write, string contentType = "application/json")
    {
        // A pooled buffer: the response bytes are copied into the connection's pipe by the time RespondAsync returns.
        // A log row that keeps the payload (full payloads) gets a right-sized copy: keeping the pooled array instead cost
        // a fresh 16 KiB array per request (the pool never saw it again), most of the server's allocations.
        using var buffer = new PooledBufferWriter(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer, state);
        }

        var body = buffer.WrittenMemory;
        if (_runtime.Log.Enabled && _runtime.Options.InferenceLogPayloads == PayloadMode.Full)
        {
            body = body.ToArray();
        }

        await RespondAsync(status, contentType, body, error: null).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a problem+json response (in the protocol's shape, <paramref name="code"/> for MLflow) naming
    /// <paramref name="field"/> and logs the exchange; the row's error is <paramref name="logError"/> when given (for
    /// operators: e.g. the exception behind a 500), else <paramref name="detail"/>.
    /// </summary>
    public Task RespondProblemAsync(int status, string title, string detail, string? field = null, string? code = null, string? logError = null)
    {
        var bytes = Problems.Serialize(_context, status, title, detail, field, code);
        return RespondAsync(status, Problems.ContentType, bytes, logError ?? detail);
    }

    /// <summary>
    /// Logs a request that got no answer through the exchange, once the request middleware is done with it: the client
    /// closed the connection first (<see cref="ClientClosedRequest"/>, <paramref name="why"/> saying when), or something
    /// outside the exchange answered (its status). Does nothing when the request was logged already.
    /// </summary>
    public ValueTask LogUnansweredAsync(string why)
    {
        var response = _context.Response;
        if (_context.RequestAborted.IsCancellationRequested && !response.HasStarted)
        {
            return LogClientGoneAsync(why);
        }

        if (Interlocked.Exchange(ref _logged, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        ReleaseBody();
        var status = response.StatusCode;
        return LogAsync(status, ReadOnlyMemory<byte>.Empty, status >= 400 ? $"Answered {status} outside the scoring pipeline." : null);
    }

    /// <summary>Logs the request as <see cref="ClientClosedRequest"/> with <paramref name="why"/>, unless it was logged already.</summary>
    public ValueTask LogClientGoneAsync(string why)
    {
        if (Interlocked.Exchange(ref _logged, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        ReleaseBody();
        return LogAsync(ClientClosedRequest, ReadOnlyMemory<byte>.Empty, why);
    }

    private async Task RespondAsync(int status, string contentType, ReadOnlyMemory<byte> payload, string? error)
    {
        // The row is queued (in ack mode: made durable) before the response is sent, once per request.
        var first = Interlocked.Exchange(ref _logged, 1) == 0;
        ReleaseBody();
        if (first)
        {
            if (_context.RequestAborted.IsCancellationRequested)
            {
                // The client is gone: nothing can be sent; the row keeps what the answer would have been.
                var why = $"The client closed the connection before the response was sent; the answer would have been {status}" + (error is null ? "." : ": " + error);
                CountScored();
                try
                {
                    await LogAsync(ClientClosedRequest, payload, why).ConfigureAwait(false);
                }
                catch (InferenceLogUnavailableException)
                {
                    // ack mode with the write-ahead folder at its cap: there is no client to tell
                }
                return;
            }

            try
            {
                await LogAsync(status, payload, error).ConfigureAwait(false);
                CountScored();
            }
            catch (InferenceLogUnavailableException e)
            {
                // ack mode: the row cannot be made durable, so the client gets 503 naming why, never a result whose
                // log row may be lost
                status = 503;
                contentType = Problems.ContentType;
                payload = Problems.Serialize(_context, 503, "Inference log unavailable",
                    $"The request was not scored into a response because its inference log row cannot be made durable: {e.Message}.", "inference_log");
                _context.Response.Headers.RetryAfter = "1";
            }
        }

        var response = _context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, _context.RequestAborted).ConfigureAwait(false);
    }

    private void CountScored()
    {
        if (Parts is { Count: > 0 } parts)
        {
            foreach (var part in parts)
            {
                if (part.ScoredRows > 0)
                {
                    _runtime.Metrics.RowsScored(part.Model.Name, part.ScoredRows);
                }
            }

            return;
        }

        if (Model is not null && ScoredRows > 0)
        {
            _runtime.Metrics.RowsScored(Model.Name, ScoredRows);
        }
    }

    /// <summary>Enqueues the row (built only when the log is on), or one row per part; in ack mode they are durable when this completes.</summary>
    private ValueTask LogAsync(int status, ReadOnlyMemory<byte> response, string? error)
    {
        if (!_runtime.Log.Enabled)
        {
            return ValueTask.CompletedTask;
        }

        return Parts is { Count: > 0 } parts && status < 400
            ? LogPartsAsync(parts, status, response, error)
            : _runtime.Log.EnqueueAsync(BuildRecord(status, response, error), CancellationToken.None);
    }

    private async ValueTask LogPartsAsync(IReadOnlyList<LogPart> parts, int status, ReadOnlyMemory<byte> response, string? error)
    {
        foreach (var part in parts)
        {
            await _runtime.Log.EnqueueAsync(BuildRecord(status, response, error, part), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private InferenceRecord BuildRecord(int status, ReadOnlyMemory<byte> response, string? error, LogPart? part = null)
    {
        if (part is not null)
        {
            var record = BuildRecord(status, response, error);
            var end = record.EndUs;
            var (aeStart, aeEnd) = part.AutoencoderStart == 0 ? (part.DecideEnd, part.DecideEnd) : (part.AutoencoderStart, part.AutoencoderEnd);
            return new InferenceRecord
            {
                LogId = record.LogId,
                RequestId = record.RequestId,
                StartUs = record.StartUs,
                EndUs = end,
                Route = record.Route,
                Model = part.Model.Name,
                Version = part.Model.Version,
                Status = status,
                Rows = part.Rows,
                ScoredRows = part.ScoredRows,
                RequestPayload = record.RequestPayload,
                RequestPayloadUtf8 = record.RequestPayloadUtf8,
                ResponsePayload = record.ResponsePayload,
                ResponsePayloadUtf8 = record.ResponsePayloadUtf8,
                ParseUs = Micros(_start, part.DecideStart),
                TransformUs = Micros(part.DecideStart, aeStart),
                ScoreUs = Micros(aeStart, aeEnd),
                Error = error,
                Items = part.Items,
            };
        }

        var now = Stopwatch.GetTimestamp();
        var parsed = _parsed == 0 ? now : _parsed;
        var transformed = _transformed == 0 ? parsed : _transformed;
        var scored = _scored == 0 ? transformed : _scored;
        var mode = _runtime.Options.InferenceLogPayloads;
        var items = Batch?.ToLogItems();
        var encoded = _runtime.Log.WantsEncodedItems ? items?.TryEncode() : null;
        return new InferenceRecord
        {
            LogId = TimeOrderedId.New(),
            RequestId = _context.TraceIdentifier,
            StartUs = _startUs,
            EndUs = _startUs + Micros(_start, now),
            Route = Route,
            Model = Model?.Name ?? ModelName,
            Version = Model?.Version,
            Status = status,
            Rows = Rows,
            ScoredRows = ScoredRows,
            RequestPayload = mode == PayloadMode.Hashed ? _requestText : null,
            RequestPayloadUtf8 = mode == PayloadMode.Full ? _requestBytes : null,
            ResponsePayload = mode == PayloadMode.Hashed ? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(response.Span)) : null,
            ResponsePayloadUtf8 = mode == PayloadMode.Full ? response : null,
            ParseUs = Micros(_start, parsed),
            TransformUs = Micros(parsed, transformed),
            ScoreUs = Micros(transformed, scored),
            Error = error,
            Items = encoded is null ? items : null,
            ItemsEncoded = encoded,
        };
    }

    private string? _requestText;
    private byte[]? _requestBytes;

    private void ReleaseBody()
    {
        if (_reader is null)
        {
            return;
        }

        // Keep what the log needs before the pipe's buffers are recycled.
        if (_runtime.Log.Enabled && _runtime.Options.InferenceLogPayloads != PayloadMode.Off)
        {
            if (_runtime.Options.InferenceLogPayloads == PayloadMode.Full)
            {
                _requestBytes = _body.ToArray();
            }
            else
            {
                _requestText = Hash(_body);
            }
        }

        _reader.AdvanceTo(_body.End);
        _reader = null;
    }

    private static string Hash(ReadOnlySequence<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var segment in body)
        {
            sha.AppendData(segment.Span);
        }

        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static long Micros(long from, long to) => to <= from ? 0 : MicrosOf(from, to);

    private static long MicrosOf(long from, long to) => (long)((to - from) * 1_000_000.0 / Stopwatch.Frequency);

    // Responses are JSON for API clients, never inlined into HTML: only what JSON requires is escaped, so a message
    // reads "can't" rather than "can\u0027t" when a person looks at it with curl.
    internal static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>
/// The share of one model in a request several models decided: its items and when it ran (Stopwatch timestamps). Its log
/// row has <c>parse_us</c> = request start to <paramref name="DecideStart"/>, <c>transform_us</c> = to the autoencoder's
/// start, <c>score_us</c> = the autoencoder's run (zero when no item reached it).
/// </summary>
/// <param name="Model">The model.</param>
/// <param name="Rows">Its items.</param>
/// <param name="ScoredRows">Its items decided (status 200).</param>
/// <param name="Items">The per-item entries.</param>
/// <param name="DecideStart">When its decisions began.</param>
/// <param name="AutoencoderStart">When its autoencoder began, or 0 when it did not run.</param>
/// <param name="AutoencoderEnd">When its autoencoder ended, or 0.</param>
/// <param name="DecideEnd">When its decisions ended.</param>
internal sealed record LogPart(ServedModel Model, int Rows, int ScoredRows, InferenceItems Items, long DecideStart, long AutoencoderStart, long AutoencoderEnd, long DecideEnd);
