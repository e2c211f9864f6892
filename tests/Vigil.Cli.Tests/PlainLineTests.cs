using Spectre.Console;

namespace Vigil.Cli.Tests;

/// <summary>Result lines written straight to a redirected stdout must be the bytes Spectre writes there.</summary>
public sealed class PlainLineTests
{
    private static string Spectre(string line, bool markup, int width)
    {
        // A plain console (no ANSI, no colour): how Spectre renders a redirected stdout, and what in-process runs use.
        var writer = new StringWriter();
        var console = Terminal.PlainConsole(writer, width);
        if (markup)
        {
            console.MarkupLine(line);
        }
        else
        {
            console.WriteLine(line);
        }

        return writer.ToString();
    }

    [Theory]
    [InlineData("scored [bold]500,000[/] rows (15,012 flagged at threshold 0.5) in 0.62 s; wrote [bold]/tmp/x/scores.csv[/]", true)]
    [InlineData("trained [bold]iforest[/] on 500,000 rows x 10 features (read 0.38 s, fit 0.20 s); threshold 0.5", true)]
    [InlineData("bundle: [bold]model-dir[/]", true)]
    [InlineData("training metrics: auc_pr=0.5123, auc_roc=0.9001", true)]
    [InlineData("a [[literal]] bracket and [bold]bold [[x]][/] text", true)]
    [InlineData("features: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9", false)]
    [InlineData("calibration: none (unsupervised kind: no performance estimate before labels arrive)", false)]
    [InlineData("text with [brackets] and a: colon", false)]
    [InlineData("  leading and trailing spaces  ", false)]
    public void A_line_written_straight_is_what_Spectre_writes(string line, bool markup)
    {
        var plain = Terminal.PlainText(line, 160, markup);
        plain.ShouldNotBeNull();
        (plain + Environment.NewLine).ShouldBe(Spectre(line, markup, 160));
    }

    [Theory]
    [InlineData("an emoji code :smile: here", true)]
    [InlineData("a [red]colour[/] tag", true)]
    [InlineData("an unbalanced [/] tag", true)]
    [InlineData("an unclosed [bold]tag", true)]
    [InlineData("non-ASCII: caf\u00e9", false)]
    [InlineData("a tab\there", false)]
    public void Lines_Spectre_might_write_otherwise_are_left_to_it(string line, bool markup) =>
        Terminal.PlainText(line, 160, markup).ShouldBeNull();

    [Fact]
    public void Lines_as_wide_as_the_console_are_left_to_Spectre() =>
        Terminal.PlainText(new string('x', 160), 160, markup: false).ShouldBeNull();
}
