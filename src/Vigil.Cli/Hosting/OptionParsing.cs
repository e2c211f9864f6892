using System.Globalization;

namespace Vigil.Cli;

/// <summary>Small parsers for option values, each with a message that names the option.</summary>
internal static class OptionParsing
{
    public static IReadOnlyList<string>? List(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? null
            : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static double Fraction(string option, double value, bool allowOne = true)
    {
        if (!(value > 0 && (allowOne ? value <= 1 : value < 1)))
        {
            throw new CliUsageException($"{option} must be in (0, {(allowOne ? "1]" : "1)")}, got {value.ToString(CultureInfo.InvariantCulture)}");
        }

        return value;
    }

    public static long Positive(string option, long value)
    {
        if (value <= 0)
        {
            throw new CliUsageException($"{option} must be a positive whole number, got {value.ToString(CultureInfo.InvariantCulture)}");
        }

        return value;
    }

    public static string ExistingFile(string option, string path)
    {
        if (!File.Exists(path))
        {
            throw new CliUsageException(Directory.Exists(path)
                ? $"{option} {path}: is a directory, expected a file"
                : $"{option} {path}: file not found");
        }

        return path;
    }
}
