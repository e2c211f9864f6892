using Spectre.Console;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary>
/// Progress for a lifecycle operation whose steps take seconds (read, fit, log): on a terminal a live status line on
/// stderr with a spinner and the elapsed time of the current step; when stderr is not a terminal nothing but the notes
/// (<see cref="CliProgress"/>), so logs and pipes stay clean.
/// </summary>
internal static class CliSteps
{
    /// <summary>Runs <paramref name="work"/>, showing <paramref name="first"/>, then what <paramref name="describe"/> makes of each event.</summary>
    public static async Task<T> RunAsync<T>(string first, Func<IProgress<LifecycleProgress>, Task<T>> work, Func<LifecycleProgress, string?> describe)
    {
        if (!Terminal.Interactive)
        {
            return await work(CliLifecycle.Notes).ConfigureAwait(false);
        }

        return await Terminal.Err.Status()
            .Spinner(Spinner.Known.Dots)
            .StartAsync(Markup.Escape(first), async ctx =>
            {
                var step = System.Diagnostics.Stopwatch.StartNew();
                var text = first;
                using var timer = new Timer(_ => ctx.Status(Markup.Escape($"{text} ({step.Elapsed.TotalSeconds:F0} s)")), null, 1000, 1000);
                return await work(new CliProgress(p =>
                {
                    if (describe(p) is { } line)
                    {
                        text = line;
                        step.Restart();
                        ctx.Status(Markup.Escape(line));
                    }
                })).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }
}
