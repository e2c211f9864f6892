using System.Buffers;

namespace Vigil.Tracking;

/// <summary>Validation of user-supplied names (experiments, runs, models, aliases, keys).</summary>
internal static class Names
{
    private static readonly SearchValues<char> ModelChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
    private static readonly SearchValues<char> AliasChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    private static readonly SearchValues<char> KeyChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./: ");

    public const int MaxNameLength = 256;
    public const int MaxKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxTagValueLength = 8000;

    /// <summary>Model names: letters, digits, '_', '-', '.'; 1..256 chars; not starting with '.'.</summary>
    public static string ModelName(string? name) => ModelName(name, "model name");

    public static string ModelName(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new TrackingException($"{what} is empty");
        }
        if (name.Length > MaxNameLength || name[0] == '.' || name.AsSpan().ContainsAnyExcept(ModelChars))
        {
            throw new TrackingException(
                $"invalid {what} '{name}': use 1-{MaxNameLength} letters, digits, '_', '-' or '.', not starting with '.'");
        }
        return name;
    }

    /// <summary>Aliases: a letter or '_' then letters, digits, '_', '-'; at most 64 chars; not "latest".</summary>
    public static string Alias(string? alias)
    {
        if (string.IsNullOrEmpty(alias))
        {
            throw new TrackingException("alias is empty");
        }
        var first = alias[0];
        var startsOk = first == '_' || char.IsAsciiLetter(first);
        if (alias.Length > 64 || !startsOk || alias.AsSpan().ContainsAnyExcept(AliasChars))
        {
            throw new TrackingException(
                $"invalid alias '{alias}': use a letter or '_' followed by up to 63 letters, digits, '_' or '-'");
        }
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
        {
            throw new TrackingException("'latest' is reserved (models:/NAME/latest) and cannot be used as an alias");
        }
        return alias;
    }

    /// <summary>Metric, param and tag keys: letters, digits, '_', '-', '.', '/', ':', ' '; 1..250 chars.</summary>
    public static string Key(string? key, string what)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new TrackingException($"{what} key is empty");
        }
        if (key.Length > MaxKeyLength || key.AsSpan().ContainsAnyExcept(KeyChars))
        {
            throw new TrackingException(
                $"invalid {what} key '{key}': use 1-{MaxKeyLength} letters, digits, spaces, '_', '-', '.', '/' or ':'");
        }
        return key;
    }

    /// <summary>Free text names (experiment and run names): 1..256 chars, no control characters.</summary>
    public static string Text(string? value, string what)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new TrackingException($"{what} is empty");
        }
        if (value.Length > MaxNameLength)
        {
            throw new TrackingException($"{what} '{value[..32]}...' is longer than {MaxNameLength} characters");
        }
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw new TrackingException($"{what} '{value}' contains a control character");
            }
        }
        return value;
    }

    public static string RunId(string? runId)
    {
        if (string.IsNullOrWhiteSpace(runId))
        {
            throw new TrackingException("run id is empty");
        }
        return runId;
    }

    public static string Actor(string? actor)
    {
        if (string.IsNullOrWhiteSpace(actor))
        {
            throw new TrackingException("actor is empty: every alias or stage change records who made it");
        }
        return actor.Trim();
    }
}
