using System.CommandLine;
using Spectre.Console;

namespace Vigil.Cli;

/// <summary>Builds the <c>vigil</c> command tree and runs it with uniform error handling.</summary>
internal static class CliApp
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for an unexpected internal failure.</summary>
    public const int InternalError = 1;

    /// <summary>Exit code for bad arguments or unreadable/invalid input.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Exit code of a batch command (<c>bench adbench</c>, <c>search</c>) that finished but skipped or failed some of its
    /// units (a dataset, a candidate); the output lists each with its reason. (3 is a failing promotion gate.)
    /// </summary>
    public const int PartialFailure = 4;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("Vigil: fraud and anomaly detection for .NET. New here? 'vigil quickstart' runs the whole flow on generated data (generate, train three detectors, compare, promote, score); 'vigil COMMAND --help' describes each command.");
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(TrainCommand.Build());
        root.Subcommands.Add(ScoreCommand.Build());
        root.Subcommands.Add(EvaluateCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(QuickstartCommand.Build());
        root.Subcommands.Add(RunsCommand.Build());
        root.Subcommands.Add(ModelsCommand.Build());
        root.Subcommands.Add(ServeCommand.Build());
        root.Subcommands.Add(LogsCommand.Build());
        root.Subcommands.Add(ImportCommand.Build());
        root.Subcommands.Add(SearchCommand.Build());
        root.Subcommands.Add(PromoteCommand.Build());
        root.Subcommands.Add(FxCommand.Build());
        root.Subcommands.Add(DriftCommand.Build());
        root.Subcommands.Add(LakeCommand.Build());
        root.Subcommands.Add(MetricsCommand.Build());
        root.Subcommands.Add(FlowCommand.Build());
        root.Subcommands.Add(ScheduleCommand.Build());
        root.Subcommands.Add(ScheduleCommand.BuildScheduler());
        root.Subcommands.Add(WorkerCommand.Build());
        root.Subcommands.Add(LabelsCommand.Build());
        root.Subcommands.Add(PerformanceCommand.Build());
        root.Subcommands.Add(MonitorCommand.Build());
        root.Subcommands.Add(CompletionCommand.Build());
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && Deprecated.Rewrite(parse, args) is { } rewritten)
        {
            // An old spelling kept for one release: say so once, then run as if the new one was given.
            foreach (var note in rewritten.Notes)
            {
                Terminal.Note(note);
            }

            parse = root.Parse(rewritten.Args);
        }

        if (parse.Errors.Count > 0 && !(args.Length > 0 && args[0].StartsWith("[suggest", StringComparison.Ordinal)))
        {
            var command = parse.CommandResult.Command;
            var path = command == root ? "vigil" : Guidance.CommandPath(parse.CommandResult);
            Terminal.Error(Guidance.Describe(parse) ?? $"{parse.Errors[0].Message} (see '{path} --help')");
            return UsageError;
        }

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = Terminal.OutWriter, Error = Terminal.ErrWriter }, cts.Token)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (CliErrors.TryDescribe(ex, out var message))
        {
            Terminal.Error(message);
            return UsageError;
        }
        catch (OperationCanceledException)
        {
            Terminal.Error("cancelled");
            return 130;
        }
        catch (Exception ex)
        {
            Terminal.Error($"internal error: {ex.GetType().Name}: {ex.Message}" +
                (Environment.GetEnvironmentVariable("VIGIL_DEBUG") == "1" ? Environment.NewLine + ex : string.Empty));
            return InternalError;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}

/// <summary>
/// Console output: results on stdout, progress and errors on stderr. By default the process's console; a test (or a
/// host) can run commands in process with its own writers through <see cref="Redirect"/>, per async flow.
/// </summary>
internal static class Terminal
{
    private static readonly AsyncLocal<CliConsole?> Current = new();

    private static readonly Lazy<CliConsole> Process = new(() =>
    {
        var stdout = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            // Redirected output has no terminal width; keep tables on one line each for files and pipes.
            stdout.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var w) && w > 40 ? w : 160;
        }

        var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return new CliConsole(Console.Out, Console.Error, stdout, stderr, !Console.IsErrorRedirected && stderr.Profile.Capabilities.Interactive, null,
            !Console.IsOutputRedirected);
    });

    private static CliConsole Active => Current.Value ?? Process.Value;

    /// <summary>The console for results (stdout).</summary>
    public static IAnsiConsole Out => Active.Out;

    /// <summary>The console for progress and diagnostics (stderr).</summary>
    public static IAnsiConsole Err => Active.Err;

    /// <summary>Plain stdout, for JSON and lines that must not be wrapped.</summary>
    public static TextWriter OutWriter => Active.OutWriter;

    /// <summary>Plain stderr.</summary>
    public static TextWriter ErrWriter => Active.ErrWriter;

    /// <summary>True when stderr is a terminal, so live progress can be drawn.</summary>
    public static bool Interactive => Active.Interactive;

    /// <summary>True when stdout is a terminal: tables are drawn to its width; else they are written tab-separated (<see cref="CliOutput"/>).</summary>
    public static bool StdoutIsTerminal => Active.StdoutIsTerminal;

    /// <summary>The VIGIL_HOME of an in-process run, or null for the environment's.</summary>
    public static string? Home => Active.Home;

    /// <summary>Writes one readable error line to stderr.</summary>
    public static void Error(string message) =>
        Active.ErrWriter.WriteLine($"vigil: error: {string.Join(' ', Guidance.Sanitize(message).Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");

    /// <summary>Writes a note line to stderr.</summary>
    public static void Note(string message) => Active.ErrWriter.WriteLine(message);

    /// <summary>
    /// Sends this async flow's output to <paramref name="stdout"/> and <paramref name="stderr"/> (plain text, no colour,
    /// <paramref name="width"/> columns, never interactive) and its default store to <paramref name="home"/>, until disposed.
    /// With <paramref name="terminal"/> stdout acts as a terminal of that width (tables drawn); else as a pipe (tab-separated).
    /// </summary>
    public static IDisposable Redirect(TextWriter stdout, TextWriter stderr, string? home, int width = 200, bool terminal = false)
    {
        static IAnsiConsole Plain(TextWriter writer, int width)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(writer),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            console.Profile.Width = width;
            return console;
        }

        // Progress arrives from several threads at once (search candidates): write through synchronized writers.
        stdout = TextWriter.Synchronized(stdout);
        stderr = TextWriter.Synchronized(stderr);
        var previous = Current.Value;
        Current.Value = new CliConsole(stdout, stderr, Plain(stdout, width), Plain(stderr, width), false, home, terminal);
        return new Restore(() => Current.Value = previous);
    }

    private sealed record CliConsole(TextWriter OutWriter, TextWriter ErrWriter, IAnsiConsole Out, IAnsiConsole Err, bool Interactive, string? Home, bool StdoutIsTerminal);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
