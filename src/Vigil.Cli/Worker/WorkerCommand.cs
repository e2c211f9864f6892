using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Vigil.Pipelines;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil worker</c>: runs the steps of distributed flow runs (<c>vigil flow run --distributed</c>, distributed
/// schedules) as a node of Quartz.NET's clustered job store on a PostgreSQL store, until Ctrl+C or SIGTERM.
/// </summary>
internal static partial class WorkerCommand
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    public static Command Build()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "At most this many steps at once in this worker.", DefaultValueFactory = _ => 1 };
        var name = new Option<string?>("--name") { Description = "This worker's name (tag vigil.worker on the steps it runs; default: host, process id and a random suffix); letters, digits, '.', '_', '-'." };
        var grace = new Option<double>("--grace")
        {
            Description = "On Ctrl+C or SIGTERM: seconds to let running steps finish before abandoning them to another worker (a second signal abandons at once).",
            DefaultValueFactory = _ => 30,
        };
        var cmd = new Command("worker",
            "Run the steps of distributed flow runs ('vigil flow run --distributed', 'schedule add --distributed') until Ctrl+C or SIGTERM: a node of Quartz.NET's clustered job store on a PostgreSQL store. " +
            "Needs only the store (--store / VIGIL_STORE) and the artifact store (VIGIL_ARTIFACTS az://... or a shared folder). Lines on stderr say what it ran and how it ended.")
        {
            concurrency, name, grace,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var n = (int)OptionParsing.Positive("--concurrency", parse.GetValue(concurrency));
            var workerName = parse.GetValue(name);
            if (workerName is not null && !NamePattern().IsMatch(workerName))
            {
                throw new CliUsageException($"--name {workerName}: a worker name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }

            var graceSeconds = parse.GetValue(grace);
            if (!(graceSeconds >= 0 && graceSeconds <= 86_400))
            {
                throw new CliUsageException($"--grace {graceSeconds.ToString(CultureInfo.InvariantCulture)}: expected seconds between 0 and 86400");
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var abandon = new CancellationTokenSource();
            var signals = 0;
            void OnSignal(PosixSignalContext c)
            {
                c.Cancel = true;
                if (Interlocked.Increment(ref signals) == 1)
                {
                    stop.Cancel();
                }
                else
                {
                    abandon.Cancel();
                }
            }

            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            var log = new object();
            void Log(string line)
            {
                lock (log)
                {
                    Terminal.Note($"[{DateTimeOffset.UtcNow.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {line}");
                }
            }

            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var worker = await FlowWorker.StartAsync(store, StepRegistry.CreateDefault(), new FlowWorkerOptions
            {
                Concurrency = n,
                Name = workerName,
                Log = Log,
            }, ct).ConfigureAwait(false);
            Log($"worker {worker.Name} started on the {store.Backend} store {store.Location} (artifacts: {store.Artifacts.Location}), " +
                $"{n.ToString(CultureInfo.InvariantCulture)} step{(n == 1 ? "" : "s")} at a time; Ctrl+C stops it");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            Log(worker.Running == 0
                ? $"worker {worker.Name} stopping (no step running)"
                : $"worker {worker.Name} stopping: takes no new step; waiting up to {graceSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s for {worker.Running.ToString(CultureInfo.InvariantCulture)} running (a second Ctrl+C abandons them to another worker)");
            var abandoned = await worker.StopAsync(TimeSpan.FromSeconds(graceSeconds), abandon.Token).ConfigureAwait(false);
            if (abandoned > 0)
            {
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false); // the abandoned steps say so (their commands are killed)
                // Leave the Quartz node without completing the jobs: the cluster takes this worker for dead after its check-in
                // interval and recovers them on another worker.
                Log($"worker {worker.Name} stopped after {worker.Ran.ToString(CultureInfo.InvariantCulture)} step jobs; abandoned {abandoned.ToString(CultureInfo.InvariantCulture)} running (another worker reruns {(abandoned == 1 ? "it" : "them")} from the start)");
                Terminal.ErrWriter.Flush();
                Terminal.OutWriter.Flush();
                Environment.Exit(CliApp.Ok); // Quartz's threads would keep the process (and its cluster check-ins) alive
            }

            await worker.DisposeAsync().ConfigureAwait(false);
            Log($"worker {worker.Name} stopped after {worker.Ran.ToString(CultureInfo.InvariantCulture)} step jobs");
            return CliApp.Ok;
        });
        return cmd;
    }
}
