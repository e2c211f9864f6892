using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
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
internal sealed class ScoringExchange
{
    private readonly HttpContext _context;
    private readonly ServingRuntime _runtime;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly long _startUs;
    private ReadOnlySequence<byte> _body;
    private PipeReader? _reader;
    private long _parsed;
    private long _transformed;
    private long _scored;

    public ScoringExchange(HttpContext context, ServingRuntime runtime, string route)
    {
        _context = context;
        _runtime = runtime;
        Route = route;
        _startUs = (runtime.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
    }

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

    /// <summary>Marks the end of parsing.</summary>
    public void Parsed() => _parsed = Stopwatch.GetTimestamp();

    /// <summary>Marks the end of the feature transform.</summary>
    public void Transformed() => _transformed = Stopwatch.GetTimestamp();

    /// <summary>Marks the end of scoring.</summary>
    public void Scored() => _scored = Stopwatch.GetTimestamp();

    /// <summary>Writes a JSON response built by <paramref name="write"/> with <paramref name="status"/> and logs the exchange.</summary>
    public async Task RespondJsonAsync<TState>(int status, TState state, Action<Utf8JsonWriter, TState> write, string contentType = "application/json")
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer, state);
        }

        await RespondAsync(status, contentType, buffer.WrittenMemory, error: null).ConfigureAwait(false);
    }

    /// <summary>Writes a problem+json response (in the protocol's shape, <paramref name="code"/> for MLflow) naming <paramref name="field"/> and logs the exchange.</summary>
    public Task RespondProblemAsync(int status, string title, string detail, string? field = null, string? code = null)
    {
        var bytes = Problems.Serialize(_context, status, title, detail, field, code);
        return RespondAsync(status, Problems.ContentType, bytes, detail);
    }

    private async Task RespondAsync(int status, string contentType, ReadOnlyMemory<byte> payload, string? error)
    {
        if (_runtime.Log.AcknowledgesBeforeResponse)
        {
            await RespondAfterLogAsync(status, contentType, payload, error).ConfigureAwait(false);
            return;
        }

        var response = _context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = payload.Length;
        try
        {
            await response.Body.WriteAsync(payload, _context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            ReleaseBody();
        }

        if (_runtime.Log.Enabled)
        {
            await _runtime.Log.EnqueueAsync(BuildRecord(status, payload, error)).ConfigureAwait(false);
        }

        if (Model is not null && ScoredRows > 0)
        {
            _runtime.Metrics.RowsScored(Model.Name, ScoredRows);
        }
    }

    /// <summary>
    /// ack mode: the row is made durable first (write-ahead file, fsynced) and only then is the response sent; when the
    /// row cannot be made durable the client gets 503 naming why, never a result whose log row may be lost.
    /// </summary>
    private async Task RespondAfterLogAsync(int status, string contentType, ReadOnlyMemory<byte> payload, string? error)
    {
        ReleaseBody();
        var rejected = false;
        try
        {
            await _runtime.Log.EnqueueAsync(BuildRecord(status, payload, error)).ConfigureAwait(false);
        }
        catch (InferenceLogUnavailableException e)
        {
            rejected = true;
            status = 503;
            contentType = Problems.ContentType;
            payload = Problems.Serialize(_context, 503, "Inference log unavailable",
                $"The request was not scored into a response because its inference log row cannot be made durable: {e.Message}.", "inference_log");
            _context.Response.Headers.RetryAfter = "1";
        }

        var response = _context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, _context.RequestAborted).ConfigureAwait(false);
        if (!rejected && Model is not null && ScoredRows > 0)
        {
            _runtime.Metrics.RowsScored(Model.Name, ScoredRows);
        }
    }

    private InferenceRecord BuildRecord(int status, ReadOnlyMemory<byte> response, string? error)
    {
        var now = Stopwatch.GetTimestamp();
        var parsed = _parsed == 0 ? now : _parsed;
        var transformed = _transformed == 0 ? parsed : _transformed;
        var scored = _scored == 0 ? transformed : _scored;
        var mode = _runtime.Options.InferenceLogPayloads;
        return new InferenceRecord
        {
            LogId = Guid.CreateVersion7().ToString("N"),
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
            Items = Batch?.ToLogItems(),
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

    private static long Micros(long from, long to) => (long)((to - from) * 1_000_000.0 / Stopwatch.Frequency);

    internal static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = true };
}
