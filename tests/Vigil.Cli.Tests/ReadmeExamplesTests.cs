using System.Text;
using System.Text.RegularExpressions;

namespace Vigil.Cli.Tests;

/// <summary>
/// The README's command examples are part of the test suite (as nietras/Sep tests its README samples): the block marked
/// <c>&lt;!-- readme-test: run --&gt;</c> is executed line by line in an empty folder, and every other <c>./vigil</c>
/// line of the README must parse (its commands and options exist under those names).
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(UsabilityCliTests.RepoRoot(), "README.md"));

    [Fact]
    public void The_runnable_block_runs_top_to_bottom()
    {
        var marker = Readme.IndexOf("<!-- readme-test: run -->", StringComparison.Ordinal);
        marker.ShouldBeGreaterThan(0, "the README marks its runnable block");
        var open = Readme.IndexOf("```bash", marker, StringComparison.Ordinal);
        var close = Readme.IndexOf("```", open + 7, StringComparison.Ordinal);
        var commands = Commands(Readme[(open + 7)..close]).ToList();
        commands.Count.ShouldBeGreaterThanOrEqualTo(10);

        using var dir = new TempDir();
        foreach (var args in commands)
        {
            var r = VigilProcess.RunInProcess(dir.Path, dir.File("home"), [.. args]);
            r.ExitCode.ShouldBe(0, $"./vigil {string.Join(' ', args)}\nstderr: {r.StdErr}\nstdout: {r.StdOut}");
        }

        File.Exists(dir.File("scores.parquet")).ShouldBeTrue();
    }

    [Fact]
    public void Every_vigil_line_in_the_readme_parses()
    {
        var failures = new List<string>();
        var count = 0;
        foreach (Match block in BashBlock().Matches(Readme))
        {
            foreach (var args in Commands(block.Groups[1].Value))
            {
                count++;
                var parse = CliApp.BuildRoot().Parse(args);
                if (parse.Errors.Count > 0)
                {
                    failures.Add($"./vigil {string.Join(' ', args)}: {Guidance.Describe(parse) ?? parse.Errors[0].Message}");
                }
            }
        }

        count.ShouldBeGreaterThan(30, "the README's examples were found");
        failures.ShouldBeEmpty(string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// The <c>./vigil</c> commands of a bash block as argument lists: continuation lines joined, trailing comments cut,
    /// <c>a &amp;&amp; b</c> and <c>a | b</c> split, an optional <c>[x | y]</c> taken as its first form, quotes removed.
    /// </summary>
    internal static IEnumerable<string[]> Commands(string block)
    {
        var text = block.Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = Comment().Replace(raw, string.Empty).Trim();
            line = Optional().Replace(line, m => m.Groups[1].Value.Split(" | ")[0]);
            foreach (var piece in line.Split([" && ", " | "], StringSplitOptions.TrimEntries))
            {
                if (!piece.StartsWith("./vigil ", StringComparison.Ordinal))
                {
                    continue;
                }

                var args = Split(piece["./vigil ".Length..]).TakeWhile(a => !a.StartsWith('>') && a != "2>&1").ToArray();
                if (args.Length > 0)
                {
                    yield return args;
                }
            }
        }
    }

    private static List<string> Split(string line)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var any = false;
        foreach (var c in line)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                any = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (current.Length > 0 || any)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0 || any)
        {
            args.Add(current.ToString());
        }

        return args;
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex(@"(^|\s)#.*$")]
    private static partial Regex Comment();

    [GeneratedRegex(@"\[([^\[\]]*)\]")]
    private static partial Regex Optional();
}
