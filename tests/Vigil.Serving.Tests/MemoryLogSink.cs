using System.Collections.Concurrent;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>An inference log sink that keeps the records in memory, for tests that read the per-item entries.</summary>
internal sealed class MemoryLogSink : IInferenceLogSink
{
    private readonly ConcurrentQueue<InferenceRecord> _records = new();

    public string Description => "memory";

    public IReadOnlyList<InferenceRecord> Records => [.. _records];

    public Task WriteAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken cancellationToken = default)
    {
        foreach (var record in batch)
        {
            _records.Enqueue(record);
        }

        return Task.CompletedTask;
    }

    /// <summary>The record of request <paramref name="requestId"/>, once the background writer has stored it (polls with a deadline).</summary>
    public async Task<InferenceRecord> WaitForAsync(string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var record in _records)
            {
                if (record.RequestId == requestId)
                {
                    return record;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no inference log record for request {requestId}");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
