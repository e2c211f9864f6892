using Microsoft.Extensions.Logging;

namespace Vigil.Serving;

/// <summary>Where inference log rows go.</summary>
public enum InferenceLogDestination
{
    /// <summary>The tracking store (SQLite or PostgreSQL), table <c>inference_log</c>.</summary>
    Store,

    /// <summary>Parquet files in <see cref="ServingOptions.InferenceLogFolder"/>.</summary>
    Parquet,

    /// <summary>No inference log (not recommended in production).</summary>
    Off,
}

/// <summary>How much of each request and response the inference log keeps.</summary>
public enum PayloadMode
{
    /// <summary>The bodies as sent.</summary>
    Full,

    /// <summary>Their SHA-256 (<c>sha256:HEX</c>): proves what was scored without keeping personal data.</summary>
    Hashed,

    /// <summary>No payloads; timings, status and model version only.</summary>
    Off,
}

/// <summary>What a request does when the inference log queue is full.</summary>
public enum QueueFullMode
{
    /// <summary>Wait for room (back-pressure): no row is ever lost; latency grows when the store is slow.</summary>
    Wait,

    /// <summary>Drop the row and count it in <c>vigil_inference_log_dropped_total</c>.</summary>
    Drop,
}

/// <summary>When a scoring response may be sent relative to its inference log row being stored.</summary>
public enum InferenceLogDurability
{
    /// <summary>
    /// The response is sent first and its row is queued in memory for the background writer (fastest). Loss window:
    /// rows still queued in memory (up to <see cref="ServingOptions.InferenceLogCapacity"/>) are lost if the process is
    /// killed (kill -9, OOM) or crashes; a clean stop writes them (or saves them in the write-ahead folder).
    /// </summary>
    Async,

    /// <summary>
    /// The response is sent only after its row is fsynced to the write-ahead file under <c>$VIGIL_HOME/inference-wal</c>;
    /// the background writer ships the file to the destination and replays what is left at the next start. Loss
    /// window: none for a process crash; an acknowledged row is lost only with the local disk.
    /// </summary>
    Ack,
}

/// <summary>
/// The validated settings of a <c>vigil serve</c> process. Built by <see cref="ServingConfiguration.Load"/> from, in
/// increasing precedence: defaults, <c>appsettings.json</c> (section <c>Vigil</c>), <c>VIGIL_*</c> environment
/// variables and command-line options.
/// </summary>
public sealed record ServingOptions
{
    /// <summary>The address to listen on (<c>VIGIL_HOST</c>, default 127.0.0.1; use 0.0.0.0 for all interfaces).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port (<c>VIGIL_PORT</c>, default 8080; 0 picks a free port).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The tracking store (<c>VIGIL_STORE</c>); null means SQLite in <see cref="Home"/>.</summary>
    public string? Store { get; init; }

    /// <summary>The Vigil home folder (<c>VIGIL_HOME</c>); null means ~/.vigil.</summary>
    public string? Home { get; init; }

    /// <summary>The models to serve (<c>VIGIL_MODELS</c>, comma-separated <c>NAME</c>, <c>NAME@ALIAS</c>, <c>NAME/STAGE</c> or <c>NAME/VERSION</c>).</summary>
    public IReadOnlyList<ModelSpec> Models { get; init; } = [];

    /// <summary>API keys accepted by the admin endpoints (<c>VIGIL_API_KEYS</c>, comma-separated). None: admin endpoints answer 401.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>
    /// API keys the scoring endpoints require in <c>X-API-Key</c> (<c>VIGIL_SCORING_KEYS</c>, comma-separated; 401
    /// without, 403 wrong). Each key is its own rate-limit bucket. None (the default): scoring needs no key and the
    /// rate limit is per client address.
    /// </summary>
    public IReadOnlyList<string> ScoringKeys { get; init; } = [];

    /// <summary>The minimum log level (<c>VIGIL_LOG_LEVEL</c>: Trace, Debug, Information, Warning, Error, Critical, None).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Origins allowed by CORS (<c>VIGIL_CORS_ORIGINS</c>, comma-separated; <c>*</c> for any). None: CORS off.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>The largest accepted request body in bytes (<c>VIGIL_MAX_BODY_BYTES</c>, default 10 MB); larger gives 413.</summary>
    public long MaxBodyBytes { get; init; } = 10L * 1024 * 1024;

    /// <summary>Requests per second allowed per verified scoring key (<see cref="ScoringKeys"/>) or else per client address (<c>VIGIL_RATE_LIMIT</c>); 0 turns rate limiting off.</summary>
    public int RateLimitPerSecond { get; init; }

    /// <summary>How many requests beyond the per-second rate a client may burst (<c>VIGIL_RATE_LIMIT_BURST</c>, default = the rate).</summary>
    public int RateLimitBurst { get; init; }

    /// <summary>How often to re-resolve aliases in the background (<c>VIGIL_REFRESH_SECONDS</c>, default 30; 0 = only on <c>/admin/refresh-models</c>).</summary>
    public int RefreshSeconds { get; init; } = 30;

    /// <summary>
    /// On a PostgreSQL store, whether to swap models as soon as the registry announces a change (LISTEN/NOTIFY;
    /// <c>VIGIL_REGISTRY_NOTIFY</c>, default true). Polling every <see cref="RefreshSeconds"/> continues either way; on
    /// SQLite it is the only way.
    /// </summary>
    public bool RegistryNotifications { get; init; } = true;

    /// <summary>How many reasons (top contributing features) each prediction carries (<c>VIGIL_REASONS</c>, default 3; 0 = none).</summary>
    public int Reasons { get; init; } = 3;

    /// <summary>Where inference log rows go (<c>VIGIL_INFERENCE_LOG</c>: store, parquet, off; default store).</summary>
    public InferenceLogDestination InferenceLog { get; init; } = InferenceLogDestination.Store;

    /// <summary>The folder of Parquet inference log files (<c>VIGIL_INFERENCE_LOG_FOLDER</c>, default HOME/inference-log).</summary>
    public string? InferenceLogFolder { get; init; }

    /// <summary>How much of the payloads to log (<c>VIGIL_INFERENCE_LOG_PAYLOADS</c>: full, hashed, off; default full).</summary>
    public PayloadMode InferenceLogPayloads { get; init; } = PayloadMode.Full;

    /// <summary>What to do when the log queue is full (<c>VIGIL_INFERENCE_LOG_WHEN_FULL</c>: wait, drop; default wait).</summary>
    public QueueFullMode InferenceLogWhenFull { get; init; } = QueueFullMode.Wait;

    /// <summary>The inference log queue capacity in rows (<c>VIGIL_INFERENCE_LOG_CAPACITY</c>, default 65536).</summary>
    public int InferenceLogCapacity { get; init; } = 65_536;

    /// <summary>The largest batch the log writer writes at once (<c>VIGIL_INFERENCE_LOG_BATCH</c>, default 2048).</summary>
    public int InferenceLogBatch { get; init; } = 2048;

    /// <summary>When a response may be sent relative to its log row (<c>VIGIL_INFERENCE_LOG_DURABILITY</c>: async, ack; default async).</summary>
    public InferenceLogDurability InferenceLogDurability { get; init; } = InferenceLogDurability.Async;

    /// <summary>The write-ahead folder (<c>VIGIL_INFERENCE_LOG_WAL_FOLDER</c>, default HOME/inference-wal): ack mode's rows, and rows a stop could not write.</summary>
    public string? InferenceLogWalFolder { get; init; }

    /// <summary>The most bytes the write-ahead folder may hold unshipped (<c>VIGIL_INFERENCE_LOG_WAL_MAX_BYTES</c>, default 1 GiB); beyond it ack-mode requests get 503.</summary>
    public long InferenceLogWalMaxBytes { get; init; } = 1L << 30;

    /// <summary>The dead-letter file for rows the destination refuses permanently (<c>VIGIL_INFERENCE_LOG_DEAD_LETTER</c>, default HOME/inference-log-dead-letter.jsonl).</summary>
    public string? InferenceLogDeadLetter { get; init; }

    /// <summary>How long a stop waits for the log writer to write what it holds (<c>VIGIL_INFERENCE_LOG_SHUTDOWN_SECONDS</c>, default 15) before saving the rest in the write-ahead folder.</summary>
    public int InferenceLogShutdownSeconds { get; init; } = 15;

    /// <summary>How long shutdown waits for in-flight requests and the log queue to drain (<c>VIGIL_SHUTDOWN_SECONDS</c>, default 30).</summary>
    public int ShutdownSeconds { get; init; } = 30;

    /// <summary>The model used by <c>/invocations</c> without a name: the single served model, or this one (<c>VIGIL_DEFAULT_MODEL</c>).</summary>
    public string? DefaultModel { get; init; }

    /// <summary>
    /// Whether each served model keeps a sliding window of its decided items binned against its bundle's reference
    /// profile and exports drift gauges (<c>VIGIL_ONLINE_DRIFT</c>, default true; needs a bundle with a profile, format v2).
    /// </summary>
    public bool OnlineDrift { get; init; } = true;

    /// <summary>How many of the latest decided items the online drift window holds per model (<c>VIGIL_ONLINE_DRIFT_WINDOW</c>, default 10000).</summary>
    public int OnlineDriftWindow { get; init; } = 10_000;

    /// <summary>How often the online drift gauges are recomputed from the windows (<c>VIGIL_ONLINE_DRIFT_SECONDS</c>, default 15).</summary>
    public int OnlineDriftSeconds { get; init; } = 15;
}
