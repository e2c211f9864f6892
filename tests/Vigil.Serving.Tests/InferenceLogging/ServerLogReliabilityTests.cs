using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vigil.Tracking;
using static Vigil.Serving.Tests.InferenceLogging.LogTestSupport;

namespace Vigil.Serving.Tests.InferenceLogging;

/// <summary>The inference log's promises over real HTTP: poison rows, store outages in ack mode, a Parquet folder that goes away.</summary>
public sealed class ServerLogReliabilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Body(int row) =>
        new JsonObject { ["model"] = "fraud", ["instances"] = new JsonArray(ServerHarness.Instance(row)) }.ToJsonString();

    [Fact]
    public async Task A_NUL_in_model_error_and_payload_then_2000_requests_on_PostgreSQL_are_all_answered_and_logged_and_the_stop_ends_within_20_s()
    {
        await using var database = await PostgresTestDatabase.CreateAsync("vigil_inflog_");
        var home = NewHome();
        var server = await ServerHarness.StartAsync(
            o => o with { InferenceLog = InferenceLogDestination.Store, InferenceLogPayloads = PayloadMode.Full },
            home,
            storeSpec: database.ConnectionString);

        // a NUL inside a JSON string: the model name and the error detail hold it
        var (status, _, _) = await server.PostJsonAsync("/v1/predict", """{"model":"a\u0000b","instances":[{"amount":1}]}""");
        status.ShouldBe(404);

        // a raw NUL byte in the body: the payload holds it (and the body is not JSON)
        using (var raw = new ByteArrayContent([.. "{\"model\":\"fraud\",\"instances\":[{\"amount\":"u8, 0, .. "}]}"u8]))
        {
            raw.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await server.Client.PostAsync("/v1/predict", raw, Ct);
            ((int)response.StatusCode).ShouldBe(400);
        }

        var ids = await SendAsync(server, 2000, "after-nul");
        ids.Count.ShouldBe(2000);

        var stop = Stopwatch.StartNew();
        await server.DisposeAsync();
        stop.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(20));

        await using var log = await InferenceLogStore.OpenAsync(database.ConnectionString, home, Ct);
        (await log.CountAsync(cancellationToken: Ct)).ShouldBe(2002);
        var rows = await log.TailAsync(3000, cancellationToken: Ct);
        rows.Where(r => r.RequestId.StartsWith("after-nul-", StringComparison.Ordinal)).Select(r => r.RequestId).Order().ShouldBe(ids.Order());
        var altered = rows.Where(r => r.Altered).ToList();
        altered.Count.ShouldBe(2);
        altered.ShouldContain(r => r.Model == "a\uFFFDb" && r.Status == 404 && r.Error!.Contains("a\uFFFDb", StringComparison.Ordinal));
        altered.ShouldContain(r => r.Status == 400 && r.RequestPayload!.Contains('\uFFFD', StringComparison.Ordinal));
        rows.ShouldAllBe(r => !(r.Model ?? "").Contains('\0', StringComparison.Ordinal));
        File.Exists(Path.Combine(home, "inference-log-dead-letter.jsonl")).ShouldBeFalse();
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task In_ack_mode_the_server_keeps_answering_through_a_store_outage_and_loses_no_row()
    {
        var sink = new FaultySink { Down = true };
        await using var server = await ServerHarness.StartAsync(
            o => o with { InferenceLog = InferenceLogDestination.Store, InferenceLogDurability = InferenceLogDurability.Ack },
            sink: sink);
        var during = await SendAsync(server, 300, "outage");
        during.Count.ShouldBe(300);
        sink.Rows.ShouldBeEmpty();
        await EventuallyAsync(() => server.App.Services.GetService(typeof(InferenceLogWriter)) is InferenceLogWriter { Status.State: "retrying" }, "the writer retrying while the sink is down");

        var ready = JsonNode.Parse(await server.Client.GetStringAsync("/readyz", Ct))!;
        ready["status"]!.GetValue<string>().ShouldBe("ready");
        ready["inference_log"]!["durability"]!.GetValue<string>().ShouldBe("ack");
        ready["inference_log"]!["state"]!.GetValue<string>().ShouldBe("retrying");
        ready["inference_log"]!["last_error"]!.GetValue<string>().ShouldContain("connection refused");
        ready["inference_log"]!["wal_bytes"]!.GetValue<long>().ShouldBeGreaterThan(0);

        sink.Down = false;
        var after = await SendAsync(server, 100, "recovered");
        await EventuallyAsync(() => sink.Rows.Count == 400, "every acknowledged row written after the outage");
        sink.Rows.Values.Select(r => r.RequestId).Order().ShouldBe(during.Concat(after).Order());
    }

    [Fact]
    public async Task In_ack_mode_a_real_PostgreSQL_stopped_under_load_and_restarted_loses_no_row_and_no_request_fails()
    {
        // A throwaway cluster of its own (stopping the shared one would break the tests running beside this one).
        // The outage lasts VIGIL_TEST_PG_OUTAGE_SECONDS (5 by default; eng/soak.sh --pg-outage 30 runs the long one).
        var outage = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("VIGIL_TEST_PG_OUTAGE_SECONDS") ?? "5", System.Globalization.CultureInfo.InvariantCulture));
        await using var cluster = await ThrowawayPostgres.StartAsync();
        var home = NewHome();
        var server = await ServerHarness.StartAsync(
            o => o with { InferenceLog = InferenceLogDestination.Store, InferenceLogDurability = InferenceLogDurability.Ack },
            home,
            storeSpec: cluster.ConnectionString);

        var ok = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<string>();
        using var stopLoad = new CancellationTokenSource();
        var sent = 0;
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref sent);
                var id = "outage-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict") { Content = new StringContent(Body(i % 200), Encoding.UTF8, "application/json") };
                request.Headers.Add("X-Request-ID", id);
                using var response = await server.Client.SendAsync(request, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    ok.Add(id);
                }
                else
                {
                    failures.Add(id + ": " + (int)response.StatusCode + " " + await response.Content.ReadAsStringAsync(CancellationToken.None));
                }
            }
        })));

        await EventuallyAsync(() => ok.Count >= 200, "load running before the outage");
        await cluster.PauseAsync();
        var beforeOutage = ok.Count;
        await EventuallyAsync(() => server.App.Services.GetService(typeof(InferenceLogWriter)) is InferenceLogWriter { Status.State: "retrying" }, "the writer retrying while PostgreSQL is down");
        await Task.Delay(outage, Ct);
        var ready = JsonNode.Parse(await server.Client.GetStringAsync("/readyz", Ct))!;
        ready["status"]!.GetValue<string>().ShouldBe("ready");
        ready["inference_log"]!["wal_bytes"]!.GetValue<long>().ShouldBeGreaterThan(0);
        var duringOutage = ok.Count - beforeOutage;
        duringOutage.ShouldBeGreaterThan(100, "the server kept answering while the store was down");

        await cluster.ResumeAsync();
        await EventuallyAsync(() => ok.Count >= beforeOutage + duringOutage + 200, "load running after the restart");
        await stopLoad.CancelAsync();
        await load;
        failures.ShouldBeEmpty();

        await server.DisposeAsync();
        await using var log = await InferenceLogStore.OpenAsync(cluster.ConnectionString, home, Ct);
        var rows = await log.TailAsync(ok.Count + 1000, cancellationToken: Ct);
        rows.Select(r => r.RequestId).Where(id => id.StartsWith("outage-", StringComparison.Ordinal)).Order().ShouldBe(ok.Order());
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task A_Parquet_log_folder_replaced_by_a_file_mid_run_costs_disk_in_ack_mode_and_every_row_arrives_once_it_is_back()
    {
        // chmod cannot make the folder unwritable here (the tests may run as root, which ignores permissions), so the
        // folder is moved away and a plain file put at its path: every write then fails with an I/O error
        var home = NewHome();
        var folder = Path.Combine(home, "parquet-log");
        var server = await ServerHarness.StartAsync(
            o => o with { InferenceLog = InferenceLogDestination.Parquet, InferenceLogFolder = folder, InferenceLogDurability = InferenceLogDurability.Ack },
            home);
        var before = await SendAsync(server, 100, "before");
        await EventuallyAsync(() => CountParquet(folder) == 100, "the first rows in Parquet");

        Directory.Move(folder, folder + ".away");
        await File.WriteAllTextAsync(folder, "not a folder", Ct);
        var during = await SendAsync(server, 150, "during");
        during.Count.ShouldBe(150);
        await EventuallyAsync(() => server.App.Services.GetService(typeof(InferenceLogWriter)) is InferenceLogWriter { Status.State: "retrying" }, "the writer retrying");

        File.Delete(folder);
        Directory.Move(folder + ".away", folder);
        await EventuallyAsync(() => CountParquet(folder) == 250, "every row in Parquet once the folder is back");
        await server.DisposeAsync();

        await using var reader = new ParquetInferenceLogReader(folder);
        var rows = await reader.TailAsync(1000, cancellationToken: Ct);
        rows.Select(r => r.RequestId).Order().ShouldBe(before.Concat(during).Order());
        Directory.Delete(home, recursive: true);
    }

    private static long CountParquet(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return -1;
        }

        var reader = new ParquetInferenceLogReader(folder);
        try
        {
            return reader.CountAsync().GetAwaiter().GetResult();
        }
        catch (TrackingException)
        {
            return -1; // a file being renamed into place
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Sends <paramref name="count"/> scoring requests from 16 workers; returns the ids that got 200.</summary>
    private static async Task<List<string>> SendAsync(ServerHarness server, int count, string prefix)
    {
        var ok = new ConcurrentBag<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var id = prefix + "-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict") { Content = new StringContent(Body(i % 200), Encoding.UTF8, "application/json") };
                request.Headers.Add("X-Request-ID", id);
                using var response = await server.Client.SendAsync(request, Ct);
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
                ok.Add(id);
            }
        }, Ct)));
        return [.. ok];
    }
}
