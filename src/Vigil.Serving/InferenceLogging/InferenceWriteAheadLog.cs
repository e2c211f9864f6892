using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Threading.Channels;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// The inference log could not accept a row durably: the write-ahead file is at its cap, or the local disk failed.
/// In <c>ack</c> mode the request is answered 503 with this message instead of its result.
/// </summary>
public sealed class InferenceLogUnavailableException : Exception
{
    /// <summary>Creates the exception with a message that says what is wrong.</summary>
    public InferenceLogUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A segmented write-ahead log of inference log rows on local disk (<c>$VIGIL_HOME/inference-wal/</c>). Requests append
/// a record and wait until it is on disk; one flusher loop writes everything that arrived meanwhile and covers it with
/// one fsync (group commit, as PostgreSQL commits), then completes every waiter of that group. Segments
/// (<c>wal-NNNNNNNNNNNN.seg</c>) are sealed when they reach <see cref="SegmentBytes"/> or when the shipper asks, shipped
/// to the sink by <see cref="InferenceLogWriter"/> and deleted once shipped; segments found at start are replayed.
/// </summary>
/// <remarks>
/// Format version 1: a segment starts with the 4 bytes <c>VWAL</c> and a little-endian int32 version (1); then records,
/// each a little-endian uint32 payload length, the CRC-32 (IEEE) of the payload and the payload
/// (<see cref="InferenceRecordCodec"/>). A record cut short or failing its CRC ends the segment on replay (a torn tail
/// left by a crash mid-write: its request was never acknowledged). The folder entry of a new segment is not fsynced:
/// a process crash (kill -9, OOM) loses nothing acknowledged; an operating-system crash right after a segment was created
/// may lose that segment's name.
/// </remarks>
public sealed class InferenceWriteAheadLog : IAsyncDisposable
{
    /// <summary>The segment file header: magic and format version.</summary>
    public static ReadOnlySpan<byte> Header => "VWAL\u0001\0\0\0"u8;

    private const string SegmentPrefix = "wal-";
    private const string SegmentSuffix = ".seg";
    private const int FrameHeader = 8;

    private readonly object _gate = new();
    private readonly Queue<string> _sealed = new();
    private readonly SemaphoreSlim _flushSignal = new(0);
    private readonly Channel<bool> _sealedSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ServingMetrics? _metrics;
    private ArrayBufferWriter<byte> _pending = new(1 << 16);
    private ArrayBufferWriter<byte> _spare = new(1 << 16);
    private TaskCompletionSource _group = NewGroup();
    private int _pendingRows;
    private long _bytes;
    private long _sequence;
    private FileStream? _active;
    private string? _activePath;
    private long _activeBytes;
    private int _activeRows;
    private bool _sealRequested;
    private bool _closed;
    private readonly Thread _flusher;
    private int _signaled;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>Opens (creating) the folder; segments already there are queued for replay, oldest first.</summary>
    /// <exception cref="InferenceLogUnavailableException">The folder cannot be created or read.</exception>
    public InferenceWriteAheadLog(string folder, long maxBytes, long segmentBytes = 4L << 20, ServingMetrics? metrics = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentBytes, 1024);
        Folder = Path.GetFullPath(folder);
        MaxBytes = maxBytes;
        SegmentBytes = segmentBytes;
        _metrics = metrics;
        try
        {
            Directory.CreateDirectory(Folder);
            var existing = Directory.GetFiles(Folder, SegmentPrefix + "*" + SegmentSuffix);
            Array.Sort(existing, StringComparer.Ordinal);
            foreach (var path in existing)
            {
                _sealed.Enqueue(path);
                _bytes += new FileInfo(path).Length;
                _sequence = Math.Max(_sequence, SequenceOf(path));
                ReplaySegments++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InferenceLogUnavailableException($"cannot open the inference log write-ahead folder {Folder}: {e.Message}", e);
        }

        _metrics?.WalBytes(_bytes);
        _flusher = new Thread(FlushLoop) { IsBackground = true, Name = "vigil-wal-flusher" };
        _flusher.Start();
    }

    /// <summary>The folder of the segments (full path).</summary>
    public string Folder { get; }

    /// <summary>The most bytes the segments may hold together; an append beyond it fails.</summary>
    public long MaxBytes { get; }

    /// <summary>The size at which the active segment is sealed.</summary>
    public long SegmentBytes { get; }

    /// <summary>How many segments were found at start (left by an earlier process, replayed first).</summary>
    public int ReplaySegments { get; }

    /// <summary>Bytes held by the segments (written and waiting to be written), not yet shipped.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Sealed segments waiting to be shipped.</summary>
    public int SealedSegments
    {
        get
        {
            lock (_gate)
            {
                return _sealed.Count;
            }
        }
    }

    /// <summary>True when nothing is waiting to be shipped (no sealed segment, nothing in the active one or pending).</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _sealed.Count == 0 && _activeRows == 0 && _pendingRows == 0;
            }
        }
    }

    /// <summary>The number of fsyncs so far (one per group of appends).</summary>
    public long Fsyncs => Interlocked.Read(ref _fsyncs);

    private long _fsyncs;

    /// <summary>
    /// Appends <paramref name="record"/>; the task completes when the record is on disk (fsynced), together with every
    /// record appended while the previous group was being written.
    /// </summary>
    /// <exception cref="InferenceLogUnavailableException">The log is at its cap, closed, or the disk write failed.</exception>
    public Task AppendAsync(InferenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        WriteFrame(record, scratch);
        var frame = scratch.WrittenSpan;
        Task task;
        lock (_gate)
        {
            if (_closed)
            {
                return Task.FromException(new InferenceLogUnavailableException($"the inference log write-ahead file {Folder} is closed (the server is stopping)"));
            }

            if (_bytes + frame.Length > MaxBytes)
            {
                return Task.FromException(new InferenceLogUnavailableException(
                    $"the inference log write-ahead file {Folder} holds {_bytes.ToString(CultureInfo.InvariantCulture)} bytes not yet shipped to the log destination, at its cap of {MaxBytes.ToString(CultureInfo.InvariantCulture)} bytes (VIGIL_INFERENCE_LOG_WAL_MAX_BYTES)"));
            }

            _pending.Write(frame);
            _pendingRows++;
            _bytes += frame.Length;
            task = _group.Task;
        }

        Signal();
        return task;
    }

    /// <summary>
    /// Waits for the next sealed segment (oldest first). While none is sealed and the active segment holds records,
    /// it is sealed after <paramref name="linger"/> so that rows reach the sink promptly. Returns null when the log is
    /// closed and empty.
    /// </summary>
    public async Task<string?> NextSegmentAsync(TimeSpan linger, CancellationToken cancellationToken)
    {
        while (true)
        {
            bool requestSeal;
            lock (_gate)
            {
                if (_sealed.TryPeek(out var path))
                {
                    return path;
                }

                if (_closed && _activeRows == 0 && _pendingRows == 0)
                {
                    return null;
                }

                requestSeal = _activeRows > 0 || _pendingRows > 0;
            }

            if (requestSeal)
            {
                await Task.Delay(linger, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _sealRequested = true;
                }

                Signal();
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(requestSeal ? linger * 4 : TimeSpan.FromMilliseconds(250));
            // The timeout ends the wait without throwing: an idle shipper waits here four times a second for as long as
            // the server runs, and an exception each time is work (and noise for anyone watching exceptions) for nothing.
            var wait = _sealedSignal.Reader.WaitToReadAsync(timeout.Token).AsTask();
            await ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            if (wait.IsCompletedSuccessfully && !wait.Result)
            {
                throw new ChannelClosedException();
            }

            _sealedSignal.Reader.TryRead(out _);
        }
    }

    /// <summary>Deletes a shipped segment (the oldest sealed one) and releases its bytes from the cap.</summary>
    public void Release(string segment)
    {
        long length;
        try
        {
            length = new FileInfo(segment).Length;
            File.Delete(segment);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InferenceLogUnavailableException($"cannot delete the shipped inference log segment {segment}: {e.Message}", e);
        }

        lock (_gate)
        {
            if (_sealed.TryPeek(out var head) && head == segment)
            {
                _sealed.Dequeue();
            }

            _bytes -= length;
        }

        _metrics?.WalBytes(Bytes);
    }

    /// <summary>
    /// Moves a segment that cannot be read (a corrupt record before its end) aside as <c>.corrupt</c>, keeping it for
    /// inspection, and releases its bytes from the cap.
    /// </summary>
    public string Quarantine(string segment)
    {
        var target = segment + ".corrupt";
        var length = new FileInfo(segment).Length;
        File.Move(segment, target, overwrite: true);
        lock (_gate)
        {
            if (_sealed.TryPeek(out var head) && head == segment)
            {
                _sealed.Dequeue();
            }

            _bytes -= length;
        }

        return target;
    }

    /// <summary>The records of a segment file, in order, and how many bytes at its end were ignored (a torn tail).</summary>
    /// <exception cref="InvalidDataException">The file is not a segment of a known format version.</exception>
    public static (List<InferenceRecord> Records, long IgnoredBytes, string? Problem) ReadSegment(string path)
    {
        var data = File.ReadAllBytes(path);
        var records = new List<InferenceRecord>();
        if (data.Length < Header.Length)
        {
            return (records, data.Length, data.Length == 0 ? null : "the header is cut short");
        }

        if (!data.AsSpan(0, 4).SequenceEqual(Header[..4]))
        {
            throw new InvalidDataException($"{path} is not an inference log write-ahead segment (it does not start with VWAL)");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4, 4));
        if (version != 1)
        {
            throw new InvalidDataException($"{path} is a write-ahead segment of format version {version}; this build reads version 1");
        }

        var at = Header.Length;
        while (at < data.Length)
        {
            if (data.Length - at < FrameHeader)
            {
                return (records, data.Length - at, "a record header is cut short");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at, 4));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 4, 4));
            if (length > data.Length - at - FrameHeader)
            {
                return (records, data.Length - at, "a record is cut short");
            }

            var payload = data.AsSpan(at + FrameHeader, (int)length);
            if (Crc32.HashToUInt32(payload) != crc)
            {
                return (records, data.Length - at, $"the record at byte {at.ToString(CultureInfo.InvariantCulture)} fails its CRC");
            }

            records.Add(InferenceRecordCodec.Decode(payload));
            at += FrameHeader + (int)length;
        }

        return (records, 0, null);
    }

    /// <summary>
    /// Stops accepting appends, writes and fsyncs what is pending and seals the active segment; the sealed segments
    /// stay queued for the shipper (and on disk for the next start).
    /// </summary>
    public async Task CloseAsync()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _sealRequested = true;
        }

        _flushSignal.Release();
        await Task.Run(_flusher.Join).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _sealedSignal.Writer.TryComplete();
    }

    /// <summary>
    /// Writes <paramref name="records"/> as a new sealed segment and fsyncs it (works after <see cref="CloseAsync"/>): a
    /// stop keeps the rows it could not write this way, and the next start ships them.
    /// </summary>
    /// <returns>The segment's path.</returns>
    /// <exception cref="InferenceLogUnavailableException">The segment cannot be written.</exception>
    public string Spill(IReadOnlyList<InferenceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        buffer.Write(Header);
        for (var i = 0; i < records.Count; i++)
        {
            WriteFrame(records[i], buffer);
        }

        var path = Path.Combine(Folder, SegmentPrefix + Interlocked.Increment(ref _sequence).ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
            stream.Write(buffer.WrittenSpan);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InferenceLogUnavailableException($"cannot write the inference log write-ahead segment {path}: {e.Message}", e);
        }

        lock (_gate)
        {
            _sealed.Enqueue(path);
            _bytes += buffer.WrittenCount;
        }

        _sealedSignal.Writer.TryWrite(true);
        return path;
    }

    private static void WriteFrame(InferenceRecord record, ArrayBufferWriter<byte> output)
    {
        var start = output.WrittenCount;
        output.GetSpan(FrameHeader);
        output.Advance(FrameHeader);
        InferenceRecordCodec.Encode(record, output);
        var frame = System.Runtime.InteropServices.MemoryMarshal.AsMemory(output.WrittenMemory).Span[start..];
        BinaryPrimitives.WriteUInt32LittleEndian(frame[..4], (uint)(frame.Length - FrameHeader));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Slice(4, 4), Crc32.HashToUInt32(frame[FrameHeader..]));
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signaled, 1) == 0)
        {
            _flushSignal.Release();
        }
    }

    // The flush thread completes a group and runs its requests' continuations itself (writing their responses) instead of
    // queueing each to the thread pool: no hop and no worker wake-up per request, measured in eng/bench-serve.sh (ack).
    // No lock is held when the group completes, and a continuation that has to wait (a full socket) gives the thread back.
    private static TaskCompletionSource NewGroup() => new(TaskCreationOptions.None);

    private static long SequenceOf(string path)
    {
        var name = Path.GetFileName(path);
        return long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private void FlushLoop()
    {
        while (true)
        {
            _flushSignal.Wait();
            Volatile.Write(ref _signaled, 0);
            ArrayBufferWriter<byte> buffer;
            TaskCompletionSource group;
            int rows;
            bool seal;
            bool closed;
            lock (_gate)
            {
                buffer = _pending;
                _pending = _spare;
                _spare = buffer;
                group = _group;
                _group = NewGroup();
                rows = _pendingRows;
                _pendingRows = 0;
                seal = _sealRequested;
                _sealRequested = false;
                closed = _closed;
            }

            if (rows > 0)
            {
                try
                {
                    WriteAndSync(buffer.WrittenSpan, rows);
                    group.TrySetResult();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    var path = _activePath ?? Folder;
                    lock (_gate)
                    {
                        _bytes -= buffer.WrittenCount;
                    }

                    CloseActive(keep: _activeRows > 0);
                    group.TrySetException(new InferenceLogUnavailableException(
                        $"cannot write the inference log write-ahead file {path}: {e.Message}", e));
                }
            }
            else
            {
                group.TrySetResult();
            }

            buffer.ResetWrittenCount();
            if (buffer.Capacity > 16 << 20)
            {
                _spare = new ArrayBufferWriter<byte>(1 << 16); // do not keep a huge buffer after a burst
            }

            if (_active is not null && (seal || closed || _activeBytes >= SegmentBytes))
            {
                CloseActive(keep: _activeRows > 0);
            }

            if (closed)
            {
                _sealedSignal.Writer.TryWrite(true);
                return;
            }
        }
    }

    private void WriteAndSync(ReadOnlySpan<byte> bytes, int rows)
    {
        if (_active is null)
        {
            var sequence = Interlocked.Increment(ref _sequence);
            _activePath = Path.Combine(Folder, SegmentPrefix + sequence.ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);
            _active = new FileStream(_activePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
            _active.Write(Header);
            _activeBytes = Header.Length;
            lock (_gate)
            {
                _bytes += Header.Length;
            }
        }

        _active.Write(bytes);
        _active.Flush(flushToDisk: true);
        _activeBytes += bytes.Length;
        lock (_gate)
        {
            _activeRows += rows;
        }

        Interlocked.Increment(ref _fsyncs);
        _metrics?.WalFlushed(rows);
        _metrics?.WalBytes(Bytes);
    }

    private void CloseActive(bool keep)
    {
        if (_active is null)
        {
            return;
        }

        try
        {
            _active.Dispose();
        }
        catch (IOException)
        {
            // the data was fsynced after every group; a failing close loses nothing acknowledged
        }

        if (!keep)
        {
            try
            {
                File.Delete(_activePath!);
                lock (_gate)
                {
                    _bytes -= _activeBytes;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                keep = true; // replayed (as an empty or torn segment) at the next start
            }
        }

        lock (_gate)
        {
            if (keep)
            {
                _sealed.Enqueue(_activePath!);
            }

            _active = null;
            _activeRows = 0;
        }

        _sealedSignal.Writer.TryWrite(true);
    }
}
