using System.Globalization;
using System.Text.Json;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>
/// Builds an FX bundle (kind <c>fx-onnx</c>) from a Python team's artifacts: the JSON tables that
/// <c>eng/peers/fx_export_tables.py</c> writes from a seed-style <c>all_scales.pkl</c> and <c>year_gap_data.pkl</c>, and
/// the multi-input autoencoder exported to ONNX. The bundle holds the same rules, thresholds and encoders the Python flow
/// uses, so it gives the same decisions; serving it needs neither pickle nor Python.
/// </summary>
/// <remarks>
/// <c>tables.json</c> (format <c>vigil-fx-tables</c>, version 1): <c>{"clients": {"FISAU": {"tables": {...},
/// "onehot": {"FX_Instrument_Type": [categories...], ...}, "minmax": {"FaceValue": [min, max], "TDays": [min, max]},
/// "onnx": [{"group", "input", "output"}, ...]}}}</c>, where <c>tables</c> has the layout of an fx bundle's
/// <c>fx.json</c> (clients, currency groups, pairs, year-gap dates, FaceValue and TDays ranges, reconstruction thresholds
/// per group) and <c>onehot</c> lists each encoder column's categories in the encoder's order.
/// </remarks>
public static class FxImporter
{
    /// <summary>The <c>format</c> value of an import tables file.</summary>
    public const string Format = "vigil-fx-tables";

    /// <summary>Builds the bundle of <paramref name="client"/>.</summary>
    /// <param name="tablesPath">The JSON tables file.</param>
    /// <param name="onnxPath">The ONNX autoencoder.</param>
    /// <param name="client">The client whose tables to take (the bundle serves it).</param>
    /// <param name="time">The clock of the manifest's creation time.</param>
    /// <exception cref="FxDataException">A file is missing, malformed or does not fit the other (one line naming the file and key).</exception>
    public static ModelBundle Import(string tablesPath, string onnxPath, string client, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tablesPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(client);
        FxDescriptor.Register();
        var json = ReadFile(tablesPath);
        var model = ReadFile(onnxPath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FxDataException($"{tablesPath}: is not valid JSON ({e.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
            {
                throw new FxDataException($"{tablesPath}: format: expected \"{Format}\" (write it with eng/peers/fx_export_tables.py)");
            }

            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != 1)
            {
                throw new FxDataException($"{tablesPath}: version: this Vigil reads version 1");
            }

            if (!root.TryGetProperty("clients", out var clients) || clients.ValueKind != JsonValueKind.Object)
            {
                throw new FxDataException($"{tablesPath}: clients: expected an object of clients");
            }

            if (!clients.TryGetProperty(client, out var entry) || entry.ValueKind != JsonValueKind.Object)
            {
                throw new FxDataException($"{tablesPath}: clients.{client}: no such client (the file has {string.Join(", ", clients.EnumerateObject().Select(p => p.Name))})");
            }

            return Build(tablesPath, onnxPath, client, entry, model, time);
        }
    }

    private static ModelBundle Build(string tablesPath, string onnxPath, string client, JsonElement entry, byte[] model, TimeProvider? time)
    {
        var at = $"{tablesPath}: clients.{client}";
        FxTablesDocument tables;
        try
        {
            tables = entry.TryGetProperty("tables", out var t)
                ? t.Deserialize(FxJsonContext.Default.FxTablesDocument) ?? throw new JsonException("is null")
                : throw new FxDataException($"{at}.tables: is required");
            _ = new FxTables(tables);
        }
        catch (JsonException e)
        {
            throw new FxDataException($"{at}.tables: is malformed ({e.Message})");
        }
        catch (InvalidDataException e)
        {
            throw new FxDataException($"{at}.tables: {e.Message}");
        }

        if (!tables.Clients.Contains(client, StringComparer.Ordinal))
        {
            throw new FxDataException($"{at}.tables.clients: does not list {client}");
        }

        var categories = new string[FxFields.Categoricals.Count][];
        var onehot = Property(entry, "onehot", at, JsonValueKind.Object);
        for (var c = 0; c < categories.Length; c++)
        {
            var name = FxFields.Categoricals[c];
            var list = Property(onehot, name, $"{at}.onehot", JsonValueKind.Array);
            categories[c] = [.. list.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FxDataException($"{at}.onehot.{name}: every category must be a string"))];
            if (categories[c].Length == 0 || categories[c].Distinct(StringComparer.Ordinal).Count() != categories[c].Length)
            {
                throw new FxDataException($"{at}.onehot.{name}: must list distinct categories");
            }
        }

        var ranges = new (double Min, double Max)[FxFields.Numerics.Count];
        var minmax = Property(entry, "minmax", at, JsonValueKind.Object);
        for (var n = 0; n < ranges.Length; n++)
        {
            var name = FxFields.Numerics[n];
            var pair = Property(minmax, name, $"{at}.minmax", JsonValueKind.Array);
            if (pair.GetArrayLength() != 2 || pair[0].ValueKind != JsonValueKind.Number || pair[1].ValueKind != JsonValueKind.Number || !(pair[0].GetDouble() < pair[1].GetDouble()))
            {
                throw new FxDataException($"{at}.minmax.{name}: must be [min, max] with min < max");
            }

            ranges[n] = (pair[0].GetDouble(), pair[1].GetDouble());
        }

        var onnxGroups = Property(entry, "onnx", at, JsonValueKind.Array);
        var groups = new List<FxOnnxGroup>();
        foreach (var g in onnxGroups.EnumerateArray())
        {
            var group = Text(g, "group", $"{at}.onnx");
            var columns = group == AutoencoderModel.NumericGroup
                ? FxFields.Numerics.ToArray()
                : FxFields.Categoricals.IndexOf(group) is var k and >= 0
                    ? [.. categories[k].Select(v => group + "=" + v)]
                    : throw new FxDataException($"{at}.onnx: group '{group}' is neither a categorical field ({string.Join(", ", FxFields.Categoricals)}) nor '{AutoencoderModel.NumericGroup}'");
            groups.Add(new FxOnnxGroup(group, Text(g, "input", $"{at}.onnx"), Text(g, "output", $"{at}.onnx"), columns));
        }

        foreach (var g in groups)
        {
            if (!tables.Reconstruction.Any(r => r.Group == g.Group))
            {
                throw new FxDataException($"{at}.tables.reconstruction: has no threshold for group '{g.Group}'");
            }
        }

        var frame = EncoderFrame(categories, ranges);
        var spec = new TrainSpec
        {
            Model = FxModel.ImportedKind,
            Features = [.. FxFields.Categoricals, .. FxFields.Numerics],
            Transform = new FeatureTransformOptions { Scaling = Scaling.MinMax, MissingPolicy = MissingPolicy.Error, MaxCategories = 10_000 },
        };
        FxOnnxAutoencoder onnx;
        try
        {
            onnx = FxOnnxAutoencoder.Create(model, new FxOnnxLayout([.. groups], 0));
        }
        catch (InvalidDataException e)
        {
            throw new FxDataException($"{onnxPath}: {e.Message}");
        }

        var request = new FxFitRequest(tables, new AutoencoderOptions(), context =>
        {
            var names = context.Features.ColumnNames;
            var bound = FxOnnxAutoencoder.Create(model, new FxOnnxLayout([.. groups], names.Count));
            bound.Bind(names);
            context.Resolved["groups"] = string.Join(",", bound.GroupNames);
            context.Resolved["clients"] = string.Join(",", tables.Clients);
            context.Resolved["imported"] = "onnx";
            return new FxModel(tables, bound, names.Count);
        });
        try
        {
            return FxDescriptor.WithPending(request, () => new BundleTrainer(spec, time).Fit(frame));
        }
        catch (InvalidDataException e)
        {
            throw new FxDataException($"{at}: {e.Message}");
        }
        finally
        {
            GC.KeepAlive(onnx);
        }
    }

    /// <summary>
    /// A frame the feature transform is fitted on so that it reproduces the Python encoders exactly: every category of
    /// every encoder column, and each numeric's fitted min and max (min-max scaling is then scikit-learn's).
    /// </summary>
    private static Frame EncoderFrame(string[][] categories, (double Min, double Max)[] ranges)
    {
        var rows = Math.Max(2, categories.Max(c => c.Length));
        var columns = new List<Column>();
        for (var c = 0; c < categories.Length; c++)
        {
            var values = new string?[rows];
            for (var r = 0; r < rows; r++)
            {
                values[r] = categories[c][r % categories[c].Length];
            }

            columns.Add(CategoricalColumn.FromValues(FxFields.Categoricals[c], values));
        }

        for (var n = 0; n < ranges.Length; n++)
        {
            var values = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                values[r] = r % 2 == 0 ? ranges[n].Min : ranges[n].Max;
            }

            columns.Add(new Float64Column(FxFields.Numerics[n], values));
        }

        return new Frame(columns);
    }

    private static JsonElement Property(JsonElement o, string name, string at, JsonValueKind kind) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == kind
            ? v
            : throw new FxDataException($"{at}.{name}: expected {(kind == JsonValueKind.Array ? "a list" : "an object")}");

    private static string Text(JsonElement o, string name, string at) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new FxDataException($"{at}: every entry needs a string '{name}'");

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FxDataException($"{path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message)}");
        }
    }

    private static int IndexOf(this IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Culture-invariant number text for messages.</summary>
    internal static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
