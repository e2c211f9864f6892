using System.Diagnostics;
using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>Ctrl+C (SIGINT) of a tracked command, as a process: exit code 130 and the run ends KILLED.</summary>
public sealed class CancelCliTests
{
    [Fact]
    public async Task SIGINT_during_tracked_training_exits_130_and_ends_the_run_killed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path, "generate", "transactions", "--rows", "50000", "--seed", "4", "--out", "tx.parquet").ShouldSucceed();

        // env --default-signal=INT: a process started in the background by a non-interactive shell (nohup, `cmd &`) has
        // SIGINT ignored, and a child inherits that; the CLI would then never see the Ctrl+C this test sends.
        var psi = new ProcessStartInfo("env") { WorkingDirectory = dir.Path, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "vigil.dll"), "train", "--data", "tx.parquet", "--label", "label", "--kind", "autoencoder",
            "--epochs", "10000", "--patience", "10000", "--experiment", "ctrl-c", "--out", "model",
        })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["VIGIL_HOME"] = Path.Combine(dir.Path, ".vigil-home");
        psi.Environment.Remove("VIGIL_STORE");
        using var train = Process.Start(psi)!;
        var stdout = train.StandardOutput.ReadToEndAsync(ct);
        var stderr = train.StandardError.ReadToEndAsync(ct);

        // Poll (no sleep-and-hope) until the run exists, i.e. the command is past start-up and inside the operation.
        await using (var store = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(dir.Path, ".vigil-home", "vigil.db"), Path.Combine(dir.Path, ".vigil-home"), ct))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while ((await store.FindExperimentAsync("ctrl-c", ct)) is null || (await store.ListRunsAsync("ctrl-c", cancellationToken: ct)).Count == 0)
            {
                if (train.HasExited)
                {
                    Assert.Fail($"train ended early: {await stderr}");
                }

                DateTime.UtcNow.ShouldBeLessThan(deadline, "no run was created within 2 minutes");
                await Task.Delay(50, ct);
            }
        }

        using (var kill = Process.Start("kill", ["-INT", train.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await train.WaitForExitAsync(timeout.Token);

        train.ExitCode.ShouldBe(130, $"stderr: {await stderr}\nstdout: {await stdout}");
        (await stderr).ShouldContain("vigil: error: cancelled");
        Directory.Exists(dir.File("model")).ShouldBeFalse("a cancelled training writes no bundle");
        await using var after = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(dir.Path, ".vigil-home", "vigil.db"), Path.Combine(dir.Path, ".vigil-home"), ct);
        (await after.ListRunsAsync("ctrl-c", cancellationToken: ct)).ShouldHaveSingleItem().Status.ShouldBe(RunStatus.Killed);
    }
}
