using System.Text;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

/// <summary>Regressions found by <see cref="FuzzTests"/>: each used to be a 500.</summary>
public sealed class RobustnessTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerHarness.StartAsync(o => o with { DefaultModel = "fraud" });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<(int Status, JsonNode Body, string? MediaType)> PostBytesAsync(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _server.Client.PostAsync(path, content, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, JsonNode.Parse(text)!, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Value_too_large_for_float_features_fails_its_item_not_the_server()
    {
        var instance = ServerHarness.Instance(0);
        instance["amount"] = 1e300;
        var body = new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instance, ServerHarness.Instance(1)) }.ToJsonString();

        var (status, json, _) = await _server.PostJsonAsync("/v1/predict", body);

        status.ShouldBe(200);
        json["predictions"]![0]!["status"]!.GetValue<int>().ShouldBe(400);
        json["predictions"]![0]!["field"]!.GetValue<string>().ShouldBe("amount");
        json["predictions"]![0]!["error"]!.GetValue<string>().ShouldContain("too large");
        json["predictions"]![1]!["status"]!.GetValue<int>().ShouldBe(200);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_category_fails_its_item()
    {
        var instance = ServerHarness.Instance(0);
        instance["merchant_category"] = "MARKER";
        var text = new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instance) }.ToJsonString();
        var bytes = Encoding.UTF8.GetBytes(text);
        var at = text.IndexOf("MARKER", StringComparison.Ordinal);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;

        var (status, json, _) = await PostBytesAsync("/v1/predict", bytes);

        status.ShouldBe(200);
        json["predictions"]![0]!["status"]!.GetValue<int>().ShouldBe(400);
        json["predictions"]![0]!["field"]!.GetValue<string>().ShouldBe("merchant_category");
    }

    [Theory]
    [InlineData("/v1/predict", "{\"model\":\"\\udc00\",\"instances\":[{}]}")]
    [InlineData("/invocations", "{\"\\udc00\":[{}]}")]
    [InlineData("/invocations", "{\"inputs\":{\"\\udc00\":[1]}}")]
    [InlineData("/v2/models/fraud/infer", "{\"id\":\"\\udc00\",\"inputs\":[]}")]
    public async Task Lone_surrogate_escape_in_a_scanned_string_is_400_problem(string path, string body)
    {
        var (status, json, mediaType) = await PostBytesAsync(path, Encoding.UTF8.GetBytes(body));

        status.ShouldBe(400, json.ToJsonString());
        mediaType.ShouldBe("application/problem+json");
        json["field"]!.GetValue<string>().ShouldBe("body");
    }

    [Fact]
    public async Task Oversized_body_is_413_problem_and_closes_the_connection()
    {
        await using var server = await ServerHarness.StartAsync(o => o with { MaxBodyBytes = 4096, DefaultModel = "fraud" });
        var body = "{\"dataframe_records\":[{}],\"pad\":\"" + new string('p', 8000) + "\"}";

        foreach (var path in new[] { "/invocations", "/v2/models/fraud/infer", "/v1/predict" })
        {
            var (status, json, response) = await server.PostJsonAsync(path, body);

            status.ShouldBe(413);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            json["field"]!.GetValue<string>().ShouldBe("body");
            response.Headers.ConnectionClose.ShouldBe(true);
        }
    }
}
