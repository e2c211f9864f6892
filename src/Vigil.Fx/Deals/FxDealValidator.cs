using System.Globalization;

namespace Vigil.Fx;

/// <summary>
/// Validates one raw deal at a time: a bad deal gets an error naming its field and never affects its neighbours.
/// Dates must be exactly <c>YYYY-MM-DD</c>; <c>SellAmount</c> is negative (the sold leg), <c>BuyAmount</c> positive;
/// <c>PrimaryCurr</c> is one of the two legs' currencies; <c>MaturityDate</c> is not before <c>DealDate</c>.
/// </summary>
public static class FxDealValidator
{
    /// <summary>The days of a year before each month (and, last, in the year).</summary>
    private static readonly int[] DaysBeforeMonth = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

    private static readonly int[] DaysBeforeMonthLeap = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366];

    /// <summary>Validates <paramref name="raw"/>; on failure <paramref name="error"/> starts with the field name.</summary>
    public static bool TryValidate(FxRawDeal raw, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FxDeal? deal,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        deal = TryValidateValue(raw, out var valid, out error) ? valid.ToDeal() : null;
        return deal is not null;
    }

    /// <summary>Validates <paramref name="raw"/> into a <see cref="ValidDeal"/> (no object is made: the scorer's batch path).</summary>
    internal static bool TryValidateValue(FxRawDeal raw, out ValidDeal deal, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(raw);
        deal = default;
        DateOnly dealDate = default, maturity = default;
        error = Text(FxFields.Client, raw.Client)
            ?? Text(FxFields.InstrumentType, raw.FxInstrumentType)
            ?? Text(FxFields.BUnit, raw.BUnit)
            ?? Text(FxFields.Cpty, raw.Cpty)
            ?? Currency(FxFields.PrimaryCurr, raw.PrimaryCurr)
            ?? Currency(FxFields.BuyCurr, raw.BuyCurr)
            ?? Currency(FxFields.SellCurr, raw.SellCurr)
            ?? Number(FxFields.BuyAmount, raw.BuyAmount)
            ?? Number(FxFields.SellAmount, raw.SellAmount)
            ?? Number(FxFields.SpotRate, raw.SpotRate)
            ?? Number(FxFields.ForwardPoints, raw.ForwardPoints)
            ?? Date(FxFields.DealDate, raw.DealDate, out dealDate)
            ?? Date(FxFields.MaturityDate, raw.MaturityDate, out maturity)
            ?? Text(FxFields.UniqueId, raw.UniqueId);
        if (error is not null)
        {
            return false;
        }

        long? contLeg = null;
        if (raw.ContLeg is { } leg)
        {
            if (!double.IsFinite(leg) || leg != Math.Floor(leg) || leg < 0 || leg > int.MaxValue)
            {
                error = $"{FxFields.ContLeg}: must be a whole number >= 0 (got {F(leg)})";
                return false;
            }

            contLeg = (long)leg;
        }

        if (string.Equals(raw.BuyCurr, raw.SellCurr, StringComparison.Ordinal))
        {
            error = $"{FxFields.SellCurr}: must differ from {FxFields.BuyCurr} (both are {raw.BuyCurr})";
        }
        else if (!string.Equals(raw.PrimaryCurr, raw.BuyCurr, StringComparison.Ordinal) && !string.Equals(raw.PrimaryCurr, raw.SellCurr, StringComparison.Ordinal))
        {
            error = $"{FxFields.PrimaryCurr}: must be {FxFields.BuyCurr} ({raw.BuyCurr}) or {FxFields.SellCurr} ({raw.SellCurr}), got {raw.PrimaryCurr}";
        }
        else if (!(raw.BuyAmount > 0))
        {
            error = $"{FxFields.BuyAmount}: must be positive (got {F(raw.BuyAmount!.Value)})";
        }
        else if (!(raw.SellAmount < 0))
        {
            error = $"{FxFields.SellAmount}: must be negative for the sold leg (got {F(raw.SellAmount!.Value)})";
        }
        else if (!(raw.SpotRate > 0))
        {
            error = $"{FxFields.SpotRate}: must be positive (got {F(raw.SpotRate!.Value)})";
        }
        else if (maturity < dealDate)
        {
            error = $"{FxFields.MaturityDate}: {raw.MaturityDate} is before {FxFields.DealDate} {raw.DealDate}";
        }

        if (error is not null)
        {
            return false;
        }

        deal = new ValidDeal(raw.Client!, raw.FxInstrumentType!, raw.BUnit!, raw.Cpty!, raw.PrimaryCurr!, raw.BuyCurr!, raw.SellCurr!,
            raw.BuyAmount!.Value, raw.SellAmount!.Value, raw.SpotRate!.Value, raw.ForwardPoints!.Value, dealDate, maturity, raw.UniqueId!, contLeg);
        return true;
    }

    /// <summary>Parses a date that is exactly <c>YYYY-MM-DD</c> (10 characters, a real calendar day).</summary>
    /// <remarks>
    /// The same days <c>DateOnly.TryParseExact(text, "yyyy-MM-dd", InvariantCulture)</c> accepts, read with straight-line
    /// digit checks and the day number computed directly (a batch parses two per deal; DateOnly's constructor would check
    /// the calendar a second time).
    /// </remarks>
    public static bool TryParseDate(ReadOnlySpan<char> text, out DateOnly date)
    {
        date = default;
        if (text.Length != 10 || text[4] != '-' || text[7] != '-')
        {
            return false;
        }

        // (uint)(c - '0') > 9 for every character that is not an ASCII digit.
        uint y0 = (uint)(text[0] - '0'), y1 = (uint)(text[1] - '0'), y2 = (uint)(text[2] - '0'), y3 = (uint)(text[3] - '0');
        uint m0 = (uint)(text[5] - '0'), m1 = (uint)(text[6] - '0'), d0 = (uint)(text[8] - '0'), d1 = (uint)(text[9] - '0');
        if (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || m0 > 9 || m1 > 9 || d0 > 9 || d1 > 9)
        {
            return false;
        }

        var year = (int)((y0 * 1000) + (y1 * 100) + (y2 * 10) + y3);
        var month = (int)((m0 * 10) + m1);
        var day = (int)((d0 * 10) + d1);
        var leap = (year & 3) == 0 && (year % 100 != 0 || year % 400 == 0);
        var before = leap ? DaysBeforeMonthLeap : DaysBeforeMonth;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > before[month] - before[month - 1])
        {
            return false;
        }

        var y = year - 1;
        date = DateOnly.FromDayNumber((y * 365) + (y / 4) - (y / 100) + (y / 400) + before[month - 1] + day - 1);
        return true;
    }

    /// <summary>A date as <c>YYYY-MM-DD</c> (what <c>ToString("yyyy-MM-dd", InvariantCulture)</c> gives, without parsing the format).</summary>
    public static string FormatDate(DateOnly date) => string.Create(10, date, static (chars, d) =>
    {
        var (year, month, day) = d;
        chars[0] = (char)('0' + (year / 1000));
        chars[1] = (char)('0' + (year / 100 % 10));
        chars[2] = (char)('0' + (year / 10 % 10));
        chars[3] = (char)('0' + (year % 10));
        chars[4] = '-';
        chars[5] = (char)('0' + (month / 10));
        chars[6] = (char)('0' + (month % 10));
        chars[7] = '-';
        chars[8] = (char)('0' + (day / 10));
        chars[9] = (char)('0' + (day % 10));
    });

    private static string? Text(string field, string? value) =>
        value is null ? $"{field}: is required"
        : string.IsNullOrWhiteSpace(value) ? $"{field}: must not be empty"
        : null;

    private static string? Currency(string field, string? value)
    {
        if (Text(field, value) is { } missing)
        {
            return missing;
        }

        if (value!.Length != 3 || !char.IsAsciiLetterUpper(value[0]) || !char.IsAsciiLetterUpper(value[1]) || !char.IsAsciiLetterUpper(value[2]))
        {
            return $"{field}: must be a 3-letter upper-case currency code (got '{value}')";
        }

        return null;
    }

    private static string? Number(string field, double? value) =>
        value is not { } v ? $"{field}: is required"
        : !double.IsFinite(v) ? $"{field}: must be a finite number (got {F(v)})"
        : null;

    private static string? Date(string field, string? value, out DateOnly date)
    {
        date = default;
        if (value is null)
        {
            return $"{field}: is required";
        }

        return TryParseDate(value, out date) ? null : $"{field}: '{value}' is not a date in YYYY-MM-DD form";
    }

    internal static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
