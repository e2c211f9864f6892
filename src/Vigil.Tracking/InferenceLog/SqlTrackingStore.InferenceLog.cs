using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;

namespace Vigil.Tracking;

/// <summary>The inference log table of the tracking store (schema version 5), used through <see cref="InferenceLogStore"/>.</summary>
internal sealed partial class SqlTrackingStore
{
    private const string InferenceSelect = """
        SELECT log_id AS LogId, request_id AS RequestId, start_us AS StartUs, end_us AS EndUs, route AS Route, model AS Model,
               version AS Version, status AS Status, row_count AS RowCount, scored_rows AS ScoredRows,
               request_payload AS RequestPayload, response_payload AS ResponsePayload,
               parse_us AS ParseUs, transform_us AS TransformUs, score_us AS ScoreUs, error AS Error
        FROM inference_log
        """;

    /// <summary>Appends a batch in one transaction (all rows or none), retried as a whole on lock timeouts.</summary>
    internal async Task WriteInferenceAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }
        try
        {
            await WriteAsync(async (c, tx) =>
            {
                await _db.InsertInferenceAsync(c, tx, batch, ct).ConfigureAwait(false);
                return 0;
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new TrackingException(
                $"cannot write {batch.Count.ToString(CultureInfo.InvariantCulture)} inference log rows to the {Backend} store {Location} (none were written): {e.Message}", e);
        }
    }

    internal Task<long> CountInferenceAsync(string? model, long? sinceUs, CancellationToken ct)
    {
        var sql = new StringBuilder("SELECT COUNT(*) FROM inference_log");
        AppendFilter(sql, model, sinceUs);
        return ReadAsync((c, tx) => c.ExecuteScalarAsync<long>(Cmd(sql.ToString(), new { model, sinceUs }, tx, ct)), ct);
    }

    internal Task<IReadOnlyList<InferenceRecord>> TailInferenceAsync(int count, string? model, CancellationToken ct)
    {
        var sql = new StringBuilder(InferenceSelect);
        AppendFilter(sql, model, null);
        sql.Append(" ORDER BY start_us DESC, log_id DESC LIMIT @count");
        return ReadAsync<IReadOnlyList<InferenceRecord>>(async (c, tx) =>
        {
            var rows = (await c.QueryAsync<InferenceRow>(Cmd(sql.ToString(), new { model, count = (long)count }, tx, ct)).ConfigureAwait(false)).AsList();
            var records = new InferenceRecord[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                records[rows.Count - 1 - i] = rows[i].ToRecord(); // oldest first
            }
            return records;
        }, ct);
    }

    private static void AppendFilter(StringBuilder sql, string? model, long? sinceUs)
    {
        var where = " WHERE ";
        if (model is not null)
        {
            sql.Append(where).Append("model = @model");
            where = " AND ";
        }
        if (sinceUs is not null)
        {
            sql.Append(where).Append("start_us >= @sinceUs");
        }
    }

    private sealed class InferenceRow
    {
        public string LogId { get; set; } = "";

        public string RequestId { get; set; } = "";

        public long StartUs { get; set; }

        public long EndUs { get; set; }

        public string Route { get; set; } = "";

        public string? Model { get; set; }

        public long? Version { get; set; }

        public long Status { get; set; }

        public long RowCount { get; set; }

        public long ScoredRows { get; set; }

        public string? RequestPayload { get; set; }

        public string? ResponsePayload { get; set; }

        public long ParseUs { get; set; }

        public long TransformUs { get; set; }

        public long ScoreUs { get; set; }

        public string? Error { get; set; }

        public InferenceRecord ToRecord() => new()
        {
            LogId = LogId,
            RequestId = RequestId,
            StartUs = StartUs,
            EndUs = EndUs,
            Route = Route,
            Model = Model,
            Version = Version is { } v ? checked((int)v) : null,
            Status = checked((int)Status),
            Rows = checked((int)RowCount),
            ScoredRows = checked((int)ScoredRows),
            RequestPayload = RequestPayload,
            ResponsePayload = ResponsePayload,
            ParseUs = ParseUs,
            TransformUs = TransformUs,
            ScoreUs = ScoreUs,
            Error = Error,
        };
    }
}
