using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary><c>vigil serve</c> as a process: start-up validation and graceful shutdown on SIGTERM.</summary>
public sealed partial class ServeCliTests
{
    [Fact]
    public void Serve_without_models_fails_with_one_line()
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, "serve", "--port", "0").ShouldFailWithOneLine("--models", "VIGIL_MODELS");
    }

    [Theory]
    [InlineData("VIGIL_PORT", "eighty", "VIGIL_PORT")]
    [InlineData("VIGIL_INFERENCE_LOG", "kafka", "VIGIL_INFERENCE_LOG")]
    [InlineData("VIGIL_CORS_ORIGINS", "not a url", "VIGIL_CORS_ORIGINS")]
    [InlineData("VIGIL_MAX_BODY_BYTES", "-1", "VIGIL_MAX_BODY_BYTES")]
    public void An_invalid_setting_stops_start_up_naming_it(string variable, string value, string named)
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, new Dictionary<string, string> { [variable] = value }, "serve", "--models", "fraud")
            .ShouldFailWithOneLine(named, value);
    }

    [Fact]
    public void An_unknown_appsettings_key_stops_start_up_naming_it()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("appsettings.json"), """{"Vigil": {"Prot": 9000}}""");
        VigilProcess.Run(dir.Path, "serve", "--models", "fraud").ShouldFailWithOneLine("Vigil:Prot");
    }

    [Fact]
    public async Task After_SIGTERM_mid_load_every_answered_request_is_in_the_inference_log()
    {
        using var dir = new TempDir();
        var ct = TestContext.Current.CancellationToken;
        Register(dir);
        var (server, address, stdout, restOfStderr) = await StartServerAsync(dir, ct, "--models", "fraud", "--log-level", "Warning");
        using var _ = server;
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        for (var i = 0; i < 100 && !(await client.GetAsync("/readyz", ct)).IsSuccessStatusCode; i++)
        {
            await Task.Delay(100, ct);
        }

        var answered = new ConcurrentBag<string>();
        var load = StartLoad(client, answered, ct);

        while (answered.Count < 300)
        {
            await Task.Delay(20, ct);
        }

        await TerminateAsync(server, ct);
        await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(60), ct);
        server.ExitCode.ShouldBe(0, await restOfStderr + await stdout);

        await using var log = await InferenceLogStore.OpenAsync(null, Path.Combine(dir.Path, ".vigil-home"), ct);
        var rows = await log.TailAsync(1_000_000, "fraud", ct);
        var logged = rows.Select(r => r.RequestId).ToHashSet(StringComparer.Ordinal);
        answered.Count.ShouldBeGreaterThanOrEqualTo(300);
        answered.Where(id => !logged.Contains(id)).ShouldBeEmpty();
    }

    private static void Register(TempDir dir)
    {
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "3000", "--seed", "3", "--out", "tx.csv").ShouldSucceed();
        VigilProcess.Run(dir.Path, "train", "--data", "tx.csv", "--label", "label", "--id", "transaction_id", "--estimators", "20", "--register", "fraud").ShouldSucceed();
        VigilProcess.Run(dir.Path, "models", "alias", "set", "fraud", "champion", "1").ShouldSucceed();
    }

    /// <summary>Starts `vigil serve --port 0 ARGS` and waits for its address line.</summary>
    private static async Task<(Process Server, string Address, Task<string> StdOut, Task<string> RestOfStdErr)> StartServerAsync(TempDir dir, CancellationToken ct, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "vigil.dll"), "serve", "--port", "0" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["VIGIL_HOME"] = Path.Combine(dir.Path, ".vigil-home");
        psi.Environment["VIGIL_INFERENCE_LOG_CAPACITY"] = "64";
        psi.Environment.Remove("VIGIL_STORE");
        var server = Process.Start(psi)!;
        var stdout = server.StandardOutput.ReadToEndAsync(ct);
        string? address = null;
        var stderr = new StringBuilder();
        while (address is null && await server.StandardError.ReadLineAsync(ct) is { } line)
        {
            stderr.AppendLine(line);
            address = Listening().Match(line) is { Success: true } m ? m.Groups[1].Value : null;
        }

        address.ShouldNotBeNull($"no address in: {stderr}");
        return (server, address, stdout, server.StandardError.ReadToEndAsync(ct));
    }

    private static async Task TerminateAsync(Process server, CancellationToken ct)
    {
        using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }

        await server.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
    }


    [Fact]
    public async Task Log_lines_are_json_and_carry_the_request_id()
    {
        using var dir = new TempDir();
        var ct = TestContext.Current.CancellationToken;
        Register(dir);
        var (server, address, stdout, stderr) = await StartServerAsync(dir, ct, "--models", "fraud", "--log-level", "Information");
        using (server)
        {
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/no-such-endpoint");
            request.Headers.Add("X-Request-ID", "trace-me-42");
            using var response = await client.SendAsync(request, ct);
            response.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
            await TerminateAsync(server, ct);
            server.ExitCode.ShouldBe(0, await stderr);
        }

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldNotBeEmpty();
        foreach (var line in lines)
        {
            System.Text.Json.JsonDocument.Parse(line).Dispose(); // every line is one JSON object
        }

        var requestLine = lines.Single(l => l.Contains("/no-such-endpoint", StringComparison.Ordinal));
        requestLine.ShouldContain("\"RequestId\":\"trace-me-42\"");
        lines.ShouldContain(l => l.Contains("Model fraud version 1 loaded", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"listening on (http://[^\s,]+)")]
    private static partial Regex Listening();

    /// <summary>
    /// Eight clients posting one transaction each to /v1/predict in a loop, each request with its own X-Request-ID;
    /// the ids answered 2xx go to <paramref name="answered"/>. A client ends when the server stops accepting.
    /// </summary>
    internal static Task[] StartLoad(HttpClient client, ConcurrentBag<string> answered, CancellationToken ct)
    {
        var sent = 0;
        var body = """{"model":"fraud","instances":[{"amount":12.5,"hour_of_day":3,"avg_monthly_spend":900,"customer_tenure_days":30,"num_prev_tx_24h":2,"tx_count_7d":4,"tx_count_30d":9,"tx_count_same_merchant_1d":1,"amount_sum_1d":40,"amount_sum_7d":200,"amount_sum_30d":800,"merchant_category":"grocery"}]}""";
        return Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (true)
            {
                var id = $"w{w}-{Interlocked.Increment(ref sent)}";
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("X-Request-ID", id);
                try
                {
                    using var response = await client.SendAsync(request, ct);
                    if (response.IsSuccessStatusCode)
                    {
                        answered.Add(id);
                    }
                }
                catch (HttpRequestException)
                {
                    return; // the server stopped accepting (or is gone)
                }
            }
        }, ct)).ToArray();
    }
}
