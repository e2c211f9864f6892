using System.Collections.Concurrent;

namespace Vigil.Data;

/// <summary>
/// Deterministic synthetic card transactions with labelled fraud, for demos, tests and benchmarks.
/// </summary>
/// <remarks>
/// <para>Rows come out in strictly increasing time. Legitimate card holders differ in activity and
/// spend; amounts follow a log-normal per merchant category. The columns are listed on
/// <see cref="TransactionColumns"/>; the per-customer velocity features (counts and sums over the last
/// 1, 7 and 30 days, and same-merchant count over the last 24 hours) use only earlier transactions.</para>
/// <para>Fraud (exactly round(Rows × FraudRate) rows) follows three patterns: <b>card_testing</b> — a
/// burst of 6–20 small amounts (0.50–4.99, often exactly 1.00) seconds apart on one card at one or two
/// online retail or gaming merchants; <b>account_takeover</b> — 2–5 purchases between 01:00 and 04:59
/// UTC, when the card holder is normally inactive, at 2.5–6 times the usual amount on electronics,
/// jewelry or travel; <b>colluding_merchant</b> — many card holders making round-dollar purchases of
/// about 420 at one of three colluding merchants (which also have legitimate traffic).</para>
/// <para>The data drifts: amounts inflate by 4% every 30 days, online retail and gaming gain share,
/// 12% of merchants open only between 30% and 90% of the period, activity shifts from lunch and early
/// evening towards late evening, and volume grows by 15% over the period.</para>
/// <para>The <c>fraud_pattern</c> column reveals the label: models must not train on it (see
/// <see cref="TransactionColumns.LabelColumns"/>).</para>
/// </remarks>
public static class TransactionGenerator
{
    /// <summary>The default number of rows per generated chunk.</summary>
    public const int DefaultChunkRows = 262_144;

    /// <summary>The merchant categories, in dictionary order of the <c>merchant_category</c> column.</summary>
    public static IReadOnlyList<string> MerchantCategories => TransactionSimulation.Categories;

    /// <summary>The fraud patterns, in dictionary order of the <c>fraud_pattern</c> column ("none" first).</summary>
    public static IReadOnlyList<string> FraudPatterns => TransactionSimulation.Patterns;

    /// <summary>The schema of every generated frame.</summary>
    public static FrameSchema Schema { get; } = new([
        new(TransactionColumns.TransactionId, ColumnKind.String),
        new(TransactionColumns.CustomerId, ColumnKind.Categorical),
        new(TransactionColumns.MerchantId, ColumnKind.Categorical),
        new(TransactionColumns.MerchantCategory, ColumnKind.Categorical),
        new(TransactionColumns.Timestamp, ColumnKind.Timestamp),
        new(TransactionColumns.Amount, ColumnKind.Float64),
        new(TransactionColumns.HourOfDay, ColumnKind.Float64),
        new(TransactionColumns.AvgMonthlySpend, ColumnKind.Float64),
        new(TransactionColumns.CustomerTenureDays, ColumnKind.Float64),
        new(TransactionColumns.NumPrevTx24h, ColumnKind.Float64),
        new(TransactionColumns.TxCount1d, ColumnKind.Float64),
        new(TransactionColumns.TxCount7d, ColumnKind.Float64),
        new(TransactionColumns.TxCount30d, ColumnKind.Float64),
        new(TransactionColumns.TxCountSameMerchant1d, ColumnKind.Float64),
        new(TransactionColumns.AmountSum1d, ColumnKind.Float64),
        new(TransactionColumns.AmountSum7d, ColumnKind.Float64),
        new(TransactionColumns.AmountSum30d, ColumnKind.Float64),
        new(TransactionColumns.Label, ColumnKind.Float64),
        new(TransactionColumns.FraudPattern, ColumnKind.Categorical),
    ]);

    /// <summary>
    /// Streams the transactions as frames of at most <paramref name="chunkRows"/> rows, in time order.
    /// Memory stays bounded (one chunk plus 30 days of per-customer history), so very large row counts work.
    /// The same options always give identical frames.
    /// </summary>
    public static IEnumerable<Frame> Generate(TransactionGeneratorOptions options, int chunkRows = DefaultChunkRows)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        options.Validate();
        return Iterate(options, chunkRows);
    }

    /// <summary>Generates all transactions into one frame (for sizes that fit in memory).</summary>
    public static Frame GenerateFrame(TransactionGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var chunkRows = (int)Math.Min(options.Rows, DefaultChunkRows);
        return Frame.Concat([.. Generate(options, chunkRows)]);
    }

    /// <summary>
    /// Generates the transactions straight into a file chosen by extension (<c>.parquet</c>, <c>.csv</c> or <c>.csv.gz</c>),
    /// overlapping generation and writing on two threads. Reports the rows written after each chunk and
    /// returns the total.
    /// </summary>
    public static long WriteTo(TransactionGeneratorOptions options, string path, IProgress<long>? progress = null) =>
        WriteTo(options, path, progress, DefaultChunkRows);

    /// <summary><see cref="WriteTo(TransactionGeneratorOptions, string, IProgress{long}?)"/> with a chosen chunk size (tests use small ones to recycle buffer sets).</summary>
    internal static long WriteTo(TransactionGeneratorOptions options, string path, IProgress<long>? progress, int chunkRows)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        options.Validate();
        using var writer = FrameFile.OpenWriter(path, Schema);
        chunkRows = (int)Math.Min(chunkRows, options.Rows);

        // Two threads: one simulates into a buffer set while the other encodes the previous one.
        // Buffer sets circulate between them, so steady state allocates no column storage.
        using var free = new BlockingCollection<TransactionChunkBuffers>();
        using var full = new BlockingCollection<(TransactionChunkBuffers Buffers, Frame Chunk)>();
        for (var i = 0; i < 3; i++)
        {
            free.Add(new TransactionChunkBuffers(chunkRows, reuseIds: true));
        }

        using var stop = new CancellationTokenSource();
        var producer = Task.Run(() =>
        {
            try
            {
                var simulation = new TransactionSimulation(options);
                while (true)
                {
                    var buffers = free.Take(stop.Token);
                    if (!simulation.TryNextChunk(buffers, out var chunk))
                    {
                        break;
                    }

                    full.Add((buffers, chunk), stop.Token);
                }
            }
            finally
            {
                full.CompleteAdding();
            }
        });

        long written = 0;
        try
        {
            foreach (var (buffers, chunk) in full.GetConsumingEnumerable())
            {
                writer.Write(chunk);
                free.Add(buffers);
                written += chunk.RowCount;
                progress?.Report(written);
            }
        }
        catch
        {
            stop.Cancel();
            try
            {
                producer.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
            }

            throw;
        }

        producer.GetAwaiter().GetResult();
        return written;
    }

    private static IEnumerable<Frame> Iterate(TransactionGeneratorOptions options, int chunkRows)
    {
        var simulation = new TransactionSimulation(options);
        var rows = (int)Math.Min(chunkRows, options.Rows);
        while (simulation.TryNextChunk(new TransactionChunkBuffers(rows), out var chunk))
        {
            yield return chunk;
        }
    }
}
