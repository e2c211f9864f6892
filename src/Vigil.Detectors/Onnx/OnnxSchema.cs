using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vigil.Detectors;

/// <summary>
/// How an ONNX model maps onto Vigil: which named columns feed its input tensor (in input-column order), which
/// output is the score, and how to read it. Written by hand next to the model (the <c>--schema</c> file of
/// <c>vigil import onnx</c>) as JSON with snake_case keys; unknown keys are allowed and ignored:
/// <code>
/// {"features": ["amount", "hour"], "input": "features", "output": "probabilities",
///  "output_column": 1, "higher_is_anomalous": true, "threshold": 0.5, "defaults": {"hour": 12}}
/// </code>
/// </summary>
public sealed record OnnxSchema
{
    /// <summary>The feature columns, in the order of the input tensor's second axis. Required.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>The name of the model's float32 input tensor, shape <c>[N, Features.Count]</c>. Required.</summary>
    public string Input { get; init; } = string.Empty;

    /// <summary>The name of the output tensor holding the score, shape <c>[N]</c> or <c>[N, K]</c>. Required.</summary>
    public string Output { get; init; } = string.Empty;

    /// <summary>The column of a <c>[N, K]</c> output to use (e.g. 1 for the fraud probability of a <c>[N, 2]</c>
    /// softmax); null for a <c>[N]</c> or <c>[N, 1]</c> output.</summary>
    public int? OutputColumn { get; init; }

    /// <summary>True (default) when a larger output means more anomalous; false negates the output, so Vigil's
    /// "higher = more anomalous" holds.</summary>
    public bool HigherIsAnomalous { get; init; } = true;

    /// <summary>The decision threshold on Vigil's score (after any negation); null = not given.</summary>
    public double? Threshold { get; init; }

    /// <summary>Values used for missing (NaN or empty) inputs, by feature; a feature without one makes a missing value an error.</summary>
    public IReadOnlyDictionary<string, double> Defaults { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Reads and checks a schema file.</summary>
    /// <exception cref="OnnxModelException">The file cannot be read, is not JSON, or a key is missing or invalid (the message names the file and key).</exception>
    public static OnnxSchema Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxModelException(path, null, e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : $"cannot be read: {e.Message}", e);
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses and checks schema JSON; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="OnnxModelException">The text is not JSON, or a key is missing or invalid.</exception>
    public static OnnxSchema Parse(ReadOnlySpan<byte> json, string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new OnnxModelException(source, null, $"is not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OnnxModelException(source, null, "must be a JSON object like {\"features\": [...], \"input\": \"...\", \"output\": \"...\"}");
            }

            var features = ReadFeatures(root, source);
            var input = RequiredString(root, "input", source);
            var output = RequiredString(root, "output", source);
            int? column = null;
            if (Optional(root, "output_column") is { } c)
            {
                if (c.ValueKind != JsonValueKind.Number || !c.TryGetInt32(out var index) || index < 0)
                {
                    throw new OnnxModelException(source, "output_column", $"must be a non-negative integer, got {c.GetRawText()}");
                }

                column = index;
            }

            var higher = true;
            if (Optional(root, "higher_is_anomalous") is { } h)
            {
                higher = h.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw new OnnxModelException(source, "higher_is_anomalous", $"must be true or false, got {h.GetRawText()}"),
                };
            }

            double? threshold = null;
            if (Optional(root, "threshold") is { } t)
            {
                if (t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out var value) || !double.IsFinite(value))
                {
                    throw new OnnxModelException(source, "threshold", $"must be a finite number, got {t.GetRawText()}");
                }

                threshold = value;
            }

            var defaults = new Dictionary<string, double>(StringComparer.Ordinal);
            if (Optional(root, "defaults") is { } d)
            {
                if (d.ValueKind != JsonValueKind.Object)
                {
                    throw new OnnxModelException(source, "defaults", "must be an object mapping feature names to numbers");
                }

                foreach (var property in d.EnumerateObject())
                {
                    if (!features.Contains(property.Name))
                    {
                        throw new OnnxModelException(source, "defaults", $"names '{property.Name}', which is not in \"features\"");
                    }

                    if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var value) || !double.IsFinite(value))
                    {
                        throw new OnnxModelException(source, "defaults", $"'{property.Name}' must be a finite number, got {property.Value.GetRawText()}");
                    }

                    defaults[property.Name] = value;
                }
            }

            return new OnnxSchema
            {
                Features = features,
                Input = input,
                Output = output,
                OutputColumn = column,
                HigherIsAnomalous = higher,
                Threshold = threshold,
                Defaults = defaults,
            };
        }
    }

    /// <summary>The schema as JSON with the same keys <see cref="Parse"/> reads (written into bundles as <c>onnx.json</c>).</summary>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("features");
            foreach (var f in Features)
            {
                w.WriteStringValue(f);
            }

            w.WriteEndArray();
            w.WriteString("input", Input);
            w.WriteString("output", Output);
            if (OutputColumn is { } c)
            {
                w.WriteNumber("output_column", c);
            }

            w.WriteBoolean("higher_is_anomalous", HigherIsAnomalous);
            if (Threshold is { } t)
            {
                w.WriteNumber("threshold", t);
            }

            if (Defaults.Count > 0)
            {
                w.WriteStartObject("defaults");
                foreach (var f in Features)
                {
                    if (Defaults.TryGetValue(f, out var v))
                    {
                        w.WriteNumber(f, v);
                    }
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>A one-line description for logs and run parameters.</summary>
    public override string ToString()
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"{Input}[{Features.Count}] -> {Output}");
        if (OutputColumn is { } c)
        {
            s.Append(CultureInfo.InvariantCulture, $"[:, {c}]");
        }

        if (!HigherIsAnomalous)
        {
            s.Append(" (negated)");
        }

        return s.ToString();
    }

    private static List<string> ReadFeatures(JsonElement root, string source)
    {
        if (Optional(root, "features") is not { } f)
        {
            throw new OnnxModelException(source, "features", "is missing: list the feature column names in input-column order");
        }

        if (f.ValueKind != JsonValueKind.Array || f.GetArrayLength() == 0)
        {
            throw new OnnxModelException(source, "features", "must be a non-empty array of column names");
        }

        var names = new List<string>(f.GetArrayLength());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in f.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
            {
                throw new OnnxModelException(source, "features", string.Create(CultureInfo.InvariantCulture, $"entry {i} must be a non-empty column name, got {item.GetRawText()}"));
            }

            var name = item.GetString()!;
            if (!seen.Add(name))
            {
                throw new OnnxModelException(source, "features", $"lists '{name}' twice");
            }

            names.Add(name);
            i++;
        }

        return names;
    }

    private static string RequiredString(JsonElement root, string key, string source)
    {
        if (Optional(root, key) is not { } e)
        {
            throw new OnnxModelException(source, key, $"is missing: give the model's {key} tensor name");
        }

        if (e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString()))
        {
            throw new OnnxModelException(source, key, $"must be a tensor name (a non-empty string), got {e.GetRawText()}");
        }

        return e.GetString()!;
    }

    private static JsonElement? Optional(JsonElement root, string key) =>
        root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
