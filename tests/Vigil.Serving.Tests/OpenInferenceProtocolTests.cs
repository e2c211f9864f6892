using System.Net;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

public sealed class OpenInferenceProtocolTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private IReadOnlyList<string> _features = null!;
    private double[] _expected = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList("fraud,fraud-ae,fraud-num/latest") });
        _features = ProtocolRows.Features(_server, "fraud");
        _expected = await ProtocolRows.ReferenceScoresAsync(_server, "fraud");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static int N => ProtocolRows.Rows.Length;

    private bool IsCategorical(string feature) => ProtocolRows.IsCategorical(_server, "fraud", feature);

    private int Categorical => _features.ToList().FindIndex(IsCategorical);

    private int Numeric => _features.ToList().FindIndex(f => !IsCategorical(f));

    /// <summary>One tensor per feature; numeric ones get <paramref name="numeric"/> when every value fits it, else FP64.</summary>
    private JsonObject PerFeature(string numeric = "FP64", bool nested = false, IEnumerable<string>? features = null)
    {
        var inputs = new JsonArray();
        foreach (var f in features ?? _features)
        {
            var values = ProtocolRows.Rows.Select(r => ProtocolRows.Value(r, f)).ToList();
            var datatype = IsCategorical(f) ? "BYTES"
                : numeric.StartsWith("INT", StringComparison.Ordinal) && !values.All(v => v!.GetValue<double>() == Math.Floor(v.GetValue<double>())) ? "FP64"
                : numeric;
            if (datatype.StartsWith("INT", StringComparison.Ordinal))
            {
                values = [.. values.Select(v => (JsonNode?)JsonValue.Create((long)v!.GetValue<double>()))];
            }

            inputs.Add(new JsonObject
            {
                ["name"] = f,
                ["shape"] = nested ? new JsonArray(N, 1) : new JsonArray(N),
                ["datatype"] = datatype,
                ["data"] = nested ? new JsonArray([.. values.Select(v => (JsonNode)new JsonArray(v))]) : new JsonArray([.. values]),
            });
        }

        return new JsonObject { ["inputs"] = inputs };
    }

    private async Task<JsonNode> InferAsync(string path, JsonNode body)
    {
        var (status, json, response) = await _server.PostJsonAsync(path, body.ToJsonString());
        status.ShouldBe(200, json.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        return json;
    }

    private static double[] Output(JsonNode response, string name) =>
        ProtocolRows.Numbers(response["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == name)!["data"]);

    [Fact]
    public async Task One_tensor_per_feature_scores_like_v1_predict()
    {
        var response = await InferAsync("/v2/models/fraud/infer", PerFeature());

        response["model_name"]!.GetValue<string>().ShouldBe("fraud");
        response["model_version"]!.GetValue<string>().ShouldBe("1");
        response["id"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        ProtocolRows.ShouldMatch(Output(response, "score"), _expected);
        var score = response["outputs"]![0]!;
        score["datatype"]!.GetValue<string>().ShouldBe("FP64");
        score["shape"]!.AsArray().Single()!.GetValue<int>().ShouldBe(N);
        var label = response["outputs"]![1]!;
        label["name"]!.GetValue<string>().ShouldBe("label");
        label["datatype"]!.GetValue<string>().ShouldBe("INT64");
        label["data"]!.AsArray().All(v => v!.GetValue<int>() is 0 or 1).ShouldBeTrue();
    }

    [Fact]
    public async Task Nested_data_with_shape_n_by_1_scores_like_flat_data()
    {
        var response = await InferAsync("/v2/models/fraud/versions/1/infer", PerFeature(nested: true));

        ProtocolRows.ShouldMatch(Output(response, "score"), _expected);
    }

    [Theory]
    [InlineData("FP32")]
    [InlineData("FP64")]
    [InlineData("INT32")]
    [InlineData("INT64")]
    public async Task Every_numeric_datatype_scores_like_v1_predict(string datatype)
    {
        var body = PerFeature(datatype);
        if (datatype.StartsWith("INT", StringComparison.Ordinal))
        {
            body["inputs"]!.AsArray().Count(t => t!["datatype"]!.GetValue<string>() == datatype).ShouldBeGreaterThan(3);
        }

        var response = await InferAsync("/v2/models/fraud/infer", body);

        ProtocolRows.ShouldMatch(Output(response, "score"), _expected);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Packed_tensor_scores_like_v1_predict_for_an_all_numeric_model(bool nested)
    {
        var expected = await ProtocolRows.ReferenceScoresAsync(_server, "fraud-num");
        var features = ProtocolRows.Features(_server, "fraud-num");
        var rows = ProtocolRows.Rows.Select(r => features.Select(f => ProtocolRows.Value(r, f)).ToList()).ToList();
        var data = nested
            ? new JsonArray([.. rows.Select(row => (JsonNode)new JsonArray([.. row]))])
            : new JsonArray([.. rows.SelectMany(row => row)]);
        var body = new JsonObject
        {
            ["id"] = "req-7",
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "input", ["shape"] = new JsonArray(N, features.Count), ["datatype"] = "FP32", ["data"] = data }),
        };

        var response = await InferAsync("/v2/models/fraud-num/infer", body);

        response["id"]!.GetValue<string>().ShouldBe("req-7");
        ProtocolRows.ShouldMatch(Output(response, "score"), expected);
    }

    [Fact]
    public async Task Requested_outputs_are_honoured_in_order()
    {
        var body = PerFeature();
        body["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });

        var response = await InferAsync("/v2/models/fraud/infer", body);

        var outputs = response["outputs"]!.AsArray();
        outputs.Count.ShouldBe(1);
        outputs[0]!["name"]!.GetValue<string>().ShouldBe("label");
    }

    [Fact]
    public async Task Null_is_a_missing_value()
    {
        var body = PerFeature();
        body["inputs"]![_features.ToList().IndexOf("amount_sum_30d")]!["data"]![0] = null;

        var response = await InferAsync("/v2/models/fraud/infer", body);

        Output(response, "score").Length.ShouldBe(N);
    }

    private async Task ShouldFailAsync(JsonNode body, string field, string detail, string path = "/v2/models/fraud/infer", int status = 400)
    {
        var (actual, json, response) = await _server.PostJsonAsync(path, body.ToJsonString());

        actual.ShouldBe(status, json.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        json["field"]!.GetValue<string>().ShouldBe(field, json.ToJsonString());
        json["detail"]!.GetValue<string>().ShouldContain(detail, Case.Insensitive);
    }

    private JsonObject Mutated(Action<JsonArray> mutate)
    {
        var body = PerFeature();
        mutate(body["inputs"]!.AsArray());
        return body;
    }

    [Fact]
    public async Task Shape_that_does_not_match_the_data_is_400_naming_the_shape()
    {
        var n = Numeric;
        await ShouldFailAsync(Mutated(i => i[n]!["shape"] = new JsonArray(N + 1)), $"inputs[{n}].shape", "holds 8 elements but data has 7");
        await ShouldFailAsync(Mutated(i => i[n]!["shape"] = new JsonArray(N, 2)), $"inputs[{n}].shape", "holds 14 elements");
        await ShouldFailAsync(Mutated(i => i[n]!["shape"] = new JsonArray(-1)), $"inputs[{n}].shape", "non-negative integers");
        await ShouldFailAsync(Mutated(i => i[n]!["shape"] = "7"), $"inputs[{n}].shape", "non-negative integers");
        await ShouldFailAsync(Mutated(i => i[n]!["shape"] = new JsonArray()), $"inputs[{n}].shape", "non-negative integers");
    }

    [Fact]
    public async Task Feature_tensor_with_more_than_one_column_is_400()
    {
        await ShouldFailAsync(Mutated(i =>
        {
            i[Numeric]!["shape"] = new JsonArray(1, N);
        }), $"inputs[{Numeric}].shape", "[N] or [N, 1]");
    }

    [Fact]
    public async Task Tensors_with_different_row_counts_are_400()
    {
        await ShouldFailAsync(Mutated(i =>
        {
            i[Numeric]!["shape"] = new JsonArray(N - 1);
            i[Numeric]!["data"]!.AsArray().RemoveAt(0);
        }), $"inputs[{Numeric}].shape", "rows");
    }

    [Theory]
    [InlineData("FP16", "not supported")]
    [InlineData("BOOL", "not supported")]
    [InlineData("DOUBLE", "not an Open Inference Protocol datatype")]
    public async Task Unknown_or_unsupported_datatype_is_400(string datatype, string detail) =>
        await ShouldFailAsync(Mutated(i => i[Numeric]!["datatype"] = datatype), $"inputs[{Numeric}].datatype", detail);

    [Fact]
    public async Task Datatype_must_fit_the_feature_kind()
    {
        var categorical = Categorical;
        var numeric = Numeric;

        await ShouldFailAsync(Mutated(i => i[categorical]!["datatype"] = "FP64"), $"inputs[{categorical}].data[0]", "FP64 data must be numbers");
        await ShouldFailAsync(Mutated(i =>
        {
            i[numeric]!["datatype"] = "BYTES";
            i[numeric]!["data"] = new JsonArray([.. Enumerable.Range(0, N).Select(k => (JsonNode)JsonValue.Create("v" + k))]);
        }), $"inputs[{numeric}].datatype", "must be FP32, FP64, INT32 or INT64");
        await ShouldFailAsync(Mutated(i =>
        {
            i[categorical]!["datatype"] = "INT64";
            i[categorical]!["data"] = new JsonArray([.. Enumerable.Range(0, N).Select(k => (JsonNode)JsonValue.Create(k))]);
        }), $"inputs[{categorical}].datatype", "must be BYTES");
    }

    [Fact]
    public async Task Values_that_do_not_fit_the_datatype_are_400_naming_the_element()
    {
        var n = Numeric;
        await ShouldFailAsync(Mutated(i => i[n]!["data"]![4] = "x"), $"inputs[{n}].data[4]", "must be numbers");
        await ShouldFailAsync(Mutated(i => i[n]!["data"]![4] = new JsonObject()), $"inputs[{n}].data[4]", "must be numbers");
        await ShouldFailAsync(Mutated(i => i[n]!["data"]![4] = true), $"inputs[{n}].data[4]", "must be numbers");
        await ShouldFailAsync(Mutated(i =>
        {
            i[n]!["datatype"] = "INT64";
            i[n]!["data"] = new JsonArray(1, 2, 1.5, 4, 5, 6, 7);
        }), $"inputs[{n}].data[2]", "not an INT64");
        await ShouldFailAsync(Mutated(i =>
        {
            i[n]!["datatype"] = "INT32";
            i[n]!["data"] = new JsonArray(1, 2, 3_000_000_000L, 4, 5, 6, 7);
        }), $"inputs[{n}].data[2]", "not an INT32");
        await ShouldFailAsync(Mutated(i =>
        {
            i[n]!["datatype"] = "FP32";
            i[n]!["data"]![2] = 1e300;
        }), $"inputs[{n}].data[2]", "FP32 range");
        var categorical = Categorical;
        await ShouldFailAsync(Mutated(i => i[categorical]!["data"]![0] = 5), $"inputs[{categorical}].data[0]", "must be strings");
    }

    [Fact]
    public async Task Missing_or_unknown_or_repeated_tensors_are_400()
    {
        await ShouldFailAsync(Mutated(i => i.RemoveAt(5)), "inputs", $"No tensor for feature '{_features[5]}'");
        await ShouldFailAsync(Mutated(i => i[5]!["name"] = "nope"), "inputs[5].name", "not a feature");
        await ShouldFailAsync(Mutated(i => i[5]!["name"] = _features[4]), "inputs[5].name", "two tensors");
        await ShouldFailAsync(Mutated(i => i[5]!["name"] = 5), "inputs[5].name", "must be a string");
        await ShouldFailAsync(Mutated(i => i[5]!.AsObject().Remove("name")), "inputs[5].name", "no name");
        await ShouldFailAsync(Mutated(i => i[5]!.AsObject().Remove("shape")), "inputs[5].shape", "no shape");
        await ShouldFailAsync(Mutated(i => i[5]!.AsObject().Remove("datatype")), "inputs[5].datatype", "no datatype");
        await ShouldFailAsync(Mutated(i => i[5]!.AsObject().Remove("data")), "inputs[5].data", "no data");
        await ShouldFailAsync(Mutated(i => i[5]!["data"] = 5), "inputs[5].data", "must be an array");
        await ShouldFailAsync(Mutated(i => i[5] = 5), "inputs[5]", "tensor object");
    }

    [Fact]
    public async Task Packed_tensor_is_400_explaining_why_when_a_feature_is_categorical()
    {
        var body = new JsonObject { ["inputs"] = new JsonArray(new JsonObject { ["name"] = "input", ["shape"] = new JsonArray(1, _features.Count), ["datatype"] = "FP64", ["data"] = new JsonArray([.. _features.Select(_ => (JsonNode)JsonValue.Create(1.0))]) }) };

        await ShouldFailAsync(body, "inputs[0]", $"'{_features[Categorical]}' is categorical");
    }

    [Fact]
    public async Task Packed_tensor_of_the_wrong_width_or_type_is_400()
    {
        var f = ProtocolRows.Features(_server, "fraud-num").Count;
        JsonObject Packed(int width, string datatype) => new()
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "input", ["shape"] = new JsonArray(1, width), ["datatype"] = datatype, ["data"] = new JsonArray([.. Enumerable.Range(0, width).Select(_ => (JsonNode)JsonValue.Create(1))]) }),
        };

        await ShouldFailAsync(Packed(f + 1, "FP64"), "inputs[0].shape", $"[N, {f}]", "/v2/models/fraud-num/infer");
        await ShouldFailAsync(Packed(f, "INT64"), "inputs[0].datatype", "FP32 or FP64", "/v2/models/fraud-num/infer");
    }

    [Theory]
    [InlineData("not json", "body")]
    [InlineData("[]", "body")]
    [InlineData("{}", "inputs")]
    [InlineData("{\"inputs\": []}", "inputs")]
    [InlineData("{\"inputs\": {}}", "inputs")]
    [InlineData("{\"id\": 5, \"inputs\": []}", "id")]
    [InlineData("{\"parameters\": 5}", "parameters")]
    [InlineData("{\"outputs\": {}}", "outputs")]
    [InlineData("{\"outputs\": [5]}", "outputs[0]")]
    [InlineData("{\"outputs\": [{\"name\": \"score\"}, {\"name\": \"probability\"}]}", "outputs[1].name")]
    [InlineData("{\"outputs\": [{}]}", "outputs[0].name")]
    public async Task Malformed_request_is_400_problem_naming_the_field(string json, string field)
    {
        var (status, body, response) = await _server.PostJsonAsync("/v2/models/fraud/infer", json);

        status.ShouldBe(400, body.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe(field, body.ToJsonString());
    }

    [Fact]
    public async Task Zero_rows_are_400()
    {
        var body = new JsonObject { ["inputs"] = new JsonArray([.. _features.Select(f => (JsonNode)new JsonObject { ["name"] = f, ["shape"] = new JsonArray(0), ["datatype"] = IsCategorical(f) ? "BYTES" : "FP64", ["data"] = new JsonArray() })]) };

        await ShouldFailAsync(body, "inputs[0].shape", "no rows");
    }

    [Fact]
    public async Task Infer_with_another_version_is_404_naming_version()
    {
        await ShouldFailAsync(PerFeature(), "version", "serves version 1", "/v2/models/fraud/versions/2/infer", 404);
    }

    [Fact]
    public async Task Infer_on_unknown_model_is_404_naming_name() =>
        await ShouldFailAsync(PerFeature(), "name", "fraud-ae", "/v2/models/nope/infer", 404);

    [Fact]
    public async Task Infer_takes_only_json()
    {
        var (status, body, _) = await _server.PostJsonAsync("/v2/models/fraud/infer", PerFeature().ToJsonString(), "text/csv");

        status.ShouldBe(415);
        body["field"]!.GetValue<string>().ShouldBe("Content-Type");
    }

    private async Task<(HttpStatusCode Status, JsonNode Body, string? MediaType)> GetAsync(string path)
    {
        using var response = await _server.Client.GetAsync(path, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, JsonNode.Parse(text)!, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Server_metadata_and_health()
    {
        var (status, meta, _) = await GetAsync("/v2");
        var (liveStatus, live, _) = await GetAsync("/v2/health/live");
        var (readyStatus, ready, _) = await GetAsync("/v2/health/ready");

        status.ShouldBe(HttpStatusCode.OK);
        meta["name"]!.GetValue<string>().ShouldBe("vigil");
        meta["version"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        meta["extensions"]!.AsArray().Count.ShouldBe(0);
        liveStatus.ShouldBe(HttpStatusCode.OK);
        live["live"]!.GetValue<bool>().ShouldBeTrue();
        readyStatus.ShouldBe(HttpStatusCode.OK);
        ready["ready"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task Server_ready_is_503_problem_until_every_model_is_loaded()
    {
        await using var server = await NotReadyServer.StartAsync();

        using var ready = await server.Client.GetAsync("/v2/health/ready", TestContext.Current.CancellationToken);
        using var model = await server.Client.GetAsync("/v2/models/ghost/ready", TestContext.Current.CancellationToken);
        using var live = await server.Client.GetAsync("/v2/health/live", TestContext.Current.CancellationToken);

        ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        ready.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        model.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        model.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        live.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/v2/models/fraud")]
    [InlineData("/v2/models/fraud/versions/1")]
    public async Task Model_metadata_describes_inputs_outputs_and_the_packed_form(string path)
    {
        var (status, meta, _) = await GetAsync(path);

        status.ShouldBe(HttpStatusCode.OK);
        meta["name"]!.GetValue<string>().ShouldBe("fraud");
        meta["versions"]!.AsArray().Single()!.GetValue<string>().ShouldBe("1");
        meta["platform"]!.GetValue<string>().ShouldBe("vigil-iforest");
        var inputs = meta["inputs"]!.AsArray();
        inputs.Select(i => i!["name"]!.GetValue<string>()).ShouldBe(_features);
        inputs[Categorical]!["datatype"]!.GetValue<string>().ShouldBe("BYTES");
        inputs[Numeric]!["datatype"]!.GetValue<string>().ShouldBe("FP64");
        inputs[0]!["shape"]!.AsArray().Single()!.GetValue<int>().ShouldBe(-1);
        meta["outputs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>() + ":" + o["datatype"]!.GetValue<string>()).ShouldBe(["score:FP64", "label:INT64"]);
        meta["parameters"]!["packed_input"].ShouldBeNull();
        meta["parameters"]!["packed_input_note"]!.GetValue<string>().ShouldContain("categorical");

        var (_, numeric, _) = await GetAsync("/v2/models/fraud-num");
        numeric["parameters"]!["packed_input"]!["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ShouldBe([-1, ServerHarness.NumericFeatures.Length]);
        numeric["parameters"]!["packed_input"]!["order"]!.AsArray().Select(d => d!.GetValue<string>()).ShouldBe(ProtocolRows.Features(_server, "fraud-num"));
    }

    [Theory]
    [InlineData("/v2/models/fraud-ae/ready")]
    [InlineData("/v2/models/fraud-ae/versions/1/ready")]
    public async Task Model_ready(string path)
    {
        var (status, body, _) = await GetAsync(path);

        status.ShouldBe(HttpStatusCode.OK);
        body["name"]!.GetValue<string>().ShouldBe("fraud-ae");
        body["ready"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Theory]
    [InlineData("/v2/models/fraud/versions/2", "version")]
    [InlineData("/v2/models/fraud/versions/latest/ready", "version")]
    [InlineData("/v2/models/nope", "name")]
    [InlineData("/v2/models/nope/ready", "name")]
    [InlineData("/v2/models/nope/versions/1", "name")]
    public async Task Unknown_model_or_version_is_404_problem(string path, string field)
    {
        var (status, body, mediaType) = await GetAsync(path);

        status.ShouldBe(HttpStatusCode.NotFound);
        mediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe(field);
    }
}
