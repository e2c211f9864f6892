using System.Globalization;
using System.Text.Json.Nodes;
using Vigil.Detectors;

namespace Vigil.Serving.Tests;

/// <summary>A model trained in PyTorch and imported from ONNX is served like any other.</summary>
public sealed class OnnxServingTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "OnnxFixtures");

    [Fact]
    public async Task Imported_onnx_model_scores_over_http_like_torch()
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-serving-" + Guid.NewGuid().ToString("N"));
        await using (var store = await Vigil.Tracking.StoreFactory.OpenAsync(null, home, TestContext.Current.CancellationToken))
        {
            var schema = OnnxSchema.Load(Path.Combine(Fixtures, "scorer.schema.json"));
            var bundle = ModelBundle.FromOnnx(OnnxModel.Load(Path.Combine(Fixtures, "scorer.onnx"), schema));
            await ServerHarness.RegisterAsync(store, "fraud-torch", bundle);
        }

        await using var server = await ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList("fraud-torch/1") }, home);
        var input = File.ReadAllLines(Path.Combine(Fixtures, "onnx-input.csv"));
        var header = input[0].Split(',');
        var expected = File.ReadAllLines(Path.Combine(Fixtures, "scorer.expected.csv")).Skip(1)
            .Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var instances = new JsonArray();
        for (var r = 1; r <= 32; r++)
        {
            var cells = input[r].Split(',');
            var o = new JsonObject();
            for (var c = 0; c < header.Length; c++)
            {
                if (header[c] is not ("id" or "label"))
                {
                    o[header[c]] = double.Parse(cells[c], CultureInfo.InvariantCulture);
                }
            }

            instances.Add(o);
        }

        var missing = (JsonObject)instances[0]!.DeepClone();
        missing["amount"] = null;
        instances.Add(missing);
        var (status, body, _) = await server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud-torch", ["instances"] = instances }.ToJsonString());

        status.ShouldBe(200);
        var predictions = body["predictions"]!.AsArray();
        for (var r = 0; r < 32; r++)
        {
            predictions[r]!["score"]!.GetValue<double>().ShouldBe(expected[r], 1e-5);
        }

        // The schema gives no default for amount: a missing value fails that item, naming the feature.
        predictions[32]!["status"]!.GetValue<int>().ShouldBe(400);
        predictions[32]!["field"]!.GetValue<string>().ShouldBe("amount");
        Directory.Delete(home, recursive: true);
    }
}
