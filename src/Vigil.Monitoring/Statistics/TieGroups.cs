namespace Vigil.Monitoring.Statistics;

/// <summary>
/// Walks the distinct values of two ascending samples taken together, smallest first: per value, how many times it
/// stands in each sample and how many values of each sample are ≤ it. The one merge under KS, Anderson–Darling,
/// ranks and per-value counts.
/// </summary>
internal ref struct TieGroups(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
{
    private readonly ReadOnlySpan<double> _a = a;
    private readonly ReadOnlySpan<double> _b = b;

    /// <summary>The current distinct value.</summary>
    public double Value { get; private set; }

    /// <summary>How many times <see cref="Value"/> stands in the first sample.</summary>
    public int CountA { get; private set; }

    /// <summary>How many times <see cref="Value"/> stands in the second sample.</summary>
    public int CountB { get; private set; }

    /// <summary>Values of the first sample ≤ <see cref="Value"/>.</summary>
    public int EndA { get; private set; }

    /// <summary>Values of the second sample ≤ <see cref="Value"/>.</summary>
    public int EndB { get; private set; }

    /// <summary>Moves to the next distinct value; false after the last.</summary>
    public bool MoveNext()
    {
        int i = EndA, j = EndB;
        if (i >= _a.Length && j >= _b.Length)
        {
            return false;
        }

        var v = j >= _b.Length || (i < _a.Length && _a[i] <= _b[j]) ? _a[i] : _b[j];
        while (i < _a.Length && _a[i] == v)
        {
            i++;
        }

        while (j < _b.Length && _b[j] == v)
        {
            j++;
        }

        Value = v;
        CountA = i - EndA;
        CountB = j - EndB;
        EndA = i;
        EndB = j;
        return true;
    }
}
