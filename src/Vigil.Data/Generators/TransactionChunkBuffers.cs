using System.Runtime.InteropServices;

namespace Vigil.Data;

/// <summary>
/// Column storage for one generated chunk. <see cref="TransactionGenerator.Generate"/> uses a fresh
/// set per chunk (frames own their arrays); writing to a file recycles a few sets.
/// </summary>
/// <param name="rows">The capacity in rows.</param>
/// <param name="reuseIds">
/// True when the set circulates between the simulation and a file writer that is done with a chunk's
/// frame before the set comes back: the transaction id strings of the previous chunk are then
/// rewritten in place instead of allocating two million short-lived strings per two million rows
/// (which the GC would otherwise copy, as a chunk's strings outlive several collections). Never
/// set it when frames escape to a caller.
/// </param>
internal sealed class TransactionChunkBuffers(int rows, bool reuseIds = false)
{
    public int Capacity { get; } = rows;

    /// <summary>Sets row <paramref name="row"/>'s id to 't' followed by <paramref name="number"/> zero-padded to <paramref name="length"/> - 1 digits.</summary>
    public void SetTransactionId(int row, int length, long number)
    {
        var existing = reuseIds ? TransactionId[row] : null;
        if (existing is not null && existing.Length == length)
        {
            // The string is ours alone (see reuseIds) and nothing has hashed or interned it.
            WriteId(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(existing.AsSpan()), length), number);
            return;
        }

        TransactionId[row] = string.Create(length, number, static (span, n) => WriteId(span, n));
    }

    private static void WriteId(Span<char> span, long number)
    {
        for (var i = span.Length - 1; i >= 1; i--)
        {
            var q = number / 10;
            span[i] = (char)('0' + (int)(number - (q * 10)));
            number = q;
        }

        span[0] = 't';
    }

    public string?[] TransactionId { get; } = new string?[rows];

    public long[] Timestamp { get; } = Allocate<long>(rows);

    public int[] Customer { get; } = Allocate<int>(rows);

    public int[] Merchant { get; } = Allocate<int>(rows);

    public int[] Category { get; } = Allocate<int>(rows);

    public double[] Amount { get; } = Allocate<double>(rows);

    public double[] Hour { get; } = Allocate<double>(rows);

    public double[] MonthlySpend { get; } = Allocate<double>(rows);

    public double[] Tenure { get; } = Allocate<double>(rows);

    public double[] SameMerchant24h { get; } = Allocate<double>(rows);

    public double[] Count1d { get; } = Allocate<double>(rows);

    public double[] Count7d { get; } = Allocate<double>(rows);

    public double[] Count30d { get; } = Allocate<double>(rows);

    public double[] Sum1d { get; } = Allocate<double>(rows);

    public double[] Sum7d { get; } = Allocate<double>(rows);

    public double[] Sum30d { get; } = Allocate<double>(rows);

    public double[] Label { get; } = Allocate<double>(rows);

    public int[] Pattern { get; } = Allocate<int>(rows);

    public Frame ToFrame(int n, string[] customerIds, string[] merchantIds) => new([
        new StringColumn(TransactionColumns.TransactionId, TransactionId, n),
        new CategoricalColumn(TransactionColumns.CustomerId, Customer, customerIds, n),
        new CategoricalColumn(TransactionColumns.MerchantId, Merchant, merchantIds, n),
        new CategoricalColumn(TransactionColumns.MerchantCategory, Category, TransactionSimulation.Categories, n),
        new TimestampColumn(TransactionColumns.Timestamp, Timestamp, n),
        new Float64Column(TransactionColumns.Amount, Amount, n),
        new Float64Column(TransactionColumns.HourOfDay, Hour, n),
        new Float64Column(TransactionColumns.AvgMonthlySpend, MonthlySpend, n),
        new Float64Column(TransactionColumns.CustomerTenureDays, Tenure, n),
        new Float64Column(TransactionColumns.NumPrevTx24h, Count1d, n),
        new Float64Column(TransactionColumns.TxCount1d, Count1d, n),
        new Float64Column(TransactionColumns.TxCount7d, Count7d, n),
        new Float64Column(TransactionColumns.TxCount30d, Count30d, n),
        new Float64Column(TransactionColumns.TxCountSameMerchant1d, SameMerchant24h, n),
        new Float64Column(TransactionColumns.AmountSum1d, Sum1d, n),
        new Float64Column(TransactionColumns.AmountSum7d, Sum7d, n),
        new Float64Column(TransactionColumns.AmountSum30d, Sum30d, n),
        new Float64Column(TransactionColumns.Label, Label, n),
        new CategoricalColumn(TransactionColumns.FraudPattern, Pattern, TransactionSimulation.Patterns, n),
    ]);

    // Every slot a frame exposes is written before the frame is built, so zeroing is wasted work.
    private static T[] Allocate<T>(int rows) => GC.AllocateUninitializedArray<T>(rows);
}
