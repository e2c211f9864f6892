using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Vigil.Serving;

/// <summary>
/// One item of a request as the client sent it, for pre-model rules: every model feature (numbers as sent; categories
/// as strings) and, for a model with rules, the item's other fields too (JSON objects, dataframe columns, CSV columns).
/// It reads the values the protocol adapter already read: nothing is parsed again.
/// </summary>
public readonly struct RawRow
{
    private readonly FeatureBatch _batch;

    internal RawRow(FeatureBatch batch, int item)
    {
        _batch = batch;
        Index = item;
    }

    /// <summary>The item's index in the request.</summary>
    public int Index { get; }

    /// <summary>The model the item is for.</summary>
    public ServedModel Model => _batch.Model;

    /// <summary>True when the item has a (non-null) value for <paramref name="field"/>.</summary>
    public bool Has(string field) => _batch.TryGetRaw(Index, field, out var number, out var text) && (text is not null || !double.IsNaN(number));

    /// <summary>The number in <paramref name="field"/>, when it holds one.</summary>
    public bool TryGetNumber(string field, out double value)
    {
        if (_batch.TryGetRaw(Index, field, out value, out var text) && text is null && !double.IsNaN(value))
        {
            return true;
        }

        if (text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        value = double.NaN;
        return false;
    }

    /// <summary>The string in <paramref name="field"/>, when it holds one (a category or any text field).</summary>
    public bool TryGetText(string field, [NotNullWhen(true)] out string? value)
    {
        _batch.TryGetRaw(Index, field, out _, out value);
        return value is not null;
    }

    /// <summary>The date in <paramref name="field"/>, when it holds a string that is strictly <c>yyyy-MM-dd</c>.</summary>
    public bool TryGetDate(string field, out DateOnly value)
    {
        if (TryGetText(field, out var text))
        {
            return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
        }

        value = default;
        return false;
    }
}
