using System.Text.Json;
using Vigil.Data;
using static Vigil.Detectors.JsonFields;

namespace Vigil.Detectors;

/// <summary>
/// <c>profile.json</c> read and written by hand, in the layout the source-generated serializer used to write (compact,
/// camelCase, enums by name, null properties left out, numbers only): byte for byte the same files. See
/// <see cref="BundleJson"/> for why: the serializer's metadata cost every short process its JIT compilations.
/// </summary>
internal static class ProfileJson
{
    /// <summary>The UTF-8 bytes of <c>profile.json</c>.</summary>
    /// <exception cref="ArgumentException">A statistic is NaN or infinite (JSON numbers cannot hold it).</exception>
    public static byte[] Write(ReferenceProfile profile)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", profile.FormatVersion);
            w.WriteNumber("trainingRows", profile.TrainingRows);
            w.WriteNumber("validationRows", profile.ValidationRows);
            if (profile.Features is { } features)
            {
                w.WriteStartArray("features");
                foreach (var feature in features)
                {
                    WriteFeature(w, feature);
                }

                w.WriteEndArray();
            }

            if (profile.Scores is { } scores)
            {
                w.WriteStartObject("scores");
                w.WriteNumber("count", scores.Count);
                WriteNumbers(w, "quantiles", scores.Quantiles);
                w.WriteNumber("mean", scores.Mean);
                WriteHistogram(w, scores.Histogram);
                w.WriteNumber("threshold", scores.Threshold);
                w.WriteNumber("alerts", scores.Alerts);
                w.WriteNumber("alertRate", scores.AlertRate);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Reads <c>profile.json</c>; null for a JSON <c>null</c>.</summary>
    /// <exception cref="JsonException">Not valid JSON, or a value of the wrong type.</exception>
    public static ReferenceProfile? Read(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(root, JsonValueKind.Object, "$");
        var profile = new ReferenceProfile();
        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            profile = p.Name switch
            {
                "formatVersion" => profile with { FormatVersion = Int32(v, "$.formatVersion") },
                "trainingRows" => profile with { TrainingRows = Int64(v, "$.trainingRows") },
                "validationRows" => profile with { ValidationRows = Int64(v, "$.validationRows") },
                "features" => profile with { Features = ListOf(v, "$.features", ReadFeature)! },
                "scores" => profile with { Scores = ReadScores(v, "$.scores")! },
                _ => profile,
            };
        }

        return profile;
    }

    private static void WriteFeature(Utf8JsonWriter w, FeatureProfile? feature)
    {
        if (feature is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        if (feature.Name is { } name)
        {
            w.WriteString("name", name);
        }

        w.WriteString("kind", feature.Kind.ToString());
        w.WriteNumber("count", feature.Count);
        w.WriteNumber("missingCount", feature.MissingCount);
        w.WriteNumber("missingRate", feature.MissingRate);
        if (feature.Numeric is { } numeric)
        {
            w.WriteStartObject("numeric");
            WriteNumbers(w, "quantiles", numeric.Quantiles);
            w.WriteNumber("mean", numeric.Mean);
            WriteHistogram(w, numeric.Histogram);
            w.WriteEndObject();
        }

        if (feature.Categorical is { } categorical)
        {
            w.WriteStartObject("categorical");
            if (categorical.Top is { } top)
            {
                w.WriteStartArray("top");
                foreach (var category in top)
                {
                    if (category is null)
                    {
                        w.WriteNullValue();
                        continue;
                    }

                    w.WriteStartObject();
                    if (category.Category is { } text)
                    {
                        w.WriteString("category", text);
                    }

                    w.WriteNumber("count", category.Count);
                    w.WriteNumber("frequency", category.Frequency);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteNumber("otherCount", categorical.OtherCount);
            w.WriteNumber("distinctCount", categorical.DistinctCount);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteHistogram(Utf8JsonWriter w, Histogram? histogram)
    {
        if (histogram is null)
        {
            return;
        }

        w.WriteStartObject("histogram");
        WriteNumbers(w, "edges", histogram.Edges);
        if (histogram.Counts is { } counts)
        {
            w.WriteStartArray("counts");
            foreach (var count in counts)
            {
                w.WriteNumberValue(count);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void WriteNumbers(Utf8JsonWriter w, string name, IReadOnlyList<double>? values)
    {
        if (values is null)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteNumberValue(value);
        }

        w.WriteEndArray();
    }

    private static FeatureProfile? ReadFeature(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var feature = new FeatureProfile();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            feature = p.Name switch
            {
                "name" => feature with { Name = String(v, path + ".name")! },
                "kind" => feature with { Kind = Enum<ColumnKind>(v, path + ".kind") },
                "count" => feature with { Count = Int64(v, path + ".count") },
                "missingCount" => feature with { MissingCount = Int64(v, path + ".missingCount") },
                "missingRate" => feature with { MissingRate = Number(v, path + ".missingRate") },
                "numeric" => feature with { Numeric = ReadNumeric(v, path + ".numeric") },
                "categorical" => feature with { Categorical = ReadCategorical(v, path + ".categorical") },
                _ => feature,
            };
        }

        return feature;
    }

    private static NumericProfile? ReadNumeric(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var numeric = new NumericProfile();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            numeric = p.Name switch
            {
                "quantiles" => numeric with { Quantiles = ListOf(v, path + ".quantiles", Number)! },
                "mean" => numeric with { Mean = Number(v, path + ".mean") },
                "histogram" => numeric with { Histogram = ReadHistogram(v, path + ".histogram")! },
                _ => numeric,
            };
        }

        return numeric;
    }

    private static Histogram? ReadHistogram(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var histogram = new Histogram();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            histogram = p.Name switch
            {
                "edges" => histogram with { Edges = ListOf(v, path + ".edges", Number)! },
                "counts" => histogram with { Counts = ListOf(v, path + ".counts", Int64)! },
                _ => histogram,
            };
        }

        return histogram;
    }

    private static CategoricalProfile? ReadCategorical(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var categorical = new CategoricalProfile();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            categorical = p.Name switch
            {
                "top" => categorical with { Top = ListOf(v, path + ".top", ReadCategory)! },
                "otherCount" => categorical with { OtherCount = Int64(v, path + ".otherCount") },
                "distinctCount" => categorical with { DistinctCount = Int32(v, path + ".distinctCount") },
                _ => categorical,
            };
        }

        return categorical;
    }

    private static CategoryFrequency? ReadCategory(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        string? category = null;
        long count = 0;
        double frequency = 0;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "category": category = String(p.Value, path + ".category"); break;
                case "count": count = Int64(p.Value, path + ".count"); break;
                case "frequency": frequency = Number(p.Value, path + ".frequency"); break;
                default: break;
            }
        }

        return new CategoryFrequency(category!, count, frequency);
    }

    private static ScoreProfile? ReadScores(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var scores = new ScoreProfile();
        foreach (var p in e.EnumerateObject())
        {
            var v = p.Value;
            scores = p.Name switch
            {
                "count" => scores with { Count = Int64(v, path + ".count") },
                "quantiles" => scores with { Quantiles = ListOf(v, path + ".quantiles", Number)! },
                "mean" => scores with { Mean = Number(v, path + ".mean") },
                "histogram" => scores with { Histogram = ReadHistogram(v, path + ".histogram")! },
                "threshold" => scores with { Threshold = Number(v, path + ".threshold") },
                "alerts" => scores with { Alerts = Int64(v, path + ".alerts") },
                "alertRate" => scores with { AlertRate = Number(v, path + ".alertRate") },
                _ => scores,
            };
        }

        return scores;
    }
}
