using Vigil.Detectors;

namespace Vigil.Monitoring;

/// <summary>
/// The items of one scoring request as <see cref="SlidingProfileDrift"/> reads them: which were decided, their score,
/// and their raw input values by input index (the order of the names given to <see cref="SlidingProfileDrift"/>).
/// </summary>
public interface IDriftItems
{
    /// <summary>The number of items.</summary>
    int DriftItemCount { get; }

    /// <summary>True when item <paramref name="item"/> was decided (answered 200); others are not counted.</summary>
    bool IsDecided(int item);

    /// <summary>The model's score of a decided item (NaN when a rule decided it alone).</summary>
    double ScoreOf(int item);

    /// <summary>The value of numeric input <paramref name="input"/> (NaN when missing).</summary>
    double NumberOf(int input, int item);

    /// <summary>The value of categorical input <paramref name="input"/> (null when missing).</summary>
    string? TextOf(int input, int item);
}

/// <summary>
/// Online drift of a served model: the last <see cref="Window"/> decided items, counted into the reference profile's
/// fixed bins (as <see cref="ProfileDrift"/> does for the inference log), compared with the profile on demand.
/// Adding an item is O(features) and O(1) in the window size, allocates nothing (a preallocated ring of bin indexes
/// remembers what to take out when the item leaves the window) and holds one lock per request; <see cref="Report"/>
/// copies the counts under the lock and computes the statistics outside it, so it belongs on a timer, not on the
/// request path. Thread-safe.
/// </summary>
public sealed class SlidingProfileDrift
{
    private readonly Lock _lock = new();
    private readonly FeatureBins[] _features;
    private readonly int[] _inputOfFeature;
    private readonly FeatureBins _scores;
    private readonly double _threshold;
    private readonly double _referenceAlertRate;
    private readonly long _referenceScored;
    private readonly int _stride;
    private readonly int[] _ring;
    private readonly bool[] _alertRing;
    private int _next;
    private int _filled;
    private long _scored;
    private long _alerts;
    private long _seen;

    /// <summary>Starts an empty window over <paramref name="profile"/>.</summary>
    /// <param name="profile">The bundle's reference profile (every profiled feature is compared).</param>
    /// <param name="threshold">The model's threshold: an item alerts when its score is strictly above it.</param>
    /// <param name="inputs">The input names, in the index order <see cref="IDriftItems"/> uses; a profiled feature not among them counts as missing.</param>
    /// <param name="window">How many decided items the window holds (the oldest leaves when a new one comes).</param>
    public SlidingProfileDrift(ReferenceProfile profile, double threshold, IReadOnlyList<string> inputs, int window)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _features = new FeatureBins[profile.Features.Count];
        _inputOfFeature = new int[_features.Length];
        for (var f = 0; f < _features.Length; f++)
        {
            _features[f] = FeatureBins.FromProfile(profile.Features[f]);
            _inputOfFeature[f] = -1;
            for (var i = 0; i < inputs.Count; i++)
            {
                if (string.Equals(inputs[i], _features[f].Name, StringComparison.Ordinal))
                {
                    _inputOfFeature[f] = i;
                    break;
                }
            }
        }

        _scores = FeatureBins.FromScores(profile.Scores);
        _threshold = threshold;
        _referenceAlertRate = ProfileDrift.ReferenceAlertRate(profile.Scores, threshold);
        foreach (var c in _scores.Reference)
        {
            _referenceScored += c;
        }

        Window = window;
        _stride = _features.Length + 1;
        _ring = new int[checked(window * _stride)];
        _alertRing = new bool[window];
    }

    /// <summary>The most items the window holds.</summary>
    public int Window { get; }

    /// <summary>The model threshold alerts are counted at.</summary>
    public double Threshold => _threshold;

    /// <summary>The profile's alert rate at <see cref="Threshold"/>.</summary>
    public double ReferenceAlertRate => _referenceAlertRate;

    /// <summary>The decided items in the window now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _filled;
            }
        }
    }

    /// <summary>Decided items counted since the start (including those that left the window).</summary>
    public long Seen
    {
        get
        {
            lock (_lock)
            {
                return _seen;
            }
        }
    }

    /// <summary>Counts the decided items of one request; each pushes the oldest item out of a full window.</summary>
    public void Add<TItems>(TItems items)
        where TItems : IDriftItems
    {
        ArgumentNullException.ThrowIfNull(items);
        var count = items.DriftItemCount;
        lock (_lock)
        {
            for (var item = 0; item < count; item++)
            {
                if (items.IsDecided(item))
                {
                    AddItem(items, item);
                }
            }
        }
    }

    /// <summary>
    /// The window against the profile: per feature its statistic over the bins (auto: Jensen–Shannon above 1,000
    /// reference rows, as <see cref="ProfileDrift"/>), the dataset drift share, and prediction drift (score bins and
    /// the alert rate at the threshold against the profile's).
    /// </summary>
    /// <exception cref="DriftException">A statistic that needs the rows (see <see cref="ProfileDrift.StatTestFor"/>).</exception>
    public DriftReport Report(DriftOptions? options = null)
    {
        options ??= new DriftOptions();
        var test = ProfileDrift.StatTestFor(options.StatTest);
        var samples = new Statistics.DriftSample[_features.Length];
        Statistics.DriftSample scoreSample;
        long scored, alerts;
        lock (_lock)
        {
            for (var f = 0; f < samples.Length; f++)
            {
                samples[f] = _features[f].ToSample();
            }

            scoreSample = _scores.ToSample();
            scored = _scored;
            alerts = _alerts;
        }

        return ProfileDrift.Summarize(_features, samples, test, options, scoreSample, _threshold, _referenceAlertRate, _referenceScored, scored, alerts);
    }

    private void AddItem<TItems>(TItems items, int item)
        where TItems : IDriftItems
    {
        var slot = _next;
        var at = slot * _stride;
        if (_filled == Window)
        {
            Evict(at, slot);
        }
        else
        {
            _filled++;
        }

        for (var f = 0; f < _features.Length; f++)
        {
            var bins = _features[f];
            var input = _inputOfFeature[f];
            var bin = -1;
            if (input >= 0)
            {
                if (bins.IsNumeric)
                {
                    var v = items.NumberOf(input, item);
                    bin = double.IsFinite(v) ? bins.BinOf(v) : -1;
                }
                else if (items.TextOf(input, item) is { } text)
                {
                    bin = bins.BinOfText(text);
                }
            }

            if (bin < 0)
            {
                bins.CurrentMissing++;
            }
            else
            {
                bins.Current[bin]++;
            }

            _ring[at + f] = bin;
        }

        var score = items.ScoreOf(item);
        var scoreBin = -1;
        var alert = false;
        if (!double.IsNaN(score))
        {
            scoreBin = _scores.BinOf(score);
            _scores.Current[scoreBin]++;
            _scored++;
            alert = score > _threshold;
            if (alert)
            {
                _alerts++;
            }
        }

        _ring[at + _features.Length] = scoreBin;
        _alertRing[slot] = alert;
        _next = slot + 1 == Window ? 0 : slot + 1;
        _seen++;
    }

    private void Evict(int at, int slot)
    {
        for (var f = 0; f < _features.Length; f++)
        {
            var bin = _ring[at + f];
            if (bin < 0)
            {
                _features[f].CurrentMissing--;
            }
            else
            {
                _features[f].Current[bin]--;
            }
        }

        var scoreBin = _ring[at + _features.Length];
        if (scoreBin >= 0)
        {
            _scores.Current[scoreBin]--;
            _scored--;
            if (_alertRing[slot])
            {
                _alerts--;
            }
        }
    }
}
