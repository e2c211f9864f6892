using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Data;

namespace Vigil.Serving.Tests;

/// <summary>
/// The one scoring pipeline: the same item gets the same <see cref="Decision"/> through every protocol, and a
/// pre-model rule decides an item alone (the detector does not score it) and is named in each protocol's response
/// and in the item's inference-log entry.
/// </summary>
public sealed class ScoringPipelineTests : IAsyncLifetime
{
    private static readonly int[] Rows = [0, 1, 2];

    private readonly MemoryLogSink _sink = new();
    private ServerHarness _server = null!;
    private IReadOnlyList<string> _features = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(sink: _sink, services: s => s.AddSingleton<IItemRuleProvider, TestRuleProvider>());
        _features = ProtocolRows.Features(_server, "fraud");
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Same_items_get_the_same_decision_through_every_protocol()
    {
        // fraud-ae has no rules: its answers are plain scores in every protocol.
        var features = ProtocolRows.Features(_server, "fraud-ae");
        var instances = PipelineTestSupport.Instances(features, Rows);
        var (status, v1) = await PipelineTestSupport.PostAsync(_server, "/v1/predict", new JsonObject { ["model"] = "fraud-ae", ["instances"] = new JsonArray(instances) }.ToJsonString(), "same-v1");
        status.ShouldBe(200);
        var threshold = v1["threshold"]!.GetValue<double>();
        var version = v1["version"]!.GetValue<int>();
        var scores = new double[Rows.Length];
        var labels = new int[Rows.Length];
        for (var i = 0; i < Rows.Length; i++)
        {
            var p = v1["predictions"]![i]!;
            scores[i] = p["score"]!.GetValue<double>();
            labels[i] = p["label"]!.GetValue<int>();
            labels[i].ShouldBe(scores[i] > threshold ? 1 : 0);
            p["reasons"]!.AsArray().Count.ShouldBeGreaterThan(0);
        }

        var records = new JsonArray([.. PipelineTestSupport.Instances(features, Rows)]);
        var (mlStatus, mlflow) = await PipelineTestSupport.PostAsync(_server, "/models/fraud-ae/invocations", new JsonObject { ["dataframe_records"] = records }.ToJsonString(), "same-mlflow");
        mlStatus.ShouldBe(200);
        ProtocolRows.Numbers(mlflow["predictions"]).ShouldBe(scores);

        var (oipStatus, oip) = await PipelineTestSupport.PostAsync(_server, "/v2/models/fraud-ae/infer", Tensors(features, Rows, null).ToJsonString(), "same-oip");
        oipStatus.ShouldBe(200);
        oip["model_version"]!.GetValue<string>().ShouldBe(version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ProtocolRows.Numbers(Output(oip, "score")).ShouldBe(scores);
        ProtocolRows.Numbers(Output(oip, "label")).ShouldBe(labels.Select(l => (double)l).ToArray());
        var metadata = await _server.Client.GetStringAsync("/v2/models/fraud-ae", TestContext.Current.CancellationToken);
        JsonNode.Parse(metadata)!["parameters"]!["threshold"]!.GetValue<double>().ShouldBe(threshold);

        // The log entries of the three requests hold the same decisions.
        foreach (var id in new[] { "same-v1", "same-mlflow", "same-oip" })
        {
            var record = await _sink.WaitForAsync(id);
            record.Model.ShouldBe("fraud-ae");
            record.Version.ShouldBe(version);
            var items = record.Items.ShouldNotBeNull();
            items.Count.ShouldBe(Rows.Length);
            items.Score.AsSpan(0, Rows.Length).ToArray().ShouldBe(scores, id);
            items.Label.AsSpan(0, Rows.Length).ToArray().ShouldBe(labels.Select(l => (sbyte)l).ToArray(), id);
            items.Status.AsSpan(0, Rows.Length).ToArray().ShouldBe([200, 200, 200], id);
            items.Rule.AsSpan(0, Rows.Length).ToArray().ShouldBe([null, null, null], id);
        }
    }

    [Fact]
    public async Task V1_rule_decided_item_skips_the_model_and_is_named_in_the_response_and_log()
    {
        var reference = await ReferenceAsync();
        var instances = PipelineTestSupport.Instances(_features, Rows);
        instances[1]["watchlist"] = "yes";
        instances[1]["since"] = "2026-01-02";
        instances[2]["watchlist"] = "no";

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instances) }.ToJsonString(), "rule-v1");

        status.ShouldBe(200);
        var p = body["predictions"]!.AsArray();
        p[1]!["rule"]!.GetValue<string>().ShouldBe("watchlist");
        p[1]!["reason"]!.GetValue<string>().ShouldBe("customer on the watchlist since 2026-01-02");
        p[1]!["label"]!.GetValue<int>().ShouldBe(1);
        p[1]!["score"].ShouldBeNull();
        p[1]!["status"]!.GetValue<int>().ShouldBe(200);
        p[0]!["score"]!.GetValue<double>().ShouldBe(reference[0]);
        p[2]!["score"]!.GetValue<double>().ShouldBe(reference[2]);
        p[0]!["rule"].ShouldBeNull();

        var record = await _sink.WaitForAsync("rule-v1");
        AssertRuleDecidedEntry(record, "watchlist", reference);
    }

    [Fact]
    public async Task Mlflow_rule_decided_item_is_a_record_naming_the_rule()
    {
        var reference = await ReferenceAsync();
        var columns = new JsonArray([.. _features.Select(f => (JsonNode)f), "watchlist", "since"]);
        var data = new JsonArray();
        for (var i = 0; i < Rows.Length; i++)
        {
            var row = new JsonArray([.. _features.Select(f => ProtocolRows.Value(Rows[i], f))]);
            row.Add(i == 1 ? "yes" : null);
            row.Add(i == 1 ? "2026-01-02" : null);
            data.Add(row);
        }

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/models/fraud/invocations", new JsonObject { ["dataframe_split"] = new JsonObject { ["columns"] = columns, ["data"] = data } }.ToJsonString(), "rule-mlflow");

        status.ShouldBe(200, body.ToJsonString());
        var p = body["predictions"]!.AsArray();
        p[1]!["rule"]!.GetValue<string>().ShouldBe("watchlist");
        p[1]!["reason"]!.GetValue<string>().ShouldBe("customer on the watchlist since 2026-01-02");
        p[1]!["label"]!.GetValue<int>().ShouldBe(1);
        p[1]!["score"].ShouldBeNull();
        p[0]!["score"]!.GetValue<double>().ShouldBe(reference[0]);
        p[0]!["rule"].ShouldBeNull();
        p[2]!["score"]!.GetValue<double>().ShouldBe(reference[2]);

        AssertRuleDecidedEntry(await _sink.WaitForAsync("rule-mlflow"), "watchlist", reference);
    }

    [Fact]
    public async Task Csv_rule_reads_columns_that_are_not_features()
    {
        var reference = await ReferenceAsync();
        var csv = new System.Text.StringBuilder();
        csv.AppendJoin(',', _features).Append(",watchlist,since\n");
        for (var i = 0; i < Rows.Length; i++)
        {
            csv.AppendJoin(',', _features.Select(f => ProtocolRows.Csv(ProtocolRows.Value(Rows[i], f)))).Append(i == 1 ? ",yes,2026-01-02\n" : ",,\n");
        }

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/models/fraud/invocations", csv.ToString(), "rule-csv", "text/csv");

        status.ShouldBe(200, body.ToJsonString());
        body["predictions"]![1]!["rule"]!.GetValue<string>().ShouldBe("watchlist");
        AssertRuleDecidedEntry(await _sink.WaitForAsync("rule-csv"), "watchlist", reference);
    }

    [Fact]
    public async Task Open_inference_rule_decided_row_has_rule_and_reason_outputs()
    {
        var reference = await ReferenceAsync();
        var request = Tensors(_features, Rows, 1);

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/v2/models/fraud/infer", request.ToJsonString(), "rule-oip");

        status.ShouldBe(200, body.ToJsonString());
        var scores = Output(body, "score")!.AsArray();
        scores[1].ShouldBeNull();
        scores[0]!.GetValue<double>().ShouldBe(reference[0]);
        scores[2]!.GetValue<double>().ShouldBe(reference[2]);
        Output(body, "label")![1]!.GetValue<int>().ShouldBe(1);
        Output(body, "rule")!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["", "blocked_merchant", ""]);
        Output(body, "reason")![1]!.GetValue<string>().ShouldBe("merchant category blocked-merchant is on the block list");

        var record = await _sink.WaitForAsync("rule-oip");
        AssertRuleDecidedEntry(record, "blocked_merchant", reference);
        var category = record.Items!.Features.Single(c => c.Name == TransactionColumns.MerchantCategory);
        category.Texts![1].ShouldBe(TestRuleProvider.BlockedCategory);
    }

    [Fact]
    public async Task Open_inference_tensors_that_are_not_features_reach_the_rules()
    {
        var reference = await ReferenceAsync();
        var request = Tensors(_features, Rows, null);
        request["inputs"]!.AsArray().Add(new JsonObject { ["name"] = "watchlist", ["shape"] = new JsonArray(3), ["datatype"] = "BYTES", ["data"] = new JsonArray("no", "yes", null) });
        request["inputs"]!.AsArray().Add(new JsonObject { ["name"] = "since", ["shape"] = new JsonArray(3, 1), ["datatype"] = "BYTES", ["data"] = new JsonArray(new JsonArray("2020-01-01"), new JsonArray("2026-01-02"), new JsonArray("2020-01-01")) });

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/v2/models/fraud/infer", request.ToJsonString(), "rule-oip-extra");

        status.ShouldBe(200, body.ToJsonString());
        Output(body, "rule")!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["", "watchlist", ""]);
        Output(body, "reason")![1]!.GetValue<string>().ShouldBe("customer on the watchlist since 2026-01-02");
        AssertRuleDecidedEntry(await _sink.WaitForAsync("rule-oip-extra"), "watchlist", reference);
    }

    [Fact]
    public async Task Mlflow_columnar_inputs_that_are_not_features_reach_the_rules()
    {
        var reference = await ReferenceAsync();
        var columns = new JsonObject();
        foreach (var f in _features)
        {
            columns[f] = new JsonArray([.. Rows.Select(r => ProtocolRows.Value(r, f))]);
        }

        columns["watchlist"] = new JsonArray(null, "yes", "no");
        columns["since"] = new JsonArray(null, "2026-01-02", "2026-01-02");

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/models/fraud/invocations", new JsonObject { ["inputs"] = columns }.ToJsonString(), "rule-columnar");

        status.ShouldBe(200, body.ToJsonString());
        body["predictions"]![1]!["rule"]!.GetValue<string>().ShouldBe("watchlist");
        AssertRuleDecidedEntry(await _sink.WaitForAsync("rule-columnar"), "watchlist", reference);
    }

    [Fact]
    public async Task A_failing_rule_fails_only_its_item_with_500()
    {
        var instances = PipelineTestSupport.Instances(_features, Rows);
        instances[1]["watchlist"] = "boom";

        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(instances) }.ToJsonString(), "rule-boom");

        status.ShouldBe(200);
        var p = body["predictions"]!.AsArray();
        p.Select(x => x!["status"]!.GetValue<int>()).ShouldBe([200, 500, 200]);
        p[1]!["field"]!.GetValue<string>().ShouldBe("exploding");
        p[1]!["error"]!.GetValue<string>().ShouldContain("boom");
        var record = await _sink.WaitForAsync("rule-boom");
        record.Items!.Status.AsSpan(0, 3).ToArray().ShouldBe([200, 500, 200]);
        record.Items.Label[1].ShouldBe((sbyte)-1);
        record.ScoredRows.ShouldBe(2);
    }

    /// <summary>The scores of <see cref="Rows"/> with no rule deciding (the rules leave these items to the model).</summary>
    private async Task<double[]> ReferenceAsync()
    {
        var (status, body) = await PipelineTestSupport.PostAsync(_server, "/v1/predict", new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(PipelineTestSupport.Instances(_features, Rows)) }.ToJsonString(), "reference-" + Guid.NewGuid().ToString("N"));
        status.ShouldBe(200);
        return [.. body["predictions"]!.AsArray().Select(p => p!["score"]!.GetValue<double>())];
    }

    /// <summary>Item 1 was decided by <paramref name="rule"/>; items 0 and 2 were scored with the reference scores; the detector scored 2 rows.</summary>
    private void AssertRuleDecidedEntry(Vigil.Tracking.InferenceRecord record, string rule, double[] reference)
    {
        record.Model.ShouldBe("fraud");
        record.Rows.ShouldBe(3);
        record.ScoredRows.ShouldBe(2);
        var items = record.Items.ShouldNotBeNull();
        items.Count.ShouldBe(3);
        items.Status.AsSpan(0, 3).ToArray().ShouldBe([200, 200, 200]);
        items.Rule.AsSpan(0, 3).ToArray().ShouldBe([null, rule, null]);
        items.Label[1].ShouldBe((sbyte)1);
        double.IsNaN(items.Score[1]).ShouldBeTrue();
        items.Score[0].ShouldBe(reference[0]);
        items.Score[2].ShouldBe(reference[2]);
        items.Features.Select(c => c.Name).ShouldBe(_features);
        var amount = items.Features.Single(c => c.Name == TransactionColumns.Amount);
        amount.IsText.ShouldBeFalse();
        for (var i = 0; i < Rows.Length; i++)
        {
            amount.Numbers![i].ShouldBe(ProtocolRows.Value(Rows[i], TransactionColumns.Amount)!.GetValue<double>());
        }

        var category = items.Features.Single(c => c.Name == TransactionColumns.MerchantCategory);
        category.Texts![0].ShouldBe(ProtocolRows.Value(Rows[0], TransactionColumns.MerchantCategory)!.GetValue<string>());
        category.Texts[2].ShouldBe(ProtocolRows.Value(Rows[2], TransactionColumns.MerchantCategory)!.GetValue<string>());
    }

    /// <summary>One tensor per feature for <paramref name="rows"/>; row <paramref name="blocked"/> (if any) gets the blocked merchant category.</summary>
    private static JsonObject Tensors(IReadOnlyList<string> features, int[] rows, int? blocked)
    {
        var inputs = new JsonArray();
        foreach (var f in features)
        {
            var values = new JsonArray();
            for (var i = 0; i < rows.Length; i++)
            {
                values.Add(f == TransactionColumns.MerchantCategory && i == blocked ? JsonValue.Create(TestRuleProvider.BlockedCategory) : ProtocolRows.Value(rows[i], f));
            }

            var categorical = values[0] is JsonValue v && v.TryGetValue<string>(out _);
            inputs.Add(new JsonObject { ["name"] = f, ["shape"] = new JsonArray(rows.Length), ["datatype"] = categorical ? "BYTES" : "FP64", ["data"] = values });
        }

        return new JsonObject { ["inputs"] = inputs };
    }

    private static JsonNode? Output(JsonNode body, string name) =>
        body["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == name)!["data"];
}
