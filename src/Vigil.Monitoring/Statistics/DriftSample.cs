namespace Vigil.Monitoring.Statistics;

/// <summary>How a drift statistic treats a column: as numbers or as categories (Evidently's "num" and "cat").</summary>
public enum DriftColumnType
{
    /// <summary>Numbers: sorted once, compared by distribution.</summary>
    Numerical,

    /// <summary>Categories: compared by their counts.</summary>
    Categorical,
}

/// <summary>
/// One column's reference and current values as a statistic reads them, missing values (NaN, ±Inf, empty) already
/// set aside and counted: numeric columns as sorted finite values, categorical columns as codes in row order over
/// categories sorted ascending (ordinal strings, or numbers for a numeric column declared categorical) with their counts.
/// Counts alone are enough for the count-based statistics, so a sample can also be built from pre-binned counts.
/// </summary>
public sealed class DriftSample
{
    private CategoryCounts? _counts;

    private DriftSample(DriftColumnType type, int referenceMissing, int currentMissing, int referenceRows, int currentRows)
    {
        Type = type;
        ReferenceMissing = referenceMissing;
        CurrentMissing = currentMissing;
        ReferenceRows = referenceRows;
        CurrentRows = currentRows;
    }

    /// <summary>Numerical or categorical.</summary>
    public DriftColumnType Type { get; }

    /// <summary>Reference rows including missing ones.</summary>
    public int ReferenceRows { get; }

    /// <summary>Current rows including missing ones.</summary>
    public int CurrentRows { get; }

    /// <summary>Reference rows whose value is missing (NaN, ±Inf or empty).</summary>
    public int ReferenceMissing { get; }

    /// <summary>Current rows whose value is missing.</summary>
    public int CurrentMissing { get; }

    /// <summary>Share of reference rows missing (0 when there are no rows).</summary>
    public double ReferenceMissingShare => ReferenceRows == 0 ? 0 : (double)ReferenceMissing / ReferenceRows;

    /// <summary>Share of current rows missing.</summary>
    public double CurrentMissingShare => CurrentRows == 0 ? 0 : (double)CurrentMissing / CurrentRows;

    private double[] _sortedReference = [];
    private double[] _sortedCurrent = [];
    private int _sortedReferenceLength;
    private int _sortedCurrentLength;
    private bool _pooled;

    /// <summary>Numerical samples: the finite reference values, ascending.</summary>
    public ReadOnlySpan<double> SortedReference => _sortedReference.AsSpan(0, _sortedReferenceLength);

    /// <summary>Numerical samples: the finite current values, ascending.</summary>
    public ReadOnlySpan<double> SortedCurrent => _sortedCurrent.AsSpan(0, _sortedCurrentLength);

    /// <summary>Categorical samples built from rows: the reference codes in row order (null when built from counts).</summary>
    public int[]? ReferenceCodes { get; private init; }

    /// <summary>Categorical samples built from rows: the current codes in row order.</summary>
    public int[]? CurrentCodes { get; private init; }

    /// <summary>Non-missing reference values.</summary>
    public int ReferenceCount => ReferenceRows - ReferenceMissing;

    /// <summary>Non-missing current values.</summary>
    public int CurrentCount => CurrentRows - CurrentMissing;

    /// <summary>
    /// The categories present in reference or current (ascending) with their counts on each side; for a numerical
    /// sample, its distinct values (Evidently's per-value binning).
    /// </summary>
    public CategoryCounts Counts => _counts ??= Type == DriftColumnType.Numerical
        ? CategoryCounts.FromSorted(SortedReference, SortedCurrent)
        : throw new InvalidOperationException("Categorical samples carry their counts.");

    /// <summary>A numerical sample from finite values (sorted in place here) and the number of missing values on each side.</summary>
    public static DriftSample Numerical(double[] reference, int referenceMissing, double[] current, int currentMissing)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        RadixSort.Sort(reference);
        RadixSort.Sort(current);
        return FromSorted(reference, reference.Length, referenceMissing, current, current.Length, currentMissing, pooled: false);
    }

    /// <summary>
    /// A numerical sample from finite values already in ascending order: the first <paramref name="referenceLength"/>
    /// of <paramref name="reference"/> and <paramref name="currentLength"/> of <paramref name="current"/>. With
    /// <paramref name="pooled"/> both arrays came from <see cref="System.Buffers.ArrayPool{T}.Shared"/> and go back
    /// there with <see cref="ReturnPooledArrays"/>.
    /// </summary>
    internal static DriftSample FromSorted(double[] reference, int referenceLength, int referenceMissing,
        double[] current, int currentLength, int currentMissing, bool pooled)
    {
        return new DriftSample(DriftColumnType.Numerical, referenceMissing, currentMissing,
            referenceLength + referenceMissing, currentLength + currentMissing)
        {
            _sortedReference = reference,
            _sortedReferenceLength = referenceLength,
            _sortedCurrent = current,
            _sortedCurrentLength = currentLength,
            _pooled = pooled,
        };
    }

    /// <summary>
    /// Gives pooled sorted arrays back to the pool (nothing for arrays the caller handed in); the sample must not be read
    /// afterwards (its sorted values are empty then, its counts stay).
    /// </summary>
    internal void ReturnPooledArrays()
    {
        if (!_pooled)
        {
            return;
        }

        _pooled = false;
        System.Buffers.ArrayPool<double>.Shared.Return(_sortedReference);
        System.Buffers.ArrayPool<double>.Shared.Return(_sortedCurrent);
        _sortedReference = [];
        _sortedCurrent = [];
        _sortedReferenceLength = 0;
        _sortedCurrentLength = 0;
    }

    /// <summary>
    /// A categorical sample from codes in row order (−1 = missing) over <paramref name="categories"/>, which must be in
    /// ascending order (the Z-test takes the first present category as its "zero").
    /// </summary>
    public static DriftSample Categorical(IReadOnlyList<string> categories, ReadOnlySpan<int> reference, ReadOnlySpan<int> current)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var refCodes = Compact(reference, categories.Count, out var refCounts, out var refMissing);
        var curCodes = Compact(current, categories.Count, out var curCounts, out var curMissing);
        return new DriftSample(DriftColumnType.Categorical, refMissing, curMissing, reference.Length, current.Length)
        {
            ReferenceCodes = refCodes,
            CurrentCodes = curCodes,
            _counts = CategoryCounts.Present(categories, refCounts, curCounts),
        };
    }

    /// <summary>A categorical sample from counts per category alone (profile mode: no row order, so no permutation test).</summary>
    public static DriftSample FromCounts(IReadOnlyList<string> categories, long[] referenceCounts, int referenceMissing, long[] currentCounts, int currentMissing)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(referenceCounts);
        ArgumentNullException.ThrowIfNull(currentCounts);
        var counts = CategoryCounts.Present(categories, referenceCounts, currentCounts);
        return new DriftSample(DriftColumnType.Categorical, referenceMissing, currentMissing,
            (int)counts.ReferenceTotal + referenceMissing, (int)counts.CurrentTotal + currentMissing)
        {
            _counts = counts,
        };
    }

    private static int[] Compact(ReadOnlySpan<int> codes, int categoryCount, out long[] counts, out int missing)
    {
        counts = new long[categoryCount];
        missing = 0;
        for (var i = 0; i < codes.Length; i++)
        {
            var c = codes[i];
            if (c < 0)
            {
                missing++;
            }
            else
            {
                counts[c]++;
            }
        }

        var result = new int[codes.Length - missing];
        var k = 0;
        for (var i = 0; i < codes.Length; i++)
        {
            if (codes[i] >= 0)
            {
                result[k++] = codes[i];
            }
        }

        return result;
    }
}

/// <summary>
/// The keys present in reference or current (ascending) with their counts on both sides: what Evidently's
/// <c>value_counts</c> over the union of unique values gives.
/// </summary>
public sealed class CategoryCounts
{
    private CategoryCounts(string[] keys, int[] codes, long[] reference, long[] current)
    {
        Keys = keys;
        Codes = codes;
        Reference = reference;
        Current = current;
        for (var i = 0; i < reference.Length; i++)
        {
            ReferenceTotal += reference[i];
            CurrentTotal += current[i];
        }
    }

    /// <summary>The present keys, ascending.</summary>
    public string[] Keys { get; }

    /// <summary>For each present key, its code in the sample's category list (−1 for numeric values).</summary>
    public int[] Codes { get; }

    /// <summary>Reference count per present key.</summary>
    public long[] Reference { get; }

    /// <summary>Current count per present key.</summary>
    public long[] Current { get; }

    /// <summary>Sum of <see cref="Reference"/>.</summary>
    public long ReferenceTotal { get; }

    /// <summary>Sum of <see cref="Current"/>.</summary>
    public long CurrentTotal { get; }

    /// <summary>Number of present keys.</summary>
    public int Count => Keys.Length;

    /// <summary>Distinct reference values (keys with a reference count).</summary>
    public int ReferenceDistinct
    {
        get
        {
            var n = 0;
            for (var i = 0; i < Reference.Length; i++)
            {
                if (Reference[i] > 0)
                {
                    n++;
                }
            }

            return n;
        }
    }

    internal static CategoryCounts Present(IReadOnlyList<string> categories, long[] reference, long[] current)
    {
        var n = 0;
        for (var i = 0; i < categories.Count; i++)
        {
            if (reference[i] > 0 || current[i] > 0)
            {
                n++;
            }
        }

        var keys = new string[n];
        var codes = new int[n];
        var r = new long[n];
        var c = new long[n];
        var k = 0;
        for (var i = 0; i < categories.Count; i++)
        {
            if (reference[i] > 0 || current[i] > 0)
            {
                keys[k] = categories[i];
                codes[k] = i;
                r[k] = reference[i];
                c[k] = current[i];
                k++;
            }
        }

        return new CategoryCounts(keys, codes, r, c);
    }

    internal static CategoryCounts FromSorted(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var keys = new List<string>();
        var r = new List<long>();
        var c = new List<long>();
        var groups = new TieGroups(reference, current);
        while (groups.MoveNext())
        {
            keys.Add(groups.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            r.Add(groups.CountA);
            c.Add(groups.CountB);
        }

        var codes = new int[keys.Count];
        Array.Fill(codes, -1);
        return new CategoryCounts([.. keys], codes, [.. r], [.. c]);
    }
}
