using System.Text.Json;

namespace Vigil.Evaluation.Tests;

/// <summary>The scikit-learn reference values written by Fixtures/make_metric_fixtures.py.</summary>
internal static class MetricFixtures
{
    private static readonly Lazy<Dictionary<string, JsonElement>> Cases = new(Load);

    public static IReadOnlyCollection<string> Names => Cases.Value.Keys;

    public static TheoryData<string> TheoryNames() => [.. Cases.Value.Keys];

    public static JsonElement Case(string name) => Cases.Value[name];

    public static double[] Doubles(this JsonElement e)
    {
        var result = new double[e.GetArrayLength()];
        var i = 0;
        foreach (var v in e.EnumerateArray())
        {
            result[i++] = v.GetDouble();
        }

        return result;
    }

    public static int[] Ints(this JsonElement e)
    {
        var result = new int[e.GetArrayLength()];
        var i = 0;
        foreach (var v in e.EnumerateArray())
        {
            result[i++] = v.GetInt32();
        }

        return result;
    }

    private static Dictionary<string, JsonElement> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "metric_fixtures.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            result.Add(c.GetProperty("name").GetString()!, c.Clone());
        }

        return result;
    }
}
