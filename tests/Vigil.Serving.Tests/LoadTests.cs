using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>The server under concurrent load: hot swaps and the inference log.</summary>
public sealed class LoadTests
{
    private static string Body(int row) =>
        new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(row)) }.ToJsonString();

    [Fact]
    public async Task Hot_swap_under_load_fails_no_request_and_never_mixes_versions()
    {
        await using var server = await ServerHarness.StartAsync(o => o with { InferenceLog = InferenceLogDestination.Store });
        var ct = TestContext.Current.CancellationToken;
        var cache = (ModelCache)server.App.Services.GetService(typeof(ModelCache))!;

        // The score each version gives to each request row: a response must match its version's score exactly.
        var bundles = new Dictionary<int, ModelBundle>();
        foreach (var v in new[] { 1, 2 })
        {
            var path = await server.Store.GetVerifiedBundlePathAsync(await server.Store.GetModelVersionAsync("fraud", v, ct), ct);
            bundles[v] = ModelBundle.Load(path);
        }

        var expected = bundles.ToDictionary(kv => kv.Key, kv => kv.Value.Score(ServerHarness.Data));

        // served[k] = (version, swap window start, swap window end): version k was served from some time in its
        // window until some time in the next window.
        var clock = Stopwatch.StartNew();
        var swaps = new List<(int Version, double From, double To)> { (1, 0, 0) };
        var results = new ConcurrentBag<(double Start, double End, int Status, int Version, int Row, double Score)>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var row = worker;
            while (!stop.IsCancellationRequested)
            {
                row = (row + 8) % 200;
                var start = clock.Elapsed.TotalMilliseconds;
                var (status, body, _) = await server.PostJsonAsync("/v1/predict", Body(row));
                var end = clock.Elapsed.TotalMilliseconds;
                results.Add((start, end, status, status == 200 ? body["version"]!.GetValue<int>() : -1, row,
                    status == 200 ? body["predictions"]![0]!["score"]!.GetValue<double>() : double.NaN));
            }
        }, ct)).ToArray();

        for (var i = 1; i <= 100; i++)
        {
            var version = i % 2 == 1 ? 2 : 1;
            await server.Store.SetAliasAsync("fraud", "champion", version, "load-test", cancellationToken: ct);
            var from = clock.Elapsed.TotalMilliseconds;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/refresh-models");
            request.Headers.Add("X-API-Key", "secret-key");
            using var response = await server.Client.SendAsync(request, ct);
            response.EnsureSuccessStatusCode();
            swaps.Add((version, from, clock.Elapsed.TotalMilliseconds));
            cache.Find("fraud")!.Version.ShouldBe(version);
            await Task.Delay(5, ct);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);

        var all = results.ToList();
        all.Count.ShouldBeGreaterThan(200);
        all.Count(r => r.Status != 200).ShouldBe(0);
        var versionsSeen = all.Select(r => r.Version).Distinct().Order().ToList();
        versionsSeen.ShouldBe([1, 2]);
        foreach (var r in all)
        {
            r.Score.ShouldBe(expected[r.Version][r.Row], $"row {r.Row} answered as version {r.Version} with another version's score");

            // The version was being served at some point of the request: its service period overlaps the request.
            var overlaps = false;
            for (var k = 0; k < swaps.Count && !overlaps; k++)
            {
                var servedFrom = swaps[k].From;
                var servedTo = k + 1 < swaps.Count ? swaps[k + 1].To : double.MaxValue;
                overlaps = swaps[k].Version == r.Version && servedFrom <= r.End && r.Start <= servedTo;
            }

            overlaps.ShouldBeTrue($"a request in [{r.Start:F1}, {r.End:F1}] ms got version {r.Version}, which was not served then");
        }
    }

    [Fact]
    public Task After_a_load_run_in_back_pressure_mode_the_log_holds_exactly_one_row_per_request() => LoadAndCountAsync(2000, null);

    [Fact]
    public async Task The_same_holds_with_a_PostgreSQL_store_and_log()
    {
        await using var database = await PostgresTestDatabase.CreateAsync("vigil_serving_");
        await LoadAndCountAsync(1000, database.ConnectionString);
    }

    private static async Task LoadAndCountAsync(int requests, string? storeSpec)
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-serving-" + Guid.NewGuid().ToString("N"));
        var server = await ServerHarness.StartAsync(
            o => o with { InferenceLog = InferenceLogDestination.Store, InferenceLogCapacity = 32, InferenceLogBatch = 16, InferenceLogWhenFull = QueueFullMode.Wait },
            home,
            storeSpec: storeSpec);
        var ct = TestContext.Current.CancellationToken;
        var ids = new ConcurrentBag<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict") { Content = new StringContent(Body(i % 200), System.Text.Encoding.UTF8, "application/json") };
                var id = "load-" + i;
                request.Headers.Add("X-Request-ID", id);
                using var response = await server.Client.SendAsync(request, ct);
                response.EnsureSuccessStatusCode();
                ids.Add(id);
            }
        }, ct)));

        await server.DisposeAsync(); // stops the server: the log queue drains

        await using var log = await InferenceLogStore.OpenAsync(storeSpec, home, ct);
        (await log.CountAsync(cancellationToken: ct)).ShouldBe(requests);
        var rows = await log.TailAsync(requests, cancellationToken: ct);
        rows.Select(r => r.RequestId).Order().ShouldBe(ids.Order());
        foreach (var r in rows)
        {
            r.Status.ShouldBe(200);
            r.Model.ShouldBe("fraud");
            r.Version.ShouldBe(1);
            r.Rows.ShouldBe(1);
            r.ScoredRows.ShouldBe(1);
            r.EndUs.ShouldBeGreaterThan(r.StartUs);
            (r.ParseUs + r.TransformUs + r.ScoreUs).ShouldBeLessThanOrEqualTo(r.EndUs - r.StartUs);
            r.ParseUs.ShouldBeGreaterThanOrEqualTo(0);
            r.TransformUs.ShouldBeGreaterThanOrEqualTo(0);
            r.ScoreUs.ShouldBeGreaterThanOrEqualTo(0);
            r.RequestPayload.ShouldNotBeNull().ShouldContain("\"fraud\"");
            r.ResponsePayload.ShouldNotBeNull().ShouldContain("\"predictions\"");
        }

        rows.Sum(r => r.ScoreUs).ShouldBeGreaterThan(0);
        Directory.Delete(home, recursive: true);
    }
}
