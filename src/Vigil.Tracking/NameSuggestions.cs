namespace Vigil.Tracking;

/// <summary>
/// "Did you mean" for names a user typed: the CLI's commands and options, served model names, registered model names.
/// </summary>
public static class NameSuggestions
{
    /// <summary>The candidate nearest to <paramref name="word"/> (case-insensitive edit distance), or null when none is near.</summary>
    public static string? Nearest(string word, IReadOnlyList<string> candidates)
    {
        var w = word.TrimStart('-').ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var c = candidate.TrimStart('-').ToLowerInvariant();
            var d = Distance(w, c);
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        if (best is null)
        {
            return null;
        }

        // Near: at most a third of the word's letters changed (at least one, at most three), or a unique prefix of 3+ letters.
        var limit = Math.Clamp((w.Length + 1) / 3, 1, 3);
        if (bestDistance <= limit)
        {
            return best;
        }

        var prefixed = candidates.Where(c => w.Length >= 3 && c.TrimStart('-').StartsWith(w, StringComparison.OrdinalIgnoreCase)).ToList();
        return prefixed.Count == 1 ? prefixed[0] : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>"; did you mean 'X'?" for the candidate nearest to <paramref name="word"/>, or an empty string.</summary>
    public static string Hint(string word, IReadOnlyList<string> candidates) =>
        Nearest(word, candidates) is { } near ? $"; did you mean '{near}'?" : string.Empty;
}
