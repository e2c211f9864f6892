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
/// <item>More than half of the values are numbers → <see cref="ColumnKind.Float64"/>; more than half are timestamps →
/// <see cref="ColumnKind.Timestamp"/>. The other values are bad values, which reading then reports (file, line, column)
/// or skips (<see cref="CsvReadOptions.OnBadValue"/>): a few unparsable values never silently turn a numeric column
/// into a categorical or string one, whether they sit in the sample or after it.</item>
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
    private readonly int _sampleSize;
    private int _numbers;
    private int _timestamps;

    /// <summary>A column whose sample holds at most <paramref name="sampleSize"/> values (see <see cref="Settled"/>).</summary>
    public ColumnKindInference(int sampleSize = int.MaxValue) => _sampleSize = sampleSize;

    /// <summary>The number of non-missing values seen.</summary>
    public int Values { get; private set; }

    /// <summary>The number of distinct non-missing values seen.</summary>
    public int Distinct => _distinct.Count;

    /// <summary>
    /// True once numbers (or timestamps) are more than half of the whole sample: no value still to come can change
    /// <see cref="Result"/>, so the caller may stop adding. A numeric column is settled halfway through its sample,
    /// which halves the parsing and the distinct-value hashing that inference costs every command reading a CSV.
    /// </summary>
    public bool Settled => (long)_numbers * 2 > _sampleSize || (long)_timestamps * 2 > _sampleSize;

    /// <summary>Adds one non-missing value.</summary>
    public void Add(ReadOnlySpan<byte> value)
    {
        Values++;
        if (Utf8Double.TryParse(value, out _))
        {
            _numbers++;
        }
        else if (Utf8Timestamp.TryParse(value, out _))
        {
            _timestamps++;
        }

        _distinct.GetOrAdd(value);
    }

    /// <summary>The kind the values seen so far call for.</summary>
    public ColumnKind Result
    {
        get
        {
            // Counted apart (a value is a number or a timestamp, never both), so a majority of either decides.
            if (Values == 0 || _numbers * 2 > Values)
            {
                return ColumnKind.Float64;
            }

            if (_timestamps * 2 > Values)
            {
                return ColumnKind.Timestamp;
            }

            return Distinct <= Math.Max(MinCategoricalDistinct, (int)(Values * CategoricalDistinctShare))
                ? ColumnKind.Categorical
                : ColumnKind.String;
        }
    }
}
