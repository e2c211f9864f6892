using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Vigil.Tracking;

/// <summary>
/// Writes inference log batches as Parquet files into a folder: one file per batch, named
/// <c>inference-YYYYMMDDTHHMMSSfff-NNNNNN-TOKEN.parquet</c> (UTC write time, sequence number of this sink, a token
/// per sink so that several servers can share a folder), so that names sort by time. A file is written under a
/// temporary name, flushed to disk and then renamed, so readers never see a partial file and a failed batch
/// leaves nothing behind. Columns are those of the SQL table <c>inference_log</c>; times are INT64 unix microseconds.
/// Inference log v2: the items of the batch's requests go to items files beside it, one per model and feature set,
/// <c>inference_items-YYYYMMDDTHHMMSSfff-NNNNNN-TOKEN-K.parquet</c> (one row per item; columns in
/// <see cref="InferenceItemsParquet"/>; a prefix that older readers' <c>inference-*</c> pattern does not match). Items
/// of a request without a model are not written (they could never be read by model). The items files are renamed
/// into place before the request file; if any rename fails, those already renamed are deleted again.
/// </summary>
public sealed class ParquetInferenceLogSink : IInferenceLogSink
{
    private readonly TimeProvider _time;
    private readonly string _token = Guid.NewGuid().ToString("N")[..8];
    private long _sequence;

    /// <summary>A sink writing into <paramref name="folder"/> (created if missing).</summary>
    public ParquetInferenceLogSink(string folder)
        : this(folder, TimeProvider.System)
    {
    }

    /// <summary>A sink writing into <paramref name="folder"/>, naming files by <paramref name="timeProvider"/>'s clock (tests).</summary>
    public ParquetInferenceLogSink(string folder, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Folder = Path.GetFullPath(folder);
        _time = timeProvider;
        try
        {
            Directory.CreateDirectory(Folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrackingException($"cannot create the inference log folder {Folder}: {e.Message}", e);
        }
    }

    /// <summary>The folder the files go to (full path).</summary>
    public string Folder { get; }

    /// <inheritdoc/>
    public string Description => "parquet " + Folder;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A row lacks a required field (log id, request id, route).</exception>
    /// <exception cref="TrackingException">The file could not be written; no file was left behind.</exception>
    public async Task WriteAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }
        InferenceParquet.Validate(batch);
        var sequence = Interlocked.Increment(ref _sequence);
        var name = string.Create(CultureInfo.InvariantCulture,
            $"{InferenceParquet.FilePrefix}{_time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmssfff}-{sequence:D6}-{_token}{InferenceParquet.FileSuffix}");
        var path = Path.Combine(Folder, name);
        var temp = Path.Combine(Folder, "." + name + ".tmp");
        var chunks = InferenceParquet.ItemChunks(batch);
        var itemPaths = new string[chunks.Count];
        var itemTemps = new string[chunks.Count];
        var renamed = 0;
        try
        {
            for (var k = 0; k < chunks.Count; k++)
            {
                var itemsName = InferenceParquet.ItemsFilePrefix + name[InferenceParquet.FilePrefix.Length..^InferenceParquet.FileSuffix.Length]
                    + "-" + k.ToString(CultureInfo.InvariantCulture) + InferenceParquet.FileSuffix;
                itemPaths[k] = Path.Combine(Folder, itemsName);
                itemTemps[k] = Path.Combine(Folder, "." + itemsName + ".tmp");
                await using var stream = new FileStream(itemTemps[k], FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await InferenceItemsParquet.WriteLogFileAsync(stream, chunks[k], cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await InferenceParquet.WriteAsync(stream, batch, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            for (; renamed < chunks.Count; renamed++)
            {
                File.Move(itemTemps[renamed], itemPaths[renamed], overwrite: false);
            }
            File.Move(temp, path, overwrite: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
            TryDelete(temp);
            for (var k = 0; k < chunks.Count; k++)
            {
                TryDelete(k < renamed ? itemPaths[k] : itemTemps[k]);
            }
            if (e is OperationCanceledException)
            {
                throw;
            }
            throw new TrackingException(
                $"cannot write {batch.Count.ToString(CultureInfo.InvariantCulture)} inference log rows to {path} (none were written): {e.Message}", e);
        }
    }

    /// <summary>Nothing to flush: every batch is a complete file when <see cref="WriteAsync"/> returns.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>
/// Reads the inference log back from a folder of files written by <see cref="ParquetInferenceLogSink"/>
/// (<c>inference-*.parquet</c>; temporary files of writes in progress are ignored).
/// </summary>
public sealed class ParquetInferenceLogReader : IInferenceLogReader
{
    /// <summary>A reader over <paramref name="folder"/>.</summary>
    /// <exception cref="TrackingException">The folder does not exist.</exception>
    public ParquetInferenceLogReader(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Folder = Path.GetFullPath(folder);
        if (!Directory.Exists(Folder))
        {
            throw new TrackingException($"inference log folder {Folder} not found");
        }
    }

    /// <summary>The folder read (full path).</summary>
    public string Folder { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">A file is not an inference log Parquet file; the message names it.</exception>
    public async Task<long> CountAsync(string? model = null, long? sinceUs = null, CancellationToken cancellationToken = default)
    {
        long total = 0;
        foreach (var path in Files())
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var file = await InferenceParquet.OpenAsync(path, cancellationToken).ConfigureAwait(false);
            if (sinceUs is { } since && file.MaxStartUs is { } max && max < since)
            {
                continue;
            }
            total += await file.CountAsync(model, sinceUs, cancellationToken).ConfigureAwait(false);
        }
        return total;
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">A file is not an inference log Parquet file; the message names it.</exception>
    public async Task<IReadOnlyList<InferenceRecord>> TailAsync(int count, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var candidates = new List<InferenceRecord>();
        if (count == 0)
        {
            return candidates;
        }
        var files = Files();
        var threshold = long.MinValue; // start of the count-th newest candidate once there are count of them
        for (var f = files.Length - 1; f >= 0; f--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var file = await InferenceParquet.OpenAsync(files[f], cancellationToken).ConfigureAwait(false);
            if (candidates.Count >= count && file.MaxStartUs is { } max && max < threshold)
            {
                continue; // every row of this file is older than what we hold (files are not strictly ordered by start)
            }
            await file.ReadAsync(candidates, model, cancellationToken).ConfigureAwait(false);
            if (candidates.Count >= count)
            {
                candidates.Sort(InferenceParquet.NewestFirst);
                candidates.RemoveRange(count, candidates.Count - count);
                threshold = candidates[^1].StartUs;
            }
        }
        candidates.Sort(InferenceParquet.NewestFirst);
        if (candidates.Count > count)
        {
            candidates.RemoveRange(count, candidates.Count - count);
        }
        candidates.Reverse();
        return candidates;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Reads the items files (<c>inference_items-*.parquet</c>) in name order, i.e. batch by batch in write order: within
    /// a file items are in logged order, but requests of different batches may interleave in start time. Files of other
    /// models or outside the range are skipped by their metadata without reading their columns.
    /// </remarks>
    /// <exception cref="InvalidDataException">A file is not an items file; the message names it.</exception>
    public async IAsyncEnumerable<InferenceItemChunk> ReadItemsAsync(
        string model, long? sinceUs = null, long? untilUs = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var path in Files(InferenceParquet.ItemsFilePrefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await foreach (var chunk in InferenceItemsParquet.ReadLogFileAsync(path, model, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
    }

    /// <summary>Nothing to release: files are opened per call.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private string[] Files(string prefix = InferenceParquet.FilePrefix)
    {
        var files = Directory.GetFiles(Folder, prefix + "*" + InferenceParquet.FileSuffix);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}

/// <summary>The Parquet layout of the inference log, shared by the sink and the reader.</summary>
internal static class InferenceParquet
{
    public const string FilePrefix = "inference-";
    public const string ItemsFilePrefix = "inference_items-";
    public const string FileSuffix = ".parquet";
    private const string FormatKey = "vigil.inference_log.format";
    private const string MinStartKey = "vigil.inference_log.min_start_us";
    private const string MaxStartKey = "vigil.inference_log.max_start_us";

    private static readonly DataField<string> LogId = new("log_id", false);
    private static readonly DataField<string> RequestId = new("request_id", false);
    private static readonly DataField<long> StartUs = new("start_us", false);
    private static readonly DataField<long> EndUs = new("end_us", false);
    private static readonly DataField<string> Route = new("route", false);
    private static readonly DataField<string> Model = new("model", true);
    private static readonly DataField<int?> Version = new("version", true);
    private static readonly DataField<int> Status = new("status", false);
    private static readonly DataField<int> RowCount = new("row_count", false);
    private static readonly DataField<int> ScoredRows = new("scored_rows", false);
    private static readonly DataField<string> RequestPayload = new("request_payload", true);
    private static readonly DataField<string> ResponsePayload = new("response_payload", true);
    private static readonly DataField<long> ParseUs = new("parse_us", false);
    private static readonly DataField<long> TransformUs = new("transform_us", false);
    private static readonly DataField<long> ScoreUs = new("score_us", false);
    private static readonly DataField<string> Error = new("error", true);

    private static readonly ParquetSchema Schema = new(
        LogId, RequestId, StartUs, EndUs, Route, Model, Version, Status, RowCount, ScoredRows,
        RequestPayload, ResponsePayload, ParseUs, TransformUs, ScoreUs, Error);

    /// <summary>Newest first by start time, then log id (descending): the order of <c>tail</c>.</summary>
    public static readonly Comparison<InferenceRecord> NewestFirst = static (a, b) =>
    {
        var c = b.StartUs.CompareTo(a.StartUs);
        return c != 0 ? c : string.CompareOrdinal(b.LogId, a.LogId);
    };

    public static void Validate(IReadOnlyList<InferenceRecord> batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var r = batch[i] ?? throw new ArgumentException($"inference log batch row {i.ToString(CultureInfo.InvariantCulture)} is null", nameof(batch));
            var missing = r.LogId is null ? "log id" : r.RequestId is null ? "request id" : r.Route is null ? "route" : null;
            if (missing is not null)
            {
                throw new ArgumentException($"inference log batch row {i.ToString(CultureInfo.InvariantCulture)} has no {missing}", nameof(batch));
            }
        }
    }

    /// <summary>The items of a batch as chunks, one per model and run of requests with one feature set.</summary>
    /// <exception cref="ArgumentException">A request's items are inconsistent.</exception>
    public static List<InferenceItemChunk> ItemChunks(IReadOnlyList<InferenceRecord> batch)
    {
        var chunks = new List<InferenceItemChunk>();
        Dictionary<string, InferenceItemChunkBuilder>? builders = null;
        InferenceItemsCodec.Encoder? encoder = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var r = batch[i];
            if (r.Items is not { } items || r.Model is not { } model)
            {
                continue;
            }
            builders ??= new Dictionary<string, InferenceItemChunkBuilder>(StringComparer.Ordinal);
            encoder ??= new InferenceItemsCodec.Encoder();
            if (!builders.TryGetValue(model, out var builder))
            {
                builders.Add(model, builder = new InferenceItemChunkBuilder(model, int.MaxValue));
            }
            var encoded = encoder.Encode(items).Span;
            if (!builder.TryAppend(r.LogId, r.RequestId, r.StartUs, r.Version, encoded))
            {
                chunks.Add(builder.Take());
                builder.TryAppend(r.LogId, r.RequestId, r.StartUs, r.Version, encoded);
            }
        }
        if (builders is not null)
        {
            foreach (var builder in builders.Values)
            {
                if (builder.Count > 0)
                {
                    chunks.Add(builder.Take());
                }
            }
        }
        return chunks;
    }

    public static async Task WriteAsync(Stream stream, IReadOnlyList<InferenceRecord> batch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var n = batch.Count;
        var min = long.MaxValue;
        var max = long.MinValue;
        for (var i = 0; i < n; i++)
        {
            min = Math.Min(min, batch[i].StartUs);
            max = Math.Max(max, batch[i].StartUs);
        }
        await using var writer = await ParquetWriter.CreateAsync(Schema, stream, cancellationToken: ct).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FormatKey] = "1",
            [MinStartKey] = min.ToString(CultureInfo.InvariantCulture),
            [MaxStartKey] = max.ToString(CultureInfo.InvariantCulture),
        };
        using var group = writer.CreateRowGroup();
        var text = new string?[n];
        var longs = new long[n];
        var ints = new int[n];
        var nullableInts = new int?[n];

        await group.WriteAsync(LogId, Fill(text, batch, static r => r.LogId)).ConfigureAwait(false);
        await group.WriteAsync(RequestId, Fill(text, batch, static r => r.RequestId)).ConfigureAwait(false);
        await group.WriteAsync<long>(StartUs, Fill(longs, batch, static r => r.StartUs)).ConfigureAwait(false);
        await group.WriteAsync<long>(EndUs, Fill(longs, batch, static r => r.EndUs)).ConfigureAwait(false);
        await group.WriteAsync(Route, Fill(text, batch, static r => r.Route)).ConfigureAwait(false);
        await group.WriteAsync(Model, Fill(text, batch, static r => r.Model)).ConfigureAwait(false);
        await group.WriteAsync<int>(Version, Fill(nullableInts, batch, static r => r.Version)).ConfigureAwait(false);
        await group.WriteAsync<int>(Status, Fill(ints, batch, static r => r.Status)).ConfigureAwait(false);
        await group.WriteAsync<int>(RowCount, Fill(ints, batch, static r => r.Rows)).ConfigureAwait(false);
        await group.WriteAsync<int>(ScoredRows, Fill(ints, batch, static r => r.ScoredRows)).ConfigureAwait(false);
        await group.WriteAsync(RequestPayload, Fill(text, batch, static r => r.RequestPayload)).ConfigureAwait(false);
        await group.WriteAsync(ResponsePayload, Fill(text, batch, static r => r.ResponsePayload)).ConfigureAwait(false);
        await group.WriteAsync<long>(ParseUs, Fill(longs, batch, static r => r.ParseUs)).ConfigureAwait(false);
        await group.WriteAsync<long>(TransformUs, Fill(longs, batch, static r => r.TransformUs)).ConfigureAwait(false);
        await group.WriteAsync<long>(ScoreUs, Fill(longs, batch, static r => r.ScoreUs)).ConfigureAwait(false);
        await group.WriteAsync(Error, Fill(text, batch, static r => r.Error)).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested(); // Parquet.Net's column writes take no token
        group.CompleteValidate();
    }

    private static T[] Fill<T>(T[] buffer, IReadOnlyList<InferenceRecord> batch, Func<InferenceRecord, T> get)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = get(batch[i]);
        }
        return buffer;
    }

    public static async Task<InferenceFile> OpenAsync(string path, CancellationToken ct)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet file: {e.Message}", e);
        }
        try
        {
            var fields = reader.Schema.GetDataFields();
            var byName = new Dictionary<string, DataField>(StringComparer.Ordinal);
            foreach (var field in fields)
            {
                byName[field.Name] = field;
            }
            foreach (var expected in Schema.GetDataFields())
            {
                if (!byName.TryGetValue(expected.Name, out var actual) || actual.ClrType != expected.ClrType)
                {
                    throw new InvalidDataException($"{path}: not an inference log file: column '{expected.Name}' is missing or has another type");
                }
            }
            long? maxStart = reader.CustomMetadata.TryGetValue(MaxStartKey, out var text)
                && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : null;
            return new InferenceFile(path, reader, byName, maxStart);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One open inference log file.</summary>
    internal sealed class InferenceFile(string path, ParquetReader reader, Dictionary<string, DataField> fields, long? maxStartUs) : IAsyncDisposable
    {
        /// <summary>The newest start time in the file (from its metadata), or null when the file does not say.</summary>
        public long? MaxStartUs { get; } = maxStartUs;

        public async Task<long> CountAsync(string? model, long? sinceUs, CancellationToken ct)
        {
            long total = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = checked((int)group.RowCount);
                if (model is null && sinceUs is null)
                {
                    total += n;
                    continue;
                }
                var starts = sinceUs is null ? null : await ReadLongsAsync(group, StartUs.Name, n, ct).ConfigureAwait(false);
                var models = model is null ? null : await ReadTextAsync(group, Model.Name, n, ct).ConfigureAwait(false);
                for (var i = 0; i < n; i++)
                {
                    if ((starts is null || starts[i] >= sinceUs) && (models is null || string.Equals(models[i], model, StringComparison.Ordinal)))
                    {
                        total++;
                    }
                }
            }
            return total;
        }

        public async Task ReadAsync(List<InferenceRecord> into, string? model, CancellationToken ct)
        {
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = checked((int)group.RowCount);
                var models = await ReadTextAsync(group, Model.Name, n, ct).ConfigureAwait(false);
                var logIds = await ReadTextAsync(group, LogId.Name, n, ct).ConfigureAwait(false);
                var requestIds = await ReadTextAsync(group, RequestId.Name, n, ct).ConfigureAwait(false);
                var starts = await ReadLongsAsync(group, StartUs.Name, n, ct).ConfigureAwait(false);
                var ends = await ReadLongsAsync(group, EndUs.Name, n, ct).ConfigureAwait(false);
                var routes = await ReadTextAsync(group, Route.Name, n, ct).ConfigureAwait(false);
                var versions = await ReadNullableIntsAsync(group, Version.Name, n, ct).ConfigureAwait(false);
                var statuses = await ReadIntsAsync(group, Status.Name, n, ct).ConfigureAwait(false);
                var rows = await ReadIntsAsync(group, RowCount.Name, n, ct).ConfigureAwait(false);
                var scored = await ReadIntsAsync(group, ScoredRows.Name, n, ct).ConfigureAwait(false);
                var requests = await ReadTextAsync(group, RequestPayload.Name, n, ct).ConfigureAwait(false);
                var responses = await ReadTextAsync(group, ResponsePayload.Name, n, ct).ConfigureAwait(false);
                var parse = await ReadLongsAsync(group, ParseUs.Name, n, ct).ConfigureAwait(false);
                var transform = await ReadLongsAsync(group, TransformUs.Name, n, ct).ConfigureAwait(false);
                var score = await ReadLongsAsync(group, ScoreUs.Name, n, ct).ConfigureAwait(false);
                var errors = await ReadTextAsync(group, Error.Name, n, ct).ConfigureAwait(false);
                for (var i = 0; i < n; i++)
                {
                    if (model is not null && !string.Equals(models[i], model, StringComparison.Ordinal))
                    {
                        continue;
                    }
                    into.Add(new InferenceRecord
                    {
                        LogId = logIds[i]!,
                        RequestId = requestIds[i]!,
                        StartUs = starts[i],
                        EndUs = ends[i],
                        Route = routes[i]!,
                        Model = models[i],
                        Version = versions[i],
                        Status = statuses[i],
                        Rows = rows[i],
                        ScoredRows = scored[i],
                        RequestPayload = requests[i],
                        ResponsePayload = responses[i],
                        ParseUs = parse[i],
                        TransformUs = transform[i],
                        ScoreUs = score[i],
                        Error = errors[i],
                    });
                }
            }
        }

        private async Task<string?[]> ReadTextAsync(ParquetRowGroupReader group, string name, int n, CancellationToken ct)
        {
            var values = new string?[n];
            await Guard(() => group.ReadAsync(fields[name], values.AsMemory(), cancellationToken: ct), name).ConfigureAwait(false);
            return values;
        }

        private async Task<long[]> ReadLongsAsync(ParquetRowGroupReader group, string name, int n, CancellationToken ct)
        {
            var values = new long[n];
            await Guard(() => group.ReadAsync<long>(fields[name], values.AsMemory(), cancellationToken: ct), name).ConfigureAwait(false);
            return values;
        }

        private async Task<int[]> ReadIntsAsync(ParquetRowGroupReader group, string name, int n, CancellationToken ct)
        {
            var values = new int[n];
            await Guard(() => group.ReadAsync<int>(fields[name], values.AsMemory(), cancellationToken: ct), name).ConfigureAwait(false);
            return values;
        }

        private async Task<int?[]> ReadNullableIntsAsync(ParquetRowGroupReader group, string name, int n, CancellationToken ct)
        {
            var values = new int?[n];
            await Guard(() => group.ReadAsync<int>(fields[name], values.AsMemory(), cancellationToken: ct), name).ConfigureAwait(false);
            return values;
        }

        private async Task Guard(Func<ValueTask> read, string column)
        {
            try
            {
                await read().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ArgumentException or FormatException or IndexOutOfRangeException)
            {
                throw new InvalidDataException($"{path}: column '{column}': {e.Message}", e);
            }
        }

        public ValueTask DisposeAsync() => reader.DisposeAsync();
    }
}
