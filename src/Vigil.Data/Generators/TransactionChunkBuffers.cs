namespace Vigil.Data;

/// <summary>
/// Column storage for one generated chunk. <see cref="TransactionGenerator.Generate"/> uses a fresh
/// set per chunk (frames own their arrays); writing to a file recycles a few sets.
/// </summary>
internal sealed class TransactionChunkBuffers(int rows)
{
    public int Capacity { get; } = rows;

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
