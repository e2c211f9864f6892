using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

public sealed class ServiceEndpointTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await ServerHarness.StartAsync(o => o with { InferenceLog = InferenceLogDestination.Store });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> GetAsync(string path)
    {
        var response = await _server.Client.GetAsync(path, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, text.StartsWith('{') ? JsonNode.Parse(text) : null, response);
    }

    [Fact]
    public async Task Livez_and_readyz_answer_200_when_models_are_loaded()
    {
        (await GetAsync("/livez")).Status.ShouldBe(HttpStatusCode.OK);
        var (status, body, _) = await GetAsync("/readyz");
        status.ShouldBe(HttpStatusCode.OK);
        body!["models"]!.GetValue<int>().ShouldBe(2);
    }

    [Fact]
    public async Task Models_lists_each_served_model_with_version_kind_and_features()
    {
        var (_, body, _) = await GetAsync("/v1/models");
        var models = body!["models"]!.AsArray();
        models.Select(m => m!["name"]!.GetValue<string>()).ShouldBe(["fraud", "fraud-ae"]);
        models[0]!["version"]!.GetValue<int>().ShouldBe(1);
        models[0]!["kind"]!.GetValue<string>().ShouldBe("iforest");
        models[0]!["follows"]!.GetValue<string>().ShouldBe("@champion");
        models[0]!["features"]!.AsArray().Select(f => f!["name"]!.GetValue<string>()).ShouldContain("amount");

        var (one, single, _) = await GetAsync("/v1/models/fraud-ae");
        one.ShouldBe(HttpStatusCode.OK);
        single!["kind"]!.GetValue<string>().ShouldBe("autoencoder");
        var (missing, problem, response) = await GetAsync("/v1/models/nope");
        missing.ShouldBe(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        problem!["field"]!.GetValue<string>().ShouldBe("name");
    }

    [Fact]
    public async Task Version_names_the_service_commit_and_each_models_version_alias_and_load_time()
    {
        var (_, body, _) = await GetAsync("/v1/version");
        body!["service"]!.GetValue<string>().ShouldBe("vigil");
        body["version"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        body["inferenceLog"]!.GetValue<string>().ShouldStartWith("sqlite ");
        var fraud = body["models"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "fraud")!;
        fraud["version"]!.GetValue<int>().ShouldBe(1);
        fraud["alias"]!.GetValue<string>().ShouldBe("@champion");
        fraud["loadedAt"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task Refresh_needs_an_api_key_and_reports_what_changed()
    {
        using (var none = await _server.Client.PostAsync("/admin/refresh-models", null, Ct))
        {
            none.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            none.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Post, "/admin/refresh-models"))
        {
            wrong.Headers.Add("X-API-Key", "secret-kez");
            using var response = await _server.Client.SendAsync(wrong, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        await _server.Store.SetAliasAsync("fraud", "champion", 2, "test", cancellationToken: Ct);
        using var right = new HttpRequestMessage(HttpMethod.Post, "/admin/refresh-models");
        right.Headers.Add("X-API-Key", "secret-key");
        using var ok = await _server.Client.SendAsync(right, Ct);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = JsonNode.Parse(await ok.Content.ReadAsStringAsync(Ct))!;
        body["changed"]!.GetValue<int>().ShouldBe(1);
        var fraud = body["models"]!.AsArray().Single(m => m!["model"]!.GetValue<string>() == "fraud")!;
        fraud["outcome"]!.GetValue<string>().ShouldBe("swapped");
        fraud["from"]!.GetValue<int>().ShouldBe(1);
        fraud["to"]!.GetValue<int>().ShouldBe(2);
        var (_, predicted, _) = await _server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(0)) }.ToJsonString());
        predicted["version"]!.GetValue<int>().ShouldBe(2);
    }

    [Fact]
    public async Task Metrics_count_requests_rows_loads_and_the_inference_log()
    {
        await _server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(0), ServerHarness.Instance(1)) }.ToJsonString());
        await _server.PostJsonAsync("/v1/predict", "{");
        var text = await _server.Client.GetStringAsync("/metrics", Ct);

        text.ShouldContain("vigil_http_requests_total{route=\"/v1/predict\",status=\"200\"} 1");
        text.ShouldContain("vigil_http_requests_total{route=\"/v1/predict\",status=\"400\"} 1");
        text.ShouldContain("vigil_http_request_duration_seconds_bucket{route=\"/v1/predict\",le=\"+Inf\"} 2");
        text.ShouldContain("vigil_rows_scored_total{model=\"fraud\"} 2");
        text.ShouldContain("vigil_model_loads_total{model=\"fraud\"} 1");
        text.ShouldContain("vigil_model_loaded_version{model=\"fraud-ae\"} 1");
        text.ShouldContain("vigil_model_load_failures_total");
        text.ShouldContain("vigil_inference_log_queue_depth");
        text.ShouldContain("vigil_inference_log_written_rows_total");
        text.ShouldContain("vigil_inference_log_dropped_rows_total 0");
    }

    [Fact]
    public async Task Metrics_pass_promtool_check_metrics()
    {
        await _server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(0)) }.ToJsonString());
        var text = await _server.Client.GetStringAsync("/metrics", Ct);
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("promtool is missing although CI=true: eng/test.sh installs Debian's prometheus package");
            }

            Assert.Skip("promtool is not installed (eng/test.sh installs Debian's prometheus package)");
        }

        var psi = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync(Ct) + await p.StandardError.ReadToEndAsync(Ct);
        await p.WaitForExitAsync(Ct);
        p.ExitCode.ShouldBe(0, output);
    }
}

public sealed class ServerConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readyz_is_503_naming_the_model_until_it_can_be_loaded()
    {
        await using var server = await StartUnreadyAsync();
        using var response = await server.Client.GetAsync("/readyz", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("ghost");
    }

    private static Task<ServerHarness> StartUnreadyAsync() =>
        ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList("fraud,ghost") }, waitReady: false);

    [Fact]
    public async Task Body_over_the_limit_is_413_problem()
    {
        await using var server = await ServerHarness.StartAsync(o => o with { MaxBodyBytes = 2048 });
        var big = new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(Enumerable.Range(0, 40).Select(i => (JsonNode)ServerHarness.Instance(i)).ToArray()) }.ToJsonString();
        var (status, body, response) = await server.PostJsonAsync("/v1/predict", big);
        status.ShouldBe(413);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe("body");
    }

    [Fact]
    public async Task Rate_limit_answers_429_with_retry_after_per_client()
    {
        await using var server = await ServerHarness.StartAsync(o => o with { RateLimitPerSecond = 1, RateLimitBurst = 2 });
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 4; i++)
        {
            var response = await server.Client.GetAsync("/v1/models", Ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        statuses.Take(2).ShouldAllBe(s => s == HttpStatusCode.OK);
        limited.ShouldNotBeNull();
        limited.Headers.RetryAfter.ShouldNotBeNull();
        limited.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");

        // Health endpoints are never limited.
        (await server.Client.GetAsync("/livez", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // An API key that is not a configured scoring key opens no bucket of its own: the client address's is empty,
        // and refills one token per second.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var passed = 0;
        for (var i = 0; i < 4; i++)
        {
            using var other = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            other.Headers.Add("X-API-Key", "someone-else-" + i);
            using var answer = await server.Client.SendAsync(other, Ct);
            passed += answer.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        passed.ShouldBeLessThanOrEqualTo(2 + (int)clock.Elapsed.TotalSeconds);
    }

    [Fact]
    public async Task Cors_allows_only_configured_origins()
    {
        await using var server = await ServerHarness.StartAsync(o => o with { CorsOrigins = ["https://app.example.com"] });
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/v1/predict");
        allowed.Headers.Add("Origin", "https://app.example.com");
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        using var ok = await server.Client.SendAsync(allowed, Ct);
        ok.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe("https://app.example.com");

        using var denied = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        denied.Headers.Add("Origin", "https://evil.example.com");
        using var no = await server.Client.SendAsync(denied, Ct);
        no.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();
    }

    [Fact]
    public async Task Drop_mode_counts_dropped_rows_instead_of_waiting()
    {
        await using var server = await ServerHarness.StartAsync(o => o with
        {
            InferenceLog = InferenceLogDestination.Store,
            InferenceLogWhenFull = QueueFullMode.Drop,
            InferenceLogCapacity = 1,
            InferenceLogBatch = 1,
        });
        var body = new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(0)) }.ToJsonString();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => server.PostJsonAsync("/v1/predict", body)));
        var metrics = (ServingMetrics)server.App.Services.GetService(typeof(ServingMetrics))!;
        await server.App.StopAsync(Ct); // drain
        (metrics.DroppedRows + metrics.WrittenRows).ShouldBe(200);
        metrics.DroppedRows.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Parquet_destination_writes_the_log_as_parquet_files()
    {
        var folder = Path.Combine(Path.GetTempPath(), "vigil-parquet-log-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var server = await ServerHarness.StartAsync(o => o with { InferenceLog = InferenceLogDestination.Parquet, InferenceLogFolder = folder, InferenceLogPayloads = PayloadMode.Hashed }))
            {
                for (var i = 0; i < 5; i++)
                {
                    await server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(i)) }.ToJsonString());
                }
            }

            await using var reader = new Vigil.Tracking.ParquetInferenceLogReader(folder);
            (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(5);
            var rows = await reader.TailAsync(5, cancellationToken: Ct);
            rows.ShouldAllBe(r => r.RequestPayload!.StartsWith("sha256:") && r.ResponsePayload!.StartsWith("sha256:"));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}

public sealed class InferenceLogRowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_scoring_request_gets_one_row_even_when_routing_rejects_its_content_type()
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-serving-" + Guid.NewGuid().ToString("N"));
        await using (var server = await ServerHarness.StartAsync(o => o with { InferenceLog = InferenceLogDestination.Store }, home))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict") { Content = new StringContent("a,b", System.Text.Encoding.UTF8, "text/plain") };
            request.Headers.Add("X-Request-ID", "wrong-type");
            using var response = await server.Client.SendAsync(request, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
            await server.PostJsonAsync("/v1/predict", "{bad json");
            await server.PostJsonAsync("/v1/predict", new JsonObject { ["model"] = "nope", ["instances"] = new JsonArray(ServerHarness.Instance(0)) }.ToJsonString());
        }

        try
        {
            await using var log = await Vigil.Tracking.InferenceLogStore.OpenAsync(null, home, Ct);
            var rows = await log.TailAsync(10, cancellationToken: Ct);
            rows.Select(r => r.Status).ShouldBe([415, 400, 404]);
            rows[0].RequestId.ShouldBe("wrong-type");
            rows[0].Route.ShouldBe("v1/predict");
            rows.ShouldAllBe(r => r.Error != null);
            rows[2].Model.ShouldBe("nope");
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
