using System.Buffers;
using System.Text.Json;
using Vigil.Fx;

namespace Vigil.Serving;

/// <summary>
/// Reads the deals of an FX scoring request in any of the accepted shapes: a JSON list of deals, <c>{"inputs": [...]}</c>
/// (also <c>instances</c>), MLflow <c>{"dataframe_records": [...]}</c> and <c>{"dataframe_split": {"columns": [...],
/// "data": [[...]]}}</c>. A value of the wrong JSON type fails its deal only (<see cref="FxReadResult.Errors"/>, naming
/// the field); a body of the wrong shape fails the request (<see cref="RequestShapeException"/>).
/// </summary>
internal static class FxRequestReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    /// <summary>Reads <paramref name="body"/>.</summary>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    /// <exception cref="RequestShapeException">It has none of the accepted shapes.</exception>
    public static FxReadResult Read(ReadOnlySequence<byte> body)
    {
        using var document = JsonDocument.Parse(body, Options);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            return ReadRecords(root, "");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RequestShapeException("body", "The body must be a JSON list of deals, or an object with inputs, dataframe_records or dataframe_split.");
        }

        foreach (var key in (ReadOnlySpan<string>)["inputs", "instances", "dataframe_records"])
        {
            if (root.TryGetProperty(key, out var records))
            {
                if (records.ValueKind != JsonValueKind.Array)
                {
                    throw new RequestShapeException(key, $"{key} must be a JSON list of deals.");
                }

                return ReadRecords(records, key);
            }
        }

        if (root.TryGetProperty("dataframe_split", out var split))
        {
            return ReadSplit(split);
        }

        throw new RequestShapeException("body", "The body must be a JSON list of deals, or an object with inputs, dataframe_records or dataframe_split.");
    }

    private static FxReadResult ReadRecords(JsonElement array, string prefix)
    {
        var n = array.GetArrayLength();
        var deals = new FxRawDeal[n];
        var errors = new string?[n];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                deals[i] = new FxRawDeal();
                errors[i] = $"{(prefix.Length == 0 ? "deal" : prefix)}[{i}]: must be a JSON object (got {Kind(item)})";
            }
            else
            {
                var builder = new DealBuilder();
                foreach (var property in item.EnumerateObject())
                {
                    builder.Set(property.Name, property.Value);
                }

                deals[i] = builder.Build();
                errors[i] = builder.Error;
            }

            i++;
        }

        return new FxReadResult(deals, errors);
    }

    private static FxReadResult ReadSplit(JsonElement split)
    {
        if (split.ValueKind != JsonValueKind.Object)
        {
            throw new RequestShapeException("dataframe_split", "dataframe_split must be an object with columns and data.");
        }

        if (!split.TryGetProperty("columns", out var columns) || columns.ValueKind != JsonValueKind.Array)
        {
            throw new RequestShapeException("dataframe_split.columns", "dataframe_split.columns must be a list of column names.");
        }

        if (!split.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new RequestShapeException("dataframe_split.data", "dataframe_split.data must be a list of rows.");
        }

        var names = new string[columns.GetArrayLength()];
        var c = 0;
        foreach (var column in columns.EnumerateArray())
        {
            names[c++] = column.ValueKind == JsonValueKind.String
                ? column.GetString()!
                : throw new RequestShapeException($"dataframe_split.columns[{c - 1}]", $"dataframe_split.columns[{c - 1}] must be a string (got {Kind(column)}).");
        }

        var n = data.GetArrayLength();
        var deals = new FxRawDeal[n];
        var errors = new string?[n];
        var i = 0;
        foreach (var row in data.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != names.Length)
            {
                deals[i] = new FxRawDeal();
                errors[i] = row.ValueKind != JsonValueKind.Array
                    ? $"dataframe_split.data[{i}]: must be a list of values (got {Kind(row)})"
                    : $"dataframe_split.data[{i}]: has {row.GetArrayLength()} values for {names.Length} columns";
            }
            else
            {
                var builder = new DealBuilder();
                var k = 0;
                foreach (var value in row.EnumerateArray())
                {
                    builder.Set(names[k++], value);
                }

                deals[i] = builder.Build();
                errors[i] = builder.Error;
            }

            i++;
        }

        return new FxReadResult(deals, errors);
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>One deal's fields, keeping the first type error (the deal then fails with it, naming the field).</summary>
    private sealed class DealBuilder
    {
        private string? _client, _type, _bunit, _cpty, _primary, _buy, _sell, _dealDate, _maturity, _uniqueId;
        private double? _buyAmount, _sellAmount, _spot, _points, _contLeg;

        public string? Error { get; private set; }

        public void Set(string name, JsonElement value)
        {
            switch (name)
            {
                case FxFields.Client: _client = Text(name, value); break;
                case FxFields.InstrumentType: _type = Text(name, value); break;
                case FxFields.BUnit: _bunit = Text(name, value); break;
                case FxFields.Cpty: _cpty = Text(name, value); break;
                case FxFields.PrimaryCurr: _primary = Text(name, value); break;
                case FxFields.BuyCurr: _buy = Text(name, value); break;
                case FxFields.SellCurr: _sell = Text(name, value); break;
                case FxFields.DealDate: _dealDate = Text(name, value); break;
                case FxFields.MaturityDate: _maturity = Text(name, value); break;
                case FxFields.UniqueId: _uniqueId = value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Text(name, value); break;
                case FxFields.BuyAmount: _buyAmount = Number(name, value); break;
                case FxFields.SellAmount: _sellAmount = Number(name, value); break;
                case FxFields.SpotRate: _spot = Number(name, value); break;
                case FxFields.ForwardPoints: _points = Number(name, value); break;
                case FxFields.ContLeg: _contLeg = Number(name, value); break;
                default: break; // other columns are ignored, as the pyfunc does
            }
        }

        public FxRawDeal Build() => new()
        {
            Client = _client, FxInstrumentType = _type, BUnit = _bunit, Cpty = _cpty, PrimaryCurr = _primary, BuyCurr = _buy, SellCurr = _sell,
            BuyAmount = _buyAmount, SellAmount = _sellAmount, SpotRate = _spot, ForwardPoints = _points, DealDate = _dealDate, MaturityDate = _maturity,
            UniqueId = _uniqueId, ContLeg = _contLeg,
        };

        private string? Text(string name, JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    return value.GetString();
                case JsonValueKind.Null:
                    return null;
                default:
                    Error ??= $"{name}: must be a string (got {Kind(value)})";
                    return null;
            }
        }

        private double? Number(string name, JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Number when value.TryGetDouble(out var d) && double.IsFinite(d):
                    return d;
                case JsonValueKind.Null:
                    return null;
                default:
                    Error ??= $"{name}: must be a finite number (got {(value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Kind(value))})";
                    return null;
            }
        }
    }
}

/// <summary>The deals of a request, in order, and per deal the reading error that fails it (null: read).</summary>
internal sealed record FxReadResult(FxRawDeal[] Deals, string?[] Errors);
