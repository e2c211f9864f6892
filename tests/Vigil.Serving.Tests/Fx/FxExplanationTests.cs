using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Fx;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>
/// The optional LLM explanation against a fake OpenAI-compatible chat-completions endpoint (a tiny Kestrel app here): it
/// rewrites anomalies' reasons with the bundle's prompt; a slow or failing endpoint keeps the template reason and never
/// fails the deal; every outcome is counted in <c>vigil_fx_explanations_total</c>.
/// </summary>
public sealed class FxExplanationTests
{
    private const string Prompt = "Explain like a treasury auditor.";

    private static readonly Lazy<Vigil.Detectors.ModelBundle> Bundle = new(() => FxTrainer.Train(FxServingTests.Deals.Training, new FxTrainOptions
    {
        Clients = ["FISAU"],
        Seed = 5,
        ExplanationPrompt = Prompt,
        Autoencoder = FxTrainOptions.DefaultAutoencoder with { Epochs = 6, MaxDegreeOfParallelism = 2 },
    }));

    [Fact]
    public async Task Anomaly_reasons_are_rewritten_with_the_bundles_prompt_and_normal_deals_are_untouched()
    {
        await using var fake = await FakeChat.StartAsync("ok");
        await using var server = await StartAsync(fake, timeoutMs: 10_000);
        var (deals, expected) = Batch();
        var answer = await PostAsync(server, deals);
        for (var i = 0; i < deals.Length; i++)
        {
            answer[i]!["status_code"]!.GetValue<int>().ShouldBe(200);
            answer[i]!["Anomaly"]!.GetValue<string>().ShouldBe(expected[i].AnomalyText);
            answer[i]!["Reason"]!.GetValue<string>().ShouldBe(expected[i].Anomaly ? $"Operator note ({expected[i].Check}) under: {Prompt}" : "");
        }

        fake.Calls.ShouldBe(expected.Count(e => e.Anomaly));
        (await MetricAsync(server, "rewritten")).ShouldBe(expected.Count(e => e.Anomaly));
    }

    [Theory]
    [InlineData("slow", "timeout")]
    [InlineData("error", "error")]
    [InlineData("empty", "empty")]
    public async Task A_slow_failing_or_empty_endpoint_keeps_the_template_reason_and_is_counted(string mode, string outcome)
    {
        await using var fake = await FakeChat.StartAsync(mode);
        // 400 ms cuts the slow endpoint (it answers after 30 s); the others get 5 s, so that a loaded machine cannot turn
        // an empty or failing answer into a timeout
        await using var server = await StartAsync(fake, timeoutMs: mode == "slow" ? 400 : 5000);
        var (deals, expected) = Batch();
        var started = DateTime.UtcNow;
        var answer = await PostAsync(server, deals);
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(8)); // the slow endpoint answers after 30 s
        for (var i = 0; i < deals.Length; i++)
        {
            answer[i]!["status_code"]!.GetValue<int>().ShouldBe(200);
            answer[i]!["Reason"]!.GetValue<string>().ShouldBe(expected[i].Reason);
        }

        (await MetricAsync(server, outcome)).ShouldBe(expected.Count(e => e.Anomaly));
    }

    [Fact]
    public void A_bad_setting_stops_start_up_naming_it()
    {
        Should.Throw<ServingConfigurationException>(() => FxExplainer.FromEnvironment(n => n == "VIGIL_FX_LLM_ENDPOINT" ? "not a url" : null)).Setting.ShouldBe("VIGIL_FX_LLM_ENDPOINT");
        Should.Throw<ServingConfigurationException>(() => FxExplainer.FromEnvironment(n => n == "VIGIL_FX_LLM_ENDPOINT" ? "http://127.0.0.1:1/v1" : null)).Setting.ShouldBe("VIGIL_FX_LLM_MODEL");
        Should.Throw<ServingConfigurationException>(() => FxExplainer.FromEnvironment(n => n == "VIGIL_FX_LLM_TIMEOUT_MS" ? "-5" : null)).Setting.ShouldBe("VIGIL_FX_LLM_TIMEOUT_MS");
        FxExplainer.FromEnvironment(_ => null).Enabled.ShouldBeFalse();
    }

    /// <summary>Ten FISAU evaluation deals, at least three of them anomalies, with their in-process decisions (template reasons).</summary>
    private static (FxDeal[] Deals, FxDecision[] Expected) Batch()
    {
        var scorer = new FxScorer(Bundle.Value);
        var fisau = FxServingTests.Deals.Evaluation.Where(e => e.Deal.Client == "FISAU").Select(e => e.Deal).ToArray();
        var anomalies = fisau.Where(d => scorer.Decide(d).Anomaly).Take(3);
        var normal = fisau.Where(d => !scorer.Decide(d).Anomaly).Take(7);
        var deals = anomalies.Concat(normal).ToArray();
        return (deals, [.. deals.Select(scorer.Decide)]);
    }

    private static async Task<JsonArray> PostAsync(ServerHarness server, FxDeal[] deals)
    {
        var (status, answer, _) = await server.PostJsonAsync("/fx/v1/score", new JsonArray([.. deals.Select(FxServingTests.ToJson)]).ToJsonString());
        status.ShouldBe(200);
        return answer.AsArray();
    }

    private static async Task<int> MetricAsync(ServerHarness server, string outcome)
    {
        var text = await server.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        var prefix = $"vigil_fx_explanations_total{{outcome=\"{outcome}\"}} ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : (int)double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<ServerHarness> StartAsync(FakeChat fake, int timeoutMs)
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-fx-llm-" + Guid.NewGuid().ToString("N"));
        await using (var store = await StoreFactory.OpenAsync(null, home, TestContext.Current.CancellationToken))
        {
            await ServerHarness.RegisterAsync(store, "fx-FISAU", Bundle.Value);
            await store.SetAliasAsync("fx-FISAU", "champion", 1, "test");
        }

        var settings = new Dictionary<string, string>
        {
            ["VIGIL_FX_LLM_ENDPOINT"] = fake.BaseAddress + "v1",
            ["VIGIL_FX_LLM_MODEL"] = "fake-model",
            ["VIGIL_FX_LLM_TIMEOUT_MS"] = timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var explainer = FxExplainer.FromEnvironment(n => settings.GetValueOrDefault(n));
        return await ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList("fx-FISAU") }, home, services: s => s.AddSingleton(explainer), ownsHome: true);
    }

    /// <summary>A chat-completions endpoint: <c>ok</c> answers "Operator note (CHECK) under: SYSTEM PROMPT"; <c>slow</c> after 30 s; <c>error</c> 500; <c>empty</c> an empty message.</summary>
    private sealed class FakeChat : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _calls;

        private FakeChat(WebApplication app, string mode)
        {
            _app = app;
            Mode = mode;
            BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        }

        public string Mode { get; }

        public Uri BaseAddress { get; }

        public int Calls => Volatile.Read(ref _calls);

        public static async Task<FakeChat> StartAsync(string mode)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            FakeChat? self = null;
            app.MapPost("/v1/chat/completions", async (HttpContext context) =>
            {
                Interlocked.Increment(ref self!._calls);
                using var request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
                var messages = request.RootElement.GetProperty("messages");
                var system = messages[0].GetProperty("content").ToString();
                var user = messages[1].GetProperty("content").ToString();
                var check = user.Split('\n')[0]["Check: ".Length..];
                switch (mode)
                {
                    case "slow":
                        await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                        break;
                    case "error":
                        context.Response.StatusCode = 500;
                        await context.Response.WriteAsync("""{"error":{"message":"boom","type":"server_error"}}""");
                        return;
                }

                var content = mode == "empty" ? "" : $"Operator note ({check}) under: {system}";
                var body = new JsonObject
                {
                    ["id"] = "chatcmpl-1", ["object"] = "chat.completion", ["created"] = 0, ["model"] = "fake-model",
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content }, ["finish_reason"] = "stop" }),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2 },
                };
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(body.ToJsonString());
            });
            await app.StartAsync();
            self = new FakeChat(app, mode);
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
