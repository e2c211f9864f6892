using System.Collections.Concurrent;

namespace Vigil.Data;

/// <summary>
/// Storage a chunked CSV read (<see cref="FrameFile.ReadChunks(string, int, CsvReadOptions?, ChunkRecycler?)"/>) may
/// reuse: the consumer returns each chunk once nothing reads or refers to it any more, and later chunks' float64 columns
/// are filled into those arrays instead of new ones. A new array is new memory to the process, which pays a page fault
/// per 4 KiB on first write (about half the faults of streaming a large file through a model). Thread-safe.
/// </summary>
public sealed class ChunkRecycler
{
    // At most this many arrays wait for reuse (a chunk or two of a wide file); more are left to the garbage collector.
    private const int MaxKept = 64;

    private readonly ConcurrentQueue<double[]> _float64 = new();

    /// <summary>
    /// Hands back the float64 storage of <paramref name="chunk"/>, a chunk read with this recycler: its columns must not be
    /// read or referenced afterwards (later chunks overwrite them).
    /// </summary>
    public void Return(Frame chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        foreach (var column in chunk.Columns)
        {
            if (column is Float64Column f && _float64.Count < MaxKept)
            {
                _float64.Enqueue(f.Storage);
            }
        }
    }

    /// <summary>A returned array of at least <paramref name="length"/> values, or null (shorter ones are dropped).</summary>
    internal double[]? TakeFloat64(int length)
    {
        while (_float64.TryDequeue(out var values))
        {
            if (values.Length >= length)
            {
                return values;
            }
        }

        return null;
    }
}
