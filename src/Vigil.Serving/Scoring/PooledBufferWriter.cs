using System.Buffers;

namespace Vigil.Serving;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> of bytes over arrays rented from <see cref="ArrayPool{T}.Shared"/>: a response is
/// written without a fresh array per request (or per doubling). <see cref="Dispose"/> returns the array; whoever keeps
/// the bytes beyond that keeps a copy of <see cref="WrittenMemory"/>.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, initialCapacity));

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _buffer.Length)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        var need = Math.Max(1, sizeHint);
        if (_buffer.Length - _written >= need)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + need));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
