using System.Globalization;

namespace Vigil.Data;

/// <summary>Options of <see cref="TransactionGenerator"/>; call <see cref="Validate"/> (the generator does) before use.</summary>
public sealed record TransactionGeneratorOptions
{
    /// <summary>The largest number of rows one run may produce.</summary>
    public const long MaxRows = 10_000_000_000;

    /// <summary>Number of transactions to generate (at least 1).</summary>
    public long Rows { get; init; }

    /// <summary>Seed of the random generator: the same options always give the same data.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Fraction of transactions that are fraud, in [0, 0.5]; the output holds exactly round(Rows × FraudRate) fraud rows.</summary>
    public double FraudRate { get; init; } = 0.01;

    /// <summary>Length of the simulated period in days (1 to 3650).</summary>
    public int Days { get; init; } = 90;

    /// <summary>Start of the simulated period (converted to UTC; not before 1970).</summary>
    public DateTimeOffset Start { get; init; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Number of card holders; by default Rows / 50, clamped to [100, 200 000].</summary>
    public int? Customers { get; init; }

    /// <summary>Number of merchants (some open only later in the period); by default Rows / 1000, clamped to [60, 20 000].</summary>
    public int? Merchants { get; init; }

    /// <summary>The number of customers used: <see cref="Customers"/> or its default.</summary>
    public int ResolvedCustomers => Customers ?? (int)Math.Clamp(Rows / 50, 100, 200_000);

    /// <summary>The number of merchants used: <see cref="Merchants"/> or its default.</summary>
    public int ResolvedMerchants => Merchants ?? (int)Math.Clamp(Rows / 1000, 60, 20_000);

    /// <summary>The number of fraud rows the output will hold.</summary>
    public long FraudRows => (long)Math.Round(Rows * FraudRate, MidpointRounding.AwayFromZero);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Rows < 1 || Rows > MaxRows)
        {
            throw Invalid(nameof(Rows), $"must be between 1 and {MaxRows}", Rows);
        }

        if (!(FraudRate >= 0 && FraudRate <= 0.5))
        {
            throw Invalid(nameof(FraudRate), "must be between 0 and 0.5", FraudRate);
        }

        if (Days < 1 || Days > 3650)
        {
            throw Invalid(nameof(Days), "must be between 1 and 3650", Days);
        }

        if (Start.UtcDateTime < DateTime.UnixEpoch || Start.UtcDateTime > new DateTime(9000, 1, 1, 0, 0, 0, DateTimeKind.Utc))
        {
            throw Invalid(nameof(Start), "must be between 1970-01-01 and 9000-01-01 (UTC)", Start.ToString("O", CultureInfo.InvariantCulture));
        }

        if (Customers is < 10 or > 10_000_000)
        {
            throw Invalid(nameof(Customers), "must be between 10 and 10000000", Customers);
        }

        if (Merchants is < 30 or > 1_000_000)
        {
            throw Invalid(nameof(Merchants), "must be between 30 and 1000000", Merchants);
        }
    }

    private static ArgumentException Invalid(string option, string rule, object? value) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Option {option} {rule}; got {value}."), option);
}
