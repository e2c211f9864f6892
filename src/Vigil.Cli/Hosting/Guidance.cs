using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// What the parser tells a user who mistyped: the unknown word named with the nearest command or option ("'trian' is not
/// a vigil command; did you mean 'train'?"), a command group without its subcommand listing them, and parse errors
/// without .NET type names. Every command gets it from <see cref="CliApp.RunAsync"/>; nothing to add per command.
/// </summary>
internal static partial class Guidance
{
    /// <summary>One line for a parse that failed, or null to use the parser's own first error (sanitized).</summary>
    public static string? Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse.CommandResult);
        var unmatched = parse.UnmatchedTokens;
        if (unmatched.Count > 0)
        {
            var word = unmatched[0];
            if (word.StartsWith('-') && word.Length > 1)
            {
                var name = word.Split('=', 2)[0];
                var options = VisibleOptionNames(parse.CommandResult);
                return $"unknown option '{name}' for '{path}'{Suggest(name, options, "; the options are: ")} (see '{path} --help')";
            }

            var subcommands = VisibleSubcommandNames(command);
            if (subcommands.Count > 0 && !command.Arguments.Any(a => !a.Hidden))
            {
                return $"'{word}' is not a {path} command{Suggest(word, subcommands, "; the commands are: ")} (see '{path} --help')";
            }

            return $"unexpected argument '{word}' for '{path}' (see '{path} --help')";
        }

        if (command.Subcommands.Count > 0 && command.Action is null)
        {
            return $"'{path}' needs a command: {string.Join(", ", VisibleSubcommandNames(command))} (see '{path} --help')";
        }

        // Every missing required option and argument in one line, rather than one per attempt.
        var missing = new List<string>();
        if (!parse.Errors.Any(e => e.Message.Contains("required", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("missing", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        foreach (var argument in command.Arguments)
        {
            if (!argument.Hidden && !argument.HasDefaultValue && argument.Arity.MinimumNumberOfValues > 0 && parse.GetResult(argument) is null or { Tokens.Count: 0 })
            {
                missing.Add(argument.Name);
            }
        }

        foreach (var option in command.Options)
        {
            if (option.Required && !option.HasDefaultValue && parse.GetResult(option) is null or { Implicit: true })
            {
                missing.Add(option.Name);
            }
        }

        if (missing.Count > 0)
        {
            return $"'{path}' needs {string.Join(", ", missing)} (see '{path} --help')";
        }

        return null;
    }

    /// <summary>
    /// "; did you mean 'X'?" for the nearest candidate within a small edit distance (or the one candidate
    /// <paramref name="word"/> begins), else <paramref name="listPrefix"/> and every candidate.
    /// </summary>
    internal static string Suggest(string word, IReadOnlyList<string> candidates, string listPrefix)
    {
        var nearest = Nearest(word, candidates);
        if (nearest is not null)
        {
            return $"; did you mean '{nearest}'?";
        }

        return candidates.Count == 0 ? string.Empty : listPrefix + string.Join(", ", candidates);
    }

    /// <summary>The candidate nearest to <paramref name="word"/> (case-insensitive edit distance), or null when none is near.</summary>
    internal static string? Nearest(string word, IReadOnlyList<string> candidates) => NameSuggestions.Nearest(word, candidates);

    /// <summary>
    /// A message for users: no "(Parameter 'x')" suffix and no .NET type names ("expected type 'System.Int32'" becomes
    /// "expected a whole number"). Every error line goes through it (<see cref="Terminal.Error"/>).
    /// </summary>
    public static string Sanitize(string message)
    {
        message = ParameterSuffix().Replace(message, string.Empty);
        message = ExpectedType().Replace(message, m => "expected " + TypeWords(m.Groups[1].Value));
        message = SystemType().Replace(message, m => TypeWords(m.Value));
        // "IsolationForestOptions.MaxSamples must be ..." (a library's validation) names the setting as the CLI does: max-samples
        message = OptionsMember().Replace(message, m => Kebab(m.Groups[1].Value));
        return message;
    }

    private static string TypeWords(string typeName) => typeName switch
    {
        "System.Int32" or "System.Int64" or "System.UInt64" or "System.UInt32" or "System.Int16" => "a whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Boolean" => "true or false",
        "System.DateTime" or "System.DateTimeOffset" => "a date and time",
        "System.TimeSpan" => "a duration",
        "System.String" => "text",
        _ when typeName.StartsWith("System.Nullable", StringComparison.Ordinal) => "a value",
        _ => "a value of another kind",
    };

    private static string Kebab(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(name[i]));
        }

        return sb.ToString();
    }

    [GeneratedRegex(@"\b[A-Z][A-Za-z]*(?:Options|Spec|Quantiles)\.([A-Z][A-Za-z]*)")]
    private static partial Regex OptionsMember();

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

    [GeneratedRegex(@"expected type '([A-Za-z0-9_.`\[\], ]+)'")]
    private static partial Regex ExpectedType();

    [GeneratedRegex(@"\bSystem\.[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*(`\d+\[[^\]]*\])?")]
    private static partial Regex SystemType();

    internal static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as CommandResult)
        {
            names.Add(r.Command.Name);
        }

        names.Reverse();
        names[0] = "vigil";
        return string.Join(' ', names);
    }

    private static List<string> VisibleSubcommandNames(Command command) =>
        [.. command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)];

    private static List<string> VisibleOptionNames(CommandResult result)
    {
        var names = new List<string>();
        foreach (var o in result.Command.Options)
        {
            if (!o.Hidden)
            {
                names.Add(o.Name);
            }
        }

        for (var parent = result.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            foreach (var o in parent.Command.Options)
            {
                if (o.Recursive && !o.Hidden)
                {
                    names.Add(o.Name);
                }
            }
        }

        return names;
    }
}

/// <summary>
/// Old spellings kept for one release: <c>Deprecated.Option(cmd, "--model", "--kind")</c> makes <c>--model</c> (and
/// <c>--model=x</c>) on that command mean <c>--kind</c>, hidden from help, with one line on stderr saying so. Positional
/// changes are the command's own (see <c>models stage set</c>).
/// </summary>
internal static class Deprecated
{
    private static readonly ConditionalWeakTable<Command, Dictionary<string, string>> Spellings = [];

    /// <summary>Accepts <paramref name="old"/> on <paramref name="command"/> as <paramref name="replacement"/>, noting the new spelling.</summary>
    public static void Option(Command command, string old, string replacement)
    {
        var map = Spellings.GetOrCreateValue(command);
        map[old] = replacement;
    }

    /// <summary>The spellings deprecated on <paramref name="command"/> (old → new).</summary>
    public static IReadOnlyDictionary<string, string> Of(Command command) =>
        Spellings.TryGetValue(command, out var map) ? map : new Dictionary<string, string>();

    /// <summary>
    /// When the parse failed on a deprecated spelling of the command it reached, the arguments with every such spelling
    /// replaced and the notes to print; else null.
    /// </summary>
    public static (string[] Args, List<string> Notes)? Rewrite(ParseResult parse, string[] args)
    {
        var map = Of(parse.CommandResult.Command);
        if (map.Count == 0 || parse.UnmatchedTokens.Count == 0)
        {
            return null;
        }

        var path = Guidance.CommandPath(parse.CommandResult);
        var notes = new List<string>();
        var rewritten = (string[])args.Clone();
        var changed = false;
        for (var i = 0; i < rewritten.Length; i++)
        {
            if (rewritten[i] == "--")
            {
                break;
            }

            var token = rewritten[i];
            var name = token.Split('=', 2)[0];
            if (map.TryGetValue(name, out var replacement))
            {
                rewritten[i] = replacement + token[name.Length..];
                changed = true;
                var note = $"vigil: warning: '{path} {name}' is deprecated and will be removed; use {replacement}";
                if (!notes.Contains(note))
                {
                    notes.Add(note);
                }
            }
        }

        return changed ? (rewritten, notes) : null;
    }
}
