namespace Vigil.Evaluation;

/// <summary>One trained candidate of a search: its number, settings and validation metrics.</summary>
/// <param name="Candidate">1-based candidate number in search order.</param>
/// <param name="Parameters">The searched settings.</param>
/// <param name="Metrics">Validation metrics (empty when training failed).</param>
/// <param name="Error">Why training failed; null on success.</param>
public sealed record SearchCandidate(int Candidate, IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, double> Metrics, string? Error = null);

/// <summary>Ranks search candidates by one metric.</summary>
public static class Leaderboard
{
    /// <summary>
    /// The candidates best first by <paramref name="metric"/> (higher is better for every standard metric); ties,
    /// and candidates without the metric or with NaN (after the others), keep candidate-number order, so the same
    /// results always give the same leaderboard.
    /// </summary>
    public static IReadOnlyList<SearchCandidate> Rank(IEnumerable<SearchCandidate> candidates, string metric)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(metric);
        var list = candidates.ToList();
        list.Sort((a, b) =>
        {
            var x = Value(a, metric);
            var y = Value(b, metric);
            var byMetric = (double.IsNaN(x), double.IsNaN(y)) switch
            {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => -1,
                _ => y.CompareTo(x),
            };
            return byMetric != 0 ? byMetric : a.Candidate.CompareTo(b.Candidate);
        });
        return list;
    }

    private static double Value(SearchCandidate c, string metric) =>
        c.Error is null && c.Metrics.TryGetValue(metric, out var v) ? v : double.NaN;
}
