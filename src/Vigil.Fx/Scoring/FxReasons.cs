using System.Globalization;

namespace Vigil.Fx;

/// <summary>The reason texts of rules and threshold checks (one place, so wording stays stable).</summary>
internal static class FxReasons
{
    public static string MissingGroup(in ValidDeal d) =>
        $"Cpty {d.Cpty} has no known currency group (no training deal with this counterparty)";

    public static string UnseenPair(in ValidDeal d, IEnumerable<string> known) =>
        $"Cpty {d.Cpty} never traded {d.BuyCurr}/{d.SellCurr} (buy {d.BuyCurr}, sell {d.SellCurr}); its pairs: {string.Join(", ", known.Take(6))}";

    public static string YearGap(in ValidDeal d, int months, int? lastDay) =>
        $"No {d.BuyCurr}/{d.SellCurr} deal with {d.Cpty} in {d.BUnit} in the {months} months before {FxDealValidator.FormatDate(d.DealDate)} " +
        (lastDay is { } day ? $"(last: {FxDealValidator.FormatDate(DateOnly.FromDayNumber(day))})" : $"(no earlier deal in {d.BUnit})");

    public static string FaceValue(in ValidDeal d, FaceValueRange? range)
    {
        var value = $"FaceValue {d.FaceValue.ToString("N0", CultureInfo.InvariantCulture)} {d.PrimaryCurr}";
        var group = $"{d.BUnit}/{d.Cpty}/{d.PrimaryCurr}";
        if (range is null)
        {
            return $"{value} has no usual range: {group} has no training deal";
        }

        var side = d.FaceValue > range.Upper ? "above" : "below";
        return $"{value} is {side} the usual {Compact(range.Lower)}–{Compact(range.Upper)} for {group}";
    }

    public static string Tenor(in ValidDeal d, TenorRange? range)
    {
        var value = $"TDays {d.TDays.ToString(CultureInfo.InvariantCulture)}";
        if (range is null)
        {
            return $"{value} has no usual range: no training deal is an {d.FxInstrumentType}";
        }

        var side = d.TDays > range.Upper ? "above" : "below";
        return $"{value} is {side} the usual {Compact(range.Lower)}–{Compact(range.Upper)} days for {d.FxInstrumentType}";
    }

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
