using Vigil.Data;

namespace Vigil.Fx;

/// <summary>
/// Deterministic synthetic FX deals for several clients (FISAU, FISNZ, FISUK), each with business units and
/// counterparties. Every counterparty deals one instrument type, in its usual business units and currency pairs (some
/// pairs go dormant early, so a later deal on them breaks the 12-month rule), in its own amount range (in USD, then in
/// the pair's primary currency) and in the instrument's usual tenors. The labelled evaluation deals follow the training
/// months and hold injected anomalies of every kind; the <c>pattern</c> kind gives a counterparty an instrument type it
/// never deals, with an amount and a tenor that are each usual, so only a joint model sees it.
/// The first client is <c>FISAU</c>, whose counterparty <c>CBA</c> deals USD/AUD forwards in <c>0-GLOBAL</c> (0.5M–12M USD).
/// </summary>
public static class FxDealGenerator
{
    /// <summary><c>FX Spot</c>.</summary>
    public const string Spot = "FX Spot";

    /// <summary><c>FX Forward</c>.</summary>
    public const string Forward = "FX Forward";

    /// <summary><c>FX Swap</c>.</summary>
    public const string Swap = "FX Swap";

    private static readonly string[] Instruments = [Forward, Spot, Swap];

    private static readonly Dictionary<string, double> UsdValue = new(StringComparer.Ordinal)
    {
        ["USD"] = 1.0, ["AUD"] = 0.66, ["EUR"] = 1.08, ["JPY"] = 0.0068, ["GBP"] = 1.27, ["NZD"] = 0.61, ["CHF"] = 1.13, ["SGD"] = 0.74,
    };

    private static readonly double[] LowAmounts = [0.2e6, 0.5e6, 1e6, 2e6];

    private static readonly string[] UnknownCounterparties = ["GSAM", "MSCO", "SCBK", "SOCG", "RBCX", "TDSE"];

    private sealed record ClientSpec(string Name, string Home, string[] Currencies, string[] BUnits, string[] Cptys, double Share);

    private static readonly ClientSpec[] Clients =
    [
        new("FISAU", "AUD", ["AUD", "USD", "EUR", "JPY", "GBP", "NZD"], ["0-GLOBAL", "1-SYDNEY", "2-MELBOURNE"], ["CBA", "WBC", "NAB", "ANZ", "MQG", "HSBC", "CITI", "JPM"], 0.4),
        new("FISNZ", "NZD", ["NZD", "AUD", "USD", "EUR", "GBP"], ["0-GLOBAL", "1-AUCKLAND"], ["ANZ", "ASB", "BNZ", "WBC", "KIWI", "CITI"], 0.3),
        new("FISUK", "GBP", ["GBP", "EUR", "USD", "JPY", "CHF"], ["0-GLOBAL", "1-LONDON", "2-EDINBURGH"], ["BARC", "HSBC", "LLOY", "NATW", "DB", "UBS", "BNP"], 0.3),
    ];

    /// <summary>The clients the generator makes deals for, first <c>FISAU</c>.</summary>
    public static IReadOnlyList<string> ClientNames { get; } = [.. Clients.Select(c => c.Name)];

    private sealed record Pair(string Buy, string Sell, string Primary, bool Dormant);

    private sealed class Counterparty(string client, string name, string instrument, string[] bunits, Pair[] pairs, double lowUsd, double highUsd, double weight)
    {
        public string Client { get; } = client;

        public string Name { get; } = name;

        public string Instrument { get; } = instrument;

        public string[] BUnits { get; } = bunits;

        public Pair[] Pairs { get; } = pairs;

        public Pair[] Active { get; } = [.. pairs.Where(p => !p.Dormant)];

        public Pair[] DormantPairs { get; } = [.. pairs.Where(p => p.Dormant)];

        public double LowUsd { get; } = lowUsd;

        public double HighUsd { get; } = highUsd;

        public double Weight { get; } = weight;
    }

    /// <summary>Generates the training and evaluation deals of <paramref name="options"/>.</summary>
    public static FxGeneratedDeals Generate(FxGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var setup = new VigilRandom(options.Seed).Fork(1);
        var profiles = new List<Counterparty[]>();
        foreach (var client in Clients)
        {
            profiles.Add(Profiles(client, setup));
        }

        var end = options.Start.AddMonths(options.Months);
        var dormantEnd = options.Start.AddMonths(Math.Min(5, options.Months - 13));
        var trainDays = end.DayNumber - options.Start.DayNumber;
        var rng = new VigilRandom(options.Seed).Fork(2);
        var training = new List<FxDeal>(options.Rows);
        for (var i = 0; i < options.Rows; i++)
        {
            var c = PickClient(rng);
            var cpty = PickWeighted(profiles[c], rng);
            // Dormant pairs trade only in the first months: a few deals each.
            var dormant = cpty.DormantPairs.Length > 0 && rng.NextBool(0.04);
            var pair = dormant ? cpty.DormantPairs[rng.Next(cpty.DormantPairs.Length)] : cpty.Active[rng.Next(cpty.Active.Length)];
            var date = dormant
                ? options.Start.AddDays(rng.Next(Math.Max(1, dormantEnd.DayNumber - options.Start.DayNumber)))
                : options.Start.AddDays(rng.Next(trainDays));
            training.Add(Normal(Clients[c], cpty, pair, date, cpty.Instrument, rng, $"FX.{Abbr(cpty.Instrument)}.{Clients[c].Name}.{100000 + i}"));
        }

        var evalRows = options.EvalRows > 0 ? options.EvalRows : Math.Max(2_000, options.Rows / 4);
        var evalDays = end.AddMonths(options.EvalMonths).DayNumber - end.DayNumber;
        var erng = new VigilRandom(options.Seed).Fork(3);
        var evaluation = new List<FxLabelledDeal>(evalRows);
        var kinds = FxAnomalyKinds.All;
        for (var i = 0; i < evalRows; i++)
        {
            var kind = erng.NextBool(options.AnomalyRate) ? kinds[1 + erng.Next(kinds.Count - 1)] : FxAnomalyKinds.None;
            var c = PickClient(erng);
            var client = Clients[c];
            var date = end.AddDays(erng.Next(evalDays));
            var id = $"FX.EVAL.{client.Name}.{200000 + i}";
            evaluation.Add(new FxLabelledDeal(Injected(kind, client, profiles[c], date, erng, id), kind));
        }

        return new FxGeneratedDeals(training, evaluation);
    }

    /// <summary>Writes the training deals to <paramref name="path"/> and, when given, the labelled ones to <paramref name="evalPath"/> (CSV or Parquet by extension).</summary>
    public static FxGeneratedDeals WriteTo(FxGeneratorOptions options, string path, string? evalPath)
    {
        var deals = Generate(options);
        FrameFile.Write(FxDealFrame.ToFrame(deals.Training), path);
        if (evalPath is not null)
        {
            FrameFile.Write(LabelledFrame(deals.Evaluation), evalPath);
        }

        return deals;
    }

    /// <summary>The frame of labelled deals: every contract field plus <c>is_anomaly</c> (0/1) and <c>anomaly_kind</c>.</summary>
    public static Frame LabelledFrame(IReadOnlyList<FxLabelledDeal> deals)
    {
        ArgumentNullException.ThrowIfNull(deals);
        var frame = FxDealFrame.ToFrame([.. deals.Select(d => d.Deal)]);
        var flags = new double[deals.Count];
        var kinds = new string?[deals.Count];
        for (var i = 0; i < deals.Count; i++)
        {
            kinds[i] = deals[i].Kind;
            flags[i] = deals[i].Kind == FxAnomalyKinds.None ? 0 : 1;
        }

        return frame.With(new Float64Column(FxFields.IsAnomaly, flags)).With(CategoricalColumn.FromValues(FxFields.AnomalyKind, kinds));
    }

    private static Counterparty[] Profiles(ClientSpec client, VigilRandom rng)
    {
        var foreign = client.Currencies.Where(c => c != client.Home).ToArray();
        var result = new Counterparty[client.Cptys.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var name = client.Cptys[i];
            var instrument = Instruments[i % Instruments.Length];
            var pairs = new List<Pair>();
            string[] bunits;
            double low, high;
            if (client.Name == "FISAU" && name == "CBA")
            {
                bunits = ["0-GLOBAL"];
                pairs.Add(new Pair("USD", "AUD", "USD", false));
                pairs.Add(new Pair("AUD", "USD", "USD", false));
                low = 0.5e6;
                high = 12e6;
            }
            else
            {
                bunits = rng.NextBool(0.5) ? [client.BUnits[rng.Next(client.BUnits.Length)]] : [.. client.BUnits.OrderBy(_ => rng.NextUInt64()).Take(2).Order(StringComparer.Ordinal)];
                var count = 2 + rng.Next(2);
                var chosen = foreign.OrderBy(_ => rng.NextUInt64()).Take(count).ToArray();
                foreach (var f in chosen)
                {
                    pairs.Add(rng.NextBool(0.5) ? new Pair(f, client.Home, f, false) : new Pair(client.Home, f, f, false));
                }

                low = LowAmounts[rng.Next(LowAmounts.Length)];
                high = low * rng.NextDouble(10, 30);
            }

            // Every other counterparty also has a pair that went dormant after the first months.
            if (i % 2 == 1)
            {
                var unused = foreign.Where(f => pairs.All(p => p.Primary != f)).ToArray();
                var f = unused.Length > 0 ? unused[rng.Next(unused.Length)] : foreign[rng.Next(foreign.Length)];
                var dormant = new Pair(client.Home, f, f, true);
                if (!pairs.Any(p => p.Buy == dormant.Buy && p.Sell == dormant.Sell))
                {
                    pairs.Add(dormant);
                }
            }

            result[i] = new Counterparty(client.Name, name, instrument, bunits, [.. pairs], low, high, rng.NextDouble(0.5, 2.0));
        }

        return result;
    }

    private static int PickClient(VigilRandom rng)
    {
        var u = rng.NextDouble();
        for (var c = 0; c < Clients.Length - 1; c++)
        {
            u -= Clients[c].Share;
            if (u < 0)
            {
                return c;
            }
        }

        return Clients.Length - 1;
    }

    private static Counterparty PickWeighted(Counterparty[] cptys, VigilRandom rng)
    {
        var total = 0.0;
        foreach (var c in cptys)
        {
            total += c.Weight;
        }

        var u = rng.NextDouble() * total;
        foreach (var c in cptys)
        {
            u -= c.Weight;
            if (u < 0)
            {
                return c;
            }
        }

        return cptys[^1];
    }

    private static FxDeal Normal(ClientSpec client, Counterparty cpty, Pair pair, DateOnly date, string instrument, VigilRandom rng, string id,
        double? usdAmount = null, int? tdays = null)
    {
        var usd = usdAmount ?? Math.Exp(rng.NextDouble(Math.Log(cpty.LowUsd), Math.Log(cpty.HighUsd)));
        var days = tdays ?? Tenor(instrument, rng);
        var bunit = cpty.BUnits[rng.Next(cpty.BUnits.Length)];
        return Build(client.Name, instrument, bunit, cpty.Name, pair, usd, date, days, rng, id);
    }

    private static FxDeal Build(string client, string instrument, string bunit, string cpty, Pair pair, double usd, DateOnly date, int tdays, VigilRandom rng, string id)
    {
        var face = Math.Round(usd / UsdValue[pair.Primary], 0);
        var rate = UsdValue[pair.Buy] / UsdValue[pair.Sell] * (1 + rng.NextGaussian(0, 0.02)); // sell units per buy unit
        rate = Math.Round(rate, 5);
        double buy, sell;
        if (pair.Primary == pair.Buy)
        {
            buy = face;
            sell = -Math.Round(face * rate, 2);
        }
        else
        {
            sell = -face;
            buy = Math.Round(face / rate, 2);
        }

        var points = instrument == Spot ? 0.0 : Math.Round(rate * tdays * rng.NextGaussian(0, 2e-5) * 1e4, 2);
        long leg = instrument == Swap ? rng.Next(2) : 0;
        return new FxDeal(client, instrument, bunit, cpty, pair.Primary, pair.Buy, pair.Sell, buy, sell, rate, points, date, date.AddDays(tdays), id, leg);
    }

    /// <summary>The usual tenor of an instrument: spot 0–2 days (mostly 2), forward 3–365, swap 7–365 (short tenors more common).</summary>
    private static int Tenor(string instrument, VigilRandom rng)
    {
        var u = rng.NextDouble();
        return instrument switch
        {
            Spot => u < 0.1 ? 0 : u < 0.3 ? 1 : 2,
            Forward => 3 + (int)(363 * u * u),
            _ => 7 + (int)(359 * u * u),
        };
    }

    private static FxDeal Injected(string kind, ClientSpec client, Counterparty[] cptys, DateOnly date, VigilRandom rng, string id)
    {
        var cpty = PickWeighted(cptys, rng);
        var pair = cpty.Active[rng.Next(cpty.Active.Length)];
        switch (kind)
        {
            case FxAnomalyKinds.MissingGroup:
            {
                var name = UnknownCounterparties[rng.Next(UnknownCounterparties.Length)];
                var deal = Normal(client, cpty, pair, date, cpty.Instrument, rng, id);
                return deal with { Cpty = name };
            }

            case FxAnomalyKinds.UnseenPair:
            {
                var all = new List<Pair>();
                foreach (var b in client.Currencies)
                {
                    foreach (var s in client.Currencies)
                    {
                        if (b != s && !cpty.Pairs.Any(p => p.Buy == b && p.Sell == s))
                        {
                            all.Add(new Pair(b, s, b == client.Home ? s : b, false));
                        }
                    }
                }

                return Normal(client, cpty, all[rng.Next(all.Count)], date, cpty.Instrument, rng, id);
            }

            case FxAnomalyKinds.YearGap:
            {
                var withDormant = cptys.Where(c => c.DormantPairs.Length > 0).ToArray();
                var c = withDormant[rng.Next(withDormant.Length)];
                return Normal(client, c, c.DormantPairs[rng.Next(c.DormantPairs.Length)], date, c.Instrument, rng, id);
            }

            case FxAnomalyKinds.Amount:
            {
                var usd = rng.NextBool(0.5) ? cpty.HighUsd * rng.NextDouble(2.5, 8) : cpty.LowUsd / rng.NextDouble(2.5, 8);
                return Normal(client, cpty, pair, date, cpty.Instrument, rng, id, usdAmount: usd);
            }

            case FxAnomalyKinds.Tenor:
            {
                int days = cpty.Instrument switch
                {
                    Spot => rng.Next(10, 90),
                    Forward => rng.NextBool(0.7) ? rng.Next(540, 1500) : rng.Next(0, 2),
                    _ => rng.NextBool(0.7) ? rng.Next(540, 1500) : rng.Next(1, 4),
                };
                return Normal(client, cpty, pair, date, cpty.Instrument, rng, id, tdays: days);
            }

            case FxAnomalyKinds.Pattern:
            {
                var others = Instruments.Where(x => x != cpty.Instrument).ToArray();
                var instrument = others[rng.Next(others.Length)];
                return Normal(client, cpty, pair, date, instrument, rng, id);
            }

            default:
                return Normal(client, cpty, pair, date, cpty.Instrument, rng, id);
        }
    }

    private static string Abbr(string instrument) => instrument switch
    {
        Spot => "SPT",
        Forward => "FWD",
        _ => "SWP",
    };

}
