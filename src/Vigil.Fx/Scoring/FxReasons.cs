using System.Globalization;

namespace Vigil.Fx;

/// <summary>
/// The reason texts of rules and threshold checks (one place, so wording stays stable). The parts that depend only on the
/// tables (a range's usual values, a counterparty's pairs) are made once when the tables load, not per anomaly.
/// </summary>
internal static class FxReasons
{
    public static string MissingGroup(in ValidDeal d) =>
        $"Cpty {d.Cpty} has no known currency group (no training deal with this counterparty)";

    /// <param name="d">The deal.</param>
    /// <param name="pairList">Its counterparty's <see cref="PairList"/>.</param>
    public static string UnseenPair(in ValidDeal d, string pairList) =>
        $"Cpty {d.Cpty} never traded {d.BuyCurr}/{d.SellCurr} (buy {d.BuyCurr}, sell {d.SellCurr}); its pairs: {pairList}";

    /// <summary>A counterparty's pairs as <see cref="UnseenPair"/> lists them (the first six).</summary>
    public static string PairList(IEnumerable<string> pairs) => string.Join(", ", pairs.Take(6));

    public static string YearGap(in ValidDeal d, int months, int? lastDay) =>
        $"No {d.BuyCurr}/{d.SellCurr} deal with {d.Cpty} in {d.BUnit} in the {months} months before {FxDealValidator.FormatDate(d.DealDate)} " +
        (lastDay is { } day ? $"(last: {FxDealValidator.FormatDate(DateOnly.FromDayNumber(day))})" : $"(no earlier deal in {d.BUnit})");

    /// <param name="d">The deal.</param>
    /// <param name="range">Its (BUnit, Cpty, PrimaryCurr) range, or null.</param>
    /// <param name="usual">The range's <see cref="FaceValueUsual"/> (with a range).</param>
    public static string FaceValue(in ValidDeal d, FaceValueRange? range, string? usual)
    {
        var value = d.FaceValue.ToString("N0", CultureInfo.InvariantCulture);
        return range is null
            ? $"FaceValue {value} {d.PrimaryCurr} has no usual range: {d.BUnit}/{d.Cpty}/{d.PrimaryCurr} has no training deal"
            : $"FaceValue {value} {d.PrimaryCurr} is {(d.FaceValue > range.Upper ? "above" : "below")}{usual}";
    }

    /// <summary>The end of a FaceValue reason that depends on the range only: " the usual 0.5M–12M for 0-GLOBAL/CBA/USD".</summary>
    public static string FaceValueUsual(FaceValueRange range) =>
        $" the usual {Compact(range.Lower)}–{Compact(range.Upper)} for {range.BUnit}/{range.Cpty}/{range.PrimaryCurr}";

    /// <param name="d">The deal.</param>
    /// <param name="range">Its instrument type's range, or null.</param>
    /// <param name="usual">The range's <see cref="TenorUsual"/> (with a range).</param>
    public static string Tenor(in ValidDeal d, TenorRange? range, string? usual) =>
        range is null
            ? $"TDays {d.TDays.ToString(CultureInfo.InvariantCulture)} has no usual range: no training deal is an {d.FxInstrumentType}"
            : $"TDays {d.TDays.ToString(CultureInfo.InvariantCulture)} is {(d.TDays > range.Upper ? "above" : "below")}{usual}";

    /// <summary>The end of a TDays reason that depends on the range only: " the usual 3–40 days for FX Forward".</summary>
    public static string TenorUsual(TenorRange range) => $" the usual {Compact(range.Lower)}–{Compact(range.Upper)} days for {range.Instrument}";

    public static string Pattern(string group, double error, double threshold) =>
        $"Unusual combination: the {group} reconstruction error {error.ToString("G3", CultureInfo.InvariantCulture)} is above the usual " +
        $"{threshold.ToString("G3", CultureInfo.InvariantCulture)} (autoencoder)";

    /// <summary>A short amount: 12M, 0.5M, 250K, 1.2B; plain below 1,000.</summary>
    public static string Compact(double v)
    {
        var a = Math.Abs(v);
        var (scaled, suffix) = a >= 1e9 ? (v / 1e9, "B") : a >= 1e5 ? (v / 1e6, "M") : a >= 1e3 ? (v / 1e3, "K") : (v, "");
        var digits = Math.Abs(scaled) >= 100 ? 0 : Math.Abs(scaled) >= 10 ? 1 : 2;
        return Math.Round(scaled, digits).ToString("0.##", CultureInfo.InvariantCulture) + suffix;
    }
}
