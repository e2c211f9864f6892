using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>
/// A Vigil home with registered models and a real Kestrel server on a free loopback port.
/// Models: <c>fraud</c> (isolation forest; v1 seed 1 = champion, v2 seed 2), <c>fraud-ae</c> (autoencoder, champion v1),
/// <c>fraud-num</c> (isolation forest on <see cref="NumericFeatures"/> only, v1, no alias: serve it as <c>fraud-num/latest</c>).
/// </summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    /// <summary>The generator's label-revealing columns: never features (the lifecycle excludes them the same way).</summary>
    private static readonly HashSet<string> Leaks = [.. TransactionColumns.LeakColumns];

    private static readonly Lazy<Frame> TrainingData = new(() => TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 4000, Seed = 7 }));
    private static readonly Lazy<ModelBundle[]> Bundles = new(() =>
    [
        ModelBundle.Train(TrainingData.Value, new TrainSpec { Model = "iforest", Label = TransactionColumns.Label, IdColumn = TransactionColumns.TransactionId, Exclude = Leaks, Forest = new IsolationForestOptions { Seed = 1, Estimators = 50 } }),
        ModelBundle.Train(TrainingData.Value, new TrainSpec { Model = "iforest", Label = TransactionColumns.Label, IdColumn = TransactionColumns.TransactionId, Exclude = Leaks, Forest = new IsolationForestOptions { Seed = 2, Estimators = 50 } }),
        ModelBundle.Train(TrainingData.Value, new TrainSpec { Model = "autoencoder", Label = TransactionColumns.Label, IdColumn = TransactionColumns.TransactionId, Exclude = Leaks, Autoencoder = new AutoencoderOptions { Epochs = 3, Seed = 3 } }),
        ModelBundle.Train(TrainingData.Value, new TrainSpec { Model = "iforest", Label = TransactionColumns.Label, IdColumn = TransactionColumns.TransactionId, Exclude = Leaks, Features = NumericFeatures, Forest = new IsolationForestOptions { Seed = 4, Estimators = 50 } }),
    ]);

    private bool _ownsHome;

    /// <summary>The features of <c>fraud-num</c> (registered in every home, served only when asked): all numeric.</summary>
    public static readonly string[] NumericFeatures = [TransactionColumns.Amount, TransactionColumns.HourOfDay, TransactionColumns.AvgMonthlySpend, TransactionColumns.CustomerTenureDays, TransactionColumns.NumPrevTx24h];

    private ServerHarness(string home, WebApplication app, ITrackingStore store)
    {
        Home = home;
        App = app;
        Store = store;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress };
    }

    public string Home { get; }

    public WebApplication App { get; }

    public ITrackingStore Store { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The generated transactions the models were trained on.</summary>
    public static Frame Data => TrainingData.Value;

    /// <summary>Creates a home with the registered models and starts a server (options: models fraud and fraud-ae, log off unless changed).</summary>
    /// <param name="configure">Changes to the options.</param>
    /// <param name="home">An existing home (else a new one, deleted at the end).</param>
    /// <param name="waitReady">Wait until every model is loaded.</param>
    /// <param name="storeSpec">The store (else SQLite in the home).</param>
    /// <param name="sink">An inference log sink to use instead of the one the options name.</param>
    /// <param name="services">More services for the host (e.g. an <see cref="IItemRuleProvider"/>).</param>
    /// <param name="ownsHome">Delete the home at the end (default: only a home made here).</param>
    public static async Task<ServerHarness> StartAsync(Func<ServingOptions, ServingOptions>? configure = null, string? home = null, bool waitReady = true, string? storeSpec = null,
        IInferenceLogSink? sink = null, Action<IServiceCollection>? services = null, bool? ownsHome = null)
    {
        var owns = ownsHome ?? home is null;
        home ??= Path.Combine(Path.GetTempPath(), "vigil-serving-" + Guid.NewGuid().ToString("N"));
        var store = await StoreFactory.OpenAsync(storeSpec, home);
        if ((await store.ListRegisteredModelsAsync()).Count == 0)
        {
            await RegisterAsync(store, "fraud", Bundles.Value[0]);
            await RegisterAsync(store, "fraud", Bundles.Value[1]);
            await RegisterAsync(store, "fraud-ae", Bundles.Value[2]);
            await RegisterAsync(store, "fraud-num", Bundles.Value[3]);
            await store.SetAliasAsync("fraud", "champion", 1, "test");
            await store.SetAliasAsync("fraud-ae", "champion", 1, "test");
        }

        var options = new ServingOptions
        {
            Port = 0,
            Home = home,
            Store = storeSpec,
            Models = ModelSpec.ParseList("fraud,fraud-ae"),
            ApiKeys = ["secret-key"],
            RefreshSeconds = 0,
            InferenceLog = InferenceLogDestination.Off,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        options = configure?.Invoke(options) ?? options;
        WebApplication app;
        if (sink is null)
        {
            app = await VigilServer.BuildAsync(options, configure: services is null ? null : b => services(b.Services));
        }
        else
        {
            // VigilServer.BuildAsync opens the sink the options name; a test sink goes through Configure instead.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
            builder.WebHost.UseKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            services?.Invoke(builder.Services);
            VigilServer.Configure(builder, options, await StoreFactory.OpenAsync(storeSpec, home), sink);
            app = builder.Build();
            VigilServer.Map(app);
        }

        await app.StartAsync();
        var harness = new ServerHarness(home, app, store) { _ownsHome = owns };
        if (waitReady)
        {
            await harness.WaitReadyAsync();
        }

        return harness;
    }

    public static async Task<int> RegisterAsync(ITrackingStore store, string name, ModelBundle bundle)
    {
        var temp = Path.Combine(Path.GetTempPath(), "vigil-test-bundle-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            bundle.Save(temp);
            var stored = await store.Artifacts.PutFileAsync(temp);
            var version = await store.CreateModelVersionAsync(name, new NewModelVersion
            {
                BundleSha256 = stored.Sha256,
                FeatureSchema = string.Join(",", bundle.Manifest.FeatureSchema.Select(c => c.Name)),
            });
            return version.Version;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public async Task WaitReadyAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            using var r = await Client.GetAsync("/readyz");
            if (r.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("server never became ready");
    }

    /// <summary>One instance built from row <paramref name="row"/> of the training data (every feature column).</summary>
    public static JsonObject Instance(int row)
    {
        var o = new JsonObject();
        foreach (var column in Data.Columns)
        {
            switch (column)
            {
                case Float64Column f:
                    o[column.Name] = f.Values[row];
                    break;
                case CategoricalColumn c when column.Name != TransactionColumns.FraudPattern:
                    o[column.Name] = c.Dictionary[c.Codes[row]];
                    break;
            }
        }

        return o;
    }

    public async Task<(int Status, JsonNode Body, HttpResponseMessage Response)> PostJsonAsync(string path, string json, string contentType = "application/json")
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        var response = await Client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text.Length == 0 ? "null" : text)!, response);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Store.DisposeAsync();
        if (!_ownsHome)
        {
            return;
        }

        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
