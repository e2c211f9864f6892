using System.Net;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

public sealed class VigilProtocolTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerHarness.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static string Body(string model, params JsonNode[] instances) =>
        new JsonObject { ["model"] = model, ["instances"] = new JsonArray(instances) }.ToJsonString();

    [Fact]
    public async Task Predict_scores_each_instance_like_the_bundle_does()
    {
        var (status, body, _) = await _server.PostJsonAsync("/v1/predict", Body("fraud", ServerHarness.Instance(0), ServerHarness.Instance(1)));

        status.ShouldBe(200);
        body["model"]!.GetValue<string>().ShouldBe("fraud");
        body["version"]!.GetValue<int>().ShouldBe(1);
        var expected = _server.App.Services.GetService(typeof(ModelCache)) is ModelCache cache
            ? cache.Find("fraud")!.Bundle.Score(ServerHarness.Data)
            : throw new InvalidOperationException();
        var predictions = body["predictions"]!.AsArray();
        predictions.Count.ShouldBe(2);
        predictions[0]!["score"]!.GetValue<double>().ShouldBe(expected[0], 1e-12);
        predictions[1]!["score"]!.GetValue<double>().ShouldBe(expected[1], 1e-12);
        predictions[0]!["status"]!.GetValue<int>().ShouldBe(200);
        predictions[0]!["label"]!.GetValue<int>().ShouldBeOneOf(0, 1);
        var reasons = predictions[0]!["reasons"]!.AsArray();
        reasons.Count.ShouldBe(3);
        var explained = ((ModelCache)_server.App.Services.GetService(typeof(ModelCache))!).Find("fraud")!.Bundle.Explain(ServerHarness.Data, 0, 3);
        reasons.Select(r => r!["feature"]!.GetValue<string>()).ShouldBe(explained.Select(e => e.Feature));
    }

    [Fact]
    public async Task Invalid_item_gets_400_naming_the_field_while_the_others_are_scored()
    {
        var bad = ServerHarness.Instance(2);
        bad["amount"] = "lots";
        var missing = ServerHarness.Instance(3);
        missing.Remove("hour_of_day");
        var (status, body, _) = await _server.PostJsonAsync("/v1/predict", Body("fraud", ServerHarness.Instance(0), bad, missing, ServerHarness.Instance(4)));

        status.ShouldBe(200);
        var p = body["predictions"]!.AsArray();
        p[0]!["status"]!.GetValue<int>().ShouldBe(200);
        p[1]!["status"]!.GetValue<int>().ShouldBe(400);
        p[1]!["field"]!.GetValue<string>().ShouldBe("amount");
        p[1]!["error"]!.GetValue<string>().ShouldContain("expected a number");
        p[1]!["score"].ShouldBeNull();
        p[2]!["status"]!.GetValue<int>().ShouldBe(400);
        p[2]!["field"]!.GetValue<string>().ShouldBe("hour_of_day");
        p[3]!["status"]!.GetValue<int>().ShouldBe(200);
        p[3]!["score"]!.GetValue<double>().ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Null_is_a_missing_value_and_unseen_category_goes_to_other()
    {
        var instance = ServerHarness.Instance(5);
        instance["amount_sum_30d"] = null;
        instance["merchant_category"] = "never-seen-before";
        var (_, body, _) = await _server.PostJsonAsync("/v1/predict", Body("fraud", instance));

        body["predictions"]![0]!["status"]!.GetValue<int>().ShouldBe(200);
    }

    [Fact]
    public async Task Autoencoder_predictions_carry_reasons()
    {
        var (_, body, _) = await _server.PostJsonAsync("/v1/predict", Body("fraud-ae", ServerHarness.Instance(0)));

        var reasons = body["predictions"]![0]!["reasons"]!.AsArray();
        reasons.Count.ShouldBe(3);
        reasons[0]!["feature"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        Math.Abs(reasons[0]!["contribution"]!.GetValue<double>()).ShouldBeGreaterThanOrEqualTo(Math.Abs(reasons[1]!["contribution"]!.GetValue<double>()));
    }

    [Fact]
    public async Task Unknown_model_is_404_problem()
    {
        var (status, body, response) = await _server.PostJsonAsync("/v1/predict", Body("nope", ServerHarness.Instance(0)));

        status.ShouldBe(404);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe("model");
        body["detail"]!.GetValue<string>().ShouldContain("fraud");
    }

    [Theory]
    [InlineData("not json", "body")]
    [InlineData("[1,2]", "body")]
    [InlineData("{\"model\":\"fraud\"}", "instances")]
    [InlineData("{\"model\":\"fraud\",\"instances\":[]}", "instances")]
    [InlineData("{\"model\":\"fraud\",\"instances\":{}}", "instances")]
    [InlineData("{\"model\":5,\"instances\":[{}]}", "model")]
    [InlineData("{\"model\":\"fraud\",\"instances\":[{}]", "body")]
    public async Task Malformed_body_is_400_problem_naming_the_field(string json, string field)
    {
        var (status, body, response) = await _server.PostJsonAsync("/v1/predict", json);

        status.ShouldBe(400);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe(field);
        body["requestId"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Non_json_content_type_is_415()
    {
        var (status, body, _) = await _server.PostJsonAsync("/v1/predict", "a,b", "text/plain");

        status.ShouldBe(415);
        body["field"]!.GetValue<string>().ShouldBe("Content-Type");
    }

    [Fact]
    public async Task Wrong_method_is_405_problem_with_allow_header()
    {
        using var response = await _server.Client.GetAsync("/v1/predict", TestContext.Current.CancellationToken);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        response.Content.Headers.Allow.ShouldContain("POST");
    }

    [Fact]
    public async Task Request_id_is_echoed_or_generated()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/livez");
        request.Headers.Add("X-Request-ID", "client-id-42");
        using var echoed = await _server.Client.SendAsync(request, TestContext.Current.CancellationToken);
        using var generated = await _server.Client.GetAsync("/livez", TestContext.Current.CancellationToken);

        echoed.Headers.GetValues("X-Request-ID").Single().ShouldBe("client-id-42");
        generated.Headers.GetValues("X-Request-ID").Single().Length.ShouldBe(32);
    }
}
