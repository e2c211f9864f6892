using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Detectors;
using Vigil.Fx;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>
/// <c>POST /fx/v1/score</c> and <c>/invocations</c> on FX models over real HTTP (Kestrel on a loopback port), with FISAU
/// and FISNZ bundles trained once here (generator seed 11, 6,000 deals; autoencoder seed 5, 6 epochs: enough for the
/// contract; the decision quality is the FX library's tests' business). Every expected decision comes from the same
/// bundle decided in-process with <see cref="FxScorer"/>.
/// </summary>
public sealed class FxServingTests
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Lazy<(ModelBundle Au, ModelBundle Nz, FxGeneratedDeals Deals)> Models = new(() =>
    {
        var deals = FxDealGenerator.Generate(new FxGeneratorOptions { Rows = 6_000, EvalRows = 2_000, Seed = 11 });
        FxTrainOptions Options(string client) => new()
        {
            Clients = [client],
            Seed = 5,
            Autoencoder = FxTrainOptions.DefaultAutoencoder with { Epochs = 6, MaxDegreeOfParallelism = 2 },
        };
        return (FxTrainer.Train(deals.Training, Options("FISAU")), FxTrainer.Train(deals.Training, Options("FISNZ")), deals);
    });

    /// <summary>The generated deals the bundles were trained on, with the labelled evaluation deals.</summary>
    internal static FxGeneratedDeals Deals => Models.Value.Deals;

    /// <summary>The example deal, field for field.</summary>
    private const string Example = """{"Client":"FISAU","FX_Instrument_Type":"FX Forward","BUnit":"0-GLOBAL","Cpty":"CBA","PrimaryCurr":"USD","BuyCurr":"USD","SellCurr":"AUD","BuyAmount":10000000.0,"SellAmount":-10000000.0,"SpotRate":1.0,"ForwardPoints":0.0,"DealDate":"2025-09-01","MaturityDate":"2025-09-25","UniqueId":"FX.FWD.Request.100097","ContLeg":0}""";

    private static readonly FxRawDeal ExampleDeal = new()
    {
        Client = "FISAU", FxInstrumentType = "FX Forward", BUnit = "0-GLOBAL", Cpty = "CBA", PrimaryCurr = "USD", BuyCurr = "USD", SellCurr = "AUD",
        BuyAmount = 10000000.0, SellAmount = -10000000.0, SpotRate = 1.0, ForwardPoints = 0.0, DealDate = "2025-09-01", MaturityDate = "2025-09-25",
        UniqueId = "FX.FWD.Request.100097", ContLeg = 0,
    };

    /// <summary>The example in every accepted request shape.</summary>
    private static readonly (string Shape, string Body)[] Shapes =
    [
        ("list", "[" + Example + "]"),
        ("inputs", """{"inputs":[""" + Example + "]}"),
        ("dataframe_records", """{"dataframe_records":[""" + Example + "]}"),
        ("dataframe_split", """{"dataframe_split":{"columns":["Client","FX_Instrument_Type","BUnit","Cpty","PrimaryCurr","BuyCurr","SellCurr","BuyAmount","SellAmount","SpotRate","ForwardPoints","DealDate","MaturityDate","UniqueId","ContLeg"],"data":[["FISAU","FX Forward","0-GLOBAL","CBA","USD","USD","AUD",10000000.0,-10000000.0,1.0,0.0,"2025-09-01","2025-09-25","FX.FWD.Request.100097",0]]}}"""),
    ];

    [Fact]
    public async Task The_example_deal_gets_the_contract_answer_in_every_request_shape_on_fx_score_and_invocations()
    {
        await using var server = await StartAsync("fx-FISAU");
        var expected = new FxScorer(Models.Value.Au).Decide(ExampleDeal);
        expected.StatusCode.ShouldBe(200);
        foreach (var (shape, body) in Shapes)
        {
            var (status, answer, _) = await server.PostJsonAsync("/fx/v1/score", body);
            status.ShouldBe(200, shape);
            var deal = answer.AsArray().ShouldHaveSingleItem()!.AsObject();
            deal.Select(p => p.Key).ShouldBe(["Client", "UniqueId", "ContLeg", "Anomaly", "Reason", "status_code"], shape);
            deal["Client"]!.GetValue<string>().ShouldBe("FISAU");
            deal["UniqueId"]!.GetValue<string>().ShouldBe("FX.FWD.Request.100097");
            deal["ContLeg"]!.GetValue<long>().ShouldBe(0);
            deal["Anomaly"]!.GetValue<string>().ShouldBe(expected.AnomalyText, shape);
            deal["Reason"]!.GetValue<string>().ShouldBe(expected.Reason, shape);
            deal["status_code"]!.GetValue<int>().ShouldBe(200);

            var (mlflowStatus, mlflow, _) = await server.PostJsonAsync("/models/fx-FISAU/invocations", body);
            mlflowStatus.ShouldBe(200, shape);
            mlflow["predictions"]!.AsArray().ShouldHaveSingleItem()!.ToJsonString().ShouldBe(deal.ToJsonString(), shape);
            var (defaultStatus, byDefault, _) = await server.PostJsonAsync("/invocations", body);
            defaultStatus.ShouldBe(200, shape);
            byDefault.ToJsonString().ShouldBe(mlflow.ToJsonString(), shape);
        }
    }

    [Fact]
    public async Task A_bad_date_a_missing_field_and_a_wrong_client_fail_their_deal_only_while_neighbours_get_200()
    {
        await using var server = await StartAsync("fx-FISAU");
        var badDate = Deal(d => d["DealDate"] = "2025-9-01", "bad-date");
        var missing = Deal(d => d.Remove("BUnit"), "missing-bunit");
        var wrongClient = Deal(d => d["Client"] = "FISZZ", "wrong-client");
        var wrongType = Deal(d => d["BuyAmount"] = "ten million", "wrong-type");
        var body = new JsonArray(Deal(_ => { }, "ok-1"), badDate, Deal(_ => { }, "ok-2"), missing, wrongClient, wrongType, Deal(_ => { }, "ok-3")).ToJsonString();
        foreach (var path in (string[])["/fx/v1/score", "/models/fx-FISAU/invocations"])
        {
            var (status, answer, _) = await server.PostJsonAsync(path, body);
            status.ShouldBe(200);
            var deals = (path.StartsWith("/fx", StringComparison.Ordinal) ? answer : answer["predictions"]!).AsArray();
            deals.Select(d => d!["UniqueId"]!.GetValue<string>()).ShouldBe(["ok-1", "bad-date", "ok-2", "missing-bunit", "wrong-client", "wrong-type", "ok-3"]);
            deals.Select(d => d!["status_code"]!.GetValue<int>()).ShouldBe([200, 400, 200, 400, 400, 400, 200], path);
            deals[1]!["error"]!.GetValue<string>().ShouldBe("DealDate: '2025-9-01' is not a date in YYYY-MM-DD form");
            deals[3]!["error"]!.GetValue<string>().ShouldBe("BUnit: is required");
            deals[4]!["error"]!.GetValue<string>().ShouldStartWith("Client: FISZZ is not served");
            deals[5]!["error"]!.GetValue<string>().ShouldBe("BuyAmount: must be a finite number (got a string)");
            deals[1]!.AsObject().ContainsKey("Anomaly").ShouldBeFalse();
            deals[0]!["Anomaly"]!.GetValue<string>().ShouldBeOneOf("Yes", "No");
        }
    }

    [Fact]
    public async Task A_deal_of_another_client_is_refused_and_never_opens_that_clients_bundle()
    {
        // Both clients are registered in the store; the server serves FISAU only.
        await using var server = await StartAsync("fx-FISAU");
        var cache = server.App.Services.GetRequiredService<ModelCache>();
        var nz = Deal(d => d["Client"] = "FISNZ", "nz-1").ToJsonString();
        var (status, answer, _) = await server.PostJsonAsync("/fx/v1/score", "[" + nz + "]");
        status.ShouldBe(200);
        answer[0]!["status_code"]!.GetValue<int>().ShouldBe(400);
        answer[0]!["error"]!.GetValue<string>().ShouldBe("Client: FISNZ is not served here (served clients: FISAU)");
        var (mlStatus, ml, _) = await server.PostJsonAsync("/models/fx-FISAU/invocations", "[" + nz + "]");
        mlStatus.ShouldBe(200);
        ml["predictions"]![0]!["status_code"]!.GetValue<int>().ShouldBe(400);
        ml["predictions"]![0]!["error"]!.GetValue<string>().ShouldBe("Client: FISNZ is not served by this model (it serves FISAU)");
        cache.Opened.ShouldBe(["models:/fx-FISAU/1"]);
    }

    [Fact]
    public async Task One_server_routes_each_deal_to_its_clients_model_and_logs_one_row_per_model_with_the_seed_columns()
    {
        var sink = new MemoryLogSink();
        await using var server = await StartAsync("fx-FISAU,fx-FISNZ", sink);
        var deals = Models.Value.Deals.Evaluation.Where(e => e.Deal.Client is "FISAU" or "FISNZ").Take(40).Select(e => e.Deal).ToArray();
        var body = new JsonArray([.. deals.Select(ToJson), Deal(d => d["MaturityDate"] = "2025-13-01", "bad")]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/fx/v1/score") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-ID", "fx-mixed-1");
        using var response = await server.Client.SendAsync(request, TestContext.Current.CancellationToken);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsArray();
        answer.Count.ShouldBe(41);
        var au = new FxScorer(Models.Value.Au);
        var nz = new FxScorer(Models.Value.Nz);
        for (var i = 0; i < deals.Length; i++)
        {
            var expected = (deals[i].Client == "FISAU" ? au : nz).Decide(deals[i]);
            answer[i]!["status_code"]!.GetValue<int>().ShouldBe(expected.StatusCode);
            answer[i]!["Anomaly"]!.GetValue<string>().ShouldBe(expected.AnomalyText);
            answer[i]!["Reason"]!.GetValue<string>().ShouldBe(expected.Reason);
        }

        answer[40]!["status_code"]!.GetValue<int>().ShouldBe(400);

        // One row per model that decided deals, same request id, each with its own deals as items.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (sink.Records.Count(r => r.RequestId == "fx-mixed-1") < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        var rows = sink.Records.Where(r => r.RequestId == "fx-mixed-1").OrderBy(r => r.Model).ToArray();
        rows.Select(r => r.Model).ShouldBe(["fx-FISAU", "fx-FISNZ"]);
        rows.Select(r => r.LogId).Distinct().Count().ShouldBe(2);
        foreach (var row in rows)
        {
            var client = row.Model![3..];
            var mine = deals.Where(d => d.Client == client).ToArray();
            row.Version.ShouldBe(1);
            row.Status.ShouldBe(200);
            row.Route.ShouldBe("fx/v1/score");
            row.Rows.ShouldBe(row.Items!.Count);
            row.EndUs.ShouldBeGreaterThanOrEqualTo(row.StartUs);
            row.RequestPayload.ShouldBe(body.ToJsonString());
            row.ResponsePayload.ShouldBe(answer.ToJsonString(Readable)); // the server escapes only what JSON requires
            row.ResponsePayload!.ShouldNotContain("\\u0027"); // "MaturityDate: '2025-13-01' is not a date", readable with curl
            row.ScoreUs.ShouldBeGreaterThan(0); // the autoencoder ran for the deals no rule decided
            (row.ParseUs + row.TransformUs + row.ScoreUs).ShouldBeLessThanOrEqualTo(row.EndUs - row.StartUs);
            var items = row.Items!;
            items.Count.ShouldBe(mine.Length + (client == "FISAU" ? 1 : 0));
            var ids = items.Features.Single(f => f.Name == "UniqueId").Texts!;
            ids.Take(mine.Length).ShouldBe(mine.Select(d => d.UniqueId));
            var scorer = client == "FISAU" ? au : nz;
            for (var k = 0; k < mine.Length; k++)
            {
                var expected = scorer.Decide(mine[k]);
                items.Status[k].ShouldBe(200);
                items.Label[k].ShouldBe((sbyte)(expected.Anomaly ? 1 : 0));
                items.Rule[k].ShouldBe(expected.Check);
                items.Features.Single(f => f.Name == "FaceValue").Numbers![k].ShouldBe(mine[k].FaceValue);
            }
        }

        // The bad deal's client is FISAU: it went to fx-FISAU and failed validation there (status 400, no label).
        rows[0].Items!.Status[^1].ShouldBe(400);
        rows[0].Items!.Label[^1].ShouldBe((sbyte)-1);
    }

    [Fact]
    public async Task A_malformed_body_or_a_wrong_shape_is_one_problem_naming_the_field()
    {
        await using var server = await StartAsync("fx-FISAU");
        var (status, problem, response) = await server.PostJsonAsync("/fx/v1/score", "[{\"Client\":");
        status.ShouldBe(400);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        problem["field"]!.GetValue<string>().ShouldBe("body");
        (status, problem, _) = await server.PostJsonAsync("/fx/v1/score", "{\"dataframe_split\":{\"columns\":[\"Client\"]}}");
        status.ShouldBe(400);
        problem["field"]!.GetValue<string>().ShouldBe("dataframe_split.data");
        (status, _, _) = await server.PostJsonAsync("/fx/v1/score", "Client,UniqueId\nFISAU,1\n", "text/csv");
        status.ShouldBe(415);
        (status, var empty, _) = await server.PostJsonAsync("/fx/v1/score", "[]");
        status.ShouldBe(200);
        empty.AsArray().Count.ShouldBe(0);
    }

    private static JsonObject Deal(Action<JsonObject> change, string id)
    {
        var deal = JsonNode.Parse(Example)!.AsObject();
        deal["UniqueId"] = id;
        change(deal);
        return deal;
    }

    internal static JsonNode ToJson(FxDeal d) => new JsonObject
    {
        ["Client"] = d.Client, ["FX_Instrument_Type"] = d.FxInstrumentType, ["BUnit"] = d.BUnit, ["Cpty"] = d.Cpty, ["PrimaryCurr"] = d.PrimaryCurr,
        ["BuyCurr"] = d.BuyCurr, ["SellCurr"] = d.SellCurr, ["BuyAmount"] = d.BuyAmount, ["SellAmount"] = d.SellAmount, ["SpotRate"] = d.SpotRate,
        ["ForwardPoints"] = d.ForwardPoints, ["DealDate"] = FxDealValidator.FormatDate(d.DealDate), ["MaturityDate"] = FxDealValidator.FormatDate(d.MaturityDate),
        ["UniqueId"] = d.UniqueId, ["ContLeg"] = d.ContLeg,
    };

    /// <summary>A home with fx-FISAU and fx-FISNZ registered (champion v1 each) and a server serving <paramref name="models"/>.</summary>
    private static async Task<ServerHarness> StartAsync(string models, MemoryLogSink? sink = null)
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-fx-serving-" + Guid.NewGuid().ToString("N"));
        await using (var store = await StoreFactory.OpenAsync(null, home, TestContext.Current.CancellationToken))
        {
            await ServerHarness.RegisterAsync(store, "fx-FISAU", Models.Value.Au);
            await ServerHarness.RegisterAsync(store, "fx-FISNZ", Models.Value.Nz);
            await store.SetAliasAsync("fx-FISAU", "champion", 1, "test");
            await store.SetAliasAsync("fx-FISNZ", "champion", 1, "test");
        }

        return await ServerHarness.StartAsync(o => o with { Models = ModelSpec.ParseList(models), InferenceLogPayloads = PayloadMode.Full }, home, sink: sink, ownsHome: true);
    }
}
