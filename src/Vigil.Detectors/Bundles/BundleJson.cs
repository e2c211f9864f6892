using System.Globalization;
using System.Text.Json;
using Vigil.Data;
using static Vigil.Detectors.JsonFields;

namespace Vigil.Detectors;

/// <summary>
/// <c>bundle.json</c> and <c>transform.json</c> read and written by hand with <see cref="JsonDocument"/> and
/// <see cref="Utf8JsonWriter"/>, in the layout the source-generated serializer used to write (camelCase, indented, enums
/// by name, NaN and infinities as strings, nulls written): byte for byte the same files. Why by hand: the serializer's
/// metadata is generic code over Vigil's and the framework's types that ReadyToRun cannot precompile across assembly
/// boundaries, so every short <c>vigil train</c> or <c>vigil score</c> process compiled a few hundred methods just
/// in time (about 0.1 s of CPU) to read or write these two small documents. Reading follows the serializer's rules:
/// unknown properties are skipped, a missing one keeps its default, the last of duplicated ones wins, and a value of
/// the wrong type is a <see cref="JsonException"/>.
/// </summary>
internal static class BundleJson
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>The UTF-8 bytes of <c>bundle.json</c>.</summary>
    public static byte[] WriteManifest(BundleManifest manifest)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", manifest.FormatVersion);
            WriteString(w, "detectorKind", manifest.DetectorKind);
            w.WriteString("createdUtc", manifest.CreatedUtc);
            w.WritePropertyName("featureSchema");
            if (manifest.FeatureSchema is { } schema)
            {
                w.WriteStartArray();
                foreach (var column in schema)
                {
                    if (column is null)
                    {
                        w.WriteNullValue();
                        continue;
                    }

                    w.WriteStartObject();
                    WriteString(w, "name", column.Name);
                    w.WriteString("kind", column.Kind.ToString());
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("transform");
            if (manifest.Transform is { } transform)
            {
                w.WriteStartObject();
                w.WriteString("scaling", transform.Scaling.ToString());
                w.WriteString("missingPolicy", transform.MissingPolicy.ToString());
                w.WriteNumber("maxCategories", transform.MaxCategories);
                WriteStrings(w, "outputColumns", transform.OutputColumns);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            WriteDouble(w, "threshold", manifest.Threshold);
            WriteString(w, "trainingRunId", manifest.TrainingRunId);
            w.WritePropertyName("metrics");
            if (manifest.Metrics is { } metrics)
            {
                w.WriteStartObject();
                foreach (var (name, value) in metrics)
                {
                    WriteDouble(w, name, value);
                }

                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("files");
            if (manifest.Files is { } files)
            {
                w.WriteStartObject();
                foreach (var (name, file) in files)
                {
                    w.WritePropertyName(name);
                    if (file is null)
                    {
                        w.WriteNullValue();
                        continue;
                    }

                    w.WriteStartObject();
                    WriteString(w, "sha256", file.Sha256);
                    w.WriteNumber("size", file.Size);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("parameters");
            if (manifest.Parameters is { } parameters)
            {
                w.WriteStartObject();
                foreach (var (name, value) in parameters)
                {
                    WriteString(w, name, value);
                }

                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Reads <c>bundle.json</c> from its root object.</summary>
    /// <exception cref="JsonException">A value of the wrong type.</exception>
    public static BundleManifest ReadManifest(JsonElement root)
    {
        RequireKind(root, JsonValueKind.Object, "$");
        var manifest = new BundleManifest();
        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            manifest = p.Name switch
            {
                "formatVersion" => manifest with { FormatVersion = Int32(v, "$.formatVersion") },
                "detectorKind" => manifest with { DetectorKind = String(v, "$.detectorKind")! },
                "createdUtc" => manifest with { CreatedUtc = DateTimeOffset(v, "$.createdUtc") },
                "featureSchema" => manifest with { FeatureSchema = ListOf(v, "$.featureSchema", ReadColumn)! },
                "transform" => manifest with { Transform = ReadSummary(v)! },
                "threshold" => manifest with { Threshold = Double(v, "$.threshold") },
                "trainingRunId" => manifest with { TrainingRunId = String(v, "$.trainingRunId") },
                "metrics" => manifest with { Metrics = MapOf(v, "$.metrics", (e, path) => Double(e, path))! },
                "files" => manifest with { Files = MapOf(v, "$.files", ReadFile)! },
                "parameters" => manifest with { Parameters = MapOf(v, "$.parameters", String)! },
                _ => manifest,
            };
        }

        return manifest;
    }

    /// <summary>The UTF-8 bytes of <c>transform.json</c>.</summary>
    public static byte[] WriteTransform(TransformDocument doc)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", doc.FormatVersion);
            w.WriteString("scaling", doc.Scaling.ToString());
            w.WriteString("missingPolicy", doc.MissingPolicy.ToString());
            w.WriteNumber("maxCategories", doc.MaxCategories);
            w.WritePropertyName("inputs");
            if (doc.Inputs is { } inputs)
            {
                w.WriteStartArray();
                foreach (var input in inputs)
                {
                    if (input is null)
                    {
                        w.WriteNullValue();
                        continue;
                    }

                    w.WriteStartObject();
                    WriteString(w, "name", input.Name);
                    w.WriteString("kind", input.Kind.ToString());
                    WriteDouble(w, "median", input.Median);
                    WriteDouble(w, "min", input.Min);
                    WriteDouble(w, "max", input.Max);
                    WriteDouble(w, "scale", input.Scale);
                    WriteDouble(w, "offset", input.Offset);
                    WriteStrings(w, "categories", input.Categories);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Reads <c>transform.json</c>; null for a JSON <c>null</c>.</summary>
    /// <exception cref="JsonException">Not valid JSON, or a value of the wrong type.</exception>
    public static TransformDocument? ReadTransform(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(root, JsonValueKind.Object, "$");
        var doc = new TransformDocument();
        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "formatVersion": doc.FormatVersion = Int32(v, "$.formatVersion"); break;
                case "scaling": doc.Scaling = Enum<Scaling>(v, "$.scaling"); break;
                case "missingPolicy": doc.MissingPolicy = Enum<MissingPolicy>(v, "$.missingPolicy"); break;
                case "maxCategories": doc.MaxCategories = Int32(v, "$.maxCategories"); break;
                case "inputs": doc.Inputs = ListOf(v, "$.inputs", ReadInput)!; break;
                default: break;
            }
        }

        return doc;
    }

    private static ColumnSchema? ReadColumn(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        string? name = null;
        var kind = default(ColumnKind);
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "name": name = String(p.Value, path + ".name"); break;
                case "kind": kind = Enum<ColumnKind>(p.Value, path + ".kind"); break;
                default: break;
            }
        }

        return new ColumnSchema(name!, kind);
    }

    private static TransformSummary? ReadSummary(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, "$.transform");
        var summary = new TransformSummary();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            summary = p.Name switch
            {
                "scaling" => summary with { Scaling = Enum<Scaling>(v, "$.transform.scaling") },
                "missingPolicy" => summary with { MissingPolicy = Enum<MissingPolicy>(v, "$.transform.missingPolicy") },
                "maxCategories" => summary with { MaxCategories = Int32(v, "$.transform.maxCategories") },
                "outputColumns" => summary with { OutputColumns = ListOf(v, "$.transform.outputColumns", String)! },
                _ => summary,
            };
        }

        return summary;
    }

    private static BundleFile? ReadFile(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        string? sha256 = null;
        long size = 0;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "sha256": sha256 = String(p.Value, path + ".sha256"); break;
                case "size": size = Int64(p.Value, path + ".size"); break;
                default: break;
            }
        }

        return new BundleFile(sha256!, size);
    }

    private static TransformInput? ReadInput(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var input = new TransformInput();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "name": input.Name = String(v, path + ".name")!; break;
                case "kind": input.Kind = Enum<ColumnKind>(v, path + ".kind"); break;
                case "median": input.Median = NullableDouble(v, path + ".median"); break;
                case "min": input.Min = NullableDouble(v, path + ".min"); break;
                case "max": input.Max = NullableDouble(v, path + ".max"); break;
                case "scale": input.Scale = NullableDouble(v, path + ".scale"); break;
                case "offset": input.Offset = NullableDouble(v, path + ".offset"); break;
                case "categories": input.Categories = ListOf(v, path + ".categories", String)!; break;
                default: break;
            }
        }

        return input;
    }
}
