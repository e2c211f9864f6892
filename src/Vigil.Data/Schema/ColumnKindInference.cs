using Vigil.Data.Csv;

namespace Vigil.Data.Schema;

/// <summary>
/// Decides a column's kind from a sample of its text values (UTF-8), with these rules, in order:
/// <list type="number">
/// <item>Empty fields (missing values, and quoted empty strings) are ignored; a column with no other value is <see cref="ColumnKind.Float64"/>.</item>
/// <item>Every value parses as an invariant-culture number (NaN, Infinity, -Infinity and inf included)
/// → <see cref="ColumnKind.Float64"/>.</item>
/// <item>Every value parses as an ISO-8601 date or date-time (2024-01-31, 2024-01-31T12:00:00Z,
/// 2024-01-31 12:00:00.5, 2024-01-31T12:00+02:00; no offset means UTC) → <see cref="ColumnKind.Timestamp"/>.</item>
/// <item>At most <c>max(50, 5% of the sampled values)</c> distinct values → <see cref="ColumnKind.Categorical"/>.</item>
/// <item>Otherwise → <see cref="ColumnKind.String"/>.</item>
/// </list>
/// </summary>
internal sealed class ColumnKindInference
{
    /// <summary>Up to this many distinct values a column is always categorical.</summary>
    public const int MinCategoricalDistinct = 50;

    /// <summary>Above <see cref="MinCategoricalDistinct"/>, the share of distinct values that still makes a column categorical.</summary>
    public const double CategoricalDistinctShare = 0.05;

    private readonly Utf8Interner _distinct = new(decodeStrings: false);
    private bool _allNumbers = true;
    private bool _allTimestamps = true;

    /// <summary>The number of non-missing values seen.</summary>
    public int Values { get; private set; }

    /// <summary>The number of distinct non-missing values seen.</summary>
    public int Distinct => _distinct.Count;

    /// <summary>Adds one non-missing value.</summary>
    public void Add(ReadOnlySpan<byte> value)
    {
        Values++;
        if (_allNumbers && !Utf8Double.TryParse(value, out _))
        {
            _allNumbers = false;
        }

        if (_allTimestamps && !Utf8Timestamp.TryParse(value, out _))
        {
            _allTimestamps = false;
        }

        _distinct.GetOrAdd(value);
    }

    /// <summary>The kind the values seen so far call for.</summary>
    public ColumnKind Result
    {
        get
        {
            if (Values == 0 || _allNumbers)
            {
                return ColumnKind.Float64;
            }

            if (_allTimestamps)
            {
                return ColumnKind.Timestamp;
            }

            return Distinct <= Math.Max(MinCategoricalDistinct, (int)(Values * CategoricalDistinctShare))
                ? ColumnKind.Categorical
                : ColumnKind.String;
        }
    }
}
