namespace Vigil.Fx;

/// <summary>The field (column) names of the deal contract and of the model's derived features, as in requests and files.</summary>
public static class FxFields
{
    /// <summary><c>Client</c>.</summary>
    public const string Client = "Client";

    /// <summary><c>FX_Instrument_Type</c>.</summary>
    public const string InstrumentType = "FX_Instrument_Type";

    /// <summary><c>BUnit</c>.</summary>
    public const string BUnit = "BUnit";

    /// <summary><c>Cpty</c>.</summary>
    public const string Cpty = "Cpty";

    /// <summary><c>PrimaryCurr</c>.</summary>
    public const string PrimaryCurr = "PrimaryCurr";

    /// <summary><c>BuyCurr</c>.</summary>
    public const string BuyCurr = "BuyCurr";

    /// <summary><c>SellCurr</c>.</summary>
    public const string SellCurr = "SellCurr";

    /// <summary><c>BuyAmount</c>.</summary>
    public const string BuyAmount = "BuyAmount";

    /// <summary><c>SellAmount</c>.</summary>
    public const string SellAmount = "SellAmount";

    /// <summary><c>SpotRate</c>.</summary>
    public const string SpotRate = "SpotRate";

    /// <summary><c>ForwardPoints</c>.</summary>
    public const string ForwardPoints = "ForwardPoints";

    /// <summary><c>DealDate</c>.</summary>
    public const string DealDate = "DealDate";

    /// <summary><c>MaturityDate</c>.</summary>
    public const string MaturityDate = "MaturityDate";

    /// <summary><c>UniqueId</c>.</summary>
    public const string UniqueId = "UniqueId";

    /// <summary><c>ContLeg</c> (optional).</summary>
    public const string ContLeg = "ContLeg";

    /// <summary>Derived feature: the amount in the primary currency.</summary>
    public const string FaceValue = "FaceValue";

    /// <summary>Derived feature: maturity minus deal date in days.</summary>
    public const string TDays = "TDays";

    /// <summary>Label column of the generated evaluation set: 1 for an injected anomaly.</summary>
    public const string IsAnomaly = "is_anomaly";

    /// <summary>Label column of the generated evaluation set: the injected kind (<see cref="FxAnomalyKinds"/>).</summary>
    public const string AnomalyKind = "anomaly_kind";

    /// <summary>The categorical inputs of the autoencoder, one-hot encoded, each its own input group.</summary>
    public static IReadOnlyList<string> Categoricals { get; } = [InstrumentType, BUnit, Cpty, PrimaryCurr, BuyCurr, SellCurr];

    /// <summary>The value of categorical <paramref name="index"/> (in <see cref="Categoricals"/> order) among a deal's fields.</summary>
    internal static string? Categorical(int index, string? instrumentType, string? bunit, string? cpty, string? primaryCurr, string? buyCurr, string? sellCurr) => index switch
    {
        0 => instrumentType,
        1 => bunit,
        2 => cpty,
        3 => primaryCurr,
        4 => buyCurr,
        5 => sellCurr,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "there are 6 categoricals"),
    };

    /// <summary>The numeric inputs of the autoencoder, min-max scaled, together the input group <c>numeric</c>.</summary>
    public static IReadOnlyList<string> Numerics { get; } = [FaceValue, TDays];

    /// <summary>Every field of a deal, in contract order.</summary>
    public static IReadOnlyList<string> Deal { get; } =
        [Client, InstrumentType, BUnit, Cpty, PrimaryCurr, BuyCurr, SellCurr, BuyAmount, SellAmount, SpotRate, ForwardPoints, DealDate, MaturityDate, UniqueId, ContLeg];
}

/// <summary>The anomaly kinds of the generated evaluation set; the rule and check ids of decisions use the same names.</summary>
public static class FxAnomalyKinds
{
    /// <summary>A normal deal.</summary>
    public const string None = "none";

    /// <summary>Rule: the counterparty has no known currency group.</summary>
    public const string MissingGroup = "missing_group";

    /// <summary>Rule: the buy/sell pair was never traded with the counterparty.</summary>
    public const string UnseenPair = "unseen_pair";

    /// <summary>Rule: the pair was not traded with the counterparty in the 12 months before the deal date.</summary>
    public const string YearGap = "year_gap";

    /// <summary>Threshold: FaceValue outside its usual range for (BUnit, Cpty, PrimaryCurr).</summary>
    public const string Amount = "amount";

    /// <summary>Threshold: TDays outside its usual range for the instrument type.</summary>
    public const string Tenor = "tenor";

    /// <summary>Autoencoder: an unusual combination (an input group's reconstruction error above its threshold).</summary>
    public const string Pattern = "pattern";

    /// <summary>Every kind, normal first, then rules in the order they are checked, then the threshold checks.</summary>
    public static IReadOnlyList<string> All { get; } = [None, MissingGroup, UnseenPair, YearGap, Amount, Tenor, Pattern];
}
