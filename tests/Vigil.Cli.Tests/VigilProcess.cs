using System.Diagnostics;
using System.Text;

namespace Vigil.Cli.Tests;

/// <summary>The result of running the built <c>vigil</c> program as a process.</summary>
internal sealed record VigilResult(int ExitCode, string StdOut, string StdErr)
{
    public void ShouldSucceed() =>
        ExitCode.ShouldBe(0, $"stderr: {StdErr}\nstdout: {StdOut}");

    /// <summary>Exit code 2 with exactly one readable error line and no stack trace.</summary>
    public void ShouldFailWithOneLine(params string[] fragments)
    {
        ExitCode.ShouldBe(2, $"stderr: {StdErr}\nstdout: {StdOut}");
        var lines = StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Length.ShouldBe(1, $"stderr: {StdErr}");
        lines[0].ShouldStartWith("vigil: error: ");
        StdErr.ShouldNotContain("   at ");
        StdErr.ShouldNotContain("Exception");
        foreach (var f in fragments)
        {
            lines[0].ShouldContain(f, Case.Insensitive);
        }
    }
}

/// <summary>
/// Runs the <c>vigil</c> CLI: in process through <see cref="CliApp.RunAsync"/> with captured output (fast: no process
/// start, no JIT per call), or as a child process (vigil.dll copied next to the tests) for what only a process shows:
/// exit codes and stderr of the real executable, signals, the server, and commands that write to the console directly.
/// </summary>
internal static class VigilProcess
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "vigil.dll");

    /// <summary>In-process runs change the current directory, so they take turns.</summary>
    private static readonly SemaphoreSlim InProcess = new(1, 1);

    public static VigilResult Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, args);

    /// <summary>
    /// Runs vigil with extra environment variables (e.g. VIGIL_HOME pointing into a temp folder): in process when the
    /// only variable is VIGIL_HOME and the command neither serves nor reads the inference log, else as a process.
    /// </summary>
    public static VigilResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        (environment is null || environment.Keys.All(k => k == "VIGIL_HOME")) && args.Length > 0 && args[0] is not ("serve" or "logs")
            ? RunInProcess(workingDirectory, environment?.GetValueOrDefault("VIGIL_HOME"), args)
            : RunProcess(workingDirectory, environment, args);

    /// <summary>Runs vigil in this process with its output captured; the store defaults to <paramref name="home"/> (else workingDirectory/.vigil-home).</summary>
    public static VigilResult RunInProcess(string workingDirectory, string? home, params string[] args) =>
        RunInProcess(workingDirectory, home, terminalWidth: null, args);

    /// <summary>
    /// Runs vigil in this process as if stdout were a terminal <paramref name="terminalWidth"/> columns wide (tables
    /// drawn to that width), or a pipe when null (tables tab-separated).
    /// </summary>
    public static VigilResult RunInProcess(string workingDirectory, string? home, int? terminalWidth, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int exit;
        InProcess.Wait();
        var previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = workingDirectory;
            using (Terminal.Redirect(stdout, stderr, home ?? Path.Combine(workingDirectory, ".vigil-home"), terminalWidth ?? 200, terminal: terminalWidth is not null))
            {
                exit = Task.Run(() => CliApp.RunAsync(args)).GetAwaiter().GetResult();
            }
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            InProcess.Release();
        }

        return new VigilResult(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs vigil as a child process, with extra environment variables.</summary>
    public static VigilResult RunProcess(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        psi.Environment.Remove("VIGIL_STORE");
        psi.Environment.Remove("VIGIL_USER");
        psi.Environment["VIGIL_HOME"] = Path.Combine(workingDirectory, ".vigil-home"); // never the user's ~/.vigil
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"vigil {string.Join(' ', args)} did not finish within 3 minutes");
        }

        return new VigilResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>
/// A <c>vigil</c> process that runs until stopped (<c>scheduler</c>, <c>worker</c>, a long <c>flow run</c>), its stdout
/// and stderr collected as they come; VIGIL_HOME is workingDirectory/.vigil-home unless <c>environment</c> says otherwise.
/// </summary>
internal sealed class LongRunningVigil
{
    private readonly StringBuilder _log = new();
    private readonly StringBuilder _stdout = new();

    private LongRunningVigil(Process process)
    {
        Process = process;
        process.ErrorDataReceived += (_, e) => Append(e.Data, false);
        process.OutputDataReceived += (_, e) => Append(e.Data, true);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public Process Process { get; }

    /// <summary>Every line so far, stdout and stderr interleaved.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The stdout lines so far.</summary>
    public string StdOut
    {
        get
        {
            lock (_log)
            {
                return _stdout.ToString();
            }
        }
    }

    public static LongRunningVigil Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "vigil.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        psi.Environment["VIGIL_HOME"] = System.IO.Path.Combine(workingDirectory, ".vigil-home");
        psi.Environment.Remove("VIGIL_STORE");
        psi.Environment.Remove("VIGIL_ARTIFACTS");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        return new LongRunningVigil(Process.Start(psi)!);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the deadline passes or the process ended without it.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Log.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (Process.HasExited)
            {
                Process.WaitForExit();
                return Log.Contains(text, StringComparison.Ordinal);
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return false;
    }

    /// <summary>SIGTERM (the process stops cleanly), then a kill if it has not ended within 30 s.</summary>
    public void Stop()
    {
        if (Process.HasExited)
        {
            Process.WaitForExit();
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        if (!Process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.WaitForExit(); // flush the async readers
    }

    private void Append(string? line, bool stdout)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
            if (stdout)
            {
                _stdout.AppendLine(line);
            }
        }
    }
}

/// <summary>A temporary folder removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vigil-cli-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
