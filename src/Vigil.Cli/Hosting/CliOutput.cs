using System.CommandLine;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Vigil.Cli;

/// <summary>
/// Output that fits where it goes. On a terminal a table is drawn to the terminal's width (long cells wrap inside
/// their column; a row never runs past the right edge); when stdout is a file or a pipe the same table is written as
/// plain tab-separated lines (a "# title" line, the header, one line per row) without box drawing or colour, so
/// <c>cut</c>, <c>awk</c> and spreadsheets read it. Every command writes its tables through <see cref="Write"/>.
/// </summary>
internal static class CliOutput
{
    /// <summary>The <c>--json</c> option: the result as one JSON document on stdout instead of text.</summary>
    public static Option<bool> JsonOption(string? description = null) => new("--json")
    {
        Description = description ?? "Print the result as JSON (one document on stdout) instead of text.",
    };

    /// <summary>Writes <paramref name="table"/> to stdout: drawn on a terminal, tab-separated otherwise.</summary>
    public static void Write(Table table)
    {
        if (Terminal.StdoutIsTerminal)
        {
            table.Expand = false;
            Terminal.Out.Write(table);
            return;
        }

        WritePlain(table, Terminal.OutWriter);
    }

    /// <summary>The table as tab-separated lines: "# title", the header, then the rows (cells as plain text, tabs and newlines as spaces).</summary>
    internal static void WritePlain(Table table, TextWriter writer)
    {
        if (table.Title is { Text: { Length: > 0 } title })
        {
            writer.WriteLine("# " + PlainMarkup(title));
        }

        writer.WriteLine(string.Join('\t', table.Columns.Select(c => Text(c.Header))));
        foreach (var row in table.Rows)
        {
            writer.WriteLine(string.Join('\t', row.Select(Text)));
        }
    }

    /// <summary>The shortest prefix of each id, at least <paramref name="minimum"/> characters, that no other id of the list shares (as git shortens hashes).</summary>
    public static IReadOnlyDictionary<string, string> ShortIds(IEnumerable<string> ids, int minimum = 8)
    {
        var all = ids.Distinct(StringComparer.Ordinal).ToList();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in all)
        {
            var length = Math.Min(minimum, id.Length);
            while (length < id.Length && all.Any(o => !ReferenceEquals(o, id) && o != id && o.StartsWith(id[..length], StringComparison.Ordinal)))
            {
                length++;
            }

            result[id] = id[..length];
        }

        return result;
    }

    /// <summary>An id as a table shows it: shortened to <paramref name="shortIds"/>'s prefix on a terminal, whole in plain output.</summary>
    public static string Id(string id, IReadOnlyDictionary<string, string> shortIds) =>
        Terminal.StdoutIsTerminal && shortIds.TryGetValue(id, out var s) ? s : id;

    private static readonly Lazy<IAnsiConsole> PlainConsole = new(() =>
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(TextWriter.Null),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 100_000;
        return console;
    });

    private static string Text(IRenderable renderable)
    {
        var options = RenderOptions.Create(PlainConsole.Value);
        var sb = new StringBuilder();
        foreach (var segment in renderable.Render(options, 100_000))
        {
            if (segment.IsControlCode)
            {
                continue;
            }

            sb.Append(segment.IsLineBreak ? " " : segment.Text);
        }

        return sb.ToString().Replace('\t', ' ').Trim();
    }

    private static string PlainMarkup(string markup)
    {
        try
        {
            return Text(new Markup(markup));
        }
        catch (InvalidOperationException)
        {
            return markup;
        }
    }
}
