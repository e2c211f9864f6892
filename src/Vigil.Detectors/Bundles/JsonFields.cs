using System.Globalization;
using System.Text.Json;

namespace Vigil.Detectors;

/// <summary>
/// The typed reads and writes behind Vigil's hand-written JSON documents (<see cref="BundleJson"/>,
/// <see cref="ProfileJson"/>), with the serializer's rules: a JSON <c>null</c> where a reference is expected is null,
/// a value of the wrong type is a <see cref="JsonException"/> naming its path.
/// </summary>
internal static class JsonFields
{
    internal static void WriteString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    internal static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        w.WritePropertyName(name);
        if (values is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var value in values)
        {
            if (value is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStringValue(value);
            }
        }

        w.WriteEndArray();
    }

    /// <summary>A number, or NaN and the infinities as the strings the serializer's named literals write; null as null.</summary>
    internal static void WriteDouble(Utf8JsonWriter w, string name, double? value)
    {
        if (value is not { } v)
        {
            w.WriteNull(name);
        }
        else if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteString(name, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    internal static void RequireKind(JsonElement e, JsonValueKind kind, string path)
    {
        if (e.ValueKind != kind)
        {
            throw Mismatch(path, kind.ToString().ToLowerInvariant(), e);
        }
    }

    internal static JsonException Mismatch(string path, string expected, JsonElement e) =>
        new($"{path}: expected {expected}, found {e.ValueKind.ToString().ToLowerInvariant()}", path, null, null);

    internal static string? String(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Null => null,
        _ => throw Mismatch(path, "a string", e),
    };

    internal static int Int32(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Mismatch(path, "a 32-bit integer", e);

    internal static long Int64(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw Mismatch(path, "a 64-bit integer", e);

    internal static DateTimeOffset DateTimeOffset(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String && e.TryGetDateTimeOffset(out var v) ? v : throw Mismatch(path, "an ISO 8601 date and time", e);

    /// <summary>A number, or one of the named literals <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>.</summary>
    internal static double Double(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v))
        {
            return v;
        }

        if (e.ValueKind == JsonValueKind.String)
        {
            switch (e.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
                default: break;
            }
        }

        throw Mismatch(path, "a number", e);
    }

    /// <summary>A number only (a document written without named literals).</summary>
    internal static double Number(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v) ? v : throw Mismatch(path, "a number", e);

    internal static double? NullableDouble(JsonElement e, string path) => e.ValueKind == JsonValueKind.Null ? null : Double(e, path);

    /// <summary>An enum by name (as the serializer's string enum converter reads it: any case) or by number.</summary>
    internal static T Enum<T>(JsonElement e, string path)
        where T : struct, Enum
    {
        if (e.ValueKind == JsonValueKind.String && e.GetString() is { } name
            && !name.Contains(',', StringComparison.Ordinal) && !int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            && System.Enum.TryParse<T>(name, ignoreCase: true, out var named))
        {
            return named;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var number))
        {
            return (T)(object)number;
        }

        throw Mismatch(path, $"a {typeof(T).Name} name", e);
    }

    internal static List<T>? ListOf<T>(JsonElement e, string path, Func<JsonElement, string, T> item)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Array, path);
        var list = new List<T>(e.GetArrayLength());
        var i = 0;
        foreach (var element in e.EnumerateArray())
        {
            list.Add(item(element, string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]")));
        }

        return list;
    }

    internal static Dictionary<string, T>? MapOf<T>(JsonElement e, string path, Func<JsonElement, string, T> value)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(e, JsonValueKind.Object, path);
        var map = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            map[p.Name] = value(p.Value, $"{path}.{p.Name}");
        }

        return map;
    }
}
