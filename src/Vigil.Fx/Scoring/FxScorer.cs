using System.Buffers;
using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>
/// The FX decision flow over one loaded <c>fx</c> bundle, as a library API a server or the CLI calls: per deal,
/// validate → tenant check (the bundle's clients) → rules (missing currency group, unseen pair, 12-month gap; the first
/// that fires decides alone) → features (one-hot categoricals, min-max FaceValue and TDays, as fitted) → the multi-input
/// autoencoder → threshold checks (FaceValue by (BUnit, Cpty, PrimaryCurr), TDays by instrument type, reconstruction
/// error per input group) → <see cref="FxDecision"/>. Deals are decided in batches into spans: the autoencoder runs once
/// per batch; a bad or failing deal never fails its neighbours. Immutable and thread-safe.
/// </summary>
public sealed class FxScorer
{
    private readonly FeatureTransform _transform;
    private readonly int[] _categoricalInputs;
    private readonly int[]?[] _columnsById;
    private readonly int _faceInput;
    private readonly int _tdaysInput;
    private readonly string _servedText;

    /// <summary>Wraps a loaded bundle of kind <c>fx</c>.</summary>
    /// <exception cref="FxDataException">The bundle is of another kind.</exception>
    public FxScorer(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        Model = bundle.Detector as FxModel
            ?? throw new FxDataException($"the model is a '{bundle.Manifest.DetectorKind}' bundle, not an 'fx' bundle (train one with `vigil fx train`)");
        Bundle = bundle;
        _transform = bundle.Transform;
        _categoricalInputs = new int[FxFields.Categoricals.Count];
        for (var i = 0; i < _categoricalInputs.Length; i++)
        {
            _categoricalInputs[i] = _transform.InputIndexOf(FxFields.Categoricals[i]);
        }

        _columnsById = new int[_categoricalInputs.Length][];
        var scratch = new float[_transform.OutputCount];
        var ids = Model.Tables.Ids;
        for (var c = 0; c < _categoricalInputs.Length; c++)
        {
            if (_categoricalInputs[c] < 0)
            {
                continue; // not an input of this transform: Encode reports it per deal, as before
            }

            // The one-hot column each table text encodes to (the same call Encode would make per deal), by text id.
            var columns = new int[ids.Count];
            foreach (var (text, id) in ids)
            {
                scratch.AsSpan().Clear();
                if (_transform.TryEncodeCategory(_categoricalInputs[c], text, scratch) is not null)
                {
                    columns = null;
                    break;
                }

                columns[id] = scratch.AsSpan().IndexOf(1f);
            }

            _columnsById[c] = columns;
        }

        _faceInput = _transform.InputIndexOf(FxFields.FaceValue);
        _tdaysInput = _transform.InputIndexOf(FxFields.TDays);
        _servedText = string.Join(", ", Model.Clients);
    }

    /// <summary>The bundle decided with.</summary>
    public ModelBundle Bundle { get; }

    /// <summary>Its detector: tables, thresholds, clients and autoencoder.</summary>
    public FxModel Model { get; }

    /// <summary>The clients (tenants) served.</summary>
    public IReadOnlyList<string> Clients => Model.Clients;

    /// <summary>True when deals of <paramref name="client"/> are served by this bundle.</summary>
    public bool Serves(string client) => Model.Tables.Serves(client);

    /// <summary>Loads a bundle directory or zip (registering the <c>fx</c> kind first) and wraps it.</summary>
    /// <exception cref="BundleException">The bundle cannot be read.</exception>
    /// <exception cref="FxDataException">It is not an fx bundle.</exception>
    public static FxScorer Load(string path)
    {
        FxDescriptor.Register();
        return new FxScorer(ModelBundle.Load(path));
    }

    /// <summary>Validates and decides one deal.</summary>
    public FxDecision Decide(FxRawDeal deal)
    {
        Span<FxDecision> one = [default];
        Decide([deal], one);
        return one[0];
    }

    /// <summary>Validates and decides <paramref name="deals"/> into <paramref name="decisions"/> (same length or longer), in order.</summary>
    public void Decide(ReadOnlySpan<FxRawDeal> deals, Span<FxDecision> decisions) => Decide(deals, decisions, out _);

    /// <summary>
    /// Validates and decides <paramref name="deals"/> into <paramref name="decisions"/> (same length or longer), in order,
    /// and says when the autoencoder ran (for the inference log's autoencoder start and end).
    /// </summary>
    public void Decide(ReadOnlySpan<FxRawDeal> deals, Span<FxDecision> decisions, out FxStageTimes times)
    {
        CheckLengths(deals.Length, decisions.Length);
        times = default;
        var valid = ArrayPool<ValidDeal>.Shared.Rent(Math.Max(1, deals.Length));
        try
        {
            for (var i = 0; i < deals.Length; i++)
            {
                if (!FxDealValidator.TryValidateValue(deals[i], out valid[i], out var error))
                {
                    valid[i] = default;
                    decisions[i] = FxDecision.Invalid(error);
                }
            }

            DecideCore(valid.AsSpan(0, deals.Length), decisions, ref times);
        }
        finally
        {
            ArrayPool<ValidDeal>.Shared.Return(valid, clearArray: true);
        }
    }

    /// <summary>Decides validated <paramref name="deals"/> into <paramref name="decisions"/> (same length or longer), in order.</summary>
    public void Decide(ReadOnlySpan<FxDeal> deals, Span<FxDecision> decisions)
    {
        CheckLengths(deals.Length, decisions.Length);
        FxStageTimes times = default;
        var valid = ArrayPool<ValidDeal>.Shared.Rent(Math.Max(1, deals.Length));
        try
        {
            for (var i = 0; i < deals.Length; i++)
            {
                // A null deal is left undecided and a deal without a client is not served, as they always were.
                if (deals[i] is not { } deal)
                {
                    valid[i] = default;
                }
                else if (deal.Client is null)
                {
                    valid[i] = default;
                    decisions[i] = FxDecision.Invalid($"{FxFields.Client}:  is not served by this model (it serves {_servedText})");
                }
                else
                {
                    valid[i] = ValidDeal.Of(deal);
                }
            }

            DecideCore(valid.AsSpan(0, deals.Length), decisions, ref times);
        }
        finally
        {
            ArrayPool<ValidDeal>.Shared.Return(valid, clearArray: true);
        }
    }

    /// <summary>Decides one validated deal.</summary>
    public FxDecision Decide(FxDeal deal)
    {
        Span<FxDecision> one = [default];
        Decide([deal], one);
        return one[0];
    }

    private static void CheckLengths(int deals, int decisions)
    {
        if (decisions < deals)
        {
            throw new ArgumentException($"Room for {deals} decisions is needed (got {decisions}).", nameof(decisions));
        }
    }

    /// <summary>Default entries (no client) are already decided (invalid deals).</summary>
    private void DecideCore(ReadOnlySpan<ValidDeal> deals, Span<FxDecision> decisions, ref FxStageTimes times)
    {
        var pending = ArrayPool<int>.Shared.Rent(Math.Max(1, deals.Length));
        var keys = ArrayPool<DealKeys>.Shared.Rent(Math.Max(1, deals.Length));
        var faces = ArrayPool<int>.Shared.Rent(Math.Max(1, deals.Length));
        var seen = new TextIds();
        var memo = new DealTablesMemo(Model.Tables);
        var cutoffs = new YearGapCutoffs(Model.Tables.Document.YearGapMonths);
        string? served = null; // the last client found served: a batch's deals share its string
        try
        {
            var m = 0;
            for (var i = 0; i < deals.Length; i++)
            {
                ref readonly var deal = ref deals[i];
                if (deal.Client is null)
                {
                    continue;
                }

                try
                {
                    if (!ReferenceEquals(deal.Client, served) && !Serves(deal.Client))
                    {
                        decisions[i] = FxDecision.Invalid($"{FxFields.Client}: {deal.Client} is not served by this model (it serves {_servedText})");
                    }
                    else
                    {
                        served = deal.Client;
                        var k = Model.Tables.KeysOf(deal, seen);
                        var found = memo.Of(k);
                        if (ApplyRules(deal, k, found, cutoffs) is { } ruled)
                        {
                            decisions[i] = ruled;
                        }
                        else
                        {
                            keys[m] = k;
                            faces[m] = found.Face;
                            pending[m++] = i;
                        }
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    decisions[i] = FxDecision.Failed($"internal error: {e.Message}");
                }
            }

            if (m > 0)
            {
                try
                {
                    ScoreModel(deals, pending.AsSpan(0, m), keys.AsSpan(0, m), faces.AsSpan(0, m), decisions, ref times);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    foreach (var i in pending.AsSpan(0, m))
                    {
                        decisions[i] = FxDecision.Failed($"internal error: {e.Message}");
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pending);
            ArrayPool<DealKeys>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(faces);
        }
    }

    /// <summary>The first rule that fires, or null (<paramref name="found"/>: the tables' entries of the deal's keys).</summary>
    private FxDecision? ApplyRules(in ValidDeal deal, in DealKeys keys, in DealTables found, YearGapCutoffs cutoffs)
    {
        var tables = Model.Tables;
        if (!tables.HasGroup(keys))
        {
            return FxDecision.Rule(FxAnomalyKinds.MissingGroup, FxReasons.MissingGroup(deal));
        }

        if (!found.HasPair)
        {
            return FxDecision.Rule(FxAnomalyKinds.UnseenPair, FxReasons.UnseenPair(deal, tables.PairListOf(deal.Cpty)));
        }

        var months = tables.Document.YearGapMonths;
        var last = FxTables.LastBefore(found.Days, deal.DealDate.DayNumber);
        if (last is not { } day || day < cutoffs.Of(deal.DealDate))
        {
            return FxDecision.Rule(FxAnomalyKinds.YearGap, FxReasons.YearGap(deal, months, last));
        }

        return null;
    }

    private void ScoreModel(ReadOnlySpan<ValidDeal> deals, ReadOnlySpan<int> pending, ReadOnlySpan<DealKeys> keys, ReadOnlySpan<int> faces, Span<FxDecision> decisions,
        ref FxStageTimes times)
    {
        var width = _transform.OutputCount;
        var model = Model;
        var groups = model.GroupNames.Count;
        var rowsOf = ArrayPool<int>.Shared.Rent(pending.Length);
        var buffer = ArrayPool<float>.Shared.Rent(pending.Length * width);
        var errors = ArrayPool<double>.Shared.Rent(pending.Length * groups);
        var keysOf = ArrayPool<DealKeys>.Shared.Rent(pending.Length);
        var faceOf = ArrayPool<int>.Shared.Rent(pending.Length);
        try
        {
            var rows = 0;
            for (var p = 0; p < pending.Length; p++)
            {
                var i = pending[p];
                ref readonly var deal = ref deals[i];
                var row = buffer.AsSpan(rows * width, width);
                row.Clear();
                if (Encode(deal, keys[p], row) is { } problem)
                {
                    decisions[i] = FxDecision.Invalid(problem);
                    continue;
                }

                keysOf[rows] = keys[p];
                faceOf[rows] = faces[p];
                rowsOf[rows++] = i;
            }

            if (rows == 0)
            {
                return;
            }

            var x = new FeatureMatrix(buffer, rows, _transform.OutputColumns);
            var aeStart = System.Diagnostics.Stopwatch.GetTimestamp();
            model.GroupErrors(x, errors.AsSpan(0, rows * groups));
            times = new FxStageTimes(aeStart, System.Diagnostics.Stopwatch.GetTimestamp(), rows);
            var thresholds = Model.GroupThresholdSpan;
            var tables = Model.Tables;
            for (var r = 0; r < rows; r++)
            {
                var i = rowsOf[r];
                ref readonly var deal = ref deals[i];
                var e = errors.AsSpan(r * groups, groups);
                var worst = -1;
                var ratio = 0.0;
                for (var g = 0; g < groups; g++)
                {
                    var q = thresholds[g] > 0 ? e[g] / thresholds[g] : (e[g] > 0 ? double.PositiveInfinity : 0);
                    if (worst < 0 || q > ratio)
                    {
                        worst = g;
                        ratio = q;
                    }
                }

                var face = tables.FaceValueAt(faceOf[r]);
                var tenor = tables.Tenor(keysOf[r]);
                var faceFires = face is null || deal.FaceValue < face.Lower || deal.FaceValue > face.Upper;
                var tenorFires = tenor is null || deal.TDays < tenor.Lower || deal.TDays > tenor.Upper;
                var patternFires = ratio > 1;
                if (!faceFires && !tenorFires && !patternFires)
                {
                    decisions[i] = new FxDecision(200, false, string.Empty, null, ratio, null);
                    continue;
                }

                string? check = null;
                var reason = string.Empty;
                if (faceFires)
                {
                    check = FxAnomalyKinds.Amount;
                    reason = FxReasons.FaceValue(deal, face, face is null ? null : tables.FaceValueUsualAt(faceOf[r]));
                }

                if (tenorFires)
                {
                    check ??= FxAnomalyKinds.Tenor;
                    reason = Join(reason, FxReasons.Tenor(deal, tenor, tenor is null ? null : tables.TenorUsual(keysOf[r])));
                }

                if (patternFires)
                {
                    check ??= FxAnomalyKinds.Pattern;
                    reason = Join(reason, FxReasons.Pattern(model.GroupNames[worst], e[worst], thresholds[worst]));
                }

                decisions[i] = new FxDecision(200, true, reason, check, ratio, null);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rowsOf);
            ArrayPool<float>.Shared.Return(buffer);
            ArrayPool<double>.Shared.Return(errors);
            ArrayPool<DealKeys>.Shared.Return(keysOf);
            ArrayPool<int>.Shared.Return(faceOf);
        }
    }

    /// <summary>
    /// The first day of the year-gap window of a deal date (its date less the table's months), remembered per date in a small
    /// direct-mapped table (one per batch): a batch's deals fall on a few months of dates, and the month arithmetic costs
    /// more than the rest of the rule.
    /// </summary>
    private sealed class YearGapCutoffs
    {
        private const int Slots = 128; // a span of up to four months of dates without two in one slot

        private readonly int _months;
        private readonly int[] _days = new int[Slots];
        private readonly int[] _cutoffs = new int[Slots];

        public YearGapCutoffs(int months)
        {
            _months = months;
            _days.AsSpan().Fill(-1); // no date has a negative day number
        }

        public int Of(DateOnly date)
        {
            var day = date.DayNumber;
            var slot = day & (Slots - 1);
            if (_days[slot] != day)
            {
                _cutoffs[slot] = date.AddMonths(-_months).DayNumber;
                _days[slot] = day;
            }

            return _cutoffs[slot];
        }
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : $"{a}; {b}";

    /// <summary>
    /// One-hot encodes categorical <paramref name="c"/>: a text the tables name (<paramref name="id"/> >= 0) sets the column
    /// found for it when the scorer was made; any other text is looked up by the transform.
    /// </summary>
    private string? EncodeCategory(int c, int id, string text, Span<float> row)
    {
        if (id >= 0 && _columnsById[c] is { } columns)
        {
            row[columns[id]] = 1f;
            return null;
        }

        return _transform.TryEncodeCategory(_categoricalInputs[c], text, row);
    }

    /// <summary>Encodes the deal's features into <paramref name="row"/> (all zeros on entry); null, or what is wrong naming the field.</summary>
    private string? Encode(in ValidDeal deal, in DealKeys keys, Span<float> row)
    {
        var t = _transform;
        var problem = EncodeCategory(0, keys.Instrument, deal.FxInstrumentType, row)
            ?? EncodeCategory(1, keys.BUnit, deal.BUnit, row)
            ?? EncodeCategory(2, keys.Cpty, deal.Cpty, row)
            ?? EncodeCategory(3, keys.Primary, deal.PrimaryCurr, row)
            ?? EncodeCategory(4, keys.Buy, deal.BuyCurr, row)
            ?? EncodeCategory(5, keys.Sell, deal.SellCurr, row);
        if (problem is not null)
        {
            return $"features: {problem}";
        }

        if (t.TryEncodeNumeric(_faceInput, deal.FaceValue, row) is { } face)
        {
            return $"{FxFields.FaceValue}: {face}";
        }

        return t.TryEncodeNumeric(_tdaysInput, deal.TDays, row) is { } tdays ? $"{FxFields.TDays}: {tdays}" : null;
    }
}
