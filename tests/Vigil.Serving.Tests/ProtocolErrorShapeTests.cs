using System.Text;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

/// <summary>
/// Every error of the MLflow protocol carries MLflow's <c>error_code</c> and <c>message</c>, and every error of the
/// Open Inference Protocol its <c>error</c> string (what those clients read), beside the problem+json members.
/// The server serves <c>fraud</c> and <c>ghost</c> (configured, never loaded: 503), with a 4 KB body limit (413).
/// </summary>
public sealed class ProtocolErrorShapeTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private IReadOnlyList<string> _features = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList("fraud,ghost"), MaxBodyBytes = 4096, LogLevel = Microsoft.Extensions.Logging.LogLevel.Critical }, waitReady: false);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await _server.Client.GetAsync("/v2/models/fraud/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("model fraud never loaded");
            }

            await Task.Delay(50);
        }

        _features = ProtocolRows.Features(_server, "fraud");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static string Records(JsonNode? amount = null)
    {
        var record = ServerHarness.Instance(0);
        if (amount is not null)
        {
            record["amount"] = amount;
        }

        return new JsonObject { ["dataframe_records"] = new JsonArray(record) }.ToJsonString();
    }

    private static readonly string Oversized = "{\"dataframe_records\": [" + string.Join(",", Enumerable.Repeat("{\"amount\": 1.0}", 400)) + "]}";

    public static TheoryData<string, string, string, string, int, string> MlflowErrors => new()
    {
        { "malformed JSON", "POST", "/models/fraud/invocations", "{\"dataframe_records\": [", 400, "MALFORMED_REQUEST" },
        { "not an object", "POST", "/models/fraud/invocations", "[1, 2]", 400, "BAD_REQUEST" },
        { "unknown key", "POST", "/models/fraud/invocations", "{\"rows\": []}", 400, "BAD_REQUEST" },
        { "empty records", "POST", "/models/fraud/invocations", "{\"dataframe_records\": []}", 400, "BAD_REQUEST" },
        { "bad item", "POST", "/models/fraud/invocations", Records("x"), 400, "INVALID_PARAMETER_VALUE" },
        { "value overflows", "POST", "/models/fraud/invocations", Records(1e300), 400, "INVALID_PARAMETER_VALUE" },
        { "unknown model", "POST", "/models/nope/invocations", Records(), 404, "RESOURCE_DOES_NOT_EXIST" },
        { "model not loaded", "POST", "/models/ghost/invocations", Records(), 503, "TEMPORARILY_UNAVAILABLE" },
        { "no default model", "POST", "/invocations", Records(), 400, "BAD_REQUEST" },
        { "too large", "POST", "/models/fraud/invocations", Oversized, 413, "BAD_REQUEST" },
        { "unsupported media type", "POST", "/models/fraud/invocations|text/plain", "amount\n1", 415, "BAD_REQUEST" },
        { "malformed CSV", "POST", "/models/fraud/invocations|text/csv", "amount\n\"unclosed", 400, "MALFORMED_REQUEST" },
        { "bad CSV value", "POST", "/models/fraud/invocations|text/csv", "amount\nabc", 400, "INVALID_PARAMETER_VALUE" },
        { "ping not ready", "GET", "/ping", "", 503, "TEMPORARILY_UNAVAILABLE" },
        { "health not ready", "GET", "/health", "", 503, "TEMPORARILY_UNAVAILABLE" },
        { "wrong method", "GET", "/invocations", "", 405, "BAD_REQUEST" },
    };

    [Theory]
    [MemberData(nameof(MlflowErrors))]
    public async Task Every_mlflow_error_has_error_code_and_message(string what, string method, string target, string body, int status, string code)
    {
        var json = await SendAsync(method, target, body, status, what);

        json["error_code"]!.GetValue<string>().ShouldBe(code, what);
        json["message"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace(what);
        json["message"]!.GetValue<string>().ShouldBe(json["detail"]!.GetValue<string>(), what);
    }

    public static TheoryData<string, string, string, string, int> OpenInferenceErrors => new()
    {
        { "malformed JSON", "POST", "/v2/models/fraud/infer", "{\"inputs\": [", 400 },
        { "not an object", "POST", "/v2/models/fraud/infer", "[]", 400 },
        { "no inputs", "POST", "/v2/models/fraud/infer", "{\"inputs\": []}", 400 },
        { "tensor without shape", "POST", "/v2/models/fraud/infer", "{\"inputs\": [{\"name\": \"amount\", \"datatype\": \"FP64\", \"data\": [1]}]}", 400 },
        { "unknown datatype", "POST", "/v2/models/fraud/infer", "{\"inputs\": [{\"name\": \"amount\", \"shape\": [1], \"datatype\": \"FP8\", \"data\": [1]}]}", 400 },
        { "bad item", "POST", "/v2/models/fraud/infer", "BAD_ITEM", 400 },
        { "unknown model", "POST", "/v2/models/nope/infer", "{}", 404 },
        { "model not loaded", "POST", "/v2/models/ghost/infer", "{}", 503 },
        { "wrong version", "POST", "/v2/models/fraud/versions/7/infer", "{}", 404 },
        { "too large", "POST", "/v2/models/fraud/infer", "{\"inputs\": [" + new string(' ', 5000) + "]}", 413 },
        { "unsupported media type", "POST", "/v2/models/fraud/infer|text/plain", "{}", 415 },
        { "metadata of unknown model", "GET", "/v2/models/nope", "", 404 },
        { "metadata of unknown version", "GET", "/v2/models/fraud/versions/7", "", 404 },
        { "model not ready", "GET", "/v2/models/ghost/ready", "", 503 },
        { "server not ready", "GET", "/v2/health/ready", "", 503 },
        { "wrong method", "GET", "/v2/models/fraud/infer", "", 405 },
        { "no such endpoint", "GET", "/v2/nothing/here", "", 404 },
    };

    [Theory]
    [MemberData(nameof(OpenInferenceErrors))]
    public async Task Every_open_inference_error_has_an_error_string(string what, string method, string target, string body, int status)
    {
        if (body == "BAD_ITEM")
        {
            body = BadItemTensors();
        }

        var json = await SendAsync(method, target, body, status, what);

        json["error"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace(what);
        json["error"]!.GetValue<string>().ShouldBe(json["detail"]!.GetValue<string>(), what);
    }

    [Fact]
    public async Task Vigil_errors_stay_plain_problem_details()
    {
        var json = await SendAsync("POST", "/v1/predict", "{\"model\": \"nope\", \"instances\": [{}]}", 404, "unknown model");

        json["field"]!.GetValue<string>().ShouldBe("model");
        json["error"].ShouldBeNull();
        json["error_code"].ShouldBeNull();
    }

    /// <summary>One row per feature tensor, with an amount that overflows the model's float features.</summary>
    private string BadItemTensors()
    {
        var inputs = new JsonArray();
        foreach (var f in _features)
        {
            var value = f == "amount" ? JsonValue.Create(1e300) : ProtocolRows.Value(0, f);
            var categorical = value is JsonValue v && v.TryGetValue<string>(out _);
            inputs.Add(new JsonObject { ["name"] = f, ["shape"] = new JsonArray(1), ["datatype"] = categorical ? "BYTES" : "FP64", ["data"] = new JsonArray(value) });
        }

        return new JsonObject { ["inputs"] = inputs }.ToJsonString();
    }

    private async Task<JsonNode> SendAsync(string method, string target, string body, int status, string what)
    {
        var parts = target.Split('|');
        using var request = new HttpRequestMessage(new HttpMethod(method), parts[0]);
        if (method == "POST")
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(parts.Length > 1 ? parts[1] : "application/json");
        }

        using var response = await _server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, $"{what}: {text}");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", what);
        var json = JsonNode.Parse(text)!;
        json["status"]!.GetValue<int>().ShouldBe(status, what);
        return json;
    }
}
