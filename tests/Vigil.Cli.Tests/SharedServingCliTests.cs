using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vigil.Serving.Tests;
using Vigil.Tracking;
using Vigil.Tracking.Tests;

namespace Vigil.Cli.Tests;

/// <summary>
/// Several machines on one registry: artifacts shared through Azure Blob (Azurite) so a server with an empty
/// VIGIL_HOME serves what another trained, and alias moves reaching every <c>vigil serve</c> replica on PostgreSQL
/// through LISTEN/NOTIFY (polling as the fallback).
/// </summary>
public sealed partial class SharedServingCliTests
{
    private const string Row = """{"amount":12.5,"hour_of_day":3,"avg_monthly_spend":900,"customer_tenure_days":30,"num_prev_tx_24h":2,"tx_count_7d":4,"tx_count_30d":9,"tx_count_same_merchant_1d":1,"amount_sum_1d":40,"amount_sum_7d":200,"amount_sum_30d":800,"merchant_category":"grocery"}""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_model_trained_under_one_home_is_served_by_a_server_with_another_empty_home()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_blob_");
        await using var container = AzuriteTestContainer.Create();
        using var dir = new TempDir();
        var trainer = new Dictionary<string, string>
        {
            ["VIGIL_HOME"] = dir.File("trainer-home"),
            ["VIGIL_STORE"] = db.ConnectionString,
            ["VIGIL_ARTIFACTS"] = $"az://{container.Name}/vigil",
            ["AZURE_STORAGE_CONNECTION_STRING"] = container.ConnectionString,
        };
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "3000", "--seed", "3", "--out", "tx.csv").ShouldSucceed();
        VigilProcess.Run(dir.Path, trainer, "train", "--data", "tx.csv", "--label", "label", "--id", "transaction_id", "--estimators", "20", "--register", "fraud").ShouldSucceed();
        VigilProcess.Run(dir.Path, trainer, "models", "alias", "set", "fraud", "champion", "1").ShouldSucceed();

        Directory.Exists(Path.Combine(trainer["VIGIL_HOME"], "artifacts")).ShouldBeFalse("the bundle went to the blob container, not the trainer's home");
        var blobs = new List<string>();
        await foreach (var blob in container.Client.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "vigil/sha256/", Ct))
        {
            blobs.Add(blob.Name);
        }

        blobs.ShouldNotBeEmpty();

        var serverHome = dir.File("server-home");
        Directory.CreateDirectory(serverHome);
        Directory.EnumerateFileSystemEntries(serverHome).ShouldBeEmpty();
        var env = new Dictionary<string, string>(trainer) { ["VIGIL_HOME"] = serverHome, ["VIGIL_INFERENCE_LOG"] = "off" };
        await using var server = await Server.StartAsync(dir.Path, env, "--models", "fraud@champion");
        await server.WaitReadyAsync();

        (await server.PredictedVersionAsync()).ShouldBe(1);
        var cached = Directory.GetFiles(Path.Combine(serverHome, "cache", "artifacts"), "*", SearchOption.AllDirectories);
        cached.Length.ShouldBe(1, "the served bundle was downloaded once into the server's verified cache");
        blobs.ShouldContain(b => b.EndsWith(Path.GetFileName(cached[0]), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retrain_flow_on_azurite_is_served_from_an_empty_home_with_the_trainer_scores_and_resumed_from_a_third()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_flowblob_");
        await using var container = AzuriteTestContainer.Create();
        using var dir = new TempDir();
        Dictionary<string, string> Machine(string home) => new()
        {
            ["VIGIL_HOME"] = dir.File(home),
            ["VIGIL_STORE"] = db.ConnectionString,
            ["VIGIL_ARTIFACTS"] = $"az://{container.Name}/vigil",
            ["AZURE_STORAGE_CONNECTION_STRING"] = container.ConnectionString,
            ["VIGIL_INFERENCE_LOG"] = "off",
        };

        // machine 1: the retrain flow (generated data, two small candidates), then its own scores of new rows with the champion
        var trainer = Machine("trainer-home");
        var run = VigilProcess.Run(dir.Path, trainer, "flow", "run", "retrain", "--sample-size", "3000", "--register", "fraud",
            "--param", "candidates=[{model: iforest, estimators: 20}, {model: iforest, estimators: 30, maxSamples: 128}]", "--param", "min-rows=500");
        run.ShouldSucceed();
        var runId = run.StdOut.Split('\n')[0].Trim();
        Directory.Exists(Path.Combine(trainer["VIGIL_HOME"], "artifacts")).ShouldBeFalse("step outputs and bundles went to the blob container");
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "40", "--seed", "11", "--out", "new.csv").ShouldSucceed();
        await using (var store = await StoreFactory.OpenAsync(db.ConnectionString, trainer["VIGIL_HOME"],
            ArtifactStoreFactory.Open(trainer["VIGIL_ARTIFACTS"], trainer["VIGIL_HOME"], container.ConnectionString), TimeProvider.System, Ct))
        {
            // what `vigil score --model models:/fraud@champion` runs, in this process (one process start less)
            await new Vigil.Lifecycle.ModelLifecycle(store).ScoreFileAsync(new Vigil.Lifecycle.ScoreFileOptions
            {
                Model = "models:/fraud@champion", Data = dir.File("new.csv"), Output = dir.File("trainer-scores.csv"),
            }, null, Ct);
        }

        var expected = CsvColumn(await File.ReadAllTextAsync(dir.File("trainer-scores.csv"), Ct), "score");
        expected.Length.ShouldBe(40);

        // machine 2: an empty home serves the champion the flow promoted, with the same scores over HTTP
        var server = Machine("server-home");
        Directory.CreateDirectory(server["VIGIL_HOME"]);
        await using (var serve = await Server.StartAsync(dir.Path, server, "--models", "fraud@champion"))
        {
            await serve.WaitReadyAsync();
            (await serve.PredictedVersionAsync()).ShouldBe(1);
            using var response = await serve.Client.PostAsync("/models/fraud/invocations",
                new StringContent(await File.ReadAllTextAsync(dir.File("new.csv"), Ct), Encoding.UTF8, "text/csv"), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            response.IsSuccessStatusCode.ShouldBeTrue(body);
            using var json = JsonDocument.Parse(body);
            var served = json.RootElement.GetProperty("predictions").EnumerateArray().Select(p => p.GetDouble()).ToArray();
            served.Length.ShouldBe(expected.Length);
            for (var i = 0; i < served.Length; i++)
            {
                served[i].ShouldBe(expected[i], 1e-9, $"row {i}: the server's score differs from the trainer's");
            }
        }

        Directory.Exists(Path.Combine(server["VIGIL_HOME"], "artifacts")).ShouldBeFalse();

        // machine 3: another empty home resumes the flow run: the steps that do not depend on the champion are reused (their
        // outputs stay in the container), the ones that read the champion (now version 1) run again on downloaded inputs
        var third = Machine("third-home");
        var resume = VigilProcess.Run(dir.Path, third, "flow", "resume", runId, "--json");
        resume.ShouldSucceed();
        using var resumed = JsonDocument.Parse(resume.StdOut[resume.StdOut.IndexOf('\n', StringComparison.Ordinal)..]); // after the run id line
        resumed.RootElement.GetProperty("status").GetString().ShouldBe("finished");
        var reused = resumed.RootElement.GetProperty("steps").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("reused").GetBoolean());
        // sync too: its input, write-metrics' result, is the same "switched off" JSON as before
        reused.Where(kv => kv.Value).Select(kv => kv.Key).ShouldBe(["ingest", "split", "candidates", "evaluate", "leaderboard", "sync"], ignoreOrder: true);
        reused["validate"].ShouldBeFalse();
        reused["promote"].ShouldBeFalse();
        Directory.Exists(Path.Combine(third["VIGIL_HOME"], "artifacts")).ShouldBeFalse();
        Directory.GetFiles(Path.Combine(third["VIGIL_HOME"], "cache", "artifacts"), "*", SearchOption.AllDirectories)
            .ShouldNotBeEmpty("the rerun steps read their inputs through the new home's verified cache");
    }

    /// <summary>The values of one column of a simple CSV text (no quoted commas), culture-invariant.</summary>
    private static double[] CsvColumn(string csv, string column)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var index = Array.IndexOf(lines[0].Split(','), column);
        index.ShouldBeGreaterThanOrEqualTo(0, $"no column {column}: {lines[0]}");
        return [.. lines.Skip(1).Select(l => double.Parse(l.Split(',')[index], System.Globalization.CultureInfo.InvariantCulture))];
    }

    [Fact]
    public async Task After_an_alias_move_three_replicas_on_postgres_serve_the_new_version_within_a_second()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("vigil_notify_");
        using var dir = new TempDir();
        var env = new Dictionary<string, string>
        {
            ["VIGIL_STORE"] = db.ConnectionString,
            ["VIGIL_INFERENCE_LOG"] = "off",
            ["VIGIL_REFRESH_SECONDS"] = "3600", // polling cannot be what swaps within the test
        };
        RegisterTwoVersions(dir, db.ConnectionString);

        var servers = new List<Server>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                servers.Add(await Server.StartAsync(dir.Path, env, "--models", "fraud@champion"));
            }

            foreach (var s in servers)
            {
                await s.WaitReadyAsync();
                await s.WaitListeningAsync();
                (await s.PredictedVersionAsync()).ShouldBe(1);
            }

            // the move, through the library (what `vigil models alias set` calls); the clocks start when its commit returns
            Task<TimeSpan>[] waits;
            await using (var store = await StoreFactory.OpenAsync(db.ConnectionString, dir.File(".vigil-home"), Ct))
            {
                await store.SetAliasAsync("fraud", "champion", 2, "test", "promotion reaches running servers", Ct);
                waits = [.. servers.Select(s => s.WaitForVersionAsync(2, TimeSpan.FromSeconds(10)))];
            }

            var seen = await Task.WhenAll(waits);
            var output = TestContext.Current.TestOutputHelper;
            output?.WriteLine($"replicas serving version 2 after: {string.Join(", ", seen.Select(t => $"{t.TotalMilliseconds:F0} ms"))}");
            foreach (var elapsed in seen)
            {
                elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1));
            }

            foreach (var s in servers)
            {
                using var models = await s.GetJsonAsync("/v1/models");
                var model = models.RootElement.GetProperty("models")[0];
                model.GetProperty("version").GetInt32().ShouldBe(2);
                var swap = model.GetProperty("lastSwap");
                swap.GetProperty("from").GetInt32().ShouldBe(1);
                swap.GetProperty("to").GetInt32().ShouldBe(2);
                swap.GetProperty("trigger").GetString().ShouldBe("notify");
                var refresh = models.RootElement.GetProperty("refresh");
                refresh.GetProperty("mode").GetString().ShouldBe("notify+poll");
                refresh.GetProperty("notifications").GetInt64().ShouldBeGreaterThanOrEqualTo(1);
                var metrics = await s.Client.GetStringAsync("/metrics", Ct);
                metrics.ShouldContain("vigil_model_swaps_total{model=\"fraud\",trigger=\"notify\"} 1");
                metrics.ShouldContain("vigil_registry_listener_connected 1");
                metrics.ShouldContain("vigil_model_swapped_timestamp_seconds{model=\"fraud\"}");
            }
        }
        finally
        {
            foreach (var s in servers)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task With_polling_only_an_alias_move_is_served_within_the_refresh_interval()
    {
        using var dir = new TempDir();
        var env = new Dictionary<string, string> { ["VIGIL_INFERENCE_LOG"] = "off", ["VIGIL_REFRESH_SECONDS"] = "1" };
        RegisterTwoVersions(dir, null); // SQLite: polling is the only way
        await using var server = await Server.StartAsync(dir.Path, env, "--models", "fraud@champion");
        await server.WaitReadyAsync();
        (await server.PredictedVersionAsync()).ShouldBe(1);

        VigilProcess.Run(dir.Path, "models", "alias", "set", "fraud", "champion", "2").ShouldSucceed(); // in process: the clock starts at its commit
        var elapsed = await server.WaitForVersionAsync(2, TimeSpan.FromSeconds(15));
        TestContext.Current.TestOutputHelper?.WriteLine($"polling (1 s) swapped after {elapsed.TotalMilliseconds:F0} ms from the alias move");

        elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(1.5), "one refresh interval plus the time of one load on a loaded machine");
        using var models = await server.GetJsonAsync("/v1/models");
        models.RootElement.GetProperty("models")[0].GetProperty("lastSwap").GetProperty("trigger").GetString().ShouldBe("poll");
        models.RootElement.GetProperty("refresh").GetProperty("mode").GetString().ShouldBe("poll");
        models.RootElement.GetProperty("refresh").GetProperty("listening").GetBoolean().ShouldBeFalse();
    }

    /// <summary>
    /// Trains two different iforest versions of <c>fraud</c> and points <c>champion</c> at version 1 (in this process, on
    /// <paramref name="store"/> or the SQLite store of the servers' home dir/.vigil-home).
    /// </summary>
    private static void RegisterTwoVersions(TempDir dir, string? store)
    {
        string[] where = store is null ? [] : ["--store", store];
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "3000", "--seed", "3", "--out", "tx.csv").ShouldSucceed();
        VigilProcess.Run(dir.Path, ["train", "--data", "tx.csv", "--label", "label", "--id", "transaction_id", "--estimators", "20", "--seed", "1", "--register", "fraud", .. where]).ShouldSucceed();
        VigilProcess.Run(dir.Path, ["train", "--data", "tx.csv", "--label", "label", "--id", "transaction_id", "--estimators", "25", "--seed", "2", "--register", "fraud", .. where]).ShouldSucceed();
        VigilProcess.Run(dir.Path, ["models", "alias", "set", "fraud", "champion", "1", .. where]).ShouldSucceed();
    }

    /// <summary>A <c>vigil serve --port 0</c> child process, killed on dispose.</summary>
    private sealed partial class Server : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();

        private Server(Process process, string address)
        {
            _process = process;
            Client = new HttpClient { BaseAddress = new Uri(address) };
        }

        public HttpClient Client { get; }

        public static async Task<Server> StartAsync(string workingDirectory, IReadOnlyDictionary<string, string> env, params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "vigil.dll"), "serve", "--port", "0", "--log-level", "Warning" }.Concat(args))
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment.Remove("VIGIL_STORE");
            psi.Environment["VIGIL_HOME"] = Path.Combine(workingDirectory, ".vigil-home");
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }

            var process = Process.Start(psi)!;
            _ = process.StandardOutput.ReadToEndAsync(Ct);
            var seen = new StringBuilder();
            string? address = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            while (address is null && await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
            {
                seen.AppendLine(line);
                address = Listening().Match(line) is { Success: true } m ? m.Groups[1].Value : null;
            }

            if (address is null)
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw new InvalidOperationException($"vigil serve printed no address: {seen}");
            }

            var server = new Server(process, address);
            _ = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync(CancellationToken.None) is { } line)
                {
                    lock (server._stderr)
                    {
                        server._stderr.AppendLine(line);
                    }
                }
            });
            return server;
        }

        public Task WaitReadyAsync() => WaitAsync(async () => (await Client.GetAsync("/readyz", Ct)).IsSuccessStatusCode, "ready", TimeSpan.FromSeconds(60));

        public Task WaitListeningAsync() => WaitAsync(async () =>
        {
            using var models = await GetJsonAsync("/v1/models");
            return models.RootElement.GetProperty("refresh").GetProperty("listening").GetBoolean();
        }, "listening for registry changes", TimeSpan.FromSeconds(30));

        public async Task<JsonDocument> GetJsonAsync(string path) =>
            JsonDocument.Parse(await Client.GetStringAsync(path, Ct));

        public async Task<int> PredictedVersionAsync()
        {
            using var response = await Client.PostAsync("/v1/predict", new StringContent($$"""{"model":"fraud","instances":[{{Row}}]}""", Encoding.UTF8, "application/json"), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            response.IsSuccessStatusCode.ShouldBeTrue(body);
            using var json = JsonDocument.Parse(body);
            return json.RootElement.GetProperty("version").GetInt32();
        }

        /// <summary>Polls /v1/predict every 10 ms until it answers with <paramref name="version"/>; returns how long that took.</summary>
        public async Task<TimeSpan> WaitForVersionAsync(int version, TimeSpan limit)
        {
            var watch = Stopwatch.StartNew();
            while (await PredictedVersionAsync() != version)
            {
                if (watch.Elapsed > limit)
                {
                    throw new TimeoutException($"still not serving version {version} after {limit}; stderr: {Stderr}");
                }

                await Task.Delay(10, Ct);
            }

            return watch.Elapsed;
        }

        private string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        private async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan limit)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    if (await condition())
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (deadline.Elapsed > limit)
                {
                    throw new TimeoutException($"server not {what} after {limit}; stderr: {Stderr}");
                }

                await Task.Delay(50, Ct);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }

        [GeneratedRegex(@"listening on (http://[^\s,]+)")]
        private static partial Regex Listening();
    }
}
