using System.Diagnostics;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Lifecycle;

/// <summary>Options of <see cref="ModelLifecycle.ScoreFileAsync"/>.</summary>
public sealed record ScoreFileOptions
{
    /// <summary>Column names recognised as a row identifier when <see cref="IdColumn"/> is not given, in order of preference.</summary>
    public static readonly IReadOnlyList<string> IdCandidates = ["id", "transaction_id", "event_id", "row_id", "deal_id"];

    /// <summary>The model: a bundle path or a registry URI (see <see cref="ModelLifecycle.LoadModelAsync"/>).</summary>
    public required string Model { get; init; }

    /// <summary>The file to score (.csv, .csv.gz or .parquet), streamed in chunks: it may exceed memory.</summary>
    public required string Data { get; init; }

    /// <summary>The scores file to write (.csv, .csv.gz or .parquet); written to a temporary name, then renamed.</summary>
    public required string Output { get; init; }

    /// <summary>The identifier column copied to the output (default: the first of <see cref="IdCandidates"/> present, else none).</summary>
    public string? IdColumn { get; init; }

    /// <summary>Extra columns copied to the output (e.g. the label).</summary>
    public IReadOnlyList<string> Keep { get; init; } = [];

    /// <summary>Rows per streamed chunk.</summary>
    public int ChunkRows { get; init; } = DefaultChunkRows;

    /// <summary>The default of <see cref="ChunkRows"/>.</summary>
    public const int DefaultChunkRows = 65_536;

    /// <summary>Explicit column kinds for CSV input, or null to infer them.</summary>
    public FrameSchema? Schema { get; init; }

    /// <summary>What a CSV value that does not parse as its column's kind does: an error (default) or the row skipped (not scored, counted in <see cref="ScoreFileResult.SkippedRows"/>).</summary>
    public BadValueHandling OnBadValue { get; init; } = BadValueHandling.Error;
}

/// <summary>What <see cref="ModelLifecycle.ScoreFileAsync"/> wrote.</summary>
/// <param name="Model">The model used.</param>
/// <param name="Output">The scores file: <c>[id,] [kept columns,] score, is_anomaly</c> per row.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="Flagged">Rows over the bundle's threshold (<c>is_anomaly</c> = 1).</param>
/// <param name="Elapsed">Time spent reading, scoring and writing.</param>
public sealed record ScoreFileResult(LoadedModel Model, string Output, long Rows, long Flagged, TimeSpan Elapsed)
{
    /// <summary>Input rows not scored because a value did not parse (<see cref="ScoreFileOptions.OnBadValue"/> skip).</summary>
    public long SkippedRows { get; init; }

    /// <summary>The error the first skipped row would have raised, or null.</summary>
    public DataFormatException? FirstSkipped { get; init; }
}

public sealed partial class ModelLifecycle
{
    /// <summary>
    /// Streams a data file through a model and writes one row of scores per input row; memory stays bounded by a
    /// chunk. Reports <see cref="LifecycleStages.Score"/> after every chunk. The output appears only when complete.
    /// </summary>
    /// <exception cref="LifecycleException">No such id or kept column, or no rows.</exception>
    public async Task<ScoreFileResult> ScoreFileAsync(ScoreFileOptions options, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkRows, 1, nameof(options.ChunkRows));
        FrameFile.FormatOf(options.Output);
        // The model loads while the data file is opened and its first chunk read (each is mostly one thread's work:
        // JSON and weights on one side, schema inference and parsing on the other); a model that fails to load is
        // the error reported, as if it had been loaded first.
        var loading = Task.Run(() => LoadModelAsync(options.Model, progress, cancellationToken), cancellationToken);
        var sw = Stopwatch.StartNew();
        var source = DataSource.FromFile(options.Data, options.Schema, options.OnBadValue);
        var (rows, flagged) = await Task.Run(() => ScoreChunks(loading, options, source.Csv, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        var model = await loading.ConfigureAwait(false);
        return new ScoreFileResult(model, options.Output, rows, flagged, sw.Elapsed) { SkippedRows = source.SkippedRows, FirstSkipped = source.FirstSkipped };
    }

    private static (long Rows, long Flagged) ScoreChunks(Task<LoadedModel> loading, ScoreFileOptions options, CsvReadOptions? csv, IProgress<LifecycleProgress>? progress, CancellationToken cancellationToken)
    {
        ModelBundle? bundle = null;
        var dataPath = options.Data;
        var keep = options.Keep;
        IFrameWriter? writer = null;
        Task? writing = null;
        var id = options.IdColumn;
        long rows = 0, flagged = 0;
        var full = Path.GetFullPath(options.Output);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".vigil-{Environment.ProcessId}-{Path.GetFileName(full)}");
        var done = false;
        // Each chunk's storage is handed back once it is scored and written, and the scores go to two alternating pairs
        // of arrays (one being written while the next chunk is scored): new arrays cost a page fault per 4 KiB.
        var recycler = new ChunkRecycler();
        Frame? previous = null;
        var outputs = new (double[] Scores, double[] Flags)[2];
        var slot = 0;
        try
        {
            foreach (var chunk in ReadAhead(ReadChunksAfter(loading, dataPath, options.ChunkRows, csv, recycler)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                bundle ??= loading.GetAwaiter().GetResult().Bundle;
                if (writer is null)
                {
                    id ??= ScoreFileOptions.IdCandidates.FirstOrDefault(chunk.Contains);
                    if (id is not null && !chunk.Contains(id))
                    {
                        throw new LifecycleException(nameof(ScoreFileOptions.IdColumn), $"{id}: no such column in {dataPath}");
                    }

                    foreach (var k in keep)
                    {
                        if (!chunk.Contains(k))
                        {
                            throw new LifecycleException(nameof(ScoreFileOptions.Keep), $"{k}: no such column in {dataPath}");
                        }
                    }
                }

                var n = chunk.RowCount;
                if (outputs[slot].Scores is not { } scores || scores.Length < n)
                {
                    outputs[slot] = (new double[n], new double[n]);
                }

                (scores, var flags) = outputs[slot];
                slot ^= 1;
                bundle.Score(chunk, scores.AsSpan(0, n));
                for (var i = 0; i < n; i++)
                {
                    var anomaly = bundle.IsAnomaly(scores[i]);
                    flags[i] = anomaly ? 1 : 0;
                    flagged += anomaly ? 1 : 0;
                }

                var cols = new List<Column>(keep.Count + 3);
                if (id is not null)
                {
                    cols.Add(chunk[id]);
                }

                foreach (var k in keep)
                {
                    if (!string.Equals(k, id, StringComparison.Ordinal))
                    {
                        cols.Add(chunk[k]);
                    }
                }

                var copiesChunkColumns = cols.Count > 0; // id and kept columns: the chunk's own, until written
                cols.Add(new Float64Column("score", scores, n));
                cols.Add(new Float64Column("is_anomaly", flags, n));
                var result = new Frame(cols);
                writer ??= FrameFile.OpenWriter(temp, result.Schema);
                if (!copiesChunkColumns)
                {
                    recycler.Return(chunk); // scored, and the output holds none of its columns: the read after next can reuse it
                }

                // The chunk is written on another thread while the next one is read and scored (one write at a time,
                // in order): writing is one thread's work, and the other core would wait for it.
                writing?.GetAwaiter().GetResult();
                if (previous is not null)
                {
                    recycler.Return(previous); // scored and written: nothing refers to it any more
                }

                previous = copiesChunkColumns ? chunk : null;
                var output = writer;
                writing = Task.Run(() => output.Write(result), CancellationToken.None);
                rows += chunk.RowCount;
                progress?.Report(new LifecycleProgress(LifecycleStages.Score, rows, null));
            }

            if (writer is null)
            {
                loading.GetAwaiter().GetResult(); // a model error first
                throw new LifecycleException(nameof(ScoreFileOptions.Data), $"{dataPath}: the file has no rows to score");
            }

            writing?.GetAwaiter().GetResult();
            writing = null;
            writer.Dispose();
            File.Move(temp, full, overwrite: true);
            done = true;
        }
        finally
        {
            if (!done)
            {
                try
                {
                    writing?.Wait(CancellationToken.None); // never close the writer under a running write
                }
                catch (AggregateException)
                {
                    // the error that ended scoring is the one reported
                }

                writer?.Dispose();
                File.Delete(temp);
            }
        }

        return (rows, flagged);
    }

    /// <summary>
    /// The chunks of the data file; when reading fails before the model has loaded, the model's own error (if any)
    /// is thrown instead, so a wrong model reference is reported as such whatever the data holds.
    /// </summary>
    private static IEnumerable<Frame> ReadChunksAfter(Task<LoadedModel> loading, string path, int chunkRows, CsvReadOptions? csv, ChunkRecycler recycler)
    {
        using var chunks = FrameFile.ReadChunks(path, chunkRows, csv, recycler).GetEnumerator();
        while (true)
        {
            Frame chunk;
            try
            {
                if (!chunks.MoveNext())
                {
                    yield break;
                }

                chunk = chunks.Current;
            }
            catch (Exception) when (!loading.IsCompletedSuccessfully && FailsToLoad(loading))
            {
                loading.GetAwaiter().GetResult();
                throw;
            }

            yield return chunk;
        }
    }

    /// <summary>
    /// <paramref name="chunks"/>, the next one read on the thread pool while the caller scores the current one: reading
    /// (one tokenizing thread, then columns converted in parallel) and scoring (rows in parallel) each leave a core idle
    /// part of the time, and overlapped they fill it. Errors come out in the same order as without reading ahead; the
    /// reader is never disposed under a running read.
    /// </summary>
    private static IEnumerable<Frame> ReadAhead(IEnumerable<Frame> chunks)
    {
        using var e = chunks.GetEnumerator();
        var more = e.MoveNext();
        while (more)
        {
            var current = e.Current;
            var next = Task.Run(e.MoveNext);
            try
            {
                yield return current;
            }
            finally
            {
                // Also when the caller stops early (an error while scoring): wait for the read before the reader is
                // disposed. Its error, if any, is thrown below on the way on, and is not the one to report otherwise.
                try
                {
                    next.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                }
            }

            more = next.GetAwaiter().GetResult();
        }
    }

    private static bool FailsToLoad(Task<LoadedModel> loading)
    {
        try
        {
            loading.Wait();
            return false;
        }
        catch (Exception)
        {
            return true;
        }
    }
}
