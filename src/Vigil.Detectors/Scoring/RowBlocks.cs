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

    /// <summary>
    /// Scores every row of <paramref name="x"/> into <paramref name="scores"/>: directly when the matrix is small or
    /// <paramref name="maxDegreeOfParallelism"/> is 1 (no allocation), else in chunks of <see cref="ParallelChunkRows"/>
    /// rows on the thread pool into a pooled buffer. The caller has checked the shape.
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
            var data = x.Data;
            var d = x.Columns;
            var chunks = (rows + ParallelChunkRows - 1) / ParallelChunkRows;
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? -1 };
            Parallel.For(0, chunks, parallel, c =>
            {
                var start = c * ParallelChunkRows;
                var count = Math.Min(ParallelChunkRows, rows - start);
                scorer.ScoreRows(data.AsSpan(start * d, count * d), count, buffer.AsSpan(start, count));
            });
            buffer.AsSpan(0, rows).CopyTo(scores);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }
}
