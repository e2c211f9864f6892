using System.CommandLine;
using System.Globalization;
using Vigil.Data;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary>Options and notes shared by the commands that read data files or write bundles.</summary>
internal static class CliData
{
    /// <summary>The <c>--on-bad-value</c> option: what a CSV value that does not parse as its column's kind does.</summary>
    public static Option<BadValueHandling> BadValueOption() => new("--on-bad-value")
    {
        Description = "A CSV value that does not parse as its column's kind (\"x\" in a numeric column): error (default: stop, naming file, line and column) or skip (drop the row, report how many).",
        DefaultValueFactory = _ => BadValueHandling.Error,
    };

    /// <summary>The <c>--force</c> option of commands that write a bundle.</summary>
    public static Option<bool> ForceOption() => new("--force")
    {
        Description = "Replace an existing model bundle at --out (written beside it, then swapped). A folder or file that is not a Vigil bundle is never replaced.",
    };

    /// <summary>Notes on stderr how many rows of <paramref name="source"/> were skipped for bad values, with the first.</summary>
    public static void NoteSkipped(DataSource source) => NoteSkipped(source.SkippedRows, source.FirstSkipped);

    /// <summary>Notes on stderr that <paramref name="count"/> rows were skipped for bad values, with the first one's error.</summary>
    public static void NoteSkipped(long count, DataFormatException? first)
    {
        if (count > 0)
        {
            Terminal.Note(string.Create(CultureInfo.InvariantCulture,
                $"skipped {count} row{(count == 1 ? "" : "s")} with a value that does not parse (--on-bad-value skip); the first: {first?.Message}"));
        }
    }
}
