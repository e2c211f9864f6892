using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;

namespace Vigil.Serving.Tests;

public sealed partial class DocsTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerHarness.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<JsonNode> OpenApiAsync()
    {
        using var response = await _server.Client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
    }

    [Theory]
    [InlineData("/v1/predict", "post")]
    [InlineData("/v1/models", "get")]
    [InlineData("/v1/models/{name}", "get")]
    [InlineData("/v1/version", "get")]
    [InlineData("/livez", "get")]
    [InlineData("/readyz", "get")]
    [InlineData("/admin/refresh-models", "post")]
    [InlineData("/invocations", "post")]
    [InlineData("/models/{name}/invocations", "post")]
    [InlineData("/ping", "get")]
    [InlineData("/health", "get")]
    [InlineData("/v2", "get")]
    [InlineData("/v2/health/live", "get")]
    [InlineData("/v2/health/ready", "get")]
    [InlineData("/v2/models/{name}", "get")]
    [InlineData("/v2/models/{name}/versions/{version}", "get")]
    [InlineData("/v2/models/{name}/ready", "get")]
    [InlineData("/v2/models/{name}/versions/{version}/ready", "get")]
    [InlineData("/v2/models/{name}/infer", "post")]
    [InlineData("/v2/models/{name}/versions/{version}/infer", "post")]
    public async Task OpenApi_document_lists_the_endpoint(string path, string method)
    {
        var doc = await OpenApiAsync();

        doc["paths"]![path]?[method].ShouldNotBeNull($"{method.ToUpperInvariant()} {path} is not in /openapi/v1.json");
    }

    [Fact]
    public async Task OpenApi_document_describes_request_bodies_and_problems_of_the_scoring_endpoints()
    {
        var paths = (await OpenApiAsync())["paths"]!;

        var invocations = paths["/invocations"]!["post"]!;
        invocations["requestBody"]!["content"]!["application/json"].ShouldNotBeNull();
        invocations["requestBody"]!["content"]!["text/csv"].ShouldNotBeNull();
        invocations["responses"]!["415"]!["content"]!["application/problem+json"].ShouldNotBeNull();
        var infer = paths["/v2/models/{name}/infer"]!["post"]!;
        infer["requestBody"]!["content"]!["application/json"].ShouldNotBeNull();
        infer["responses"]!["200"]!["content"]!["application/json"].ShouldNotBeNull();
        infer["responses"]!["400"]!["content"]!["application/problem+json"].ShouldNotBeNull();
        var schemas = (await OpenApiAsync())["components"]!["schemas"]!.AsObject();
        schemas.Select(s => s.Key).ShouldContain("MlflowRequestDoc");
        schemas["MlflowRequestDoc"]!["properties"]!["dataframe_split"].ShouldNotBeNull();
        schemas["InferResponseDoc"]!["properties"]!["model_name"].ShouldNotBeNull();
    }

    [Fact]
    public async Task OpenApi_document_is_valid_for_an_OpenAPI_reader_with_numbers_typed_as_numbers_and_nullable_fields_optional()
    {
        using var response = await _server.Client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        // Microsoft.OpenApi's reader (the library ASP.NET Core writes the document with) validates it against the spec rules.
        var read = Microsoft.OpenApi.OpenApiDocument.Parse(text, "json");
        read.Diagnostic!.Errors.ShouldBeEmpty(string.Join("; ", read.Diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
        read.Document.ShouldNotBeNull();

        var schemas = JsonNode.Parse(text)!["components"]!["schemas"]!.AsObject();
        var prediction = schemas["PredictionDoc"]!;
        var score = prediction["properties"]!["score"]!;
        Types(score).ShouldBe(["null", "number"]);
        score["pattern"].ShouldBeNull();
        var required = prediction["required"]?.AsArray().Select(n => n!.GetValue<string>()).ToList() ?? [];
        required.ShouldContain("status");
        required.ShouldNotContain("field");
        required.ShouldNotContain("error");
        required.ShouldNotContain("score");
        foreach (var (name, schema) in schemas)
        {
            foreach (var (property, p) in schema!["properties"]?.AsObject() ?? [])
            {
                var types = Types(p!);
                (types.Contains("number") && types.Contains("string")).ShouldBeFalse($"{name}.{property} is typed {string.Join("|", types)}");
            }
        }
    }

    [Fact]
    public async Task OpenApi_document_has_a_typed_request_schema_and_path_per_served_model_with_profile_examples()
    {
        using var response = await _server.Client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var read = Microsoft.OpenApi.OpenApiDocument.Parse(text, "json");
        read.Diagnostic!.Errors.ShouldBeEmpty(string.Join("; ", read.Diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
        var doc = JsonNode.Parse(text)!;
        var schemas = doc["components"]!["schemas"]!;
        var cache = _server.App.Services.GetRequiredService<ModelCache>();

        foreach (var name in new[] { "fraud", "fraud-ae" })
        {
            var served = cache.Find(name)!;
            var instance = schemas["Instance_" + name].ShouldNotBeNull($"no Instance_{name} component");
            var properties = instance["properties"]!.AsObject();
            properties.Select(p => p.Key).ShouldBe(served.Bundle.Transform.InputSchema.Select(c => c.Name), ignoreOrder: false);
            instance["required"]!.AsArray().Select(n => n!.GetValue<string>()).ShouldBe(served.InputNames, ignoreOrder: true);
            foreach (var column in served.Bundle.Transform.InputSchema)
            {
                var property = properties[column.Name]!;
                var expected = column.Kind == Vigil.Data.ColumnKind.Categorical ? "string" : "number";
                string.Join("|", Types(property).Where(t => t != "null")).ShouldBe(expected, $"{name}.{column.Name}");
                var profile = served.Bundle.Profile!.Feature(column.Name)!;
                if (expected == "number")
                {
                    // The example is the training median (quantile level 0.5 of the bundle's reference profile).
                    var median = profile.Numeric!.Quantiles[5];
                    property["examples"]![0]!.GetValue<double>().ShouldBe(median, Math.Abs(median) * 1e-9 + 1e-12);
                }
                else
                {
                    property["examples"]![0]!.GetValue<string>().ShouldBe(profile.Categorical!.Top[0].Category);
                }
            }

            schemas["PredictRequest_" + name]!["properties"]!["instances"]!["items"]!["$ref"]!.GetValue<string>().ShouldBe("#/components/schemas/Instance_" + name);
            var post = doc["paths"]!["/v1/models/" + name + "/predict"]!["post"].ShouldNotBeNull();
            post["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>().ShouldBe("#/components/schemas/PredictRequest_" + name);

            // The documented example instance is a valid request for that path.
            var body = new JsonObject { ["instances"] = new JsonArray(instance["examples"]![0]!.DeepClone()) };
            var (status, answer, _) = await _server.PostJsonAsync("/v1/models/" + name + "/predict", body.ToJsonString());
            status.ShouldBe(200, answer.ToJsonString());
            answer["model"]!.GetValue<string>().ShouldBe(name);
            answer["predictions"]![0]!["status"]!.GetValue<int>().ShouldBe(200, answer.ToJsonString());
        }
    }

    [Fact]
    public async Task The_per_model_path_refuses_a_body_that_names_another_model()
    {
        var body = new JsonObject { ["model"] = "fraud-ae", ["instances"] = new JsonArray(ServerHarness.Instance(0)) };

        var (status, answer, _) = await _server.PostJsonAsync("/v1/models/fraud/predict", body.ToJsonString());

        status.ShouldBe(400);
        answer["field"]!.GetValue<string>().ShouldBe("model");
    }

    [Fact]
    public async Task OpenApi_request_schema_follows_a_hot_swap_that_changes_the_features()
    {
        var before = (await OpenApiAsync())["components"]!["schemas"]!["Instance_fraud"]!["properties"]!.AsObject().Select(p => p.Key).ToList();
        before.ShouldContain("merchant_category");
        var numeric = Vigil.Detectors.ModelBundle.Train(ServerHarness.Data, new Vigil.Detectors.TrainSpec
        {
            Model = "iforest", Label = Vigil.Data.TransactionColumns.Label, Features = ServerHarness.NumericFeatures,
            Forest = new Vigil.Detectors.IsolationForestOptions { Seed = 5, Estimators = 20 },
        });
        var version = await ServerHarness.RegisterAsync(_server.Store, "fraud", numeric);
        await _server.Store.SetAliasAsync("fraud", "champion", version, "test", cancellationToken: TestContext.Current.CancellationToken);
        await _server.App.Services.GetRequiredService<ModelCache>().RefreshAsync(TestContext.Current.CancellationToken);

        var after = (await OpenApiAsync())["components"]!["schemas"]!["Instance_fraud"]!;

        after["properties"]!.AsObject().Select(p => p.Key).ShouldBe(ServerHarness.NumericFeatures);
        after["description"]!.GetValue<string>().ShouldContain("5 input features");
    }

    private static List<string> Types(JsonNode schema) => schema["type"] switch
    {
        JsonArray a => [.. a.Select(t => t!.GetValue<string>()).Order(StringComparer.Ordinal)],
        JsonValue v => [v.GetValue<string>()],
        _ => [],
    };

    [Fact]
    public async Task Metrics_include_process_and_runtime_metrics()
    {
        var text = await _server.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        text.ShouldContain("process_cpu_seconds_total");
        text.ShouldContain("process_working_set_bytes");
        text.ShouldContain("dotnet_collection_count_total");
    }

    [Fact]
    public async Task Docs_page_has_no_vendor_buttons()
    {
        var html = await _server.Client.GetStringAsync("/docs", TestContext.Current.CancellationToken);
        html.ShouldContain("\"hideClientButton\":true");
        html.ShouldContain("\"agent\":{\"disabled\":true");
    }

    [Fact]
    public async Task Docs_page_is_html_whose_scripts_and_styles_are_served_by_this_server()
    {
        using var page = await _server.Client.GetAsync("/docs", TestContext.Current.CancellationToken);
        var html = await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        html.ShouldContain("openapi", customMessage: html);
        var references = Reference().Matches(html).Select(m => m.Groups["url"].Value).ToList();
        references.ShouldNotBeEmpty();
        foreach (var url in references)
        {
            url.ShouldNotStartWith("http:");
            url.ShouldNotStartWith("https:");
            url.ShouldNotStartWith("//");
        }

        var scripts = ScriptSource().Matches(html).Select(m => m.Groups["url"].Value).ToList();
        scripts.ShouldNotBeEmpty();
        var largest = 0;
        foreach (var script in scripts)
        {
            var url = new Uri(page.RequestMessage!.RequestUri!, script);
            url.Host.ShouldBe(_server.BaseAddress.Host);
            using var js = await _server.Client.GetAsync(url, TestContext.Current.CancellationToken);
            js.StatusCode.ShouldBe(HttpStatusCode.OK, url.ToString());
            js.Content.Headers.ContentType!.MediaType.ShouldBeOneOf("text/javascript", "application/javascript");
            var text = await js.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            largest = Math.Max(largest, text.Length);
        }

        // The API reference bundle itself (megabytes of JavaScript) comes from this server, not a CDN.
        largest.ShouldBeGreaterThan(100_000);
    }

    [GeneratedRegex("""(?:src|href)\s*=\s*["'](?<url>[^"']+)["']""", RegexOptions.IgnoreCase)]
    private static partial Regex Reference();

    [GeneratedRegex("""<script[^>]*\ssrc\s*=\s*["'](?<url>[^"']+)["']""", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptSource();
}
