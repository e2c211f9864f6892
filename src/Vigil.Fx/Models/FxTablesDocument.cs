using System.Text.Json.Serialization;

namespace Vigil.Fx;

/// <summary>
/// <c>fx.json</c>: everything of an fx bundle besides the feature transform and the autoencoder weights, as data. Lists
/// are sorted (ordinal) so the same deals always give the same bytes.
/// </summary>
internal sealed record FxTablesDocument
{
    /// <summary>The version of this document's layout.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The clients (tenants) the bundle serves.</summary>
    public string[] Clients { get; init; } = [];

    /// <summary>Months without a deal of the pair with the counterparty (before the deal date) that fire the year-gap rule.</summary>
    public int YearGapMonths { get; init; } = 12;

    /// <summary>The quantiles the thresholds were fitted with.</summary>
    public FxQuantiles Quantiles { get; init; } = new();

    /// <summary>Per counterparty: the currencies it trades (its currency group).</summary>
    public CurrencyGroupEntry[] CurrencyGroups { get; init; } = [];

    /// <summary>Per counterparty: the (buy, sell) pairs it traded.</summary>
    public PairEntry[] Pairs { get; init; } = [];

    /// <summary>Per (BUnit, Cpty, BuyCurr, SellCurr): the distinct deal dates (YYYY-MM-DD, ascending).</summary>
    public YearGapEntry[] YearGap { get; init; } = [];

    /// <summary>Per (BUnit, Cpty, PrimaryCurr): the usual FaceValue range.</summary>
    public FaceValueRange[] FaceValue { get; init; } = [];

    /// <summary>Per instrument type: the usual TDays range.</summary>
    public TenorRange[] Tenor { get; init; } = [];

    /// <summary>Per autoencoder input group: the reconstruction-error threshold.</summary>
    public GroupThreshold[] Reconstruction { get; init; } = [];

    /// <summary>The system prompt of the optional LLM explanation of an anomaly (null: the server's default prompt).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ExplanationPrompt { get; init; }
}

internal sealed record CurrencyGroupEntry(string Cpty, string[] Currencies);

internal sealed record PairEntry(string Cpty, string[] Pairs);

internal sealed record YearGapEntry(string BUnit, string Cpty, string BuyCurr, string SellCurr, string[] Dates);

internal sealed record FaceValueRange(string BUnit, string Cpty, string PrimaryCurr, double Lower, double Upper, int Count);

internal sealed record TenorRange(string Instrument, double Lower, double Upper, int Count);

internal sealed record GroupThreshold(string Group, double Threshold);

/// <summary>
/// The training quantiles the thresholds are fitted at. A value is usual when it lies within [lower, upper] quantile of
/// its group's training values (TDays bounds are rounded outwards to whole days); a reconstruction error is usual up to
/// its group's <see cref="Reconstruction"/> quantile.
/// </summary>
public sealed record FxQuantiles
{
    /// <summary>Lower quantile of FaceValue per (BUnit, Cpty, PrimaryCurr); default 0.0005.</summary>
    public double FaceValueLower { get; init; } = 0.0005;

    /// <summary>Upper quantile of FaceValue per (BUnit, Cpty, PrimaryCurr); default 0.9995.</summary>
    public double FaceValueUpper { get; init; } = 0.9995;

    /// <summary>Lower quantile of TDays per instrument type; default 0.0005.</summary>
    public double TenorLower { get; init; } = 0.0005;

    /// <summary>Upper quantile of TDays per instrument type; default 0.9995.</summary>
    public double TenorUpper { get; init; } = 0.9995;

    /// <summary>
    /// Share of each FaceValue range's width on a log scale added below and above it (0.05: a 0.5M–12M range becomes about
    /// 0.43M–14M). A training quantile of a few hundred deals lies inside the true range, so without it the usual
    /// largest and smallest deals of small groups are flagged. Default 0.05; 0 = the plain quantiles.
    /// </summary>
    public double FaceValueMargin { get; init; } = 0.05;

    /// <summary>Quantile of each input group's reconstruction error; default 0.9995.</summary>
    public double Reconstruction { get; init; } = 0.9995;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first quantile outside [0, 1] or a lower above its upper.</summary>
    public void Validate()
    {
        foreach (var (name, q) in new[]
        {
            (nameof(FaceValueLower), FaceValueLower), (nameof(FaceValueUpper), FaceValueUpper), (nameof(TenorLower), TenorLower),
            (nameof(TenorUpper), TenorUpper), (nameof(Reconstruction), Reconstruction),
        })
        {
            if (!(q >= 0 && q <= 1))
            {
                throw new ArgumentException($"{name} must be in [0, 1] (was {q.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}).", name);
            }
        }

        if (!(FaceValueMargin >= 0 && FaceValueMargin <= 10))
        {
            throw new ArgumentException($"face-value-margin must be in [0, 10] (was {FaceValueMargin.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}).", nameof(FaceValueMargin));
        }

        if (FaceValueLower > FaceValueUpper)
        {
            throw new ArgumentException("face-value-lower must not be above FaceValueUpper.", nameof(FaceValueLower));
        }

        if (TenorLower > TenorUpper)
        {
            throw new ArgumentException("tenor-lower must not be above TenorUpper.", nameof(TenorLower));
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(FxTablesDocument))]
internal sealed partial class FxJsonContext : JsonSerializerContext;
