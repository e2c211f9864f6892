namespace Vigil.Data;

/// <summary>
/// Column names of the frames made by <see cref="TransactionGenerator"/>, in output order. All
/// per-customer history features are computed point in time: they use only the customer's
/// transactions strictly before the current one (timestamps are strictly increasing), never later ones.
/// </summary>
public static class TransactionColumns
{
    /// <summary>String: "t" followed by the 1-based row number, zero padded.</summary>
    public const string TransactionId = "transaction_id";

    /// <summary>Categorical: the card holder, "c" followed by a zero-padded number.</summary>
    public const string CustomerId = "customer_id";

    /// <summary>Categorical: the merchant, "m" followed by a zero-padded number; higher numbers open later in the period.</summary>
    public const string MerchantId = "merchant_id";

    /// <summary>Categorical: one of <see cref="TransactionGenerator.MerchantCategories"/>.</summary>
    public const string MerchantCategory = "merchant_category";

    /// <summary>Timestamp (UTC, microseconds); strictly increasing down the output.</summary>
    public const string Timestamp = "timestamp";

    /// <summary>Float64: the amount in currency units, rounded to cents.</summary>
    public const string Amount = "amount";

    /// <summary>Float64: the UTC hour (0–23) of <see cref="Timestamp"/>.</summary>
    public const string HourOfDay = "hour_of_day";

    /// <summary>Float64: the card holder's usual monthly spend (a profile attribute, fixed per customer).</summary>
    public const string AvgMonthlySpend = "avg_monthly_spend";

    /// <summary>Float64: whole days since the account was opened.</summary>
    public const string CustomerTenureDays = "customer_tenure_days";

    /// <summary>Float64: the customer's earlier transactions within the previous 24 hours, at any merchant (equal to
    /// <see cref="TxCount1d"/>; kept under the name scoring requests and the FastAPI peer use).</summary>
    public const string NumPrevTx24h = "num_prev_tx_24h";

    /// <summary>Float64: the customer's earlier transactions at the same merchant within the previous 24 hours.</summary>
    public const string TxCountSameMerchant1d = "tx_count_same_merchant_1d";

    /// <summary>Float64: the customer's earlier transactions within the previous 24 hours (any merchant).</summary>
    public const string TxCount1d = "tx_count_1d";

    /// <summary>Float64: the customer's earlier transactions within the previous 7 days.</summary>
    public const string TxCount7d = "tx_count_7d";

    /// <summary>Float64: the customer's earlier transactions within the previous 30 days.</summary>
    public const string TxCount30d = "tx_count_30d";

    /// <summary>Float64: total amount of the customer's earlier transactions within the previous 24 hours.</summary>
    public const string AmountSum1d = "amount_sum_1d";

    /// <summary>Float64: total amount of the customer's earlier transactions within the previous 7 days.</summary>
    public const string AmountSum7d = "amount_sum_7d";

    /// <summary>Float64: total amount of the customer's earlier transactions within the previous 30 days.</summary>
    public const string AmountSum30d = "amount_sum_30d";

    /// <summary>Float64: 1 for fraud, 0 otherwise.</summary>
    public const string Label = "label";

    /// <summary>
    /// Categorical: none, card_testing, account_takeover or colluding_merchant. It reveals the label,
    /// so it exists for inspection and tests only: models must not train on it.
    /// </summary>
    public const string FraudPattern = "fraud_pattern";

    /// <summary>Columns that leak the answer and must be excluded from model features.</summary>
    public static IReadOnlyList<string> LabelColumns { get; } = [Label, FraudPattern];

    /// <summary>
    /// Columns that reveal the label without being it: training never uses them as features when the data has them
    /// (the label itself is excluded by naming it, or explicitly for unsupervised training).
    /// </summary>
    public static IReadOnlyList<string> LeakColumns { get; } = [FraudPattern];
}
