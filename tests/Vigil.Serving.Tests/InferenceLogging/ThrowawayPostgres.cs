using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Vigil.Serving.Tests.InferenceLogging;

/// <summary>
/// A PostgreSQL cluster of the test's own (eng/postgres.sh start), which the test may stop and start again
/// (eng/postgres.sh pause / resume) to cause a real outage; removed on dispose. Skipped locally and failed under
/// <c>CI=true</c> when PostgreSQL cannot be started, as the other PostgreSQL tests are.
/// </summary>
internal sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _dir;

    private ThrowawayPostgres(string script, string dir, string connectionString)
    {
        _script = script;
        _dir = dir;
        ConnectionString = connectionString;
    }

    /// <summary>The cluster's connection string (database <c>postgres</c>, a store spec).</summary>
    public string ConnectionString { get; }

    public static async Task<ThrowawayPostgres> StartAsync()
    {
        var script = Path.Combine(FindRepositoryRoot(), "eng", "postgres.sh");
        var dir = Path.Combine("/tmp", "vigil-outage-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var (code, output, error) = await RunAsync(script, "start", dir, FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (code != 0)
        {
            var why = $"eng/postgres.sh start failed ({code}): {error.Trim()}";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(why);
            }

            Assert.Skip(why);
        }

        return new ThrowawayPostgres(script, dir, output.Trim());
    }

    /// <summary>Stops the server (fast shutdown: open connections are cut), keeping its data.</summary>
    public async Task PauseAsync()
    {
        var (code, _, error) = await RunAsync(_script, "pause", _dir);
        code.ShouldBe(0, error);
    }

    /// <summary>Starts the server again on the same port and waits until it accepts connections.</summary>
    public async Task ResumeAsync()
    {
        var (code, _, error) = await RunAsync(_script, "resume", _dir);
        code.ShouldBe(0, error);
    }

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await RunAsync(_script, "stop", _dir);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A port that nothing listens on, below the ephemeral range where client sockets come and go.</summary>
    private static int FreePort()
    {
        for (var port = 26000 + Random.Shared.Next(0, 4000); ; port++)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (SocketException)
            {
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Vigil.slnx) is not above " + AppContext.BaseDirectory);
    }
}
