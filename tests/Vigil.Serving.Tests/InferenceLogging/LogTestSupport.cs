using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Vigil.Tracking;

namespace Vigil.Serving.Tests.InferenceLogging;

/// <summary>Rows, writers and misbehaving sinks for the inference log reliability tests.</summary>
internal static class LogTestSupport
{
    public static string NewHome() => Path.Combine(Path.GetTempPath(), "vigil-inflog-" + Guid.NewGuid().ToString("N"));

    public static InferenceRecord Row(int i, string? model = "fraud", string? error = null, bool items = true) => new()
    {
        LogId = Guid.CreateVersion7().ToString("N"),
        RequestId = "req-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        StartUs = 1_700_000_000_000_000 + i,
        EndUs = 1_700_000_000_000_100 + i,
        Route = "v1/predict",
        Model = model,
        Version = 1,
        Status = error is null ? 200 : 400,
        Rows = 2,
        ScoredRows = 2,
        RequestPayloadUtf8 = "{\"model\":\"fraud\"}"u8.ToArray(),
        ResponsePayloadUtf8 = "{\"predictions\":[]}"u8.ToArray(),
        ParseUs = 3,
        TransformUs = 4,
        ScoreUs = 5,
        Error = error,
        Items = items
            ? new InferenceItems
            {
                Count = 2,
                Status = [200, 200],
                Score = [0.25, 0.75],
                Label = [0, 1],
                Rule = [null, "velocity"],
                Features = [new InferenceFeatureColumn("amount", [12.5, 99.0], null), new InferenceFeatureColumn("merchant_category", null, ["grocery", null])],
            }
            : null,
    };

    public static InferenceLogWriter Writer(IInferenceLogSink? sink, string home, Func<ServingOptions, ServingOptions>? configure = null, ServingMetrics? metrics = null)
    {
        var options = new ServingOptions { Home = home, InferenceLogBatch = 256, InferenceLogCapacity = 4096, InferenceLogShutdownSeconds = 10 };
        options = configure?.Invoke(options) ?? options;
        return new InferenceLogWriter(sink, options, metrics ?? new ServingMetrics(), NullLogger<InferenceLogWriter>.Instance, TimeSpan.FromMilliseconds(50), null);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {seconds} s: {what}");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>A sink that stores rows in memory and fails on demand: transiently while <see cref="Down"/>, permanently for a batch holding a row <see cref="Poison"/> accepts.</summary>
internal sealed class FaultySink : IInferenceLogSink
{
    private readonly ConcurrentDictionary<string, InferenceRecord> _rows = new(StringComparer.Ordinal);
    private int _writes;
    private int _failures;

    public string Description => "faulty-memory";

    /// <summary>As the SQL stores when true: the writer then hands over rows with their items encoded.</summary>
    public bool StoresEncodedItems { get; init; }

    /// <summary>While true every write fails like a PostgreSQL server that is down (a socket error).</summary>
    public volatile bool Down;

    /// <summary>A batch containing a row this accepts fails like PostgreSQL's "invalid byte sequence" (SQLSTATE 22021).</summary>
    public Func<InferenceRecord, bool>? Poison { get; init; }

    /// <summary>Stored rows by log id (a row written twice is stored once, as the SQL stores do).</summary>
    public IReadOnlyDictionary<string, InferenceRecord> Rows => _rows;

    public int Writes => Volatile.Read(ref _writes);

    public int Failures => Volatile.Read(ref _failures);

    public Task WriteAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writes);
        if (Down)
        {
            Interlocked.Increment(ref _failures);
            throw new TrackingException("cannot write: connection refused", new NpgsqlException("Failed to connect to 127.0.0.1:1", new SocketException((int)SocketError.ConnectionRefused)));
        }

        foreach (var r in batch)
        {
            if (Poison?.Invoke(r) == true)
            {
                Interlocked.Increment(ref _failures);
                throw new TrackingException("cannot write the batch", new PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", "22021"));
            }
        }

        foreach (var r in batch)
        {
            _rows[r.LogId] = r;
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
