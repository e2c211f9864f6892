using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Vigil.Data;
using Vigil.Fx;
using Vigil.Lifecycle;
using Vigil.Serving;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil quickstart --fx</c>: the FX story end to end on embedded defaults: generate deals for three clients and a
/// labelled evaluation set → train and register <c>fx-FISAU</c> and <c>fx-FISNZ</c> → evaluate each per anomaly kind →
/// serve both on a loopback port and send the issue's example deal with a neighbour of the other client, a bad date and
/// an unknown client to <c>POST /fx/v1/score</c> (logged in the inference log) → the commands to go on.
/// </summary>
internal static class FxQuickstart
{
    /// <summary>The issue's example deal.</summary>
    private const string Example = """{"Client":"FISAU","FX_Instrument_Type":"FX Forward","BUnit":"0-GLOBAL","Cpty":"CBA","PrimaryCurr":"USD","BuyCurr":"USD","SellCurr":"AUD","BuyAmount":10000000.0,"SellAmount":-10000000.0,"SpotRate":1.0,"ForwardPoints":0.0,"DealDate":"2025-09-01","MaturityDate":"2025-09-25","UniqueId":"FX.FWD.Request.100097","ContLeg":0}""";

    public static async Task<int> RunAsync(string dir, ulong seed, string? storeSpec, ModelLifecycle lifecycle, bool json, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        var dealsPath = Path.Combine(dir, "fx-deals.parquet");
        var labelledPath = Path.Combine(dir, "fx-labelled.parquet");
        string[] clients = ["FISAU", "FISNZ"];

        Step($"1/4 generating 30,000 FX deals for FISAU, FISNZ and FISUK over 24 months and 8,000 labelled deals after them (seed {seed})");
        var deals = FxDealGenerator.WriteTo(new FxGeneratorOptions { Rows = 30_000, EvalRows = 8_000, Seed = seed }, dealsPath, labelledPath);
        var labelled = FrameFile.Read(labelledPath, FxDealFrame.CsvOptions);

        var specs = new List<string>();
        var models = new JsonArray();
        var table = new Table().AddColumns("model", "version", "deals scored", "missing_group", "unseen_pair", "year_gap", "amount", "tenor", "pattern", "false positives");
        foreach (var client in clients)
        {
            Step($"2/4 training fx-{client}: rule tables, FaceValue/TDays ranges and the multi-input autoencoder");
            var bundle = await Task.Run(() => FxTrainer.Train(deals.Training, new FxTrainOptions
            {
                Clients = [client],
                Seed = seed,
                Autoencoder = FxTrainOptions.DefaultAutoencoder with { Epochs = 20 },
            }), cancellationToken).ConfigureAwait(false);
            var run = await lifecycle.RecordBundleAsync(new RecordBundleOptions
            {
                Bundle = bundle,
                Experiment = "quickstart-fx",
                RegisterAs = "fx-" + client,
                Parameters = new Dictionary<string, string>(bundle.Manifest.Parameters, StringComparer.Ordinal) { ["data"] = dealsPath },
            }, cancellationToken).ConfigureAwait(false);
            var version = run.Version!.Version;
            specs.Add($"fx-{client}/{version.ToString(CultureInfo.InvariantCulture)}");

            Step($"3/4 evaluating fx-{client} v{version} on its labelled deals");
            var r = FxEvaluation.Evaluate(new FxScorer(bundle), labelled);
            var row = new List<string> { "fx-" + client, version.ToString(CultureInfo.InvariantCulture), r.Scored.ToString("N0", CultureInfo.InvariantCulture) };
            foreach (var kind in FxAnomalyKinds.All.Skip(1))
            {
                var k = r.Kinds.GetValueOrDefault(kind);
                row.Add(k is null ? "-" : $"{k.Flagged}/{k.Count}");
            }

            row.Add(string.Create(CultureInfo.InvariantCulture, $"{r.FalsePositiveRate:P2} ({r.FalsePositives} of {r.Normal})"));
            var kinds = new JsonObject();
            foreach (var (kind, k) in r.Kinds)
            {
                kinds[kind] = new JsonObject { ["count"] = k.Count, ["flagged"] = k.Flagged, ["recall"] = double.IsFinite(k.Recall) ? k.Recall : null };
            }

            models.Add(new JsonObject
            {
                ["model"] = "fx-" + client,
                ["version"] = version,
                ["run_id"] = run.RunId,
                ["scored"] = r.Scored,
                ["kinds"] = kinds,
                ["false_positive_rate"] = double.IsFinite(r.FalsePositiveRate) ? r.FalsePositiveRate : null,
            });
            table.AddRow([.. row.Select(Markup.Escape)]);
        }

        if (!json)
        {
            Terminal.Out.Write(table);
        }

        JsonObject? serve = null;

        Step("4/4 serving both on a loopback port: POST /fx/v1/score with the example deal, a FISNZ deal, a bad date and an unknown client");
        var fisnz = deals.Evaluation.First(e => e.Deal.Client == "FISNZ" && e.Kind == FxAnomalyKinds.None).Deal;
        var body = "[" + Example + "," + Json(fisnz) + "," + Example.Replace("\"2025-09-01\"", "\"2025-9-1\"", StringComparison.Ordinal).Replace("100097", "100098", StringComparison.Ordinal)
            + "," + Example.Replace("\"FISAU\"", "\"FISXX\"", StringComparison.Ordinal).Replace("100097", "100099", StringComparison.Ordinal) + "]";
        var options = new ServingOptions
        {
            Port = 0,
            Host = "127.0.0.1",
            Home = Terminal.Home,
            Store = storeSpec,
            Models = ModelSpec.ParseList(string.Join(",", specs)),
            RefreshSeconds = 0,
            InferenceLog = InferenceLogDestination.Store,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        await using (var app = await VigilServer.BuildAsync(options, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var deadline = Stopwatch.StartNew();
            while (!(await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken).ConfigureAwait(false)).IsSuccessStatusCode)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException("the quickstart server did not load its models within 60 s");
                }

                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }

            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri("/fx/v1/score", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))!;
            if (json)
            {
                serve = new JsonObject { ["status"] = (int)response.StatusCode, ["decisions"] = answer.DeepClone() };
            }
            else
            {
                Terminal.Out.MarkupLine($"POST {Markup.Escape(address)}/fx/v1/score -> {(int)response.StatusCode}");
                foreach (var deal in answer.AsArray())
                {
                    Terminal.OutWriter.WriteLine("  " + deal!.ToJsonString(TrackingFormat.Compact));
                }
            }

            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (json)
        {
            TrackingFormat.WriteJson(new JsonObject
            {
                ["out"] = Path.GetFullPath(dir),
                ["deals"] = Path.GetFullPath(dealsPath),
                ["labelled"] = Path.GetFullPath(labelledPath),
                ["models"] = models,
                ["serve"] = serve,
                ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 3),
            });
            return CliApp.Ok;
        }

        Terminal.Out.MarkupLine($"done in {total.Elapsed.TotalSeconds:F1} s. Go on with:");
        Terminal.OutWriter.WriteLine($"  vigil serve --models {string.Join(",", specs)}   # or fx-FISAU,fx-FISNZ once each has a champion alias (vigil models alias set)");
        Terminal.OutWriter.WriteLine($"  vigil fx evaluate --model models:/{specs[0]} --data {labelledPath} --json");
        Terminal.OutWriter.WriteLine("  vigil logs tail --model fx-FISAU -n 5");
        return CliApp.Ok;
    }

    private static string Json(FxDeal d) => new JsonObject
    {
        ["Client"] = d.Client, ["FX_Instrument_Type"] = d.FxInstrumentType, ["BUnit"] = d.BUnit, ["Cpty"] = d.Cpty, ["PrimaryCurr"] = d.PrimaryCurr,
        ["BuyCurr"] = d.BuyCurr, ["SellCurr"] = d.SellCurr, ["BuyAmount"] = d.BuyAmount, ["SellAmount"] = d.SellAmount, ["SpotRate"] = d.SpotRate,
        ["ForwardPoints"] = d.ForwardPoints, ["DealDate"] = FxDealValidator.FormatDate(d.DealDate), ["MaturityDate"] = FxDealValidator.FormatDate(d.MaturityDate),
        ["UniqueId"] = d.UniqueId, ["ContLeg"] = d.ContLeg,
    }.ToJsonString(TrackingFormat.Compact);

    /// <summary>A progress line, on stderr (as in the transactions quickstart), so stdout holds the results only.</summary>
    private static void Step(string text) => Terminal.Note(text);
}
