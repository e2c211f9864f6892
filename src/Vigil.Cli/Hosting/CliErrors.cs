using System.Diagnostics.CodeAnalysis;
using System.Text;
using Vigil.Data;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary>A bad argument or combination of arguments, reported as one line with exit code 2.</summary>
internal sealed class CliUsageException(string message) : VigilException(message);

/// <summary>
/// Maps the exceptions that describe a user's mistake or bad input to one readable line (exit code 2): every
/// <see cref="VigilException"/>, argument errors (invalid detector options), and unreadable files. Anything else is
/// an internal error.
/// </summary>
internal static class CliErrors
{
    public static bool TryDescribe(Exception ex, [NotNullWhen(true)] out string? message)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            ex = agg.InnerExceptions[0];
        }

        message = ex switch
        {
            // A lifecycle option at fault is named as the CLI flag of the same name (TimeColumn -> --time-column).
            LifecycleException { Option: { } option } l => $"--{Flag(option)} {l.Detail}",
            VigilException or Vigil.Serving.ServingConfigurationException => ex.Message,
            FileNotFoundException f => f.Message.Contains(f.FileName ?? "\u0000", StringComparison.Ordinal) || f.FileName is null
                ? f.Message
                : $"{f.FileName}: file not found",
            DirectoryNotFoundException d => d.Message,
            UnauthorizedAccessException u => $"permission denied: {u.Message}",
            InvalidDataException or KeyNotFoundException or FormatException or ArgumentException or IOException => ex.Message,
            _ => null,
        };
        return message is not null;
    }

    /// <summary>The kebab-case flag of an options property: <c>TimeColumn</c> -> <c>time-column</c>, <c>IdColumn</c> -> <c>id</c>.</summary>
    internal static string Flag(string option)
    {
        if (option == nameof(ScoreFileOptions.IdColumn))
        {
            return "id";
        }

        var sb = new StringBuilder(option.Length + 4);
        for (var i = 0; i < option.Length; i++)
        {
            var c = option[i];
            if (char.IsUpper(c) && i > 0)
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }
}
