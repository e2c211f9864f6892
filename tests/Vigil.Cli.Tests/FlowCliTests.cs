using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Vigil.Cli.Tests;

public sealed class FlowCliTests
{
    /// <summary>
    /// Three exec steps: <c>first</c> appends a line to a counter file (so a rerun shows) and writes its output; <c>slow</c>
    /// waits while the gate file exists, then copies it; <c>last</c> copies that again.
    /// </summary>
    private const string Flow = """
        name: killable
        params:
          counter: ""
          gate: ""
        steps:
          - name: first
            uses: exec
            outputs: [data.txt]
            with: { command: "echo ran >> '${params.counter}'; echo hello > ${outputs.data}" }
          - name: slow
            uses: exec
            inputs: { data: first.data }
            outputs: [copy.txt]
            with: { command: "while [ -f '${params.gate}' ]; do sleep 0.05; done; cp ${inputs.data} ${outputs.copy}" }
          - name: last
            uses: exec
            inputs: { data: slow.copy }
            outputs: [final.txt]
            with: { command: "cat ${inputs.data} > ${outputs.final}" }
        """;

    [Fact]
    public async Task Kill_9_in_the_middle_of_a_step_then_resume_reuses_finished_steps_and_finishes()
    {
        using var dir = new TempDir();
        var flowFile = dir.File("killable.yaml");
        await File.WriteAllTextAsync(flowFile, Flow, TestContext.Current.CancellationToken);
        var counter = dir.File("counter.txt");
        var gate = dir.File("gate");
        await File.WriteAllTextAsync(gate, "hold", TestContext.Current.CancellationToken);
        var home = Path.Combine(dir.Path, ".vigil-home");

        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "vigil.dll"), "flow", "run", flowFile, "--param", $"counter={counter}", "--param", $"gate={gate}" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["VIGIL_HOME"] = home;
        psi.Environment.Remove("VIGIL_STORE");
        string runId;
        using (var process = Process.Start(psi)!)
        {
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            try
            {
                // The first line of stdout is the flow run id.
                runId = (await process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken))!.Trim();
                runId.Length.ShouldBe(32);

                // Poll (deadline 60 s) until the slow step is running, then kill the process hard.
                await PollAsync(() => StepStatus(dir.Path, home, runId, "slow") == "running", TimeSpan.FromSeconds(60));
            }
            finally
            {
                process.Kill(); // SIGKILL: no chance to clean up
                await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            _ = await stderr;
        }

        File.Delete(gate); // lets the orphaned command (and any rerun) finish

        var interrupted = Show(dir.Path, home, runId);
        interrupted["status"]!.GetValue<string>().ShouldBe("interrupted");
        Steps(interrupted).ShouldBe([("first", "finished", 1, false), ("slow", "interrupted", 1, false), ("last", "pending", 0, false)]);
        var firstHash = Output(interrupted, "first");

        var resume = VigilProcess.RunProcess(dir.Path, new Dictionary<string, string> { ["VIGIL_HOME"] = home }, "flow", "resume", runId);
        resume.ShouldSucceed();
        var newId = resume.StdOut.Split('\n')[0].Trim();
        newId.ShouldNotBe(runId);
        resume.StdErr.ShouldContain($"first: reused from run");

        var resumed = Show(dir.Path, home, newId);
        resumed["status"]!.GetValue<string>().ShouldBe("finished");
        resumed["resumed_from"]!.GetValue<string>().ShouldBe(runId);
        Steps(resumed).ShouldBe([("first", "finished", 0, true), ("slow", "finished", 1, false), ("last", "finished", 1, false)]);
        Output(resumed, "first").ShouldBe(firstHash); // same output, not rerun:
        (await File.ReadAllLinesAsync(counter, TestContext.Current.CancellationToken)).ShouldBe(["ran"]);

        // The old run now says why it stopped; `flow list` shows both.
        var old = Show(dir.Path, home, runId);
        old["status"]!.GetValue<string>().ShouldBe("failed");
        old["error"]!.GetValue<string>().ShouldContain("interrupted");
        var list = JsonNode.Parse(VigilProcess.RunInProcess(dir.Path, home, "flow", "list", "--json").StdOut)!.AsArray();
        list.Select(r => r!["id"]!.GetValue<string>()).ShouldBe([newId, runId]);
    }

    [Fact]
    public void A_failing_flow_exits_5_with_one_error_line_naming_the_step_and_reason()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("f.yaml"), """
            name: bad
            steps:
              - name: boom
                uses: exec
                with: { command: "echo 'no such table' >&2; exit 3" }
            """);
        var r = VigilProcess.RunInProcess(dir.Path, null, "flow", "run", dir.File("f.yaml"));
        r.ExitCode.ShouldBe(5, r.StdErr);
        r.StdErr.Split('\n').Where(l => l.StartsWith("vigil: error:", StringComparison.Ordinal)).ShouldHaveSingleItem()
            .ShouldContain("step boom failed: command exited with code 3: no such table");
        var show = Show(dir.Path, Path.Combine(dir.Path, ".vigil-home"), r.StdOut.Split('\n')[0].Trim());
        Steps(show).ShouldBe([("boom", "failed", 1, false)]);
    }

    [Fact]
    public void Bad_flow_arguments_are_one_line_errors()
    {
        using var dir = new TempDir();
        VigilProcess.RunInProcess(dir.Path, null, "flow", "run", "nosuchflow").ShouldFailWithOneLine("'nosuchflow' is neither a flow file nor a built-in flow; built-in flows: retrain");
        VigilProcess.RunInProcess(dir.Path, null, "flow", "run", "retrain", "--param", "sample=5").ShouldFailWithOneLine("--param sample: flow 'retrain' has no such parameter");
        File.WriteAllText(dir.File("f.yaml"), "name: x\nsteps:\n  - name: a\n    uses: train\n    with: { modle: iforest }\n");
        VigilProcess.RunInProcess(dir.Path, null, "flow", "run", dir.File("f.yaml")).ShouldFailWithOneLine("step 'a': 'train' needs input 'data'");
    }

    private static JsonObject Show(string dir, string home, string runId)
    {
        var r = VigilProcess.RunInProcess(dir, home, "flow", "show", runId, "--json");
        r.ShouldSucceed();
        return JsonNode.Parse(r.StdOut)!.AsObject();
    }

    private static string? StepStatus(string dir, string home, string runId, string step)
    {
        var r = VigilProcess.RunInProcess(dir, home, "flow", "show", runId, "--json");
        return r.ExitCode != 0 ? null : JsonNode.Parse(r.StdOut)!["steps"]!.AsArray().First(s => s!["name"]!.GetValue<string>() == step)!["status"]!.GetValue<string>();
    }

    private static List<(string, string, int, bool)> Steps(JsonObject run) =>
        [.. run["steps"]!.AsArray().Select(s => (s!["name"]!.GetValue<string>(), s["status"]!.GetValue<string>(), s["attempts"]!.GetValue<int>(), s["reused"]!.GetValue<bool>()))];

    private static string Output(JsonObject run, string step) =>
        run["steps"]!.AsArray().First(s => s!["name"]!.GetValue<string>() == step)!["outputs"]!.AsArray().ShouldHaveSingleItem()!["sha256"]!.GetValue<string>();

    private static async Task PollAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {limit.TotalSeconds} s");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
