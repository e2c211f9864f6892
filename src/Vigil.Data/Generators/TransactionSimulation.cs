using System.Globalization;

namespace Vigil.Data;

/// <summary>
/// The engine behind <see cref="TransactionGenerator"/>. Time is cut into one-hour slices. Each slice
/// gets an exact number of legitimate transactions (the period's total spread by day volume and a
/// drifting hour-of-day profile) at sorted uniform times, and starts fraud episodes whose events go into
/// a time-ordered queue; the two streams are merged so rows come out in strictly increasing time, and
/// per-customer history features are computed as rows are emitted. All randomness comes from one
/// <see cref="VigilRandom"/> consumed in a fixed order, so the output depends only on the options.
/// </summary>
internal sealed class TransactionSimulation
{
    public const int PatternNone = 0;
    public const int PatternCardTesting = 1;
    public const int PatternAccountTakeover = 2;
    public const int PatternColludingMerchant = 3;

    public const long MicrosPerHour = 3_600_000_000L;
    public const long MicrosPerDay = 24 * MicrosPerHour;

    /// <summary>Amounts grow by this fraction every 30 days.</summary>
    public const double InflationPer30Days = 0.04;

    /// <summary>Share of merchants that open during the period (at 30–90% of it).</summary>
    public const double NewMerchantShare = 0.12;

    private const int MaxCents = 2_500_000;
    private const int MinCents = 50;

    public static readonly string[] Patterns = ["none", "card_testing", "account_takeover", "colluding_merchant"];

    public static readonly string[] Categories =
        ["grocery", "fuel", "restaurants", "travel", "electronics", "online_retail", "jewelry", "gaming", "pharmacy", "entertainment"];

    private const int Grocery = 0;
    private const int Travel = 3;
    private const int Electronics = 4;
    private const int OnlineRetail = 5;
    private const int Jewelry = 6;
    private const int Gaming = 7;

    private static readonly double[] MedianAmount = [38, 45, 28, 260, 180, 55, 320, 22, 25, 35];
    private static readonly double[] AmountSigma = [0.6, 0.4, 0.6, 0.8, 0.9, 0.9, 0.9, 0.8, 0.6, 0.7];
    private static readonly double[] EarlyCategoryShare = [0.22, 0.12, 0.16, 0.04, 0.05, 0.15, 0.015, 0.04, 0.07, 0.135];
    private static readonly double[] LateCategoryShare = [0.18, 0.10, 0.15, 0.05, 0.06, 0.22, 0.015, 0.07, 0.06, 0.095];
    private static readonly double[] MerchantShare = [0.15, 0.10, 0.22, 0.06, 0.07, 0.14, 0.04, 0.06, 0.06, 0.10];

    // Legitimate activity by UTC hour: early in the period it peaks at lunch and early evening; by the
    // end it has moved towards late evening. Both keep 01:00-04:59 quiet.
    private static readonly double[] EarlyHours =
        [0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 2.0, 3.5, 4.5, 5.0, 5.5, 6.5, 6.0, 5.0, 4.8, 5.2, 6.2, 6.8, 6.0, 4.8, 3.6, 2.4, 1.2];

    private static readonly double[] LateHours =
        [1.4, 0.7, 0.35, 0.2, 0.2, 0.25, 0.5, 1.2, 2.4, 3.4, 4.0, 4.6, 5.4, 5.2, 4.6, 4.5, 4.8, 5.6, 6.4, 6.9, 7.0, 6.2, 4.6, 2.6];

    private readonly VigilRandom _rng;
    private readonly long _startMicros;
    private readonly long _endMicros;
    private readonly int _days;
    private readonly int _slices;
    private readonly int _slicesPerHour;
    private readonly long _sliceMicros;
    private readonly double[] _sliceCumWeight;
    private readonly long _legitTotal;
    private readonly long _fraudTotal;
    private readonly int _idWidth;

    // Customers.
    private readonly string[] _customerIds;
    private readonly CustomerProfile[] _customers;
    private readonly AliasTable _customerPicker;

    // Merchants.
    private readonly string[] _merchantIds;
    private readonly int[] _merchantCategory;
    private readonly long[] _merchantOpen;
    private readonly int[][] _originalMerchants;
    private readonly AliasTable[] _originalPickers;
    private readonly int[][] _newMerchants;
    private readonly int[] _newOpened;
    private readonly int[] _colluders;

    private readonly CustomerHistories _histories;
    private readonly PriorityQueue<FraudEvent, (long Time, long Seq)> _pending = new();
    private readonly double[] _categoryCum = new double[Categories.Length];
    private readonly List<FraudEvent> _episode = [];

    // How far ahead of the row being emitted its customer's state, then its window entries, are prefetched.
    private const int PrefetchStateAhead = 16;
    private const int PrefetchWindowAhead = 8;

    private FraudEvent[] _events = [];

    private int _slice = -1;
    private long _sliceStart;
    private long _sliceEnd;
    private double _inflation;
    private long[] _legitTimes = [];
    private double[] _gaps = [];
    private int _legitCount;
    private int _legitPos;
    private long _fraudScheduled;
    private long _fraudDebt;
    private long _pendingSeq;
    private long _lastTime = long.MinValue;
    private long _rowsEmitted;

    public TransactionSimulation(TransactionGeneratorOptions options, int maxRowsPerSlice = 500_000)
    {
        options.Validate();
        _rng = new VigilRandom(options.Seed);
        _startMicros = TimestampColumn.ToMicros(options.Start);
        _days = options.Days;
        // One-hour slices, or finer ones (a power of two per hour, which divides an hour exactly) when
        // an hour would hold more than ~500k rows, so per-slice buffers stay small at any row count.
        var peakRowsPerHour = 3.0 * options.Rows / (options.Days * 24.0);
        _slicesPerHour = 1;
        while (_slicesPerHour < 512 && peakRowsPerHour / _slicesPerHour > maxRowsPerSlice)
        {
            _slicesPerHour *= 2;
        }

        _sliceMicros = MicrosPerHour / _slicesPerHour;
        _slices = options.Days * 24 * _slicesPerHour;
        _endMicros = _startMicros + (options.Days * MicrosPerDay);
        _fraudTotal = options.FraudRows;
        _legitTotal = options.Rows - _fraudTotal;
        _idWidth = Math.Max(9, options.Rows.ToString(CultureInfo.InvariantCulture).Length);
        _sliceCumWeight = SliceWeights();

        var customers = options.ResolvedCustomers;
        _customerIds = Ids('c', customers, 6);
        _customers = new CustomerProfile[customers];
        _customerPicker = BuildCustomers(_rng.Fork(1), options.Rows);
        _histories = new CustomerHistories(customers);

        var merchants = options.ResolvedMerchants;
        _merchantIds = Ids('m', merchants, 5);
        _merchantCategory = new int[merchants];
        _merchantOpen = new long[merchants];
        _originalMerchants = new int[Categories.Length][];
        _originalPickers = new AliasTable[Categories.Length];
        _newMerchants = new int[Categories.Length][];
        _newOpened = new int[Categories.Length];
        _colluders = BuildMerchants(_rng.Fork(2));
    }

    public IReadOnlyList<string> MerchantIds => _merchantIds;

    public int SlicesPerHour => _slicesPerHour;

    public long MerchantOpenMicros(int merchant) => _merchantOpen[merchant];

    public IReadOnlyList<int> ColludingMerchants => _colluders;

    /// <summary>
    /// Fills <paramref name="buffers"/> with the next rows (as many as it holds, fewer at the end) and
    /// wraps them in <paramref name="chunk"/>; false when all rows were produced.
    /// </summary>
    public bool TryNextChunk(TransactionChunkBuffers buffers, out Frame chunk)
    {
        // Two passes. The first draws the events (the only consumer of the random stream, so the output
        // is the same as drawing and emitting row by row) and fills every column that needs no history.
        // The second computes the per-customer history features; customers are random, so their
        // windows are mostly cache misses, and knowing the coming rows lets it prefetch them.
        var max = buffers.Capacity;
        if (_events.Length < max)
        {
            _events = new FraudEvent[max];
        }

        var events = _events;
        var n = 0;
        while (n < max && NextEvent(out var ev))
        {
            var time = Math.Max(ev.Time, _lastTime + 1);
            _lastTime = time;
            events[n] = ev with { Time = time };
            EmitPlain(buffers, n, time, ev);
            n++;
        }

        for (var i = 0; i < n; i++)
        {
            if (i + PrefetchStateAhead < n)
            {
                _histories.PrefetchState(events[i + PrefetchStateAhead].Customer);
            }

            if (i + PrefetchWindowAhead < n)
            {
                _histories.PrefetchWindow(events[i + PrefetchWindowAhead].Customer);
            }

            EmitHistory(buffers, i, events[i]);
        }

        chunk = n == 0 ? null! : buffers.ToFrame(n, _customerIds, _merchantIds);
        return n > 0;
    }

    private bool NextEvent(out FraudEvent ev)
    {
        while (true)
        {
            var legitTime = _legitPos < _legitCount ? _legitTimes[_legitPos] : long.MaxValue;
            if (_pending.TryPeek(out var fraud, out _) && fraud.Time < _sliceEnd && fraud.Time <= legitTime)
            {
                ev = _pending.Dequeue();
                return true;
            }

            if (legitTime != long.MaxValue)
            {
                _legitPos++;
                ev = Legitimate(legitTime);
                return true;
            }

            if (_slice + 1 < _slices)
            {
                BeginSlice(_slice + 1);
                continue;
            }

            if (_pending.Count > 0)
            {
                ev = _pending.Dequeue();
                return true;
            }

            ev = default;
            return false;
        }
    }

    private void EmitPlain(TransactionChunkBuffers b, int row, long time, in FraudEvent ev)
    {
        var c = ev.Customer;
        _rowsEmitted++;
        b.SetTransactionId(row, _idWidth + 1, _rowsEmitted);
        b.Timestamp[row] = time;
        b.Customer[row] = c;
        b.Merchant[row] = ev.Merchant;
        b.Category[row] = _merchantCategory[ev.Merchant];
        b.Amount[row] = ev.Cents / 100.0;
        b.Hour[row] = (time / MicrosPerHour) % 24;
        b.MonthlySpend[row] = _customers[c].MonthlySpend;
        b.Tenure[row] = (time - _customers[c].Open) / MicrosPerDay;
        b.Label[row] = ev.Pattern == PatternNone ? 0.0 : 1.0;
        b.Pattern[row] = ev.Pattern;
    }

    private void EmitHistory(TransactionChunkBuffers b, int row, in FraudEvent ev)
    {
        var snapshot = _histories.Observe(ev.Customer, ev.Time, ev.Cents, ev.Merchant);
        b.SameMerchant24h[row] = snapshot.SameMerchant1d;
        b.Count1d[row] = snapshot.Count1d;
        b.Count7d[row] = snapshot.Count7d;
        b.Count30d[row] = snapshot.Count30d;
        b.Sum1d[row] = snapshot.Cents1d / 100.0;
        b.Sum7d[row] = snapshot.Cents7d / 100.0;
        b.Sum30d[row] = snapshot.Cents30d / 100.0;
    }

    private FraudEvent Legitimate(long time)
    {
        var customer = PickOpenCustomer(time);
        var u = _rng.NextDouble();
        var category = Categories.Length - 1;
        for (var k = 0; k < _categoryCum.Length; k++)
        {
            if (u < _categoryCum[k])
            {
                category = k;
                break;
            }
        }

        var merchant = PickMerchant(category);
        var amount = MedianAmount[category] * Math.Exp(AmountSigma[category] * _rng.NextGaussian()) * _customers[customer].Spend * _inflation;
        return new FraudEvent(time, customer, merchant, Cents(amount), PatternNone);
    }

    private int PickOpenCustomer(long time)
    {
        while (true)
        {
            var c = _customerPicker.Sample(_rng);
            if (_customers[c].Open <= time)
            {
                return c;
            }
        }
    }

    private int PickMerchant(int category)
    {
        var opened = _newOpened[category];
        if (opened > 0 && _rng.NextDouble() < 0.35 * opened / _newMerchants[category].Length)
        {
            return _newMerchants[category][_rng.Next(opened)];
        }

        return _originalMerchants[category][_originalPickers[category].Sample(_rng)];
    }

    private static int Cents(double amount) => (int)Math.Clamp(Math.Round(amount * 100.0), MinCents, MaxCents);

    private void BeginSlice(int slice)
    {
        _slice = slice;
        _sliceStart = _startMicros + (slice * _sliceMicros);
        _sliceEnd = _sliceStart + _sliceMicros;
        var elapsedDays = (_sliceStart - _startMicros + (_sliceMicros / 2)) / (double)MicrosPerDay;
        _inflation = Math.Pow(1.0 + InflationPer30Days, elapsedDays / 30.0);
        var x = PeriodFraction((int)((_sliceStart - _startMicros) / MicrosPerDay));
        var cum = 0.0;
        for (var k = 0; k < Categories.Length; k++)
        {
            cum += EarlyCategoryShare[k] + (x * (LateCategoryShare[k] - EarlyCategoryShare[k]));
            _categoryCum[k] = cum;
        }

        for (var k = 0; k < Categories.Length; k++)
        {
            var list = _newMerchants[k];
            while (_newOpened[k] < list.Length && _merchantOpen[list[_newOpened[k]]] <= _sliceStart)
            {
                _newOpened[k]++;
            }
        }

        var legit = Allocate(_legitTotal, slice + 1) - Allocate(_legitTotal, slice);
        GenerateLegitTimes((int)legit);

        _fraudDebt += Allocate(_fraudTotal, slice + 1) - Allocate(_fraudTotal, slice);
        while (_fraudDebt > 0 && _fraudScheduled < _fraudTotal)
        {
            var scheduled = ScheduleEpisode(_fraudTotal - _fraudScheduled);
            _fraudScheduled += scheduled;
            _fraudDebt -= scheduled;
        }
    }

    private long Allocate(long total, int sliceBoundary) =>
        sliceBoundary >= _slices ? total : (long)Math.Floor(total * (_sliceCumWeight[sliceBoundary] / _sliceCumWeight[_slices]));

    private void GenerateLegitTimes(int count)
    {
        if (_legitTimes.Length < count)
        {
            _legitTimes = new long[Math.Max(count, _legitTimes.Length * 2)];
            _gaps = new double[_legitTimes.Length + 1];
        }

        if (_gaps.Length < count + 1)
        {
            _gaps = new double[count + 1];
        }

        // Sorted uniform times from normalized cumulative exponential gaps: O(n), no sort.
        var total = 0.0;
        for (var i = 0; i <= count; i++)
        {
            total += _rng.NextExponential();
            _gaps[i] = total;
        }

        for (var i = 0; i < count; i++)
        {
            _legitTimes[i] = _sliceStart + (long)(_gaps[i] / total * _sliceMicros);
        }

        _legitCount = count;
        _legitPos = 0;
    }

    private long ScheduleEpisode(long budget)
    {
        var r = _rng.NextDouble();
        var pattern = r < 0.2 ? PatternCardTesting : r < 0.6 ? PatternAccountTakeover : PatternColludingMerchant;
        var clockHour = (int)((_sliceStart / MicrosPerHour) % 24);
        var hourStart = _sliceStart - (_sliceStart % MicrosPerHour);
        var nightStart = Math.Max(
            _sliceStart,
            hourStart + ((((1 - clockHour) + 24) % 24) * MicrosPerHour) + (long)(_rng.NextDouble() * 1.5 * MicrosPerHour));
        if (pattern == PatternAccountTakeover && nightStart + (3 * MicrosPerHour) >= _endMicros)
        {
            pattern = PatternCardTesting;
        }

        var customer = PickOpenCustomerUniform(_sliceStart);
        var spend = _customers[customer].Spend;
        int count;
        switch (pattern)
        {
            case PatternCardTesting:
            {
                count = (int)Math.Min(_rng.Next(6, 21), budget);
                var category = _rng.NextBool(0.6) ? OnlineRetail : Gaming;
                var first = PickMerchant(category);
                var second = _rng.NextBool(0.4) ? PickMerchant(category) : first;
                var time = _sliceStart + (long)(_rng.NextDouble() * _sliceMicros);
                for (var i = 0; i < count; i++)
                {
                    time += (long)(_rng.NextDouble(8, 90) * 1_000_000);
                    var cents = _rng.NextBool(0.3) ? 100 : _rng.Next(50, 500);
                    Schedule(time, customer, _rng.NextBool(0.5) ? first : second, cents, pattern);
                }

                break;
            }

            case PatternAccountTakeover:
            {
                count = (int)Math.Min(_rng.Next(2, 6), budget);
                var time = nightStart;
                for (var i = 0; i < count; i++)
                {
                    var category = _rng.Next(3) switch { 0 => Electronics, 1 => Jewelry, _ => Travel };
                    var amount = MedianAmount[category] * Math.Exp(0.35 * _rng.NextGaussian()) * spend * _rng.NextDouble(2.5, 6.0) * _inflation;
                    Schedule(time, customer, PickMerchant(category), Cents(amount), pattern);
                    time += (long)(_rng.NextDouble(2, 25) * 60_000_000);
                }

                break;
            }

            default:
            {
                count = (int)Math.Min(_rng.Next(1, 4), budget);
                var merchant = _colluders[_rng.Next(_colluders.Length)];
                var time = _sliceStart + (long)(_rng.NextDouble() * _sliceMicros);
                for (var i = 0; i < count; i++)
                {
                    var dollars = Math.Round(420.0 * Math.Exp(0.35 * _rng.NextGaussian()) * _inflation);
                    Schedule(time, customer, merchant, Cents(dollars), pattern);
                    time += (long)(_rng.NextDouble(10, 180) * 60_000_000);
                }

                break;
            }
        }

        FlushEpisode();
        return count;
    }

    private void Schedule(long time, int customer, int merchant, int cents, int pattern) =>
        _episode.Add(new FraudEvent(time, customer, merchant, cents, pattern));

    /// <summary>
    /// Queues the events of the episode just built. An episode that would run past the end of the
    /// period is compressed towards its first event (order and relative spacing kept) to end inside it.
    /// </summary>
    private void FlushEpisode()
    {
        var first = _episode[0].Time;
        var last = _episode[^1].Time;
        var limit = _endMicros - 1 - _episode.Count;
        var anchor = Math.Min(first, limit);
        var scale = last > limit && last > first ? (double)(limit - anchor) / (last - first) : 1.0;
        foreach (var ev in _episode)
        {
            var t = last <= limit ? ev.Time : anchor + (long)((ev.Time - first) * scale);
            _pending.Enqueue(ev with { Time = t }, (t, _pendingSeq++));
        }

        _episode.Clear();
    }

    private int PickOpenCustomerUniform(long time)
    {
        while (true)
        {
            var c = _rng.Next(_customerIds.Length);
            if (_customers[c].Open <= time)
            {
                return c;
            }
        }
    }

    private double PeriodFraction(int day) => _days == 1 ? 0.0 : Math.Min(1.0, day / (_days - 1.0));

    private double[] SliceWeights()
    {
        double earlyTotal = 0, lateTotal = 0;
        for (var h = 0; h < 24; h++)
        {
            earlyTotal += EarlyHours[h];
            lateTotal += LateHours[h];
        }

        var startDay = (int)(((_startMicros / MicrosPerDay) + 4) % 7); // 0 = Sunday (1970-01-01 was a Thursday)
        var startHour = (int)((_startMicros / MicrosPerHour) % 24);
        var cum = new double[_slices + 1];
        for (var s = 0; s < _slices; s++)
        {
            var day = s / (24 * _slicesPerHour);
            var x = PeriodFraction(day);
            var hour = (startHour + (s / _slicesPerHour)) % 24;
            var hourShare = ((1 - x) * EarlyHours[hour] / earlyTotal) + (x * LateHours[hour] / lateTotal);
            var weekday = (startDay + day) % 7;
            var volume = (1.0 + (0.15 * x)) * (weekday is 0 or 6 ? 1.08 : 1.0);
            cum[s + 1] = cum[s] + (volume * hourShare);
        }

        return cum;
    }

    private AliasTable BuildCustomers(VigilRandom random, long rows)
    {
        var n = _customerIds.Length;
        var activity = new double[n];
        var totalActivity = 0.0;
        var span = _endMicros - _startMicros;
        for (var c = 0; c < n; c++)
        {
            activity[c] = Math.Exp(0.8 * random.NextGaussian());
            totalActivity += activity[c];
            _customers[c].Spend = Math.Exp(0.45 * random.NextGaussian());
            _customers[c].Open = c > 0 && random.NextBool(0.15)
                ? _startMicros + (long)(random.NextDouble() * 0.85 * span)
                : _startMicros - (long)(random.NextDouble(30, 3650) * MicrosPerDay);
        }

        var monthlyRows = rows * (30.0 / _days);
        for (var c = 0; c < n; c++)
        {
            var monthlyCount = monthlyRows * activity[c] / totalActivity;
            var spend = monthlyCount * 75.0 * _customers[c].Spend * Math.Exp(0.15 * random.NextGaussian());
            _customers[c].MonthlySpend = Math.Round(spend, 2);
        }

        return new AliasTable(activity);
    }

    private int[] BuildMerchants(VigilRandom random)
    {
        var n = _merchantIds.Length;
        var categories = Categories.Length;
        var newCount = Math.Max(categories, (int)(n * NewMerchantShare));
        var originalCount = n - newCount;
        var shares = new AliasTable(MerchantShare);
        var originals = new List<int>[categories];
        var fresh = new List<int>[categories];
        for (var k = 0; k < categories; k++)
        {
            originals[k] = [];
            fresh[k] = [];
        }

        var span = _endMicros - _startMicros;
        for (var m = 0; m < n; m++)
        {
            var isNew = m >= originalCount;
            var ordinal = isNew ? m - originalCount : m;
            var firstRound = isNew ? categories : 2 * categories;
            var category = ordinal < firstRound ? ordinal % categories : shares.Sample(random);
            _merchantCategory[m] = category;
            _merchantOpen[m] = isNew ? _startMicros + (long)(random.NextDouble(0.3, 0.9) * span) : long.MinValue;
            (isNew ? fresh : originals)[category].Add(m);
        }

        for (var k = 0; k < categories; k++)
        {
            _originalMerchants[k] = [.. originals[k]];
            var weights = new double[_originalMerchants[k].Length];
            for (var r = 0; r < weights.Length; r++)
            {
                weights[r] = 1.0 / Math.Pow(r + 1, 0.8);
            }

            _originalPickers[k] = new AliasTable(weights);
            var list = fresh[k];
            list.Sort((a, b) => _merchantOpen[a] != _merchantOpen[b] ? _merchantOpen[a].CompareTo(_merchantOpen[b]) : a.CompareTo(b));
            _newMerchants[k] = [.. list];
        }

        return
        [
            _originalMerchants[Electronics][random.Next(_originalMerchants[Electronics].Length)],
            _originalMerchants[Jewelry][random.Next(_originalMerchants[Jewelry].Length)],
            _originalMerchants[OnlineRetail][random.Next(_originalMerchants[OnlineRetail].Length)],
        ];
    }

    private static string[] Ids(char prefix, int count, int minWidth)
    {
        var format = "D" + Math.Max(minWidth, count.ToString(CultureInfo.InvariantCulture).Length).ToString(CultureInfo.InvariantCulture);
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = prefix + (i + 1).ToString(format, CultureInfo.InvariantCulture);
        }

        return ids;
    }

    // Packed so one cache line serves every per-customer lookup of a row.
    private struct CustomerProfile
    {
        public double Spend;
        public double MonthlySpend;
        public long Open;
    }

    internal readonly record struct FraudEvent(long Time, int Customer, int Merchant, int Cents, int Pattern);
}
