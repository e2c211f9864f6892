namespace Vigil.Fx;

/// <summary>
/// One validated FX deal, the contract treasury teams already send (field names as in the JSON request). Build it with
/// <see cref="FxDealValidator.TryValidate"/> from an <see cref="FxRawDeal"/>; every field has been checked.
/// </summary>
/// <param name="Client">The client (tenant) the deal belongs to, e.g. <c>FISAU</c>.</param>
/// <param name="FxInstrumentType">JSON <c>FX_Instrument_Type</c>: <c>FX Spot</c>, <c>FX Forward</c>, <c>FX Swap</c>, ...</param>
/// <param name="BUnit">The business unit, e.g. <c>0-GLOBAL</c>.</param>
/// <param name="Cpty">The counterparty, e.g. <c>CBA</c>.</param>
/// <param name="PrimaryCurr">The currency the deal is measured in: one of <see cref="BuyCurr"/> and <see cref="SellCurr"/>.</param>
/// <param name="BuyCurr">The currency bought.</param>
/// <param name="SellCurr">The currency sold.</param>
/// <param name="BuyAmount">The amount bought (positive).</param>
/// <param name="SellAmount">The amount sold (negative: the sold leg).</param>
/// <param name="SpotRate">The spot rate (positive).</param>
/// <param name="ForwardPoints">The forward points.</param>
/// <param name="DealDate">The trade date.</param>
/// <param name="MaturityDate">The value date (on or after <see cref="DealDate"/>).</param>
/// <param name="UniqueId">The caller's id of the deal, echoed in the decision.</param>
/// <param name="ContLeg">The optional contract leg (e.g. 0 and 1 for a swap's near and far legs).</param>
public sealed record FxDeal(
    string Client,
    string FxInstrumentType,
    string BUnit,
    string Cpty,
    string PrimaryCurr,
    string BuyCurr,
    string SellCurr,
    double BuyAmount,
    double SellAmount,
    double SpotRate,
    double ForwardPoints,
    DateOnly DealDate,
    DateOnly MaturityDate,
    string UniqueId,
    long? ContLeg = null)
{
    /// <summary>The amount in the primary currency (the model's <c>FaceValue</c>): the bought or the sold amount, as a positive number.</summary>
    public double FaceValue => FaceValueOf(PrimaryCurr, BuyCurr, BuyAmount, SellAmount);

    /// <summary>The tenor in days (the model's <c>TDays</c>): maturity minus deal date.</summary>
    public int TDays => TenorDays(DealDate, MaturityDate);

    /// <summary><see cref="FaceValue"/> of these fields (shared with the scorer's value copy of a deal).</summary>
    internal static double FaceValueOf(string primaryCurr, string buyCurr, double buyAmount, double sellAmount) =>
        string.Equals(primaryCurr, buyCurr, StringComparison.Ordinal) ? buyAmount : -sellAmount;

    /// <summary><see cref="TDays"/> of these dates.</summary>
    internal static int TenorDays(DateOnly dealDate, DateOnly maturityDate) => maturityDate.DayNumber - dealDate.DayNumber;

    /// <summary>The value of categorical <paramref name="index"/>, in <see cref="FxFields.Categoricals"/> order.</summary>
    public string Category(int index) => FxFields.Categorical(index, FxInstrumentType, BUnit, Cpty, PrimaryCurr, BuyCurr, SellCurr)!;
}

/// <summary>
/// A deal as received, before validation: text fields as strings, numbers as doubles, dates as text; null = the field is
/// absent. A protocol adapter (JSON, MLflow <c>dataframe_records</c>, a file row) fills one of these per deal.
/// </summary>
public sealed record FxRawDeal
{
    /// <summary>JSON <c>Client</c>.</summary>
    public string? Client { get; init; }

    /// <summary>JSON <c>FX_Instrument_Type</c>.</summary>
    public string? FxInstrumentType { get; init; }

    /// <summary>JSON <c>BUnit</c>.</summary>
    public string? BUnit { get; init; }

    /// <summary>JSON <c>Cpty</c>.</summary>
    public string? Cpty { get; init; }

    /// <summary>JSON <c>PrimaryCurr</c>.</summary>
    public string? PrimaryCurr { get; init; }

    /// <summary>JSON <c>BuyCurr</c>.</summary>
    public string? BuyCurr { get; init; }

    /// <summary>JSON <c>SellCurr</c>.</summary>
    public string? SellCurr { get; init; }

    /// <summary>JSON <c>BuyAmount</c>.</summary>
    public double? BuyAmount { get; init; }

    /// <summary>JSON <c>SellAmount</c>.</summary>
    public double? SellAmount { get; init; }

    /// <summary>JSON <c>SpotRate</c>.</summary>
    public double? SpotRate { get; init; }

    /// <summary>JSON <c>ForwardPoints</c>.</summary>
    public double? ForwardPoints { get; init; }

    /// <summary>JSON <c>DealDate</c> (strictly <c>YYYY-MM-DD</c>).</summary>
    public string? DealDate { get; init; }

    /// <summary>JSON <c>MaturityDate</c> (strictly <c>YYYY-MM-DD</c>).</summary>
    public string? MaturityDate { get; init; }

    /// <summary>JSON <c>UniqueId</c>.</summary>
    public string? UniqueId { get; init; }

    /// <summary>JSON <c>ContLeg</c> (optional; a whole number).</summary>
    public double? ContLeg { get; init; }

    /// <summary>The value of categorical <paramref name="index"/>, in <see cref="FxFields.Categoricals"/> order (null: absent).</summary>
    public string? Category(int index) => FxFields.Categorical(index, FxInstrumentType, BUnit, Cpty, PrimaryCurr, BuyCurr, SellCurr);
}

/// <summary>
/// A validated deal as a value (the fields of <see cref="FxDeal"/>): the scorer's batch path keeps these in a pooled array
/// instead of making an object per deal, and makes the <see cref="FxDeal"/> only when a reason needs one. A default
/// value (<see cref="Client"/> null) marks a deal already decided.
/// </summary>
internal readonly record struct ValidDeal(
    string Client,
    string FxInstrumentType,
    string BUnit,
    string Cpty,
    string PrimaryCurr,
    string BuyCurr,
    string SellCurr,
    double BuyAmount,
    double SellAmount,
    double SpotRate,
    double ForwardPoints,
    DateOnly DealDate,
    DateOnly MaturityDate,
    string UniqueId,
    long? ContLeg)
{
    /// <summary>As <see cref="FxDeal.FaceValue"/>.</summary>
    public double FaceValue => FxDeal.FaceValueOf(PrimaryCurr, BuyCurr, BuyAmount, SellAmount);

    /// <summary>As <see cref="FxDeal.TDays"/>.</summary>
    public int TDays => FxDeal.TenorDays(DealDate, MaturityDate);

    /// <summary>The deal as an object.</summary>
    public FxDeal ToDeal() => new(Client, FxInstrumentType, BUnit, Cpty, PrimaryCurr, BuyCurr, SellCurr, BuyAmount, SellAmount, SpotRate, ForwardPoints, DealDate, MaturityDate, UniqueId, ContLeg);

    /// <summary>The value of <paramref name="deal"/>.</summary>
    public static ValidDeal Of(FxDeal deal) => new(deal.Client, deal.FxInstrumentType, deal.BUnit, deal.Cpty, deal.PrimaryCurr, deal.BuyCurr, deal.SellCurr,
        deal.BuyAmount, deal.SellAmount, deal.SpotRate, deal.ForwardPoints, deal.DealDate, deal.MaturityDate, deal.UniqueId, deal.ContLeg);
}
