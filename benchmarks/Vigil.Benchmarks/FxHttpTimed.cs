using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Fx;
using Vigil.Serving;
using Vigil.Tracking;

namespace Vigil.Benchmarks;

/// <summary>
/// <c>fx-http [--bundle B] [--deals CSV] [--client C] [--batch N] [--runs R] [--log off|store]</c>: a batch of deals POSTed to
/// <c>/fx/v1/score</c> on a real Kestrel server in this process (loopback HTTP/1.1, one client connection, requests one
/// after another), timed from the request's first byte to the response's last: JSON parsing, routing to
/// <c>fx-&lt;Client&gt;</c>, the decision flow and the JSON answer. Without <c>--bundle</c> it trains the FISAU bundle of
/// <see cref="FxScoringBenchmarks"/> and takes its batch. Prints one JSON line: min, median, p90 and p99 ms over the runs,
/// and the process CPU time per request (client and server together: both run in this process).
/// </summary>
internal static class FxHttpTimed
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name) => BenchArgs.Value(args, name);
        var client = Arg("--client") ?? "FISAU";
        var batch = int.Parse(Arg("--batch") ?? "1000", CultureInfo.InvariantCulture);
        var runs = int.Parse(Arg("--runs") ?? "300", CultureInfo.InvariantCulture);
        var log = Arg("--log") ?? "off";
        FxDescriptor.Register();
        ModelBundle bundle;
        FxRawDeal[] deals;
        if (Arg("--bundle") is { } path)
        {
            bundle = ModelBundle.Load(path);
            var csv = Arg("--deals") ?? throw new ArgumentException("--bundle needs --deals CSV");
            deals = [.. FxDealFrame.ReadRaw(FrameFile.Read(csv, FxDealFrame.CsvOptions)).Where(d => d.Client == client).Take(batch)];
        }
        else
        {
            var b = new FxScoringBenchmarks { Deals = batch };
            b.Setup();
            bundle = b.Bundle;
            deals = b.Raw;
        }

        var body = Encoding.UTF8.GetBytes(new JsonArray([.. deals.Select(ToJson)]).ToJsonString());
        var home = Path.Combine(Path.GetTempPath(), "vigil-fx-http-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var store = await StoreFactory.OpenAsync(null, home))
            {
                var temp = Path.Combine(home, "bundle.zip");
                bundle.Save(temp);
                var stored = await store.Artifacts.PutFileAsync(temp);
                await store.CreateModelVersionAsync("fx-" + client, new NewModelVersion { BundleSha256 = stored.Sha256, FeatureSchema = string.Join(",", bundle.Manifest.FeatureSchema.Select(c => c.Name)) });
                await store.SetAliasAsync("fx-" + client, "champion", 1, "bench");
            }

            var options = new ServingOptions
            {
                Port = 0,
                Host = "127.0.0.1",
                Home = home,
                Models = ModelSpec.ParseList("fx-" + client),
                RefreshSeconds = 0,
                InferenceLog = log == "store" ? InferenceLogDestination.Store : InferenceLogDestination.Off,
                LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            };
            await using var app = await VigilServer.BuildAsync(options);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(await http.GetAsync("/readyz")).IsSuccessStatusCode)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("the server never became ready");
                }

                await Task.Delay(50);
            }

            async Task<double> PostAsync()
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                var sw = Stopwatch.StartNew();
                using var response = await http.PostAsync("/fx/v1/score", content);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                var ms = sw.Elapsed.TotalMilliseconds;
                if (!response.IsSuccessStatusCode || bytes.Length < deals.Length)
                {
                    throw new InvalidOperationException($"/fx/v1/score answered {(int)response.StatusCode}");
                }

                return ms;
            }

            for (var i = 0; i < 30; i++)
            {
                await PostAsync();
            }

            var times = new double[runs];
            var cpu0 = Environment.CpuUsage.TotalTime;
            for (var i = 0; i < runs; i++)
            {
                times[i] = await PostAsync();
            }

            var cpuPerRequest = (Environment.CpuUsage.TotalTime - cpu0).TotalMilliseconds / runs;

            Array.Sort(times);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"side\":\"vigil /fx/v1/score over HTTP, one client, sequential requests after 30 warm-up requests\",\"batch\":{deals.Length},\"runs\":{runs},\"request_bytes\":{body.Length},\"inference_log\":\"{log}\",\"server_threads\":\"thread pool ({Environment.ProcessorCount} cores), one request at a time, ONNX/autoencoder single-threaded\",\"min_ms\":{times[0]:F3},\"median_ms\":{times[runs / 2]:F3},\"p90_ms\":{times[(int)(runs * 0.9)]:F3},\"p99_ms\":{times[Math.Max(0, (int)Math.Ceiling(runs * 0.99) - 1)]:F3},\"cpu_ms_per_request_client_and_server\":{cpuPerRequest:F3},\"load_average\":\"{File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores\"}}"));
            await app.StopAsync();
            return 0;
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

    internal static JsonNode ToJson(FxRawDeal d) => new JsonObject
    {
        ["Client"] = d.Client, ["FX_Instrument_Type"] = d.FxInstrumentType, ["BUnit"] = d.BUnit, ["Cpty"] = d.Cpty, ["PrimaryCurr"] = d.PrimaryCurr,
        ["BuyCurr"] = d.BuyCurr, ["SellCurr"] = d.SellCurr, ["BuyAmount"] = d.BuyAmount, ["SellAmount"] = d.SellAmount, ["SpotRate"] = d.SpotRate,
        ["ForwardPoints"] = d.ForwardPoints, ["DealDate"] = d.DealDate, ["MaturityDate"] = d.MaturityDate, ["UniqueId"] = d.UniqueId,
        ["ContLeg"] = d.ContLeg is { } leg ? (long)leg : null,
    };
}
