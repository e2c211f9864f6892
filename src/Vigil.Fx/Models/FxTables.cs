namespace Vigil.Fx;

/// <summary>The lookup form of <see cref="FxTablesDocument"/>: tuple-keyed dictionaries, so deciding a deal allocates nothing.</summary>
internal sealed class FxTables
{
    private readonly HashSet<string> _clients;
    private readonly Dictionary<string, string[]> _groups;
    private readonly Dictionary<string, HashSet<(string Buy, string Sell)>> _pairs;
    private readonly Dictionary<(string BUnit, string Cpty, string Buy, string Sell), int[]> _yearGap;
    private readonly Dictionary<(string BUnit, string Cpty, string Primary), FaceValueRange> _face;
    private readonly Dictionary<string, TenorRange> _tenor;

    public FxTables(FxTablesDocument document)
    {
        Document = document;
        if (document.Clients.Length == 0)
        {
            throw new InvalidDataException("lists no client");
        }

        if (document.YearGapMonths < 1)
        {
            throw new InvalidDataException($"has yearGapMonths {document.YearGapMonths}; it must be >= 1");
        }

        _clients = new HashSet<string>(document.Clients, StringComparer.Ordinal);
        _groups = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var g in document.CurrencyGroups)
        {
            _groups[g.Cpty] = g.Currencies;
        }

        _pairs = new Dictionary<string, HashSet<(string, string)>>(StringComparer.Ordinal);
        foreach (var p in document.Pairs)
        {
            var set = new HashSet<(string, string)>();
            foreach (var text in p.Pairs)
            {
                var slash = text.IndexOf('/', StringComparison.Ordinal);
                if (slash < 1 || slash == text.Length - 1)
                {
                    throw new InvalidDataException($"has the pair '{text}' for {p.Cpty}; pairs are BUY/SELL");
                }

                set.Add((text[..slash], text[(slash + 1)..]));
            }

            _pairs[p.Cpty] = set;
        }

        _yearGap = [];
        foreach (var y in document.YearGap)
        {
            var days = new int[y.Dates.Length];
            for (var i = 0; i < days.Length; i++)
            {
                if (!FxDealValidator.TryParseDate(y.Dates[i], out var d))
                {
                    throw new InvalidDataException($"has the year-gap date '{y.Dates[i]}', which is not YYYY-MM-DD");
                }

                days[i] = d.DayNumber;
            }

            Array.Sort(days);
            _yearGap[(y.BUnit, y.Cpty, y.BuyCurr, y.SellCurr)] = days;
        }

        _face = [];
        foreach (var f in document.FaceValue)
        {
            _face[(f.BUnit, f.Cpty, f.PrimaryCurr)] = f;
        }

        _tenor = new Dictionary<string, TenorRange>(StringComparer.Ordinal);
        foreach (var t in document.Tenor)
        {
            _tenor[t.Instrument] = t;
        }
    }

    public FxTablesDocument Document { get; }

    public IReadOnlyList<string> Clients => Document.Clients;

    public bool Serves(string client) => _clients.Contains(client);

    public bool TryGetGroup(string cpty, out string[] currencies) => _groups.TryGetValue(cpty, out currencies!);

    public bool HasPair(string cpty, string buy, string sell) => _pairs.TryGetValue(cpty, out var set) && set.Contains((buy, sell));

    public IEnumerable<string> PairsOf(string cpty) =>
        Document.Pairs.FirstOrDefault(p => p.Cpty == cpty)?.Pairs ?? [];

    /// <summary>The last deal date of the key strictly before <paramref name="day"/> (a day number), or null.</summary>
    public int? LastBefore(string bunit, string cpty, string buy, string sell, int day)
    {
        if (!_yearGap.TryGetValue((bunit, cpty, buy, sell), out var days))
        {
            return null;
        }

        var i = Array.BinarySearch(days, day);
        var before = (i >= 0 ? i : ~i) - 1;
        return before >= 0 ? days[before] : null;
    }

    public FaceValueRange? FaceValue(string bunit, string cpty, string primary) => _face.TryGetValue((bunit, cpty, primary), out var r) ? r : null;

    public TenorRange? Tenor(string instrument) => _tenor.TryGetValue(instrument, out var r) ? r : null;

    /// <summary>Fits every table but the reconstruction thresholds from the training deals of <paramref name="clients"/>.</summary>
    public static FxTablesDocument Fit(IReadOnlyList<FxDeal> deals, IReadOnlyList<string> clients, FxQuantiles quantiles, int yearGapMonths)
    {
        var groups = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var pairs = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var dates = new SortedDictionary<string, (YearGapEntry Key, SortedSet<string> Dates)>(StringComparer.Ordinal);
        var face = new SortedDictionary<string, (string BUnit, string Cpty, string Primary, List<double> Values)>(StringComparer.Ordinal);
        var tenor = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var d in deals)
        {
            Add(groups, d.Cpty, d.BuyCurr);
            Add(groups, d.Cpty, d.SellCurr);
            Add(pairs, d.Cpty, $"{d.BuyCurr}/{d.SellCurr}");
            var key = $"{d.BUnit}\u0001{d.Cpty}\u0001{d.BuyCurr}\u0001{d.SellCurr}";
            if (!dates.TryGetValue(key, out var entry))
            {
                entry = (new YearGapEntry(d.BUnit, d.Cpty, d.BuyCurr, d.SellCurr, []), new SortedSet<string>(StringComparer.Ordinal));
                dates[key] = entry;
            }

            entry.Dates.Add(FxDealValidator.FormatDate(d.DealDate));
            var fkey = $"{d.BUnit}\u0001{d.Cpty}\u0001{d.PrimaryCurr}";
            if (!face.TryGetValue(fkey, out var f))
            {
                f = (d.BUnit, d.Cpty, d.PrimaryCurr, []);
                face[fkey] = f;
            }

            f.Values.Add(d.FaceValue);
            if (!tenor.TryGetValue(d.FxInstrumentType, out var t))
            {
                t = [];
                tenor[d.FxInstrumentType] = t;
            }

            t.Add(d.TDays);
        }

        return new FxTablesDocument
        {
            Clients = [.. clients.Order(StringComparer.Ordinal)],
            YearGapMonths = yearGapMonths,
            Quantiles = quantiles,
            CurrencyGroups = [.. groups.Select(g => new CurrencyGroupEntry(g.Key, [.. g.Value]))],
            Pairs = [.. pairs.Select(p => new PairEntry(p.Key, [.. p.Value]))],
            YearGap = [.. dates.Values.Select(v => v.Key with { Dates = [.. v.Dates] })],
            FaceValue = [.. face.Values.Select(v =>
            {
                var values = v.Values.ToArray();
                var (lower, upper) = WithMargin(Quantile(values, quantiles.FaceValueLower), Quantile(values, quantiles.FaceValueUpper), quantiles.FaceValueMargin);
                return new FaceValueRange(v.BUnit, v.Cpty, v.Primary, lower, upper, values.Length);
            })],
            Tenor = [.. tenor.Select(t =>
            {
                var values = t.Value.ToArray();
                return new TenorRange(t.Key, Math.Floor(Quantile(values, quantiles.TenorLower)), Math.Ceiling(Quantile(values, quantiles.TenorUpper)), values.Length);
            })],
        };
    }

    /// <summary>numpy's default (linear) percentile of <paramref name="values"/> at <paramref name="q"/> in [0, 1]; sorts a copy.</summary>
    internal static double Quantile(ReadOnlySpan<double> values, double q)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>[lower, upper] widened on a log scale by <paramref name="margin"/> of its log width on each side (amounts are positive).</summary>
    internal static (double Lower, double Upper) WithMargin(double lower, double upper, double margin)
    {
        if (!(lower > 0) || !(upper >= lower) || margin == 0)
        {
            return (lower, upper);
        }

        var width = Math.Log(upper / lower);
        var factor = Math.Exp(width * margin);
        return (lower / factor, upper * factor);
    }

    private static void Add(SortedDictionary<string, SortedSet<string>> map, string key, string value)
    {
        if (!map.TryGetValue(key, out var set))
        {
            set = new SortedSet<string>(StringComparer.Ordinal);
            map[key] = set;
        }

        set.Add(value);
    }
}
