using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Monitoring;

/// <summary>How a label file's id column finds a logged prediction.</summary>
public enum LabelJoinKind
{
    /// <summary>The id is a request id; the item is 0 unless an item column says otherwise.</summary>
    Request,

    /// <summary>The id is the value of a feature the model logged (a business id such as a transaction id).</summary>
    Feature,
}

/// <summary>The outcome of joining label rows to the inference log.</summary>
/// <param name="Matched">Labels that found their logged prediction.</param>
/// <param name="Read">Label rows read.</param>
/// <param name="Unmatched">Label rows whose id is not in the log (not stored).</param>
/// <param name="FirstUnmatched">The first unmatched ids (up to 5), for the message.</param>
public sealed record LabelJoinResult(IReadOnlyList<InferenceLabel> Matched, int Read, int Unmatched, IReadOnlyList<string> FirstUnmatched);

/// <summary>
/// Joins delayed labels to a model's logged predictions: by request id (plus an item index, 0 by default: the item of a
/// one-item request) or by the logged value of a business-id feature. Reads the log once, keeping one entry per
/// logged item it could be asked for.
/// </summary>
public static class LabelJoin
{
    /// <summary>Joins <paramref name="ids"/> (with <paramref name="items"/>, <paramref name="labels"/>, <paramref name="times"/>) to the items the reader streams.</summary>
    /// <param name="log">The model's logged items.</param>
    /// <param name="kind">How ids are matched.</param>
    /// <param name="feature">For <see cref="LabelJoinKind.Feature"/>: the logged feature holding the business id.</param>
    /// <param name="ids">The id per label row.</param>
    /// <param name="items">The item index per label row (null: 0 for request ids).</param>
    /// <param name="labels">0/1 per label row.</param>
    /// <param name="times">When each label became known (unix microseconds), or null.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<LabelJoinResult> JoinAsync(IAsyncEnumerable<InferenceItemChunk> log, LabelJoinKind kind, string? feature,
        IReadOnlyList<string> ids, IReadOnlyList<int>? items, IReadOnlyList<int> labels, IReadOnlyList<long?>? times, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(labels);
        var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
        var requestItems = new Dictionary<string, int>(StringComparer.Ordinal); // request id -> item count seen
        var byFeature = new Dictionary<string, (string Request, int Item)>(StringComparer.Ordinal);
        var featureSeen = false;
        await foreach (var chunk in log.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (kind == LabelJoinKind.Request)
            {
                for (var i = 0; i < chunk.Count; i++)
                {
                    var r = chunk.RequestId[i];
                    if (wanted.Contains(r))
                    {
                        requestItems[r] = Math.Max(requestItems.GetValueOrDefault(r), chunk.Item[i] + 1);
                    }
                }

                continue;
            }

            InferenceFeatureColumn? column = null;
            foreach (var f in chunk.Features)
            {
                if (string.Equals(f.Name, feature, StringComparison.Ordinal))
                {
                    column = f;
                }
            }

            if (column is null)
            {
                continue;
            }

            featureSeen = true;
            for (var i = 0; i < chunk.Count; i++)
            {
                var value = column.Texts is { } t ? t[i] : double.IsFinite(column.Numbers![i]) ? column.Numbers[i].ToString("R", CultureInfo.InvariantCulture) : null;
                if (value is not null && wanted.Contains(value))
                {
                    byFeature[value] = (chunk.RequestId[i], chunk.Item[i]); // the latest logged prediction of that id wins
                }
            }
        }

        if (kind == LabelJoinKind.Feature && !featureSeen && ids.Count > 0)
        {
            throw new DriftException($"no logged item of this model has the feature '{feature}'; the business id must be one of the model's logged inputs");
        }

        var matched = new List<InferenceLabel>();
        var unmatched = new List<string>();
        var unmatchedCount = 0;
        for (var row = 0; row < ids.Count; row++)
        {
            var id = ids[row];
            (string Request, int Item)? target = null;
            if (kind == LabelJoinKind.Request)
            {
                var item = items?[row] ?? 0;
                if (requestItems.TryGetValue(id, out var count) && item < count)
                {
                    target = (id, item);
                }
            }
            else if (byFeature.TryGetValue(id, out var hit))
            {
                target = hit;
            }

            if (target is { } t)
            {
                matched.Add(new InferenceLabel(t.Request, t.Item, labels[row], times?[row]));
            }
            else
            {
                unmatchedCount++;
                if (unmatched.Count < 5)
                {
                    unmatched.Add(id);
                }
            }
        }

        return new LabelJoinResult(matched, ids.Count, unmatchedCount, unmatched);
    }
}
