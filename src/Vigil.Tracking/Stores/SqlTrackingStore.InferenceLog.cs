using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Vigil.Tracking;

/// <summary>
/// The inference log tables of the tracking store, used through <see cref="InferenceLogStore"/>: <c>inference_log</c>
/// (schema version 5), one row per request, and since version 6 <c>inference_items</c>, one row per request that has
/// per-item entries (encoded by <see cref="InferenceItemsCodec"/>), keyed (model, start_us, log_id) so reading a model's
/// time range is one range scan.
/// </summary>
internal sealed partial class SqlTrackingStore
{
    /// <summary>The first schema version with table <c>inference_items</c> (inference log v2).</summary>
    internal const int InferenceItemsVersion = 6;

    /// <summary>The first schema version with column <c>inference_log.altered</c>.</summary>
    internal const int InferenceAlteredVersion = 7;

    private const string InferenceSelect = """
        SELECT log_id AS LogId, request_id AS RequestId, start_us AS StartUs, end_us AS EndUs, route AS Route, model AS Model,
               version AS Version, status AS Status, row_count AS RowCount, scored_rows AS ScoredRows,
               request_payload AS RequestPayload, response_payload AS ResponsePayload,
               parse_us AS ParseUs, transform_us AS TransformUs, score_us AS ScoreUs, error AS Error
        """;

    private string InferenceSelectWithFlags => SchemaVersion >= InferenceAlteredVersion ? InferenceSelect + ", CAST(CASE WHEN altered THEN 1 ELSE 0 END AS BIGINT) AS Altered" : InferenceSelect;

    private bool HasInferenceItems => SchemaVersion >= InferenceItemsVersion;

    /// <summary>Appends a batch in one transaction (all rows or none), retried as a whole on lock timeouts.</summary>
    internal async Task WriteInferenceAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }
        if (!HasInferenceItems)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i]?.HasItems == true)
                {
                    throw new TrackingException(
                        $"the {Backend} store {Location} is at schema version {SchemaVersion.ToString(CultureInfo.InvariantCulture)}, which cannot hold per-item inference log entries; open it with all migrations applied");
                }
            }
        }
        try
        {
            await WriteAsync(async (c, tx) =>
            {
                await _db.InsertInferenceAsync(c, tx, batch, HasInferenceItems, ct).ConfigureAwait(false);
                await MarkAlteredAsync(c, tx, batch, ct).ConfigureAwait(false);
                return 0;
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new TrackingException(
                $"cannot write {batch.Count.ToString(CultureInfo.InvariantCulture)} inference log rows to the {Backend} store {Location} (none were written): {e.Message}", e);
        }
    }

    /// <summary>
    /// Sets <c>altered</c> on the rows of the batch the writer had to change (rare: one UPDATE per altered row, in the
    /// batch's transaction, so the bulk insert paths stay as they are). A row already stored is left as it was.
    /// </summary>
    private async Task MarkAlteredAsync(DbConnection c, DbTransaction tx, IReadOnlyList<InferenceRecord> batch, CancellationToken ct)
    {
        if (SchemaVersion < InferenceAlteredVersion)
        {
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i] is { Altered: true } r)
            {
                await c.ExecuteAsync(Cmd("UPDATE inference_log SET altered = TRUE WHERE log_id = @id", new { id = r.LogId }, tx, ct)).ConfigureAwait(false);
            }
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
        var sql = new StringBuilder(InferenceSelectWithFlags);
        sql.Append(" FROM inference_log");
        AppendFilter(sql, model, null);
        sql.Append(" ORDER BY start_us DESC, log_id DESC LIMIT @count");
        return ReadAsync<IReadOnlyList<InferenceRecord>>(async (c, tx) =>
        {
            var rows = (await c.QueryAsync<InferenceRow>(Cmd(sql.ToString(), new { model, count = (long)count }, tx, ct)).ConfigureAwait(false)).AsList();
            var items = HasInferenceItems ? await ItemsOfAsync(c, tx, rows, ct).ConfigureAwait(false) : null;
            var records = new InferenceRecord[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                records[rows.Count - 1 - i] = rows[i].ToRecord(items?.GetValueOrDefault(rows[i].LogId)); // oldest first
            }
            return records;
        }, ct);
    }

    /// <summary>
    /// The items of the requests <paramref name="rows"/> by log id, from <c>inference_items</c>: per model, the rows
    /// keyed from the earliest request's start minus a run's span to the latest request's start, matched by log id.
    /// </summary>
    private static async Task<Dictionary<string, InferenceItems>> ItemsOfAsync(DbConnection c, DbTransaction tx, List<InferenceRow> rows, CancellationToken ct)
    {
        var found = new Dictionary<string, InferenceItems>(StringComparer.Ordinal);
        foreach (var group in rows.Where(r => r.Model is not null).GroupBy(r => r.Model!, StringComparer.Ordinal))
        {
            var wanted = group.Select(r => r.LogId).ToHashSet(StringComparer.Ordinal);
            var since = RowsSince(group.Min(r => r.StartUs));
            var until = group.Max(r => r.StartUs);
            var stored = await c.QueryAsync<ItemsRow>(Cmd(
                "SELECT log_id AS LogId, request_id AS RequestId, start_us AS StartUs, version AS Version, items AS Items FROM inference_items WHERE model = @model AND start_us >= @since AND start_us <= @until",
                new { model = group.Key, since, until }, tx, ct)).ConfigureAwait(false);
            foreach (var row in stored)
            {
                var reader = new InferenceItemsCodec.RowReader(row.Items, row.LogId, row.RequestId, row.StartUs, row.Version is { } v ? checked((int)v) : null);
                while (reader.Next(out var entry))
                {
                    if (wanted.Contains(entry.LogId))
                    {
                        found[entry.LogId] = InferenceItemsCodec.Decode(entry.Items);
                    }
                }
            }
        }
        return found;
    }

    private sealed class ItemsRow
    {
        public string LogId { get; set; } = "";

        public string RequestId { get; set; } = "";

        public long StartUs { get; set; }

        public long? Version { get; set; }

        public byte[] Items { get; set; } = [];
    }

    /// <summary>
    /// Streams the items of <paramref name="model"/>'s requests started in [<paramref name="sinceUs"/>, <paramref name="untilUs"/>),
    /// in chunks (one read transaction: a consistent snapshot), from table <c>inference_items</c>: requests without
    /// items (logged before schema 6, or that reached no model) are not there. Rows come in key order (start time then
    /// log id of their first request), so requests are in start order within a write batch's run; runs of
    /// consecutive batches may interleave by up to a batch's write delay. A run spans less than
    /// <see cref="InferenceItemRuns.SpanUs"/>, so the rows are read from <paramref name="sinceUs"/> minus that span and
    /// the requests filtered one by one.
    /// </summary>
    internal async IAsyncEnumerable<InferenceItemChunk> ReadInferenceItemsAsync(
        string model, long? sinceUs, long? untilUs, int chunkItems, [EnumeratorCancellation] CancellationToken ct)
    {
        if (!HasInferenceItems)
        {
            yield break;
        }
        var sql = new StringBuilder("SELECT log_id, request_id, start_us, version, items FROM inference_items WHERE model = @model");
        if (sinceUs is not null)
        {
            sql.Append(" AND start_us >= @since");
        }
        if (untilUs is not null)
        {
            sql.Append(" AND start_us < @until");
        }
        sql.Append(" ORDER BY start_us, log_id");

        await using var c = await _db.OpenAsync(ct).ConfigureAwait(false);
        await _db.PrepareScanAsync(c, ct).ConfigureAwait(false);
        await using var tx = await _db.BeginReadAsync(c, ct).ConfigureAwait(false);
        await using var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql.ToString();
        AddParameter(command, "@model", model);
        if (sinceUs is not null)
        {
            AddParameter(command, "@since", RowsSince(sinceUs));
        }
        if (untilUs is { } until)
        {
            AddParameter(command, "@until", until);
        }
        var builder = new InferenceItemChunkBuilder(model, chunkItems);
        var window = new ItemWindow(sinceUs ?? long.MinValue, untilUs ?? long.MaxValue);
        if (c is SqliteConnection sqlite)
        {
            // SQLite: the statement is stepped through the C API, each row's blob read in place (no copy, no
            // ADO.NET blob stream per row), inside the read transaction begun above
            using var cursor = new SqliteItemsCursor(this, sqlite, command.CommandText, model, window);
            while (cursor.Next(builder, ct))
            {
                yield return builder.Take();
            }
            if (builder.Count > 0)
            {
                yield return builder.Take();
            }
            yield break;
        }
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var logId = reader.GetString(0);
                var requestId = reader.GetString(1);
                var startUs = reader.GetInt64(2);
                int? version = reader.IsDBNull(3) ? null : checked((int)reader.GetInt64(3));
                var read = reader.GetBytes(4, 0, buffer, 0, buffer.Length);
                if (read == buffer.Length)
                {
                    var length = checked((int)reader.GetBytes(4, 0, null, 0, 0)); // the value may be longer than the buffer
                    if (length > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(length);
                        read = reader.GetBytes(4, 0, buffer, 0, length);
                    }
                }
                for (var resume = Append(builder, logId, requestId, startUs, version, buffer.AsSpan(0, (int)read), window, 0);
                     resume >= 0;
                     resume = Append(builder, logId, requestId, startUs, version, buffer.AsSpan(0, (int)read), window, resume))
                {
                    yield return builder.Take();
                }
                if (builder.IsFull)
                {
                    yield return builder.Take();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (builder.Count > 0)
        {
            yield return builder.Take();
        }
        // the read transaction ends (rolled back: it wrote nothing) when the reader, command and connection are disposed
    }

    /// <summary>
    /// The item query on a SQLite connection, stepped through the C API: <see cref="Next"/> appends rows to the
    /// builder until it is full or the current row starts another feature set (the row is then appended on the next
    /// call, after the caller took the chunk).
    /// </summary>
    private sealed class SqliteItemsCursor : IDisposable
    {
        private readonly SqlTrackingStore _store;
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _statement;
        private readonly ItemWindow _window;
        private int _resume = -1;

        public SqliteItemsCursor(SqlTrackingStore store, SqliteConnection connection, string sql, string model, ItemWindow window)
        {
            _store = store;
            _window = window;
            _db = connection.Handle!;
            var rc = raw.sqlite3_prepare_v2(_db, sql, out _statement);
            if (rc != raw.SQLITE_OK)
            {
                _statement.Dispose();
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            raw.sqlite3_bind_text16(_statement, raw.sqlite3_bind_parameter_index(_statement, "@model"), model.AsSpan());
            if (window.SinceUs != long.MinValue)
            {
                raw.sqlite3_bind_int64(_statement, raw.sqlite3_bind_parameter_index(_statement, "@since"), RowsSince(window.SinceUs));
            }
            if (window.UntilUs != long.MaxValue)
            {
                raw.sqlite3_bind_int64(_statement, raw.sqlite3_bind_parameter_index(_statement, "@until"), window.UntilUs);
            }
        }

        /// <summary>True when the builder holds a chunk to take; false at the end of the rows.</summary>
        public bool Next(InferenceItemChunkBuilder builder, CancellationToken ct)
        {
            for (var n = 0; ; n++)
            {
                if ((n & 4095) == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }
                if (_resume < 0)
                {
                    var rc = raw.sqlite3_step(_statement);
                    if (rc == raw.SQLITE_DONE)
                    {
                        return false;
                    }
                    if (rc != raw.SQLITE_ROW)
                    {
                        SqliteException.ThrowExceptionForRC(rc, _db);
                    }
                }
                var logId = raw.sqlite3_column_text(_statement, 0).utf8_to_string();
                var requestId = raw.sqlite3_column_text(_statement, 1).utf8_to_string();
                var startUs = raw.sqlite3_column_int64(_statement, 2);
                int? version = raw.sqlite3_column_type(_statement, 3) == raw.SQLITE_NULL ? null : checked((int)raw.sqlite3_column_int64(_statement, 3));
                _resume = _store.Append(builder, logId, requestId, startUs, version, raw.sqlite3_column_blob(_statement, 4), _window, Math.Max(0, _resume));
                if (_resume >= 0 || builder.IsFull)
                {
                    return true;
                }
            }
        }

        public void Dispose() => _statement.Dispose();
    }

    /// <summary>The requests started in [<see cref="SinceUs"/>, <see cref="UntilUs"/>) (unbounded: MinValue / MaxValue).</summary>
    private readonly record struct ItemWindow(long SinceUs, long UntilUs);

    /// <summary>The least row key that can hold a request started at <paramref name="sinceUs"/> or later (a run spans less than <see cref="InferenceItemRuns.SpanUs"/>).</summary>
    private static long RowsSince(long? sinceUs) =>
        sinceUs is { } since && since > long.MinValue + InferenceItemRuns.SpanUs ? since - InferenceItemRuns.SpanUs : long.MinValue;

    /// <summary>Appends a row's requests in the window from request <paramref name="resume"/> on (see <see cref="InferenceItemChunkBuilder.AppendRow"/>).</summary>
    private int Append(InferenceItemChunkBuilder builder, string logId, string requestId, long startUs, int? version, ReadOnlySpan<byte> encoded, ItemWindow window, int resume)
    {
        try
        {
            return builder.AppendRow(logId, requestId, startUs, version, encoded, window.SinceUs, window.UntilUs, resume);
        }
        catch (InvalidDataException e)
        {
            throw new TrackingException($"the {Backend} store {Location}: inference log row {logId}: {e.Message}", e);
        }
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
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

        public long Altered { get; set; }

        public InferenceRecord ToRecord(InferenceItems? items) => new()
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
            Items = items,
            Altered = Altered != 0,
        };
    }
}
