namespace Vigil.Fx.Tests;

/// <summary>The decision flow on the shared FISAU model (CBA deals USD/AUD and AUD/USD forwards in 0-GLOBAL, 0.5M–12M USD).</summary>
public sealed class FxScorerTests
{
    private static FxScorer Scorer => FxTestModel.Scorer;

    private static FxRawDeal Example => FxTestModel.Example;

    [Fact]
    public void The_issue_example_deal_decides_No_with_an_empty_reason()
    {
        var d = Scorer.Decide(Example);
        d.StatusCode.ShouldBe(200);
        d.AnomalyText.ShouldBe("No");
        d.Reason.ShouldBe(string.Empty);
        d.Check.ShouldBeNull();
        d.Error.ShouldBeNull();
        d.Score.ShouldBeLessThan(1.0);
    }

    [Fact]
    public void A_client_the_model_does_not_serve_is_refused_naming_the_client()
    {
        var d = Scorer.Decide(Example with { Client = "FISNZ" });
        d.StatusCode.ShouldBe(400);
        d.Error.ShouldBe("Client: FISNZ is not served by this model (it serves FISAU)");
        Scorer.Serves("FISAU").ShouldBeTrue();
        Scorer.Serves("FISNZ").ShouldBeFalse();
    }

    [Fact]
    public void Bad_deals_get_400_and_never_fail_their_neighbours()
    {
        FxRawDeal[] deals =
        [
            Example,
            Example with { DealDate = "2025-9-01", UniqueId = "bad-date" },
            Example with { SellCurr = null, UniqueId = "missing-field" },
            Example with { Client = "FISUK", UniqueId = "other-client" },
            Example with { UniqueId = "second" },
        ];
        var decisions = new FxDecision[deals.Length];
        Scorer.Decide(deals, decisions);
        decisions.Select(d => d.StatusCode).ShouldBe([200, 400, 400, 400, 200]);
        decisions[1].Error!.ShouldStartWith("DealDate:");
        decisions[2].Error!.ShouldStartWith("SellCurr: is required");
        decisions[3].Error!.ShouldStartWith("Client: FISUK");
        decisions[0].ShouldBe(decisions[4]);
        decisions[0].ShouldBe(Scorer.Decide(Example)); // a batch decides each deal as alone
    }

    [Fact]
    public void Missing_group_rule_fires_for_an_unknown_counterparty_and_decides_alone()
    {
        // Also far above any amount range: the first rule that fires decides, no threshold reason is added.
        var d = Scorer.Decide(Example with { Cpty = "ZZBANK", BuyAmount = 9e9 });
        d.ShouldBe(new FxDecision(200, true, "Cpty ZZBANK has no known currency group (no training deal with this counterparty)", FxAnomalyKinds.MissingGroup, double.NaN, null));
    }

    [Fact]
    public void Unseen_pair_rule_fires_for_a_pair_the_counterparty_never_traded()
    {
        var d = Scorer.Decide(Example with { BuyCurr = "JPY", PrimaryCurr = "JPY" });
        d.Check.ShouldBe(FxAnomalyKinds.UnseenPair);
        d.Reason.ShouldBe("Cpty CBA never traded JPY/AUD (buy JPY, sell AUD); its pairs: AUD/USD, USD/AUD");
    }

    [Fact]
    public void Year_gap_rule_fires_when_the_pair_was_not_traded_in_the_12_months_before()
    {
        var late = Scorer.Decide(Example with { DealDate = "2026-10-01", MaturityDate = "2026-10-20" });
        late.Check.ShouldBe(FxAnomalyKinds.YearGap);
        late.Reason.ShouldStartWith("No USD/AUD deal with CBA in 0-GLOBAL in the 12 months before 2026-10-01 (last: 2025-08-");

        var early = Scorer.Decide(Example with { DealDate = "2023-01-02", MaturityDate = "2023-01-20" });
        early.Check.ShouldBe(FxAnomalyKinds.YearGap);
        early.Reason.ShouldBe("No USD/AUD deal with CBA in 0-GLOBAL in the 12 months before 2023-01-02 (no earlier deal in 0-GLOBAL)");

        // Same pair in a business unit where CBA never dealt: the pair is known, the key has no history.
        var elsewhere = Scorer.Decide(Example with { BUnit = "1-SYDNEY" });
        elsewhere.Check.ShouldBe(FxAnomalyKinds.YearGap);
    }

    [Fact]
    public void FaceValue_above_its_range_names_the_value_the_range_and_the_group()
    {
        var d = Scorer.Decide(Example with { BuyAmount = 48_500_000, SellAmount = -73_000_000 });
        d.Check.ShouldBe(FxAnomalyKinds.Amount);
        d.Reason.ShouldMatch(@"^FaceValue 48,500,000 USD is above the usual 0\.\d+M–1\d(\.\d+)?M for 0-GLOBAL/CBA/USD$");
    }

    [Fact]
    public void FaceValue_below_its_range_says_below()
    {
        var d = Scorer.Decide(Example with { BuyAmount = 20_000, SellAmount = -30_000 });
        d.Check.ShouldBe(FxAnomalyKinds.Amount);
        d.Reason.ShouldStartWith("FaceValue 20,000 USD is below the usual 0.4");
    }

    [Fact]
    public void TDays_outside_the_instrument_range_names_the_days_and_the_instrument()
    {
        var d = Scorer.Decide(Example with { MaturityDate = "2028-09-01" });
        d.Check.ShouldBe(FxAnomalyKinds.Tenor);
        d.Reason.ShouldMatch(@"^TDays 1096 is above the usual 3–36\d days for FX Forward");
    }

    [Fact]
    public void An_instrument_the_counterparty_never_deals_is_seen_only_by_the_autoencoder()
    {
        // CBA only deals forwards; a 2-day spot with a usual amount passes the amount and tenor checks.
        var d = Scorer.Decide(Example with { FxInstrumentType = "FX Spot", MaturityDate = "2025-09-03" });
        d.Check.ShouldBe(FxAnomalyKinds.Pattern);
        d.Reason.ShouldStartWith("Unusual combination: the ");
        d.Reason.ShouldEndWith("(autoencoder)");
        d.Score.ShouldBeGreaterThan(1.0);
    }

    [Fact]
    public void Several_threshold_checks_are_all_named_and_the_first_is_the_check()
    {
        var d = Scorer.Decide(Example with { BuyAmount = 90_000_000, MaturityDate = "2028-09-01" });
        d.Check.ShouldBe(FxAnomalyKinds.Amount);
        d.Reason.ShouldContain("FaceValue 90,000,000 USD is above");
        d.Reason.ShouldContain("; TDays 1096 is above");
    }

    [Theory]
    [InlineData(500_000, "0.5M")]
    [InlineData(12_000_000, "12M")]
    [InlineData(11_987_654, "12M")]
    [InlineData(1_234, "1.23K")]
    [InlineData(2_500_000_000, "2.5B")]
    [InlineData(365, "365")]
    public void Amounts_in_reasons_are_compact(double value, string expected) => FxReasons.Compact(value).ShouldBe(expected);

    [Fact]
    public void The_last_deal_day_before_a_date_is_the_one_a_scan_finds()
    {
        // Days before, inside and after a year-gap entry's sorted days (the after-the-last shortcut included), and
        // edge arrays.
        var random = new Random(5);
        for (var t = 0; t < 2_000; t++)
        {
            // distinct days as trained tables hold them, and repeated days as an imported table may
            var days = Enumerable.Range(0, random.Next(0, 12)).Select(_ => 739_000 + random.Next(0, t % 2 == 0 ? 60 : 8)).Order().ToArray();
            if (t % 2 == 0)
            {
                days = [.. days.Distinct()];
            }

            var day = 739_000 + random.Next(-5, 70);
            int? expected = null;
            foreach (var d in days)
            {
                if (d < day)
                {
                    expected = d;
                }
            }

            FxTables.LastBefore(days, day).ShouldBe(expected, $"[{string.Join(",", days)}] before {day}");
        }

        FxTables.LastBefore(null, 739_000).ShouldBeNull();
    }
}
