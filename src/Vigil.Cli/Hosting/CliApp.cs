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

    /// <summary>
    /// The top-level commands by name, in help order. A name is written here so that one command can be built without
    /// the others (see <see cref="RunAsync"/>); a test checks it against the name each builder gives its command.
    /// </summary>
    internal static readonly (string Name, Func<Command> Build)[] Commands =
    [
        ("generate", GenerateCommand.Build),
        ("train", TrainCommand.Build),
        ("score", ScoreCommand.Build),
        ("evaluate", EvaluateCommand.Build),
        ("bench", BenchCommand.Build),
        ("quickstart", QuickstartCommand.Build),
        ("runs", RunsCommand.Build),
        ("models", ModelsCommand.Build),
        ("serve", ServeCommand.Build),
        ("logs", LogsCommand.Build),
        ("import", ImportCommand.Build),
        ("search", SearchCommand.Build),
        ("promote", PromoteCommand.Build),
        ("fx", FxCommand.Build),
        ("drift", DriftCommand.Build),
        ("lake", LakeCommand.Build),
        ("metrics", MetricsCommand.Build),
        ("flow", FlowCommand.Build),
        ("schedule", ScheduleCommand.Build),
        ("scheduler", ScheduleCommand.BuildScheduler),
        ("worker", WorkerCommand.Build),
        ("labels", LabelsCommand.Build),
        ("performance", PerformanceCommand.Build),
        ("monitor", MonitorCommand.Build),
        ("completion", CompletionCommand.Build),
    ];

    /// <summary>The whole command tree.</summary>
    public static RootCommand BuildRoot() => Root(null);

    /// <summary>The root with every command, or with only the command named <paramref name="only"/> when it is one.</summary>
    internal static RootCommand Root(string? only)
    {
        var root = new RootCommand("Vigil: fraud and anomaly detection for .NET. New here? 'vigil quickstart' runs the whole flow on generated data (generate, train three detectors, compare, promote, score); 'vigil COMMAND --help' describes each command.");
        foreach (var (name, build) in Commands)
        {
            if (only is null || string.Equals(name, only, StringComparison.Ordinal))
            {
                root.Subcommands.Add(build());
            }
        }

        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        // Building all 25 commands' options costs a short process (train, score) about 10 ms; the command named first
        // is built alone when it parses cleanly. Anything else (help on the root, a typo, an old spelling, a completion
        // request) gets the whole tree, so that errors and suggestions see every command as before.
        var root = args.Length > 0 && Array.Exists(Commands, c => string.Equals(c.Name, args[0], StringComparison.Ordinal)) ? Root(args[0]) : null;
        var parse = root?.Parse(args);
        if (root is null || parse!.Errors.Count > 0)
        {
            root = BuildRoot();
            parse = root.Parse(args);
        }

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

    // Spectre's consoles are built on first use only: a short command (train, score) writing a few plain lines to a file
    // or pipe never needs them (building and first rendering cost about 50 ms of CPU each, see MarkupLine).
    private static readonly Lazy<CliConsole> Process = new(() =>
    {
        // Redirected output has no terminal width; keep tables on one line each for files and pipes.
        int? width = Console.IsOutputRedirected
            ? int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var w) && w > 40 ? w : 160
            : null;
        var stdout = new Lazy<IAnsiConsole>(() =>
        {
            var console = AnsiConsole.Console;
            if (width is { } columns)
            {
                console.Profile.Width = columns;
            }

            return console;
        });
        var stderr = new Lazy<IAnsiConsole>(() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));
        return new CliConsole(Console.Out, Console.Error, stdout, stderr,
            new Lazy<bool>(() => !Console.IsErrorRedirected && stderr.Value.Profile.Capabilities.Interactive), null, !Console.IsOutputRedirected, width);
    });

    private static CliConsole Active => Current.Value ?? Process.Value;

    /// <summary>The console for results (stdout).</summary>
    public static IAnsiConsole Out => Active.Out.Value;

    /// <summary>The console for progress and diagnostics (stderr).</summary>
    public static IAnsiConsole Err => Active.Err.Value;

    /// <summary>Plain stdout, for JSON and lines that must not be wrapped.</summary>
    public static TextWriter OutWriter => Active.OutWriter;

    /// <summary>Plain stderr.</summary>
    public static TextWriter ErrWriter => Active.ErrWriter;

    /// <summary>True when stderr is a terminal, so live progress can be drawn.</summary>
    public static bool Interactive => Active.Interactive.Value;

    /// <summary>True when stdout is a terminal: tables are drawn to its width; else they are written tab-separated (<see cref="CliOutput"/>).</summary>
    public static bool StdoutIsTerminal => Active.StdoutIsTerminal;

    /// <summary>
    /// <see cref="Out"/>.MarkupLine(<paramref name="markup"/>), the same bytes. Where stdout renders plain text (a file or
    /// pipe: no ANSI codes, no colour), a short line of printable ASCII whose only tags are [bold] and [/] renders as
    /// its text, so it is written straight and Spectre's console is not built for it.
    /// </summary>
    public static void MarkupLine(string markup) => WriteLine(markup, markup: true);

    /// <summary><see cref="Out"/>.WriteLine(<paramref name="text"/>), the same bytes; written straight as <see cref="MarkupLine"/> does when it can.</summary>
    public static void TextLine(string text) => WriteLine(text, markup: false);

    private static void WriteLine(string line, bool markup)
    {
        var active = Active;
        if (active.PlainWidth is { } width && PlainText(line, width, markup) is { } plain)
        {
            active.OutWriter.WriteLine(plain);
        }
        else if (markup)
        {
            active.Out.Value.MarkupLine(line);
        }
        else
        {
            active.Out.Value.WriteLine(line);
        }
    }

    /// <summary>
    /// What Spectre writes for <paramref name="line"/> on a plain console of <paramref name="width"/> columns, when that
    /// is certain: printable ASCII only, shorter than the width (no wrapping), no colon before a non-space (no emoji code),
    /// and in markup only the tags [bold] and [/] (which render as nothing) and the escapes [[ and ]]. Null otherwise.
    /// </summary>
    internal static string? PlainText(string line, int width, bool markup)
    {
        var text = new System.Text.StringBuilder(line.Length);
        var open = 0; // tags open: Spectre refuses unbalanced ones, so such a line is left to it
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is < ' ' or > '~' || (c == ':' && i + 1 < line.Length && line[i + 1] != ' '))
            {
                return null;
            }

            if (markup && c is '[' or ']')
            {
                var rest = line.AsSpan(i);
                if (rest.StartsWith("[[", StringComparison.Ordinal) || rest.StartsWith("]]", StringComparison.Ordinal))
                {
                    i++;
                }
                else if (rest.StartsWith("[bold]", StringComparison.Ordinal) || (rest.StartsWith("[/]", StringComparison.Ordinal) && open > 0))
                {
                    open += rest[1] == '/' ? -1 : 1;
                    i = line.IndexOf(']', i);
                    continue;
                }
                else
                {
                    return null;
                }
            }

            text.Append(c);
        }

        return open == 0 && text.Length < width ? text.ToString() : null;
    }

    /// <summary>A Spectre console writing plain text to <paramref name="writer"/>: no ANSI codes, no colour, never interactive, <paramref name="width"/> columns.</summary>
    internal static IAnsiConsole PlainConsole(TextWriter writer, int width)
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
        // Progress arrives from several threads at once (search candidates): write through synchronized writers.
        stdout = TextWriter.Synchronized(stdout);
        stderr = TextWriter.Synchronized(stderr);
        var previous = Current.Value;
        Current.Value = new CliConsole(stdout, stderr, new(PlainConsole(stdout, width)), new(PlainConsole(stderr, width)), new(() => false), home, terminal, width);
        return new Restore(() => Current.Value = previous);
    }

    // PlainWidth: the width of stdout when Spectre renders it as plain text (no ANSI codes), else null.
    private sealed record CliConsole(TextWriter OutWriter, TextWriter ErrWriter, Lazy<IAnsiConsole> Out, Lazy<IAnsiConsole> Err, Lazy<bool> Interactive, string? Home,
        bool StdoutIsTerminal, int? PlainWidth);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
