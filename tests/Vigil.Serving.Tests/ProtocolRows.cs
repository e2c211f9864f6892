using System.Globalization;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

/// <summary>Rows of the training data as the features of a served model, and their /v1/predict scores as the reference.</summary>
internal static class ProtocolRows
{
    public static readonly int[] Rows = [0, 1, 2, 3, 4, 17, 250];

    /// <summary>The feature names of <paramref name="model"/>, in the model's input order.</summary>
    public static IReadOnlyList<string> Features(ServerHarness server, string model) =>
        ((ModelCache)server.App.Services.GetService(typeof(ModelCache))!).Find(model)!.InputNames;

    /// <summary>True when feature <paramref name="feature"/> of <paramref name="model"/> is categorical.</summary>
    public static bool IsCategorical(ServerHarness server, string model, string feature)
    {
        var served = ((ModelCache)server.App.Services.GetService(typeof(ModelCache))!).Find(model)!;
        return served.Bundle.Transform.InputSchema[served.InputNames.ToList().IndexOf(feature)].Kind == Vigil.Data.ColumnKind.Categorical;
    }

    /// <summary>Row <paramref name="row"/> as a JSON value of feature <paramref name="feature"/>.</summary>
    public static JsonNode? Value(int row, string feature) => ServerHarness.Instance(row)[feature]?.DeepClone();

    /// <summary>The scores /v1/predict gives to <see cref="Rows"/> (every item must be valid).</summary>
    public static async Task<double[]> ReferenceScoresAsync(ServerHarness server, string model)
    {
        var instances = new JsonArray();
        foreach (var row in Rows)
        {
            var o = new JsonObject();
            foreach (var f in Features(server, model))
            {
                o[f] = Value(row, f);
            }

            instances.Add(o);
        }

        var (status, body, _) = await server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = model, ["instances"] = instances }.ToJsonString());
        status.ShouldBe(200);
        var predictions = body["predictions"]!.AsArray();
        var scores = new double[predictions.Count];
        for (var i = 0; i < scores.Length; i++)
        {
            predictions[i]!["status"]!.GetValue<int>().ShouldBe(200);
            scores[i] = predictions[i]!["score"]!.GetValue<double>();
        }

        return scores;
    }

    /// <summary>The numbers of a JSON array.</summary>
    public static double[] Numbers(JsonNode? array) => [.. array!.AsArray().Select(v => v!.GetValue<double>())];

    /// <summary>The scores match the reference exactly (same features, same float encoding).</summary>
    public static void ShouldMatch(double[] actual, double[] expected)
    {
        actual.Length.ShouldBe(expected.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            actual[i].ShouldBe(expected[i], 1e-12, $"item {i}");
        }
    }

    /// <summary>A CSV field for a JSON value (strings quoted, doubled quotes; null empty).</summary>
    public static string Csv(JsonNode? value) => value switch
    {
        null => string.Empty,
        JsonValue v when v.TryGetValue<string>(out var s) => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"",
        JsonValue v => v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
        _ => throw new ArgumentException("not a scalar", nameof(value)),
    };
}
