namespace Vigil.Tracking;

/// <summary>One row of table <c>inference_items</c>: a run of requests of one model, keyed by its first request.</summary>
/// <param name="Model">The model of every request in the run.</param>
/// <param name="StartUs">The first (earliest) request's start (unix microseconds): the row's key.</param>
/// <param name="LogId">The first request's log id: the row's key.</param>
/// <param name="Version">The first request's model version.</param>
/// <param name="RequestId">The first request's request id.</param>
/// <param name="Items">The run, encoded by <see cref="InferenceItemsCodec.RunEncoder"/>.</param>
internal sealed record InferenceItemRun(string Model, long StartUs, string LogId, int? Version, string RequestId, byte[] Items);

/// <summary>
/// Groups the per-item entries of a write batch into runs (inference log v2, storage version 2): the requests with
/// items of one model, in start order, cut when the model changes, when a run would span
/// <see cref="SpanUs"/> or more, or hold more than <see cref="MaxRequests"/> requests, <see cref="MaxItems"/> items or
/// <see cref="MaxBytes"/> bytes.
/// A batch then costs the store one items row per run instead of one per request. Because no run spans more than
/// <see cref="SpanUs"/>, a reader finds every request started in [since, until) among the rows keyed in
/// [since − <see cref="SpanUs"/>, until), and filters the requests inside.
/// </summary>
internal static class InferenceItemRuns
{
    /// <summary>The longest time span of one run (1 s).</summary>
    public const long SpanUs = 1_000_000;

    /// <summary>The most requests in one run.</summary>
    public const int MaxRequests = 512;

    /// <summary>The most items in one run (a run is cut after the request that reaches it).</summary>
    public const int MaxItems = 4_096;

    /// <summary>
    /// The encoded size at which a run is cut (after the request that reaches it): runs, and the buffer they are
    /// encoded in, stay below the large object heap's 85,000 bytes, whose allocations would cost the server full
    /// (gen 2) collections.
    /// </summary>
    public const int MaxBytes = 32 * 1024;

    /// <summary>
    /// The runs of <paramref name="batch"/>'s records that have items and a model and, when <paramref name="include"/>
    /// is given, for which it is true (e.g. only the requests the store had not stored before).
    /// </summary>
    public static List<InferenceItemRun> Build(IReadOnlyList<InferenceRecord> batch, Func<int, bool>? include = null)
    {
        var order = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i] is { HasItems: true, Model: not null } && (include is null || include(i)))
            {
                order.Add(i);
            }
        }
        var runs = new List<InferenceItemRun>();
        if (order.Count == 0)
        {
            return runs;
        }
        order.Sort((a, b) =>
        {
            var x = batch[a];
            var y = batch[b];
            var c = string.CompareOrdinal(x.Model, y.Model);
            if (c == 0)
            {
                c = x.StartUs.CompareTo(y.StartUs);
            }
            return c != 0 ? c : string.CompareOrdinal(x.LogId, y.LogId);
        });

        var encoder = new InferenceItemsCodec.RunEncoder();
        InferenceRecord? first = null;
        var items = 0;
        foreach (var index in order)
        {
            var r = batch[index];
            if (first is not null && (!string.Equals(first.Model, r.Model, StringComparison.Ordinal)
                || r.StartUs - first.StartUs >= SpanUs || encoder.Count >= MaxRequests || items >= MaxItems || encoder.Length >= MaxBytes))
            {
                runs.Add(Close(first, encoder));
                first = null;
            }
            if (first is null)
            {
                first = r;
                items = 0;
                encoder.Begin();
            }
            encoder.Add(r);
            items += r.ItemCount;
        }
        runs.Add(Close(first!, encoder));
        return runs;
    }

    private static InferenceItemRun Close(InferenceRecord first, InferenceItemsCodec.RunEncoder encoder) =>
        new(first.Model!, first.StartUs, first.LogId, first.Version, first.RequestId, encoder.Finish().ToArray());
}
