using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>
/// 10,000 seeded malformed, oversized and wrongly typed requests across every POST endpoint: none may get a 5xx;
/// every error answer is problem+json carrying its status, in the protocol's shape (MLflow <c>error_code</c> and
/// <c>message</c>, Open Inference <c>error</c>); every 2xx answer is valid JSON. Run twice: log off, and with the
/// inference log on a PostgreSQL store, where every scoring request must have exactly one row with its status.
/// </summary>
public sealed class FuzzTests : IAsyncLifetime
{
    private const int Requests = 10_000;
    private const int MaxBody = 64 * 1024;

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/xml", "text/csv", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
        "application/json; charset=utf-16", "application/octet-stream", "application/problem+json", "image/png", "text/csv; charset=latin1",
    ];

    // %00 is left out: Kestrel itself rejects a NUL in the path (400, empty body) before any middleware runs.
    private static readonly string[] Names = ["fraud", "fraud-ae", "nope", "FRAUD", "fraud%2Fx", "%FF%FE", "%E2%80%AE", "a b", "..", "fraud.", new string('m', 300)];

    private ServerHarness _server = null!;
    private IReadOnlyList<string> _features = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(o => o with { MaxBodyBytes = MaxBody, DefaultModel = "fraud" });
        _features = ProtocolRows.Features(_server, "fraud");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Ten_thousand_malformed_requests_get_no_5xx_and_only_problem_json_errors()
    {
        await RunCasesAsync(_server, GenerateCases());
        using var ready = await _server.Client.GetAsync("/readyz", TestContext.Current.CancellationToken);
        ((int)ready.StatusCode).ShouldBe(200);
    }

    [Fact]
    public async Task Ten_thousand_malformed_requests_with_the_log_on_a_PostgreSQL_store_get_exactly_one_row_each()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync("vigil_fuzz_");
        var store = database.ConnectionString;
        var home = Path.Combine(Path.GetTempPath(), "vigil-fuzz-" + Guid.NewGuid().ToString("N"));
        try
        {
            var server = await ServerHarness.StartAsync(
                o => o with { MaxBodyBytes = MaxBody, DefaultModel = "fraud", InferenceLog = InferenceLogDestination.Store, InferenceLogPayloads = PayloadMode.Full },
                home,
                storeSpec: store);
            var cases = GenerateCases();
            int[] answered;
            try
            {
                (_, answered) = await RunCasesAsync(server, cases, requestIds: true);
                using var ready = await server.Client.GetAsync("/readyz", ct);
                ((int)ready.StatusCode).ShouldBe(200, "the server stopped being ready during the run");
            }
            finally
            {
                // Stopping drains the log: a writer that cannot store some row never finishes.
                try
                {
                    await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(90), ct);
                }
                catch (Exception e) when (e is OperationCanceledException or TimeoutException)
                {
                    Assert.Fail("The server did not stop: its inference log writer could not store every row (see its log). " + e.Message);
                }
            }

            var scoring = cases.Where(c => VigilServer.ScoringRoute(ServerPath(c.Path)) is not null).ToList();
            scoring.Count.ShouldBeGreaterThan(Requests * 8 / 10);
            await using var log = await InferenceLogStore.OpenAsync(store, home, ct);
            var rows = await log.TailAsync(2 * Requests, cancellationToken: ct);
            var byId = rows.GroupBy(r => r.RequestId).ToDictionary(g => g.Key, g => g.ToList());
            var problems = new List<string>();
            foreach (var c in scoring)
            {
                var id = RequestId(c);
                var mine = byId.GetValueOrDefault(id) ?? [];
                if (mine.Count != 1)
                {
                    problems.Add($"#{c.Index} {c.Kind} {c.Path}: {mine.Count} rows");
                }
                else if (mine[0].Status != answered[c.Index])
                {
                    problems.Add($"#{c.Index} {c.Kind} {c.Path}: answered {answered[c.Index]}, logged {mine[0].Status}");
                }
            }

            problems.ShouldBeEmpty(string.Join("\n", problems.Take(10)));
            rows.Count.ShouldBe(scoring.Count, "rows for requests that are not scoring requests (admin) or duplicates");
        }
        finally
        {
            try
            {
                Directory.Delete(home, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The path as the server sees it: the client removes dot segments (<c>/v2/models/../infer</c> is <c>/v2/infer</c>), the server decodes.</summary>
    private static Microsoft.AspNetCore.Http.PathString ServerPath(string path) =>
        new(Uri.UnescapeDataString(new Uri(new Uri("http://localhost/"), path).AbsolutePath));

    private static string RequestId(FuzzCase c) => "fuzz-" + c.Index.ToString(CultureInfo.InvariantCulture);

    private FuzzCase[] GenerateCases()
    {
        var random = new SplitMix64(20240611);
        var cases = new FuzzCase[Requests];
        for (var i = 0; i < cases.Length; i++)
        {
            cases[i] = Generate(random, i);
        }

        return cases;
    }

    /// <summary>Sends every case (8 at a time), checks each answer, and returns the statuses seen and each case's status.</summary>
    private static async Task<(ConcurrentDictionary<int, int> Statuses, int[] Answered)> RunCasesAsync(ServerHarness server, FuzzCase[] cases, bool requestIds = false)
    {
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var answered = new int[cases.Length];
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = TestContext.Current.CancellationToken }, async (c, ct) =>
        {
            var (status, failure) = await SendAsync(server, c, requestIds ? RequestId(c) : null, ct);
            answered[c.Index] = status;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (failure is not null)
            {
                failures.Enqueue($"#{c.Index} {c.Kind} {c.Path} [{c.ContentType}] {Preview(c.Body)}: {failure}");
            }
        });
        watch.Stop();

        TestContext.Current.TestOutputHelper?.WriteLine($"{cases.Length} requests in {watch.Elapsed.TotalSeconds:F1} s; statuses: " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        failures.ShouldBeEmpty(string.Join("\n", failures.Take(10)));

        // The generator reaches the interesting answers, not only 400s.
        statuses.Keys.ShouldContain(200);
        statuses.Keys.ShouldContain(400);
        statuses.Keys.ShouldContain(404);
        statuses.Keys.ShouldContain(413);
        statuses.Keys.ShouldContain(415);
        return (statuses, answered);
    }

    /// <summary>Sends one case; the status (0 = no answer) and what is wrong with the answer, or null.</summary>
    private static async Task<(int Status, string? Failure)> SendAsync(ServerHarness server, FuzzCase c, string? requestId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, c.Path);
        HttpContent content = c.Chunked ? new StreamContent(new MemoryStream(c.Body)) : new ByteArrayContent(c.Body);
        if (c.ContentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
        }

        request.Content = content;
        if (c.ApiKey is not null)
        {
            request.Headers.Add("X-API-Key", c.ApiKey);
        }

        if (requestId is not null)
        {
            request.Headers.Add(VigilServer.RequestIdHeader, requestId);
        }

        HttpResponseMessage response;
        try
        {
            response = await server.Client.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            return (0, "no response: " + e.Message + " " + e.InnerException?.Message);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            if (status >= 500)
            {
                return (status, $"status {status}: {Encoding.UTF8.GetString(bytes)}");
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(bytes);
            }
            catch (JsonException)
            {
                return (status, $"status {status} with a body that is not JSON: {Encoding.UTF8.GetString(bytes)}");
            }

            using (document)
            {
                if (status >= 300)
                {
                    if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    {
                        return (status, $"status {status} as {response.Content.Headers.ContentType}");
                    }

                    if (!document.RootElement.TryGetProperty("status", out var s) || s.GetInt32() != status
                        || !document.RootElement.TryGetProperty("detail", out var detail) || detail.GetString() is not { Length: > 0 })
                    {
                        return (status, $"problem without its status or detail: {Encoding.UTF8.GetString(bytes)}");
                    }

                    // The protocol's own error members.
                    var shape = Problems.ShapeOf(ServerPath(c.Path));
                    var root = document.RootElement;
                    if ((shape == Problems.Shape.Mlflow && (!root.TryGetProperty("error_code", out var code) || code.GetString() is not { Length: > 0 } || !root.TryGetProperty("message", out _)))
                        || (shape == Problems.Shape.OpenInference && (!root.TryGetProperty("error", out var error) || error.GetString() is not { Length: > 0 })))
                    {
                        return (status, $"problem not in the {shape} shape: {Encoding.UTF8.GetString(bytes)}");
                    }
                }
                else if (response.Content.Headers.ContentType?.MediaType != "application/json")
                {
                    return (status, $"status {status} as {response.Content.Headers.ContentType}");
                }
            }

            return (status, null);
        }
    }

    private static string Preview(byte[] body) => body.Length <= 120 ? Encoding.UTF8.GetString(body) : Encoding.UTF8.GetString(body, 0, 120) + $"… ({body.Length} bytes)";

    private FuzzCase Generate(SplitMix64 random, int index)
    {
        var (path, template, kind) = Template(random);
        string? contentType = kind == "csv" ? "text/csv" : "application/json";
        byte[] body;
        string? apiKey = null;
        var mutation = random.Next(100);
        switch (mutation)
        {
            case < 8:
                kind += "/valid";
                body = Encoding.UTF8.GetBytes(template);
                break;
            case < 25:
                kind += "/wrong-type";
                body = Encoding.UTF8.GetBytes(kind.StartsWith("csv", StringComparison.Ordinal) ? MutateCsv(random, template) : WrongType(random, template));
                break;
            case < 37:
                kind += "/truncated";
                body = Encoding.UTF8.GetBytes(template)[..random.Next(template.Length)];
                break;
            case < 50:
                kind += "/mutated";
                body = MutateBytes(random, Encoding.UTF8.GetBytes(template));
                break;
            case < 57:
                kind += "/random-bytes";
                body = new byte[random.Next(600)];
                random.Fill(body);
                break;
            case < 64:
                kind += "/huge-number";
                body = Encoding.UTF8.GetBytes(HugeNumber(random, template));
                break;
            case < 70:
                kind += "/deep";
                body = Encoding.UTF8.GetBytes(DeepNesting(random, template));
                break;
            case < 78:
                kind += "/content-type";
                body = Encoding.UTF8.GetBytes(template);
                contentType = random.Next(6) == 0 ? null : ContentTypes[random.Next(ContentTypes.Length)];
                break;
            case < 82:
                kind += "/oversized";
                body = Oversized(random, template, contentType == "text/csv");
                break;
            case < 88:
                kind += "/model-name";
                body = Encoding.UTF8.GetBytes(template);
                var name = Names[random.Next(Names.Length)];
                path = random.Next(3) switch
                {
                    0 => $"/models/{name}/invocations",
                    1 => $"/v2/models/{name}/infer",
                    _ => $"/v2/models/{name}/versions/{(random.Next(2) == 0 ? "1" : name)}/infer",
                };
                break;
            case < 92:
                kind += "/admin";
                path = "/admin/refresh-models";
                body = Encoding.UTF8.GetBytes(template);
                apiKey = random.Next(3) switch
                {
                    0 => null,
                    1 => "wrong-key",
                    _ => random.Next(4) == 0 ? "secret-key" : "x",
                };
                break;
            default:
                kind += "/structural";
                body = Encoding.UTF8.GetBytes(Structural(random, template, kind));
                break;
        }

        return new FuzzCase(index, kind, path, contentType, body, Chunked: random.Next(10) == 0, apiKey);
    }

    /// <summary>A valid request for one of the scoring endpoints.</summary>
    private (string Path, string Body, string Kind) Template(SplitMix64 random)
    {
        var rows = Enumerable.Range(0, 1 + random.Next(4)).Select(_ => random.Next(4000)).ToArray();
        JsonObject Record(int r)
        {
            var o = new JsonObject();
            foreach (var f in _features)
            {
                o[f] = ProtocolRows.Value(r, f);
            }

            return o;
        }

        JsonArray Row(int r) => [.. _features.Select(f => ProtocolRows.Value(r, f))];
        var invocations = random.Next(2) == 0 ? "/invocations" : "/models/fraud-ae/invocations";
        switch (random.Next(8))
        {
            case 0:
                return ("/v1/predict", new JsonObject { ["model"] = random.Next(2) == 0 ? "fraud" : "fraud-ae", ["instances"] = new JsonArray([.. rows.Select(r => (JsonNode)Record(r))]) }.ToJsonString(), "v1");
            case 1:
                return (invocations, new JsonObject
                {
                    ["dataframe_split"] = new JsonObject
                    {
                        ["columns"] = new JsonArray([.. _features.Select(f => (JsonNode)JsonValue.Create(f))]),
                        ["data"] = new JsonArray([.. rows.Select(r => (JsonNode)Row(r))]),
                    },
                }.ToJsonString(), "split");
            case 2:
                return (invocations, new JsonObject { ["dataframe_records"] = new JsonArray([.. rows.Select(r => (JsonNode)Record(r))]) }.ToJsonString(), "records");
            case 3:
                return (invocations, new JsonObject { ["instances"] = new JsonArray([.. rows.Select(r => random.Next(2) == 0 ? (JsonNode)Record(r) : Row(r))]) }.ToJsonString(), "instances");
            case 4:
                var columns = new JsonObject();
                foreach (var f in _features)
                {
                    columns[f] = new JsonArray([.. rows.Select(r => ProtocolRows.Value(r, f))]);
                }

                return (invocations, new JsonObject { ["inputs"] = columns, ["params"] = new JsonObject { ["k"] = 1 } }.ToJsonString(), "inputs");
            case 5:
                var csv = new StringBuilder().AppendJoin(',', _features).Append('\n');
                foreach (var r in rows)
                {
                    csv.AppendJoin(',', _features.Select(f => ProtocolRows.Csv(ProtocolRows.Value(r, f)))).Append('\n');
                }

                return (invocations, csv.ToString(), "csv");
            default:
                var inputs = new JsonArray();
                foreach (var f in _features)
                {
                    var nested = random.Next(2) == 0;
                    var values = rows.Select(r => ProtocolRows.Value(r, f)).ToList();
                    inputs.Add(new JsonObject
                    {
                        ["name"] = f,
                        ["shape"] = nested ? new JsonArray(rows.Length, 1) : new JsonArray(rows.Length),
                        ["datatype"] = f == "merchant_category" ? "BYTES" : random.Next(2) == 0 ? "FP32" : "FP64",
                        ["data"] = nested ? new JsonArray([.. values.Select(v => (JsonNode)new JsonArray(v))]) : new JsonArray([.. values]),
                    });
                }

                var path = random.Next(2) == 0 ? "/v2/models/fraud/infer" : "/v2/models/fraud/versions/1/infer";
                return (path, new JsonObject { ["id"] = "fuzz", ["inputs"] = inputs, ["outputs"] = new JsonArray(new JsonObject { ["name"] = "score" }) }.ToJsonString(), "v2");
        }
    }

    /// <summary>Replaces one node (any depth: the root, a key's value, an array element) by a value of another type.</summary>
    private static string WrongType(SplitMix64 random, string json)
    {
        var root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, object Key)>();
        Collect(root, slots);
        if (slots.Count == 0 || random.Next(20) == 0)
        {
            return RandomValue(random)?.ToJsonString() ?? "null";
        }

        var (parent, key) = slots[random.Next(slots.Count)];
        var value = RandomValue(random);
        if (parent is JsonObject o)
        {
            if (random.Next(8) == 0)
            {
                o.Remove((string)key);
            }
            else
            {
                o[(string)key] = value;
            }
        }
        else
        {
            parent.AsArray()[(int)key] = value;
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o.ToList())
                {
                    slots.Add((o, key));
                    if (child is not null)
                    {
                        Collect(child, slots);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    slots.Add((a, i));
                    if (a[i] is { } child)
                    {
                        Collect(child, slots);
                    }
                }

                break;
        }
    }

    private static JsonNode? RandomValue(SplitMix64 random) => random.Next(14) switch
    {
        0 => null,
        1 => JsonValue.Create(true),
        2 => JsonValue.Create(random.Next(1_000_000) - 500_000),
        3 => JsonValue.Create(double.MaxValue),
        4 => JsonValue.Create(-1e-320),
        5 => JsonValue.Create(string.Empty),
        6 => JsonValue.Create("x\u0000y\"\\\ud83d\ude00"),
        7 => JsonValue.Create(new string('z', random.Next(5000))),
        8 => new JsonArray(),
        9 => new JsonObject(),
        10 => new JsonArray(1, "a", null, new JsonObject { ["k"] = new JsonArray() }),
        11 => new JsonObject { ["name"] = "amount", ["shape"] = new JsonArray(-5), ["datatype"] = "FP64", ["data"] = new JsonArray(1) },
        12 => JsonValue.Create(long.MinValue),
        _ => JsonValue.Create(random.NextDouble() * 1e6),
    };

    private static byte[] MutateBytes(SplitMix64 random, byte[] body)
    {
        var list = new List<byte>(body);
        var edits = 1 + random.Next(6);
        for (var e = 0; e < edits && list.Count > 0; e++)
        {
            var at = random.Next(list.Count);
            switch (random.Next(4))
            {
                case 0:
                    list[at] = (byte)random.Next(256);
                    break;
                case 1:
                    list.RemoveAt(at);
                    break;
                case 2:
                    list.Insert(at, "{}[],:\"\\0-e.\n\r\u00ff"u8[random.Next(16)]);
                    break;
                default:
                    var length = Math.Min(list.Count - at, 1 + random.Next(40));
                    list.InsertRange(random.Next(list.Count), list.GetRange(at, length));
                    break;
            }
        }

        return [.. list];
    }

    private static string HugeNumber(SplitMix64 random, string template)
    {
        string[] numbers = ["1e309", "-1e400", "123456789012345678901234567890123456789", "1e-400", "0.0000000000000000000000000000001", "9223372036854775808", "-0", "1E+308", "4.9e-324", "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"];
        var number = numbers[random.Next(numbers.Length)];
        var digits = new List<int>();
        for (var i = 0; i < template.Length; i++)
        {
            if (char.IsDigit(template[i]) && (i == 0 || !char.IsLetterOrDigit(template[i - 1])))
            {
                digits.Add(i);
            }
        }

        if (digits.Count == 0)
        {
            return number;
        }

        var start = digits[random.Next(digits.Count)];
        var end = start;
        while (end < template.Length && (char.IsDigit(template[end]) || template[end] is '.' or 'e' or 'E' or '-' or '+'))
        {
            end++;
        }

        return string.Concat(template.AsSpan(0, start), number, template.AsSpan(end));
    }

    private static string DeepNesting(SplitMix64 random, string template)
    {
        var depth = 1 + random.Next(2000);
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var nested = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));
        if (random.Next(3) == 0)
        {
            return nested;
        }

        // Put the nesting where a value was.
        var colon = template.IndexOf(':', random.Next(Math.Max(1, template.Length / 2)));
        return colon < 0 ? nested : string.Concat(template.AsSpan(0, colon + 1), nested, ",\"pad\":", template.AsSpan(colon + 1));
    }

    private static byte[] Oversized(SplitMix64 random, string template, bool csv)
    {
        var target = MaxBody + 1 + random.Next(3 * MaxBody);
        var builder = new StringBuilder(target + template.Length);
        if (csv)
        {
            builder.Append(template);
            while (builder.Length < target)
            {
                builder.Append(template.AsSpan(template.IndexOf('\n', StringComparison.Ordinal) + 1));
            }
        }
        else
        {
            builder.Append(template.AsSpan(0, template.Length - 1)).Append(",\"padding\":\"");
            builder.Append('p', target - builder.Length).Append("\"}");
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static string MutateCsv(SplitMix64 random, string csv)
    {
        var lines = csv.Split('\n').ToList();
        var line = 1 + random.Next(Math.Max(1, lines.Count - 2));
        var fields = lines[Math.Min(line, lines.Count - 1)].Split(',').ToList();
        if (fields.Count > 0)
        {
            string[] values = ["abc", "\"", "\"\"", "\"x\"y", "1e999", "NaN", "", "\"\"\"", "\r", "∞", ",,,", "0x10", "1,5"];
            fields[random.Next(fields.Count)] = values[random.Next(values.Length)];
        }

        lines[Math.Min(line, lines.Count - 1)] = string.Join(',', fields);
        if (random.Next(4) == 0)
        {
            lines.Insert(random.Next(lines.Count), "only,two");
        }

        return string.Join('\n', lines);
    }

    /// <summary>Protocol-specific confusions: keys of the wrong protocol, empty containers, duplicate keys, bad shapes.</summary>
    private static string Structural(SplitMix64 random, string template, string kind)
    {
        string[] bodies =
        [
            "{}", "[]", "null", "\"s\"", "0", "{\"instances\":[]}", "{\"instances\":[{}]}", "{\"inputs\":[]}", "{\"inputs\":{}}",
            "{\"dataframe_split\":{\"columns\":[],\"data\":[[]]}}", "{\"dataframe_split\":{\"columns\":[\"amount\",\"amount\"],\"data\":[[1,2]]}}",
            "{\"dataframe_records\":[null]}", "{\"inputs\":{\"amount\":[1],\"amount\":[1,2]}}",
            "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,12],\"datatype\":\"FP64\",\"data\":[1,2,3,4,5,6,7,8,9,10,11,12]}]}",
            "{\"inputs\":[{\"name\":\"amount\",\"shape\":[9223372036854775807,9223372036854775807],\"datatype\":\"FP64\",\"data\":[]}]}",
            "{\"inputs\":[{\"name\":\"amount\",\"shape\":[0],\"datatype\":\"FP64\",\"data\":[]}]}",
            "{\"inputs\":[{\"name\":\"amount\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[[1],[2,[3]]]}]}",
            "{\"model\":\"fraud\",\"instances\":[1,\"a\",null,[],{}]}", "{\"model\":null,\"instances\":[{}]}",
            "\uFEFF{\"instances\":[{}]}", "{\"instances\":[{\"amount\":1}]}garbage", "{\"id\":\"x\",\"id\":5}",
        ];
        if (random.Next(3) == 0)
        {
            return bodies[random.Next(bodies.Length)];
        }

        // Duplicate the first key of the template with another value.
        var brace = template.IndexOf('{', StringComparison.Ordinal);
        return brace < 0 || kind.StartsWith("csv", StringComparison.Ordinal)
            ? bodies[random.Next(bodies.Length)]
            : template[..(brace + 1)] + "\"instances\":" + (RandomValue(random)?.ToJsonString() ?? "null") + "," + template[(brace + 1)..];
    }

    private sealed record FuzzCase(int Index, string Kind, string Path, string? ContentType, byte[] Body, bool Chunked, string? ApiKey);

    /// <summary>SplitMix64: a small explicit PRNG, the same sequence on every machine and runtime.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextUInt64()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public int Next(int bound) => bound <= 0 ? 0 : (int)(NextUInt64() % (ulong)bound);

        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        public void Fill(byte[] bytes)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)NextUInt64();
            }
        }
    }
}
