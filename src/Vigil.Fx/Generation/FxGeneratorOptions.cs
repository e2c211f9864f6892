namespace Vigil.Fx;

/// <summary>Settings of <see cref="FxDealGenerator"/>.</summary>
public sealed record FxGeneratorOptions
{
    /// <summary>Normal training deals to generate (over every client); default 50,000.</summary>
    public int Rows { get; init; } = 50_000;

    /// <summary>Deals of the labelled evaluation set; 0 = <c>max(2,000, Rows / 4)</c>.</summary>
    public int EvalRows { get; init; }

    /// <summary>Share of the evaluation deals that are injected anomalies, spread evenly over the six kinds; default 0.12.</summary>
    public double AnomalyRate { get; init; } = 0.12;

    /// <summary>Seed: the same seed gives the same deals.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>First day of the training deals; default 2023-09-01.</summary>
    public DateOnly Start { get; init; } = new(2023, 9, 1);

    /// <summary>Months of training deals; default 24 (so the training deals end on 2025-08-31).</summary>
    public int Months { get; init; } = 24;

    /// <summary>Months of evaluation deals, right after the training months; default 3.</summary>
    public int EvalMonths { get; init; } = 3;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Rows < 1)
        {
            throw new ArgumentException($"rows must be >= 1 (was {Rows}).", nameof(Rows));
        }

        if (EvalRows < 0)
        {
            throw new ArgumentException($"eval-rows must be >= 0 (was {EvalRows}).", nameof(EvalRows));
        }

        if (!(AnomalyRate >= 0 && AnomalyRate <= 0.9))
        {
            throw new ArgumentException($"anomaly-rate must be in [0, 0.9] (was {AnomalyRate}).", nameof(AnomalyRate));
        }

        if (Months < 13 || Months > 240)
        {
            throw new ArgumentException($"months must be in [13, 240] so that 12-month gaps exist (was {Months}).", nameof(Months));
        }

        if (EvalMonths < 1 || EvalMonths > 24)
        {
            throw new ArgumentException($"eval-months must be in [1, 24] (was {EvalMonths}).", nameof(EvalMonths));
        }
    }
}

/// <summary>One deal of the labelled evaluation set with its injected kind (<see cref="FxAnomalyKinds"/>).</summary>
public sealed record FxLabelledDeal(FxDeal Deal, string Kind);

/// <summary>What <see cref="FxDealGenerator.Generate"/> makes: normal training deals and the labelled evaluation deals after them.</summary>
public sealed record FxGeneratedDeals(IReadOnlyList<FxDeal> Training, IReadOnlyList<FxLabelledDeal> Evaluation);
