using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Vigil.Serving.Tests;

public sealed class MlflowProtocolTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private IReadOnlyList<string> _features = null!;
    private double[] _expected = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(o => o with { DefaultModel = "fraud" });
        _features = ProtocolRows.Features(_server, "fraud");
        _expected = await ProtocolRows.ReferenceScoresAsync(_server, "fraud");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<double[]> PredictionsAsync(string path, string body, string contentType = "application/json")
    {
        var (status, json, response) = await _server.PostJsonAsync(path, body, contentType);
        status.ShouldBe(200, json.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        return ProtocolRows.Numbers(json["predictions"]);
    }

    private JsonObject Record(int row, IEnumerable<string>? features = null)
    {
        var o = new JsonObject();
        foreach (var f in features ?? _features)
        {
            o[f] = ProtocolRows.Value(row, f);
        }

        return o;
    }

    private JsonArray Row(int row, IEnumerable<string> columns) => [.. columns.Select(c => ProtocolRows.Value(row, c))];

    private JsonArray Records() => [.. ProtocolRows.Rows.Select(r => (JsonNode)Record(r))];

    [Fact]
    public async Task Dataframe_split_scores_like_v1_predict_whatever_the_column_order()
    {
        // Columns reversed, plus one the model does not use (ignored, as MLflow drops extra columns).
        var columns = _features.Reverse().Append("not_a_feature").ToList();
        var data = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)new JsonArray([.. Row(r, _features.Reverse()).Select(v => v?.DeepClone()), JsonValue.Create("x")]))]);
        var body = new JsonObject
        {
            ["dataframe_split"] = new JsonObject
            {
                ["index"] = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)JsonValue.Create(r))]),
                ["data"] = data,
                ["columns"] = new JsonArray([.. columns.Select(c => (JsonNode)JsonValue.Create(c))]),
            },
        };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", body.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Dataframe_split_without_columns_takes_rows_in_feature_order()
    {
        var body = new JsonObject { ["dataframe_split"] = new JsonObject { ["data"] = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)Row(r, _features))]) } };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", body.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Dataframe_records_score_like_v1_predict()
    {
        var body = new JsonObject { ["dataframe_records"] = Records() };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", body.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Instances_as_objects_or_rows_score_like_v1_predict()
    {
        var objects = new JsonObject { ["instances"] = Records() };
        var rows = new JsonObject { ["instances"] = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)Row(r, _features))]) };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", objects.ToJsonString()), _expected);
        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", rows.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Inputs_as_columns_records_or_rows_score_like_v1_predict()
    {
        var columnar = new JsonObject();
        foreach (var f in _features.Reverse())
        {
            columnar[f] = new JsonArray([.. ProtocolRows.Rows.Select(r => ProtocolRows.Value(r, f))]);
        }

        columnar["ignored_column"] = new JsonArray([.. ProtocolRows.Rows.Select(_ => (JsonNode)new JsonObject())]);
        var records = new JsonObject { ["inputs"] = Records() };
        var rows = new JsonObject { ["inputs"] = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)Row(r, _features))]) };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", new JsonObject { ["inputs"] = columnar }.ToJsonString()), _expected);
        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", records.ToJsonString()), _expected);
        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", rows.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Csv_scores_like_v1_predict()
    {
        var csv = new StringBuilder();
        csv.Append("\"weird, \"\"quoted\"\" column\",").AppendJoin(',', _features).Append("\r\n");
        foreach (var r in ProtocolRows.Rows)
        {
            csv.Append("\"a,b\nc\",").AppendJoin(',', _features.Select(f => ProtocolRows.Csv(ProtocolRows.Value(r, f)))).Append("\r\n");
        }

        csv.Append("\r\n");

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", csv.ToString(), "text/csv; charset=utf-8"), _expected);
    }

    [Fact]
    public async Task Csv_empty_field_is_a_missing_value_like_json_null()
    {
        var record = Record(0);
        record["amount_sum_30d"] = null;
        var json = await PredictionsAsync("/invocations", new JsonObject { ["dataframe_records"] = new JsonArray(record) }.ToJsonString());
        var csv = string.Join(',', _features) + "\n" + string.Join(',', _features.Select(f => ProtocolRows.Csv(record[f])));

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", csv, "text/csv"), json);
    }

    [Fact]
    public async Task Params_are_accepted_and_ignored()
    {
        var body = new JsonObject { ["params"] = new JsonObject { ["temperature"] = 0.5 }, ["dataframe_records"] = Records() };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/invocations", body.ToJsonString()), _expected);
    }

    [Fact]
    public async Task Named_model_route_scores_with_that_model()
    {
        var expected = await ProtocolRows.ReferenceScoresAsync(_server, "fraud-ae");
        var body = new JsonObject { ["dataframe_records"] = Records() };

        ProtocolRows.ShouldMatch(await PredictionsAsync("/models/fraud-ae/invocations", body.ToJsonString()), expected);
    }

    [Fact]
    public async Task Unknown_model_is_404_problem_naming_the_parameter()
    {
        var (status, body, response) = await _server.PostJsonAsync("/models/nope/invocations", new JsonObject { ["dataframe_records"] = Records() }.ToJsonString());

        status.ShouldBe(404);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe("name");
        body["detail"]!.GetValue<string>().ShouldContain("fraud-ae");
    }

    [Fact]
    public async Task Invocations_without_a_default_model_is_400_naming_model()
    {
        await using var server = await ServerHarness.StartAsync();

        var (status, body, response) = await server.PostJsonAsync("/invocations", "{\"instances\":[{}]}");

        status.ShouldBe(400);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe("model");
        body["detail"]!.GetValue<string>().ShouldContain("/models/{name}/invocations");
    }

    [Theory]
    [InlineData("not json", "body")]
    [InlineData("{\"dataframe_records\": [{}]", "body")]
    [InlineData("[1, 2]", "body")]
    [InlineData("{}", "body")]
    [InlineData("{\"params\": {}}", "body")]
    [InlineData("{\"instances\": [{}], \"inputs\": [{}]}", "inputs")]
    [InlineData("{\"dataframe_records\": [{}], \"extra\": 1}", "extra")]
    [InlineData("{\"dataframe_split\": []}", "dataframe_split")]
    [InlineData("{\"dataframe_split\": {\"columns\": [\"amount\"]}}", "dataframe_split.data")]
    [InlineData("{\"dataframe_split\": {\"columns\": \"amount\", \"data\": [[1]]}}", "dataframe_split.columns")]
    [InlineData("{\"dataframe_split\": {\"columns\": [\"amount\", 5], \"data\": [[1, 2]]}}", "dataframe_split.columns[1]")]
    [InlineData("{\"dataframe_split\": {\"data\": []}}", "dataframe_split.data")]
    [InlineData("{\"dataframe_split\": {\"data\": {}}}", "dataframe_split.data")]
    [InlineData("{\"dataframe_split\": {\"data\": [[1]], \"orient\": \"split\"}}", "dataframe_split.orient")]
    [InlineData("{\"dataframe_split\": {\"columns\": [\"amount\"], \"data\": [5]}}", "dataframe_split.data[0]")]
    [InlineData("{\"dataframe_split\": {\"columns\": [\"amount\"], \"data\": [[5, 6]]}}", "dataframe_split.data[0]")]
    [InlineData("{\"dataframe_split\": {\"data\": [[5]]}}", "dataframe_split.data[0]")]
    [InlineData("{\"dataframe_records\": {}}", "dataframe_records")]
    [InlineData("{\"dataframe_records\": []}", "dataframe_records")]
    [InlineData("{\"dataframe_records\": [[1, 2]]}", "dataframe_records[0]")]
    [InlineData("{\"instances\": 5}", "instances")]
    [InlineData("{\"instances\": [\"x\"]}", "instances[0]")]
    [InlineData("{\"instances\": [[1, 2]]}", "instances[0]")]
    [InlineData("{\"inputs\": \"x\"}", "inputs")]
    [InlineData("{\"inputs\": {}}", "inputs")]
    [InlineData("{\"inputs\": {\"amount\": 5}}", "inputs.amount")]
    [InlineData("{\"inputs\": {\"amount\": [1, 2], \"hour_of_day\": [1]}}", "inputs.hour_of_day")]
    public async Task Malformed_body_is_400_problem_naming_the_field(string json, string field)
    {
        var (status, body, response) = await _server.PostJsonAsync("/invocations", json);

        status.ShouldBe(400, body.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe(field, body.ToJsonString());
    }

    [Fact]
    public async Task One_bad_value_rejects_the_whole_request_naming_field_and_row()
    {
        var split = new JsonObject
        {
            ["dataframe_split"] = new JsonObject
            {
                ["columns"] = new JsonArray([.. _features.Select(c => (JsonNode)JsonValue.Create(c))]),
                ["data"] = new JsonArray([.. ProtocolRows.Rows.Select(r => (JsonNode)Row(r, _features))]),
            },
        };
        split["dataframe_split"]!["data"]![3]![_features.ToList().IndexOf("amount")] = "lots";
        var records = Records();
        records[2]!.AsObject().Remove("hour_of_day");
        var instances = Records();
        instances[4]!["merchant_category"] = true;
        var columnar = new JsonObject();
        foreach (var f in _features)
        {
            columnar[f] = new JsonArray([.. ProtocolRows.Rows.Select(r => ProtocolRows.Value(r, f))]);
        }

        columnar["amount"]![1] = new JsonArray();

        await ShouldRejectAsync(split.ToJsonString(), "dataframe_split.data[3].amount", "expected a number");
        await ShouldRejectAsync(new JsonObject { ["dataframe_records"] = records }.ToJsonString(), "dataframe_records[2].hour_of_day", "is required");
        await ShouldRejectAsync(new JsonObject { ["instances"] = instances }.ToJsonString(), "instances[4].merchant_category", "boolean");
        await ShouldRejectAsync(new JsonObject { ["inputs"] = columnar }.ToJsonString(), "inputs.amount[1]", "an array");
        var first = _features.First(f => f != "amount");
        await ShouldRejectAsync("{\"inputs\": {\"amount\": [1]}}", $"inputs.{first}[0]", "is required");
    }

    private async Task ShouldRejectAsync(string json, string field, string detail, string contentType = "application/json")
    {
        var (status, body, response) = await _server.PostJsonAsync("/invocations", json, contentType);

        status.ShouldBe(400, body.ToJsonString());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe(field);
        body["detail"]!.GetValue<string>().ShouldContain(detail);
    }

    [Theory]
    [InlineData("", "body", "empty")]
    [InlineData("\r\n\r\n", "body", "empty")]
    [InlineData("amount,hour_of_day\n", "body", "no rows")]
    [InlineData("amount\n\"5", "body", "never closed")]
    [InlineData("amount\n\"5\"x", "body", "closing quote")]
    [InlineData("amount\n5\r6", "body", "carriage return")]
    public async Task Malformed_csv_is_400_problem(string csv, string field, string detail) =>
        await ShouldRejectAsync(csv, field, detail, "text/csv");

    [Fact]
    public async Task Bad_csv_row_rejects_the_request_naming_row_field_and_line()
    {
        var header = string.Join(',', _features);
        var good = string.Join(',', _features.Select(f => ProtocolRows.Csv(ProtocolRows.Value(0, f))));
        var bad = string.Join(',', _features.Select(f => f == "amount" ? "12abc" : ProtocolRows.Csv(ProtocolRows.Value(1, f))));

        await ShouldRejectAsync($"{header}\n{good}\n\n{bad}\n", "rows[1].amount", "CSV line 4", "text/csv");
        await ShouldRejectAsync($"{header}\n{good}\n{good},extra\n", "rows[1]", $"has {_features.Count + 1} fields", "text/csv");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task Other_content_types_are_415_problem(string contentType)
    {
        var (status, body, response) = await _server.PostJsonAsync("/invocations", "{\"instances\": [{}]}", contentType);

        status.ShouldBe(415);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        body["field"]!.GetValue<string>().ShouldBe("Content-Type");
        body["detail"]!.GetValue<string>().ShouldContain(contentType);
    }

    [Fact]
    public async Task Missing_content_type_is_415_problem()
    {
        using var content = new ByteArrayContent("{}"u8.ToArray());
        using var response = await _server.Client.PostAsync("/models/fraud/invocations", content, TestContext.Current.CancellationToken);

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Theory]
    [InlineData("/ping")]
    [InlineData("/health")]
    public async Task Ping_and_health_answer_200_with_a_newline_when_ready(string path)
    {
        using var response = await _server.Client.GetAsync(path, TestContext.Current.CancellationToken);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldBe("\n");
    }

    [Fact]
    public async Task Ping_is_503_problem_while_a_model_is_not_loaded()
    {
        await using var server = await NotReadyServer.StartAsync();

        using var ping = await server.Client.GetAsync("/ping", TestContext.Current.CancellationToken);
        using var health = await server.Client.GetAsync("/health", TestContext.Current.CancellationToken);

        ping.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        ping.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await ping.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("ghost");
        health.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
    }
}
