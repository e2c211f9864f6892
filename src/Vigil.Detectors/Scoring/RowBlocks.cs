using System.Buffers;

namespace Vigil.Detectors;

/// <summary>Scores a feature matrix through <see cref="IRowScorer.ScoreRows"/>, in parallel row chunks when it is large.</summary>
internal static class RowBlocks
{
    /// <summary>
    /// Throws when <paramref name="x"/> does not have <paramref name="featureCount"/> columns or the score buffer
    /// (<paramref name="scoresLength"/> values) is shorter than its rows: the argument check of every detector's Score.
    /// </summary>
    public static void CheckShape(int featureCount, FeatureMatrix x, int scoresLength)
    {
        if (x.Columns != featureCount)
        {
            throw new ArgumentException($"The model expects {featureCount} feature columns but the matrix has {x.Columns}.", nameof(x));
        }

        if (scoresLength < x.Rows)
        {
            throw new ArgumentException($"The score buffer holds {scoresLength} values but the matrix has {x.Rows} rows.", "scores");
        }
    }

    /// <summary>Rows per parallel work item; matrices with at most this many rows are scored on the calling thread.</summary>
    public const int ParallelChunkRows = 4096;

    /// <summary>A piece of work over rows [<paramref name="start"/>, start + <paramref name="count"/>).</summary>
    public delegate void ChunkAction<in TState>(TState state, int start, int count);

    /// <summary>
    /// The one batch loop: runs <paramref name="action"/> over <paramref name="rows"/> rows in chunks of
    /// <see cref="ParallelChunkRows"/>, on the calling thread when there is one chunk or
    /// <paramref name="maxDegreeOfParallelism"/> is 1, else on the thread pool. Chunks are independent. When a chunk
    /// throws, the chunks are redone in order so the caller hears about the earliest failing row, as from a
    /// sequential pass.
    /// </summary>
    public static void ForEachChunk<TState>(int rows, int? maxDegreeOfParallelism, TState state, ChunkAction<TState> action)
    {
        if (rows <= 0)
        {
            return;
        }

        var chunks = (rows + ParallelChunkRows - 1) / ParallelChunkRows;
        if (chunks == 1 || maxDegreeOfParallelism == 1)
        {
            for (var c = 0; c < chunks; c++)
            {
                var start = c * ParallelChunkRows;
                action(state, start, Math.Min(ParallelChunkRows, rows - start));
            }

            return;
        }

        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? -1 };
            Parallel.For(0, chunks, parallel, c =>
            {
                var start = c * ParallelChunkRows;
                action(state, start, Math.Min(ParallelChunkRows, rows - start));
            });
        }
        catch (AggregateException e)
        {
            // Chunks run in any order and stop at the first failure: redo them in order (the first failing one throws).
            for (var c = 0; c < chunks; c++)
            {
                var start = c * ParallelChunkRows;
                action(state, start, Math.Min(ParallelChunkRows, rows - start));
            }

            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>
    /// Scores every row of <paramref name="x"/> into <paramref name="scores"/>: directly when the matrix is small or
    /// <paramref name="maxDegreeOfParallelism"/> is 1 (no allocation), else through <see cref="ForEachChunk"/> on the
    /// thread pool into a pooled buffer. The caller has checked the shape.
    /// </summary>
    public static void Score(IRowScorer scorer, FeatureMatrix x, int? maxDegreeOfParallelism, Span<double> scores)
    {
        var rows = x.Rows;
        if (rows <= ParallelChunkRows || maxDegreeOfParallelism == 1)
        {
            scorer.ScoreRows(x.Values, rows, scores);
            return;
        }

        var buffer = ArrayPool<double>.Shared.Rent(rows);
        try
        {
            ForEachChunk(rows, maxDegreeOfParallelism, (Scorer: scorer, Data: x.Data, Width: x.Columns, Scores: buffer),
                static (s, start, count) => s.Scorer.ScoreRows(s.Data.AsSpan(start * s.Width, count * s.Width), count, s.Scores.AsSpan(start, count)));
            buffer.AsSpan(0, rows).CopyTo(scores);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }
}
