using System.Globalization;

namespace Vigil.Detectors;

/// <summary>How <see cref="MaxSamples"/> is expressed.</summary>
public enum MaxSamplesKind
{
    /// <summary>scikit-learn's <c>'auto'</c>: <c>min(256, n)</c>.</summary>
    Auto,

    /// <summary>A row count; capped at <c>n</c> (scikit-learn warns and does the same).</summary>
    Count,

    /// <summary>A fraction in (0, 1] of the training rows: <c>floor(fraction * n)</c>.</summary>
    Fraction,
}

/// <summary>
/// The number of rows drawn to build each tree (scikit-learn's <c>max_samples</c>): <c>auto</c>,
/// a count, or a fraction of the training rows.
/// </summary>
/// <param name="Kind">How <paramref name="Value"/> is read.</param>
/// <param name="Value">The count or fraction; ignored for <see cref="MaxSamplesKind.Auto"/>.</param>
public readonly record struct MaxSamples(MaxSamplesKind Kind, double Value)
{
    /// <summary><c>min(256, n)</c>.</summary>
    public static MaxSamples Auto => new(MaxSamplesKind.Auto, 0);

    /// <summary>A fixed number of rows per tree.</summary>
    public static MaxSamples Count(int rows) => new(MaxSamplesKind.Count, rows);

    /// <summary>A fraction in (0, 1] of the training rows per tree.</summary>
    public static MaxSamples Fraction(double fraction) => new(MaxSamplesKind.Fraction, fraction);

    /// <summary>Parses <c>auto</c>, an integer count (<c>512</c>) or a fraction with a decimal point (<c>0.5</c>, <c>1.0</c>).</summary>
    public static MaxSamples Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            return Auto;
        }

        if (int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
        {
            return Count(count);
        }

        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
        {
            return Fraction(fraction);
        }

        throw new FormatException($"MaxSamples '{text}' is not 'auto', an integer count or a fraction in (0, 1].");
    }

    /// <summary>Null when valid, otherwise what is wrong.</summary>
    internal string? Problem() => Kind switch
    {
        MaxSamplesKind.Auto => null,
        MaxSamplesKind.Count when Value >= 1 && Value <= int.MaxValue && Math.Floor(Value) == Value => null,
        MaxSamplesKind.Count => $"a count must be a whole number >= 1 (was {Value.ToString(CultureInfo.InvariantCulture)})",
        MaxSamplesKind.Fraction when Value > 0 && Value <= 1 => null,
        MaxSamplesKind.Fraction => $"a fraction must be in (0, 1] (was {Value.ToString(CultureInfo.InvariantCulture)})",
        _ => $"unknown kind {Kind}",
    };

    /// <summary>The number of rows per tree for a training set of <paramref name="rows"/> rows.</summary>
    public int Resolve(int rows)
    {
        if (rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "The training set is empty.");
        }

        var resolved = Kind switch
        {
            MaxSamplesKind.Auto => Math.Min(256, rows),
            MaxSamplesKind.Count => (int)Math.Min(Value, rows),
            MaxSamplesKind.Fraction => (int)(Value * rows),
            _ => 0,
        };
        if (resolved < 1)
        {
            throw new ArgumentException(
                $"MaxSamples {this} of {rows} training rows is {resolved} rows; at least 1 is needed.", nameof(rows));
        }

        return resolved;
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        MaxSamplesKind.Auto => "auto",
        MaxSamplesKind.Count => Value.ToString("0", CultureInfo.InvariantCulture),
        _ => Value.ToString("0.0###############", CultureInfo.InvariantCulture),
    };
}
