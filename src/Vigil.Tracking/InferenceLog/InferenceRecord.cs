namespace Vigil.Tracking;

/// <summary>
/// One row of the inference log: what a scoring request asked, what it got back, how long each stage took.
/// Written by the server's background writer in batches (see <see cref="IInferenceLogSink"/>).
/// Times are unix microseconds (UTC); durations are microseconds.
/// </summary>
public sealed class InferenceRecord
{
    /// <summary>A unique id of this log row (a version 7 GUID in "N" format: sortable by time).</summary>
    public required string LogId { get; init; }

    /// <summary>The request id (X-Request-ID, accepted from the client or generated).</summary>
    public required string RequestId { get; init; }

    /// <summary>When the server started handling the request (unix microseconds, UTC).</summary>
    public long StartUs { get; init; }

    /// <summary>When the response was complete (unix microseconds, UTC).</summary>
    public long EndUs { get; init; }

    /// <summary>The protocol route, e.g. <c>v1/predict</c>, <c>invocations</c>, <c>v2/infer</c>.</summary>
    public required string Route { get; init; }

    /// <summary>The model name, or null when the request named no known model.</summary>
    public string? Model { get; init; }

    /// <summary>The model version that scored the request, or null when none did.</summary>
    public int? Version { get; init; }

    /// <summary>The HTTP status of the response.</summary>
    public int Status { get; init; }

    /// <summary>The number of rows (instances) in the request; 0 when it could not be parsed.</summary>
    public int Rows { get; init; }

    /// <summary>The number of rows that were scored (the others got a per-item error).</summary>
    public int ScoredRows { get; init; }

    /// <summary>The request body as sent (payload mode <c>full</c>), its SHA-256 as <c>sha256:HEX</c> (<c>hashed</c>), or null (<c>off</c>).</summary>
    /// <remarks>When the record was built from <see cref="RequestPayloadUtf8"/>, this is decoded on first use.</remarks>
    public string? RequestPayload
    {
        get => _requestPayload ??= Decode(RequestPayloadUtf8);
        init => _requestPayload = value;
    }

    /// <summary>The response body (<c>full</c>), its SHA-256 (<c>hashed</c>), or null (<c>off</c>).</summary>
    /// <remarks>When the record was built from <see cref="ResponsePayloadUtf8"/>, this is decoded on first use.</remarks>
    public string? ResponsePayload
    {
        get => _responsePayload ??= Decode(ResponsePayloadUtf8);
        init => _responsePayload = value;
    }

    /// <summary>
    /// The request payload as UTF-8 (an alternative to <see cref="RequestPayload"/> that the server fills without
    /// transcoding; the SQLite sink binds it as is). Null when the payload is given as a string or is absent.
    /// </summary>
    public byte[]? RequestPayloadUtf8 { get; init; }

    /// <summary>The response payload as UTF-8 (see <see cref="RequestPayloadUtf8"/>).</summary>
    public ReadOnlyMemory<byte>? ResponsePayloadUtf8 { get; init; }

    /// <summary>Microseconds spent reading and parsing the body.</summary>
    public long ParseUs { get; init; }

    /// <summary>Microseconds spent turning instances into features.</summary>
    public long TransformUs { get; init; }

    /// <summary>Microseconds spent in the detector.</summary>
    public long ScoreUs { get; init; }

    /// <summary>The error detail for a failed request (4xx/5xx), else null.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// Inference log v2: one entry per item of the request (score, label, rule, the input values used), or null when
    /// the request never reached a model (malformed body, unknown model, ...).
    /// </summary>
    /// <remarks>When the record holds its items encoded (<see cref="ItemsEncoded"/>), they are decoded on first use.</remarks>
    public InferenceItems? Items
    {
        get => _items ??= ItemsEncoded is { } encoded ? InferenceItemsCodec.Decode(encoded) : null;
        init => _items = value;
    }

    /// <summary>
    /// The items as <see cref="InferenceItemsCodec"/> encodes one request's items (version 1), an alternative to
    /// <see cref="Items"/>: the server keeps a queued row's items in this one array rather than a few dozen objects, which
    /// its collections would otherwise copy while the row waits for the writer, and the SQL stores write the bytes as they
    /// are. Null when the items are given as objects (or there are none).
    /// </summary>
    public byte[]? ItemsEncoded
    {
        get => _itemsEncoded;
        init => _itemsEncoded = value;
    }

    /// <summary>True when the record has items (<see cref="Items"/> or <see cref="ItemsEncoded"/>), without decoding them.</summary>
    public bool HasItems => _items is not null || ItemsEncoded is not null;

    /// <summary>The number of items, without decoding them (0 when none).</summary>
    public int ItemCount => _items?.Count ?? (ItemsEncoded is { } encoded ? InferenceItemsCodec.CountOf(encoded) : 0);

    /// <summary>
    /// This record with its items encoded into one array (<see cref="ItemsEncoded"/>), or the record itself when it has
    /// no item objects or they cannot be encoded (the writer then reports them as it would have).
    /// </summary>
    public InferenceRecord WithEncodedItems()
    {
        if (_items is null || ItemsEncoded is not null || _items.TryEncode() is not { } encoded)
        {
            return this;
        }

        // A field-for-field copy (every field, including any added later), then the items swapped for their encoding.
        var copy = (InferenceRecord)MemberwiseClone();
        copy._items = null;
        copy._itemsEncoded = encoded;
        return copy;
    }

    /// <summary>
    /// True when the log writer had to change the row's text to store it: a NUL character, a lone UTF-16 surrogate or
    /// invalid UTF-8 in a text field or payload was replaced by U+FFFD (see <see cref="InferenceRecordSanitizer"/>).
    /// Stored in column <c>altered</c> (store schema 7).
    /// </summary>
    public bool Altered { get; init; }

    private string? _requestPayload;
    private string? _responsePayload;
    private InferenceItems? _items;
    private byte[]? _itemsEncoded;

    private static string? Decode(byte[]? utf8) => utf8 is null ? null : System.Text.Encoding.UTF8.GetString(utf8);

    private static string? Decode(ReadOnlyMemory<byte>? utf8) => utf8 is { } m ? System.Text.Encoding.UTF8.GetString(m.Span) : null;
}

/// <summary>Where inference log batches go: the tracking store (SQLite or PostgreSQL) or Parquet files.</summary>
public interface IInferenceLogSink : IAsyncDisposable
{
    /// <summary>A human-readable description of the destination, e.g. <c>sqlite /home/u/.vigil/vigil.db</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Durably writes <paramref name="batch"/> (all rows or none). Throws on failure so that the caller can retry:
    /// a sink never drops rows silently.
    /// </summary>
    Task WriteAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when the sink stores a record's items in their encoded form (<see cref="InferenceRecord.ItemsEncoded"/>), so
    /// that a writer should hand it rows with encoded items (<see cref="InferenceRecord.WithEncodedItems"/>) rather than
    /// item objects it would only encode again. False by default.
    /// </summary>
    bool StoresEncodedItems => false;
}

/// <summary>Reads the inference log back (<c>vigil logs count</c>, <c>vigil logs tail</c>, tests).</summary>
public interface IInferenceLogReader : IAsyncDisposable
{
    /// <summary>The number of rows, optionally only for <paramref name="model"/> and/or those started at or after <paramref name="sinceUs"/>.</summary>
    Task<long> CountAsync(string? model = null, long? sinceUs = null, CancellationToken cancellationToken = default);

    /// <summary>The newest <paramref name="count"/> rows (optionally of one model), oldest first.</summary>
    Task<IReadOnlyList<InferenceRecord>> TailAsync(int count, string? model = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the logged items (inference log v2) of <paramref name="model"/>'s requests that started in
    /// [<paramref name="sinceUs"/>, <paramref name="untilUs"/>) (either bound may be open), in chunks (SQL stores: about
    /// 8,192 items; Parquet: one per items-file row group), each chunk of one feature set, items in request order. The
    /// SQL stores give requests in start-time order (ties by log id); a Parquet folder gives them batch by batch in
    /// write order. Requests logged without items (before v2, or never reaching a model) are left out. The reader holds
    /// one chunk at a time (the caller may keep the chunks it is given).
    /// </summary>
    IAsyncEnumerable<InferenceItemChunk> ReadItemsAsync(string model, long? sinceUs = null, long? untilUs = null, CancellationToken cancellationToken = default);
}
