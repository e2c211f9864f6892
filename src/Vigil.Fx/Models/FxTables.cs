namespace Vigil.Fx;

/// <summary>
/// The lookup form of <see cref="FxTablesDocument"/>. Every business unit, counterparty and currency the tables name gets a
/// small integer id; a deal's texts are turned into ids once (<see cref="KeysOf"/>) and every rule and range is then a lookup
/// on integer keys (no tuple of strings hashed per lookup), so deciding a deal allocates nothing.
/// </summary>
internal sealed class FxTables
{
    private readonly HashSet<string> _clients;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly bool[] _hasGroup;
    private readonly HashSet<Key3> _pairs = [];
    private readonly Dictionary<Key4, int[]> _yearGap = [];
    private readonly Dictionary<Key3, int> _face = []; // the range's index in Document.FaceValue
    private readonly TenorRange?[] _tenorById;
    private readonly Dictionary<string, string> _pairLists;
    private readonly string[] _faceUsual;
    private readonly string?[] _tenorUsualById;

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
        var grouped = new List<int>();
        foreach (var g in document.CurrencyGroups)
        {
            grouped.Add(Intern(g.Cpty));
        }

        // A counterparty listed twice keeps its last list of pairs (as the tables always have).
        var pairs = new Dictionary<string, List<(string Buy, string Sell)>>(StringComparer.Ordinal);
        _pairLists = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in document.Pairs)
        {
            var list = new List<(string, string)>();
            foreach (var text in p.Pairs)
            {
                var slash = text.IndexOf('/', StringComparison.Ordinal);
                if (slash < 1 || slash == text.Length - 1)
                {
                    throw new InvalidDataException($"has the pair '{text}' for {p.Cpty}; pairs are BUY/SELL");
                }

                list.Add((text[..slash], text[(slash + 1)..]));
            }

            pairs[p.Cpty] = list;
            _pairLists.TryAdd(p.Cpty, FxReasons.PairList(p.Pairs));
        }

        foreach (var (cpty, list) in pairs)
        {
            var c = Intern(cpty);
            foreach (var (buy, sell) in list)
            {
                _pairs.Add(new Key3(c, Intern(buy), Intern(sell)));
            }
        }

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
            _yearGap[new Key4(Intern(y.BUnit), Intern(y.Cpty), Intern(y.BuyCurr), Intern(y.SellCurr))] = days;
        }

        for (var i = 0; i < document.FaceValue.Length; i++)
        {
            var f = document.FaceValue[i];
            _face[new Key3(Intern(f.BUnit), Intern(f.Cpty), Intern(f.PrimaryCurr))] = i;
        }

        // Instruments get ids too, so a deal's tenor range is found by its id like every other table (the last entry of an
        // instrument listed twice wins, as it always did).
        var tenor = new List<(int Id, TenorRange Range)>();
        foreach (var t in document.Tenor)
        {
            tenor.Add((Intern(t.Instrument), t));
        }

        _tenorById = new TenorRange?[_ids.Count];
        _tenorUsualById = new string?[_ids.Count];
        foreach (var (id, range) in tenor)
        {
            _tenorById[id] = range;
            _tenorUsualById[id] = FxReasons.TenorUsual(range);
        }

        _faceUsual = [.. document.FaceValue.Select(FxReasons.FaceValueUsual)];

        _hasGroup = new bool[_ids.Count];
        foreach (var id in grouped)
        {
            _hasGroup[id] = true;
        }
    }

    public FxTablesDocument Document { get; }

    public IReadOnlyList<string> Clients => Document.Clients;

    public bool Serves(string client) => _clients.Contains(client);

    /// <summary>The ids of a deal's business unit, counterparty and currencies (-1: a text no table names).</summary>
    /// <remarks>
    /// Through <paramref name="seen"/>: the texts of a batch's deals are mostly the same string objects (the request reader
    /// shares them), so a text met before in the batch is found by reference.
    /// </remarks>
    public DealKeys KeysOf(in ValidDeal deal, TextIds seen) =>
        new(seen.Find(deal.BUnit, this), seen.Find(deal.Cpty, this), seen.Find(deal.BuyCurr, this), seen.Find(deal.SellCurr, this), seen.Find(deal.PrimaryCurr, this),
            seen.Find(deal.FxInstrumentType, this));

    /// <summary>True when the counterparty has a currency group.</summary>
    public bool HasGroup(in DealKeys keys) => keys.Cpty >= 0 && _hasGroup[keys.Cpty];

    /// <summary>
    /// The pair, year-gap and FaceValue entries of the deal's keys, with one hash lookup each (<see cref="DealTablesMemo"/>
    /// remembers them per batch).
    /// </summary>
    public DealTables Lookup(in DealKeys keys)
    {
        var hasPair = keys.Cpty >= 0 && keys.Buy >= 0 && keys.Sell >= 0 && _pairs.Contains(new Key3(keys.Cpty, keys.Buy, keys.Sell));
        int[]? days = null;
        if (keys.BUnit >= 0 && keys.Cpty >= 0 && keys.Buy >= 0 && keys.Sell >= 0)
        {
            _yearGap.TryGetValue(new Key4(keys.BUnit, keys.Cpty, keys.Buy, keys.Sell), out days);
        }

        var face = keys.BUnit >= 0 && keys.Cpty >= 0 && keys.Primary >= 0 && _face.TryGetValue(new Key3(keys.BUnit, keys.Cpty, keys.Primary), out var f) ? f : -1;
        return new DealTables(hasPair, days, face);
    }

    /// <summary>The pairs listed for <paramref name="cpty"/> (its first entry) as a reason lists them.</summary>
    public string PairListOf(string cpty) => _pairLists.TryGetValue(cpty, out var text) ? text : string.Empty;

    /// <summary>The last of the sorted deal <paramref name="days"/> of a year-gap entry strictly before <paramref name="day"/> (a day number), or null.</summary>
    public static int? LastBefore(int[]? days, int day)
    {
        if (days is null || days.Length == 0)
        {
            return null;
        }

        // Deals are scored after the period the tables were fitted on, so the last known day is usually the answer: no search.
        if (days[^1] < day)
        {
            return days[^1];
        }

        // The first index whose day is not before `day` (a lower bound: an imported table's days may repeat, and a binary
        // search for an equal key could land on any of the copies); the day before it is the answer.
        int lo = 0, hi = days.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (days[mid] < day)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo > 0 ? days[lo - 1] : null;
    }

    /// <summary>The FaceValue range at <paramref name="index"/> (<see cref="DealTables.Face"/>), or null for -1.</summary>
    public FaceValueRange? FaceValueAt(int index) => index >= 0 ? Document.FaceValue[index] : null;

    /// <summary>The reason text of the FaceValue range at <paramref name="index"/> (>= 0): its usual range and group.</summary>
    public string FaceValueUsualAt(int index) => _faceUsual[index];

    /// <summary>The reason text of the TDays range of the deal's instrument type (when <see cref="Tenor"/> has one).</summary>
    public string TenorUsual(in DealKeys keys) => _tenorUsualById[keys.Instrument]!;

    /// <summary>The TDays range of the deal's instrument type, or null.</summary>
    public TenorRange? Tenor(in DealKeys keys) => keys.Instrument >= 0 ? _tenorById[keys.Instrument] : null;

    /// <summary>Every text the tables name, with its id (ids run from 0 to the count less one).</summary>
    public IReadOnlyDictionary<string, int> Ids => _ids;

    internal int Find(string text) => _ids.TryGetValue(text, out var id) ? id : -1;

    private int Intern(string text)
    {
        if (!_ids.TryGetValue(text, out var id))
        {
            id = _ids.Count;
            _ids[text] = id;
        }

        return id;
    }

    /// <summary>Three ids: (Cpty, Buy, Sell) of a pair, or (BUnit, Cpty, Primary) of a FaceValue range.</summary>
    private readonly record struct Key3(int A, int B, int C);

    /// <summary>(BUnit, Cpty, Buy, Sell) of the year-gap table.</summary>
    private readonly record struct Key4(int BUnit, int Cpty, int Buy, int Sell);

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

/// <summary>A deal's texts as <see cref="FxTables"/> ids (-1: a text no table names).</summary>
internal readonly record struct DealKeys(int BUnit, int Cpty, int Buy, int Sell, int Primary, int Instrument);

/// <summary>What <see cref="FxTables.Lookup"/> found for a deal's keys.</summary>
/// <param name="HasPair">True when the counterparty traded the deal's buy/sell pair.</param>
/// <param name="Days">The sorted deal days of its (BUnit, Cpty, BuyCurr, SellCurr) year-gap entry, or null.</param>
/// <param name="Face">The index of its (BUnit, Cpty, PrimaryCurr) range in the document's FaceValue list, or -1 (an index, not
/// the range, so that keeping it per pending deal writes no object reference).</param>
internal readonly record struct DealTables(bool HasPair, int[]? Days, int Face);

/// <summary>
/// <see cref="FxTables.Lookup"/> remembered by the deal's packed ids in a small direct-mapped table (one per batch and thread):
/// a batch's deals repeat a few (BUnit, Cpty, BuyCurr, SellCurr, PrimaryCurr) combinations, so most deals cost one multiply
/// and one compare instead of three hash lookups of composite keys.
/// </summary>
internal sealed class DealTablesMemo
{
    private const int SlotBits = 7;
    private const int IdBits = 12; // five ids (each plus one, so -1 packs too) in 60 bits

    private readonly FxTables _tables;
    private readonly bool _packs;
    private readonly long[] _keys = new long[1 << SlotBits];
    private readonly DealTables[] _found = new DealTables[1 << SlotBits];

    public DealTablesMemo(FxTables tables)
    {
        _tables = tables;
        _packs = tables.Ids.Count < (1 << IdBits) - 1;
        _keys.AsSpan().Fill(-1); // a packed key is never negative
    }

    public DealTables Of(in DealKeys keys)
    {
        if (!_packs)
        {
            return _tables.Lookup(keys);
        }

        var packed = (long)(keys.BUnit + 1) | ((long)(keys.Cpty + 1) << IdBits) | ((long)(keys.Buy + 1) << (2 * IdBits))
            | ((long)(keys.Sell + 1) << (3 * IdBits)) | ((long)(keys.Primary + 1) << (4 * IdBits));
        var slot = (int)((ulong)packed * 0x9E3779B97F4A7C15UL >> (64 - SlotBits)); // Fibonacci hashing: the top bits of the product
        if (_keys[slot] == packed)
        {
            return _found[slot];
        }

        var found = _tables.Lookup(keys);
        _found[slot] = found;
        _keys[slot] = packed;
        return found;
    }
}

/// <summary>
/// The <see cref="FxTables"/> ids of the text objects one batch met, by reference (a small direct-mapped table, one per
/// batch and thread): a repeated text costs a header hash and a reference compare instead of hashing its characters.
/// </summary>
internal sealed class TextIds
{
    // A batch meets a few dozen distinct texts: 256 slots keep two of them from sharing a slot (and evicting each other on
    // every deal, each eviction a dictionary lookup that hashes the text) in all but a few batches.
    private const int Slots = 256;
    private readonly string?[] _texts = new string?[Slots];
    private readonly int[] _ids = new int[Slots];

    /// <summary>The id of <paramref name="text"/> in <paramref name="tables"/> (-1: not named there).</summary>
    public int Find(string text, FxTables tables)
    {
        if (text is null)
        {
            return tables.Find(text!); // (an FxDeal made without a text: fails that deal as it always did)
        }

        var slot = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(text) & (Slots - 1);
        if (ReferenceEquals(_texts[slot], text))
        {
            return _ids[slot];
        }

        var id = tables.Find(text);
        _texts[slot] = text;
        _ids[slot] = id;
        return id;
    }
}
