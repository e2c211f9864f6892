using System.Globalization;
using Dapper;

namespace Vigil.Tracking;

/// <summary>
/// Table <c>inference_labels</c> (schema version 8): delayed labels joined to logged predictions, one row per labelled
/// item keyed (model, request_id, item); a later ingest of the same item replaces its label.
/// </summary>
internal sealed partial class SqlTrackingStore
{
    /// <summary>The first schema version with table <c>inference_labels</c>.</summary>
    internal const int InferenceLabelsVersion = 8;

    internal async Task WriteLabelsAsync(string model, IReadOnlyList<InferenceLabel> labels, long ingestedUs, CancellationToken ct)
    {
        RequireLabels();
        if (labels.Count == 0)
        {
            return;
        }

        const string sql = """
            INSERT INTO inference_labels (model, request_id, item, label, label_us, ingested_us)
            VALUES (@model, @requestId, @item, @label, @labelUs, @ingestedUs)
            ON CONFLICT (model, request_id, item) DO UPDATE SET label = excluded.label, label_us = excluded.label_us, ingested_us = excluded.ingested_us
            """;
        var rows = new List<object>(labels.Count);
        foreach (var l in labels)
        {
            rows.Add(new { model, requestId = l.RequestId, item = l.Item, label = (short)l.Label, labelUs = l.LabelUs, ingestedUs });
        }

        await WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd(sql, rows, tx, ct)).ConfigureAwait(false), ct).ConfigureAwait(false);
    }

    internal Task<IReadOnlyList<InferenceLabel>> ReadLabelsAsync(string model, CancellationToken ct)
    {
        RequireLabels();
        return ReadAsync<IReadOnlyList<InferenceLabel>>(async (c, tx) =>
        {
            var rows = await c.QueryAsync<LabelRow>(Cmd(
                "SELECT request_id AS RequestId, item AS Item, label AS Label, label_us AS LabelUs FROM inference_labels WHERE model = @model ORDER BY request_id, item",
                new { model }, tx, ct)).ConfigureAwait(false);
            var result = new List<InferenceLabel>();
            foreach (var r in rows)
            {
                result.Add(new InferenceLabel(r.RequestId, (int)r.Item, (int)r.Label, r.LabelUs));
            }

            return result;
        }, ct);
    }

    private void RequireLabels()
    {
        if (SchemaVersion < InferenceLabelsVersion)
        {
            throw new TrackingException(
                $"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(CultureInfo.InvariantCulture)}, which has no label table; open it with all migrations applied");
        }
    }

    private sealed class LabelRow
    {
        public string RequestId { get; set; } = "";

        public long Item { get; set; }

        public long Label { get; set; }

        public long? LabelUs { get; set; }
    }
}
