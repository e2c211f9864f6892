using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// Run ids as users type them: the whole id, or a unique prefix of at least 4 characters (as git takes a short hash),
/// e.g. <c>vigil runs show ff5362fc</c>. An ambiguous prefix is an error listing the runs it matches.
/// </summary>
internal static class RunIds
{
    /// <summary>The shortest prefix accepted.</summary>
    public const int MinimumPrefix = 4;

    /// <summary>The run <paramref name="idOrPrefix"/> names.</summary>
    public static async Task<Run> GetAsync(ITrackingStore store, string idOrPrefix, CancellationToken cancellationToken)
    {
        var id = await ResolveAsync(store, idOrPrefix, cancellationToken).ConfigureAwait(false);
        return await store.GetRunAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The full run id of <paramref name="idOrPrefix"/>: itself when a run has that id, else the one run whose id starts
    /// with it among the newest 10,000 runs.
    /// </summary>
    public static async Task<string> ResolveAsync(ITrackingStore store, string idOrPrefix, CancellationToken cancellationToken)
    {
        var text = idOrPrefix.Trim();
        try
        {
            return (await store.GetRunAsync(text, cancellationToken).ConfigureAwait(false)).RunId;
        }
        catch (TrackingException) when (text.Length >= MinimumPrefix)
        {
            // not a whole id: try it as a prefix
        }

        var runs = await store.ListRunsAsync(null, new RunFilter { MaxResults = 10_000 }, cancellationToken).ConfigureAwait(false);
        var matches = runs.Where(r => r.RunId.StartsWith(text, StringComparison.OrdinalIgnoreCase)).Select(r => r.RunId).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CliUsageException($"run '{text}' not found in {store.Location} (give a whole run id or a unique prefix of at least {MinimumPrefix} characters)"),
            _ => throw new CliUsageException($"run prefix '{text}' is ambiguous: {string.Join(", ", matches.Take(5))}{(matches.Count > 5 ? ", ..." : "")}; give more characters"),
        };
    }
}
