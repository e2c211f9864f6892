using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>
/// Every request to a scoring path gets exactly one inference-log row, whatever answers it: the body limit (413, on
/// each protocol), the rate limiter (429), the scoring key check (401/403), an unhandled error (500) and a client that
/// closed the connection first (499 with the answer it would have got). Each test stops its server (which drains the
/// log) before counting, so a late second row would be seen.
/// </summary>
public sealed class RequestLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string PredictBody(int row = 0) =>
        new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(row)) }.ToJsonString();

    private static async Task<(int Status, JsonNode? Body)> PostAsync(ServerHarness server, string path, string body, string requestId, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(VigilServer.RequestIdHeader, requestId);
        if (apiKey is not null)
        {
            request.Headers.Add("X-API-Key", apiKey);
        }

        using var response = await server.Client.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>The one row of <paramref name="requestId"/> (after the server stopped and drained its log).</summary>
    private static InferenceRecord SingleRow(MemoryLogSink sink, string requestId)
    {
        var rows = sink.Records.Where(r => r.RequestId == requestId).ToList();
        rows.Count.ShouldBe(1, $"request {requestId} has {rows.Count} inference log rows");
        return rows[0];
    }

    [Theory]
    [InlineData("/v1/predict", "v1/predict", null)]
    [InlineData("/invocations", "invocations", "fraud")]
    [InlineData("/models/fraud/invocations", "invocations", "fraud")]
    [InlineData("/v2/models/fraud/infer", "v2/infer", "fraud")]
    public async Task Oversized_body_gets_one_413_row_on_each_protocol(string path, string route, string? model)
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(o => o with { MaxBodyBytes = 4096, DefaultModel = "fraud" }, sink: sink);
        var body = "{\"dataframe_records\":[{}],\"pad\":\"" + new string('p', 8000) + "\"}";
        int status;
        JsonNode? problem;
        try
        {
            (status, problem) = await PostAsync(server, path, body, "big-1");
        }
        finally
        {
            await server.DisposeAsync();
        }

        status.ShouldBe(413);
        problem!["field"]!.GetValue<string>().ShouldBe("body");
        var row = SingleRow(sink, "big-1");
        row.Status.ShouldBe(413);
        row.Route.ShouldBe(route);
        row.Model.ShouldBe(model);
        row.Error.ShouldNotBeNull().ShouldContain("larger than the limit of 4096 bytes");
        row.EndUs.ShouldBeGreaterThanOrEqualTo(row.StartUs);
        row.ResponsePayload.ShouldNotBeNull().ShouldContain("\"status\":413");
    }

    [Fact]
    public async Task Rate_limited_request_gets_one_429_row()
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(o => o with { RateLimitPerSecond = 1, RateLimitBurst = 1 }, sink: sink);
        var answers = new List<(string Id, int Status)>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var id = "limited-" + i;
                answers.Add((id, (await PostAsync(server, "/v1/predict", PredictBody(), id)).Status));
            }
        }
        finally
        {
            await server.DisposeAsync();
        }

        answers.ShouldContain(a => a.Status == 429);
        foreach (var (id, status) in answers)
        {
            var row = SingleRow(sink, id);
            row.Status.ShouldBe(status);
            if (status == 429)
            {
                row.Route.ShouldBe("v1/predict");
                row.Error.ShouldNotBeNull().ShouldContain("rate limit of 1 requests per second");
                row.ScoredRows.ShouldBe(0);
            }
        }
    }

    [Fact]
    public async Task Unhandled_error_gets_one_500_row_naming_the_model_and_the_exception()
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(sink: sink, services: s => s.AddSingleton<IItemRuleProvider>(new FailingRuleProvider()));
        int status;
        JsonNode? problem;
        try
        {
            var instance = ServerHarness.Instance(0);
            instance["fail"] = "unhandled";
            (status, problem) = await PostAsync(server, "/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instance) }.ToJsonString(), "boom-1");

            // The server keeps answering.
            (await PostAsync(server, "/v1/predict", PredictBody(), "after-boom")).Status.ShouldBe(200);
        }
        finally
        {
            await server.DisposeAsync();
        }

        status.ShouldBe(500);
        problem!["detail"]!.GetValue<string>().ShouldContain("boom-1");
        var row = SingleRow(sink, "boom-1");
        row.Status.ShouldBe(500);
        row.Route.ShouldBe("v1/predict");
        row.Model.ShouldBe("fraud");
        row.Version.ShouldBe(1);
        row.Rows.ShouldBe(1);
        row.Error.ShouldNotBeNull().ShouldContain("Unhandled OutOfMemoryException");
        row.ResponsePayload.ShouldNotBeNull().ShouldContain("\"status\":500");
        SingleRow(sink, "after-boom").Status.ShouldBe(200);
    }

    [Fact]
    public async Task Client_that_disconnects_while_sending_the_body_gets_one_499_row()
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(sink: sink);
        try
        {
            using (var socket = await ConnectAsync(server))
            {
                var head = $"POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-Request-ID: gone-1\r\n\r\n{{\"model\":\"fraud\",";
                await socket.SendAsync(Encoding.ASCII.GetBytes(head), Ct);
            }

            // Closed with most of the body unsent: the server notices the end of the stream.
            await WaitForAsync(() => sink.Records.Any(r => r.RequestId == "gone-1"));
        }
        finally
        {
            await server.DisposeAsync();
        }

        var row = SingleRow(sink, "gone-1");
        row.Status.ShouldBe(ScoringExchange.ClientClosedRequest);
        row.Route.ShouldBe("v1/predict");
        row.Error.ShouldNotBeNull().ShouldContain("client closed the connection");
    }

    [Fact]
    public async Task Client_that_disconnects_before_the_answer_gets_one_499_row_with_the_answer_it_would_have_got()
    {
        var sink = new MemoryLogSink();
        var hold = new HoldingRuleProvider();
        var server = await ServerHarness.StartAsync(sink: sink, services: s =>
        {
            s.AddHttpContextAccessor();
            s.AddSingleton<IItemRuleProvider>(sp => hold.With(sp.GetRequiredService<IHttpContextAccessor>()));
        });
        try
        {
            var instance = ServerHarness.Instance(0);
            instance["hold"] = "until-aborted";
            var body = Encoding.UTF8.GetBytes(new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instance) }.ToJsonString());
            using (var socket = await ConnectAsync(server))
            {
                var head = $"POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nX-Request-ID: gone-2\r\n\r\n";
                await socket.SendAsync(Encoding.ASCII.GetBytes(head), Ct);
                await socket.SendAsync(body, Ct);

                // The request is being scored (the rule holds it until the server sees the client leave).
                (await hold.Entered.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct)).ShouldBeTrue();
            }

            await WaitForAsync(() => sink.Records.Any(r => r.RequestId == "gone-2"));
        }
        finally
        {
            await server.DisposeAsync();
        }

        hold.SawAbort.ShouldBeTrue();
        var row = SingleRow(sink, "gone-2");
        row.Status.ShouldBe(ScoringExchange.ClientClosedRequest);
        row.Model.ShouldBe("fraud");
        row.Rows.ShouldBe(1);
        row.Error.ShouldNotBeNull().ShouldContain("would have been 200");
        row.ResponsePayload.ShouldNotBeNull().ShouldContain("\"predictions\"");
    }

    [Fact]
    public async Task Scoring_keys_answer_401_and_403_with_one_row_each_and_let_a_valid_key_score()
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(o => o with { ScoringKeys = ["score-key-1", "score-key-2"] }, sink: sink);
        try
        {
            var (none, noneBody) = await PostAsync(server, "/invocations", "{\"dataframe_records\":[{}]}", "key-none");
            none.ShouldBe(401);
            noneBody!["error_code"]!.GetValue<string>().ShouldBe("UNAUTHENTICATED");
            noneBody["field"]!.GetValue<string>().ShouldBe("X-API-Key");

            var (wrong, wrongBody) = await PostAsync(server, "/v2/models/fraud/infer", "{\"inputs\":[]}", "key-wrong", apiKey: "secret-key");
            wrong.ShouldBe(403);
            wrongBody!["error"]!.GetValue<string>().ShouldContain("not valid");

            (await PostAsync(server, "/v1/predict", PredictBody(), "key-good", apiKey: "score-key-2")).Status.ShouldBe(200);

            // Other paths need no scoring key.
            using var models = await server.Client.GetAsync("/v1/models", Ct);
            models.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            await server.DisposeAsync();
        }

        SingleRow(sink, "key-none").Status.ShouldBe(401);
        SingleRow(sink, "key-wrong").Status.ShouldBe(403);
        SingleRow(sink, "key-good").Status.ShouldBe(200);
    }

    [Fact]
    public async Task Random_keys_do_not_bypass_the_rate_limit_and_a_verified_key_has_its_own_bucket()
    {
        var sink = new MemoryLogSink();
        var server = await ServerHarness.StartAsync(o => o with { RateLimitPerSecond = 2, RateLimitBurst = 2, ScoringKeys = ["score-key-1"] }, sink: sink);
        const int Attempts = 30;
        var passed = 0;
        var limited = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < Attempts; i++)
            {
                var (status, _) = await PostAsync(server, "/v1/predict", PredictBody(), "random-" + i, apiKey: Guid.NewGuid().ToString("N"));
                passed += status == 403 ? 1 : 0;
                limited += status == 429 ? 1 : 0;
            }

            var elapsed = clock.Elapsed.TotalSeconds;

            // One bucket for the client address: the burst plus what refilled meanwhile got through (to the key
            // check, 403), everything else was limited. A bucket per made-up key would have let all 30 through.
            passed.ShouldBeLessThanOrEqualTo(2 + 2 * (int)Math.Ceiling(elapsed), $"{passed} of {Attempts} random keys passed the limiter in {elapsed:F1} s");
            (passed + limited).ShouldBe(Attempts);

            // The verified key is its own bucket: the address's bucket is empty, the key's is full.
            (await PostAsync(server, "/v1/predict", PredictBody(), "verified", apiKey: "score-key-1")).Status.ShouldBe(200);
        }
        finally
        {
            await server.DisposeAsync();
        }

        for (var i = 0; i < Attempts; i++)
        {
            SingleRow(sink, "random-" + i).Status.ShouldBeOneOf(403, 429);
        }
    }

    private static async Task<Socket> ConnectAsync(ServerHarness server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port, Ct);
        return socket;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the condition did not hold within 20 s");
            }

            await Task.Delay(20, Ct);
        }
    }

    /// <summary>A rule on <c>fraud</c> that throws what the per-item isolation lets through (out of memory) when <c>fail</c> is <c>unhandled</c>.</summary>
    private sealed class FailingRuleProvider : IItemRuleProvider
    {
        public IReadOnlyList<IItemRule> GetRules(ModelSpec spec, ModelBundle bundle) => spec.Name == "fraud" ? [new Rule()] : [];

        private sealed class Rule : IItemRule
        {
            public string Name => "failing";

            public bool TryDecide(in RawRow row, out RuleVerdict verdict)
            {
                verdict = default;
                return row.TryGetText("fail", out var fail) && fail == "unhandled" ? throw new OutOfMemoryException("test: a rule ran out of memory") : false;
            }
        }
    }

    /// <summary>
    /// A rule on <c>fraud</c> that, for an item with <c>hold</c> = <c>until-aborted</c>, signals <see cref="Entered"/>
    /// and holds the request until the server has seen its client leave (polling the request's abort token, 20 s at most).
    /// </summary>
    private sealed class HoldingRuleProvider : IItemRuleProvider
    {
        private IHttpContextAccessor? _accessor;

        public TaskCompletionSource<bool> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool SawAbort { get; private set; }

        public HoldingRuleProvider With(IHttpContextAccessor accessor)
        {
            _accessor = accessor;
            return this;
        }

        public IReadOnlyList<IItemRule> GetRules(ModelSpec spec, ModelBundle bundle) => spec.Name == "fraud" ? [new Rule(this)] : [];

        private sealed class Rule(HoldingRuleProvider owner) : IItemRule
        {
            public string Name => "holding";

            public bool TryDecide(in RawRow row, out RuleVerdict verdict)
            {
                verdict = default;
                if (!row.TryGetText("hold", out var hold) || hold != "until-aborted")
                {
                    return false;
                }

                var aborted = owner._accessor!.HttpContext!.RequestAborted;
                owner.Entered.TrySetResult(true);
                owner.SawAbort = aborted.WaitHandle.WaitOne(TimeSpan.FromSeconds(20));
                return false;
            }
        }
    }
}
