namespace Vigil.Fx.Tests;

public sealed class FxDealValidatorTests
{
    private static FxRawDeal Good => FxTestModel.Example;

    [Fact]
    public void The_issue_example_is_valid_and_keeps_every_field()
    {
        FxDealValidator.TryValidate(Good, out var deal, out var error).ShouldBeTrue(error);
        deal!.Client.ShouldBe("FISAU");
        deal.FxInstrumentType.ShouldBe("FX Forward");
        deal.DealDate.ShouldBe(new DateOnly(2025, 9, 1));
        deal.MaturityDate.ShouldBe(new DateOnly(2025, 9, 25));
        deal.FaceValue.ShouldBe(10_000_000.0); // PrimaryCurr = BuyCurr: the bought amount
        deal.TDays.ShouldBe(24);
        deal.ContLeg.ShouldBe(0);
        deal.UniqueId.ShouldBe("FX.FWD.Request.100097");
    }

    [Fact]
    public void FaceValue_is_the_sold_amount_when_the_primary_currency_is_sold()
    {
        FxDealValidator.TryValidate(Good with { PrimaryCurr = "AUD", SellAmount = -15_100_000 }, out var deal, out _).ShouldBeTrue();
        deal!.FaceValue.ShouldBe(15_100_000);
    }

    public static TheoryData<string, FxRawDeal, string> BadDeals => new()
    {
        { "missing client", Good with { Client = null }, "Client: is required" },
        { "empty business unit", Good with { BUnit = " " }, "BUnit: must not be empty" },
        { "missing instrument", Good with { FxInstrumentType = null }, "FX_Instrument_Type: is required" },
        { "lower-case currency", Good with { BuyCurr = "usd" }, "BuyCurr: must be a 3-letter upper-case currency code" },
        { "same currencies", Good with { SellCurr = "USD", PrimaryCurr = "USD" }, "SellCurr: must differ from BuyCurr" },
        { "primary not a leg", Good with { PrimaryCurr = "EUR" }, "PrimaryCurr: must be BuyCurr (USD) or SellCurr (AUD), got EUR" },
        { "NaN amount", Good with { BuyAmount = double.NaN }, "BuyAmount: must be a finite number" },
        { "missing amount", Good with { SellAmount = null }, "SellAmount: is required" },
        { "positive sold leg", Good with { SellAmount = 10_000_000 }, "SellAmount: must be negative for the sold leg" },
        { "negative bought leg", Good with { BuyAmount = -5 }, "BuyAmount: must be positive" },
        { "zero spot rate", Good with { SpotRate = 0 }, "SpotRate: must be positive" },
        { "missing forward points", Good with { ForwardPoints = null }, "ForwardPoints: is required" },
        { "one-digit month", Good with { DealDate = "2025-9-01" }, "DealDate: '2025-9-01' is not a date in YYYY-MM-DD form" },
        { "date with a time", Good with { DealDate = "2025-09-01T00:00:00" }, "DealDate: '2025-09-01T00:00:00' is not a date" },
        { "impossible day", Good with { MaturityDate = "2025-02-30" }, "MaturityDate: '2025-02-30' is not a date" },
        { "day-first date", Good with { MaturityDate = "25/09/2025" }, "MaturityDate: '25/09/2025' is not a date" },
        { "maturity before deal", Good with { MaturityDate = "2025-08-31" }, "MaturityDate: 2025-08-31 is before DealDate 2025-09-01" },
        { "missing id", Good with { UniqueId = null }, "UniqueId: is required" },
        { "fractional leg", Good with { ContLeg = 1.5 }, "ContLeg: must be a whole number >= 0" },
    };

    [Theory]
    [MemberData(nameof(BadDeals))]
    public void A_bad_field_is_refused_naming_the_field(string because, FxRawDeal raw, string expected)
    {
        FxDealValidator.TryValidate(raw, out var deal, out var error).ShouldBeFalse(because);
        deal.ShouldBeNull();
        error.ShouldStartWith(expected, Case.Sensitive, because);
    }

    [Fact]
    public void ContLeg_is_optional()
    {
        FxDealValidator.TryValidate(Good with { ContLeg = null }, out var deal, out _).ShouldBeTrue();
        deal!.ContLeg.ShouldBeNull();
    }

    [Fact]
    public void Deals_survive_a_frame_round_trip_with_dates_as_text()
    {
        FxDealValidator.TryValidate(Good, out var deal, out _).ShouldBeTrue();
        var (deals, errors) = FxDealFrame.Read(FxDealFrame.ToFrame([deal!]));
        errors.ShouldAllBe(e => e == null);
        deals[0].ShouldBe(deal);
    }

    [Fact]
    public void A_frame_without_a_required_column_is_refused_naming_it()
    {
        FxDealValidator.TryValidate(Good, out var deal, out _).ShouldBeTrue();
        var frame = FxDealFrame.ToFrame([deal!]).Drop(FxFields.SpotRate);
        Should.Throw<FxDataException>(() => FxDealFrame.ReadRaw(frame)).Message.ShouldStartWith("the deals have no 'SpotRate' column");
    }
}

public sealed class FxDateParsingTests
{
    [Fact]
    public void The_digit_by_digit_date_parser_accepts_exactly_what_TryParseExact_accepts()
    {
        // Every day of four years (a leap year among them) and their neighbours, plus fixed-seed random near-dates.
        var texts = new List<string> { "0000-01-01", "0001-01-01", "9999-12-31", "2024-02-29", "2025-02-29", "2025-13-01", "2025-00-10", "2025-01-00",
            "2025-1-010", " 2025-01-0", "2025-01-0 ", "2025/01/01", "２０２５-01-01", "+025-01-01", "-025-01-01", "2025-01-3a", "" };
        for (var d = new DateOnly(2023, 1, 1); d < new DateOnly(2027, 1, 1); d = d.AddDays(1))
        {
            texts.Add(d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            texts.Add($"{d.Year:D4}-{d.Month:D2}-{d.Day + 1:D2}");
        }

        var random = new Random(7);
        const string alphabet = "0123456789-/ a";
        for (var i = 0; i < 5_000; i++)
        {
            var chars = "2025-06-15".ToCharArray();
            chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            texts.Add(new string(chars));
        }

        foreach (var text in texts)
        {
            var expected = text.Length == 10 && text[4] == '-' && text[7] == '-'
                && DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var exact)
                ? exact : (DateOnly?)null;
            var parsed = FxDealValidator.TryParseDate(text, out var date) ? date : (DateOnly?)null;
            parsed.ShouldBe(expected, $"'{text}'");
        }
    }
    [Fact]
    public void Every_day_formats_as_the_BCL_formats_it_and_parses_back_to_itself()
    {
        // The hand-written formatter and the day-number arithmetic of the parser, over every DateOnly there is (and the
        // day after each month's last, which must not parse).
        for (var n = DateOnly.MinValue.DayNumber; n <= DateOnly.MaxValue.DayNumber; n++)
        {
            var d = DateOnly.FromDayNumber(n);
            var text = FxDealValidator.FormatDate(d);
            if (text != d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))
            {
                text.ShouldBe(d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            }

            if (!FxDealValidator.TryParseDate(text, out var parsed) || parsed != d)
            {
                parsed.ShouldBe(d, text);
            }

            if (d.Day == DateTime.DaysInMonth(d.Year, d.Month) && FxDealValidator.TryParseDate($"{d.Year:D4}-{d.Month:D2}-{d.Day + 1:D2}", out _))
            {
                throw new ShouldAssertException($"{d.Year:D4}-{d.Month:D2}-{d.Day + 1:D2} parsed");
            }
        }
    }
}
