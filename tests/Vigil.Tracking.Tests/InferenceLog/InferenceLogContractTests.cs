namespace Vigil.Tracking.Tests;

/// <summary>
/// The inference log contract: every destination (SQLite, PostgreSQL, Parquet folder) runs these same tests.
/// Each test gets an empty log.
/// </summary>
public abstract class InferenceLogContractTests : IDisposable
{
    /// <summary>2026-03-01T12:00:00Z in unix microseconds.</summary>
    internal const long T0 = 1_772_366_400_000_000;

    private readonly TempDir _home = new();

    protected string Home => _home.Path;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Opens a sink on this test's log (a second call opens another sink on the same log).</summary>
    protected abstract Task<IInferenceLogSink> OpenSinkAsync();

    /// <summary>Opens a reader on this test's log.</summary>
    protected abstract Task<IInferenceLogReader> OpenReaderAsync();

    public void Dispose()
    {
        _home.Dispose();
        GC.SuppressFinalize(this);
    }

    internal static InferenceRecord Record(int i, string? model = "fraud", long? startUs = null, string? requestId = "req") => new()
    {
        LogId = "log" + i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture),
        RequestId = requestId!,
        StartUs = startUs ?? T0 + (i * 1_000L),
        EndUs = (startUs ?? T0 + (i * 1_000L)) + 750,
        Route = "v1/predict",
        Model = model,
        Version = model is null ? null : 3,
        Status = 200,
        Rows = 2,
        ScoredRows = 2,
        RequestPayload = "sha256:" + new string('a', 64),
        ResponsePayload = """{"predictions":[0.1,0.9]}""",
        ParseUs = 11 + i,
        TransformUs = 22 + i,
        ScoreUs = 33 + i,
        Error = null,
    };

    private async Task WriteAsync(params InferenceRecord[] rows)
    {
        await using var sink = await OpenSinkAsync();
        await sink.WriteAsync(rows, Ct);
    }

    [Fact]
    public async Task An_empty_log_counts_zero_and_tails_nothing()
    {
        await using (var sink = await OpenSinkAsync())
        {
            await sink.WriteAsync([], Ct);
        }
        await using var reader = await OpenReaderAsync();
        (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(0);
        (await reader.TailAsync(10, cancellationToken: Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Every_field_reads_back_as_written()
    {
        var full = new InferenceRecord
        {
            LogId = "0195f0c1a2b34c5d8e9f000000000001",
            RequestId = "client-req-ünïcode-✓",
            StartUs = T0,
            EndUs = T0 + 1234,
            Route = "v2/infer",
            Model = "fraud-iforest",
            Version = 7,
            Status = 422,
            Rows = 5,
            ScoredRows = 4,
            RequestPayload = """{"instances":[{"amount":12.5,"country":"DE"}]}""",
            ResponsePayload = "sha256:" + new string('f', 64),
            ParseUs = 101,
            TransformUs = 202,
            ScoreUs = 303,
            Error = "instance 3: field 'amount' is not a number",
        };
        await WriteAsync(full);
        await using var reader = await OpenReaderAsync();
        var back = (await reader.TailAsync(1, cancellationToken: Ct)).ShouldHaveSingleItem();
        back.ShouldBeEquivalentTo(full);
    }

    [Fact]
    public async Task Null_payloads_model_version_and_error_stay_null()
    {
        var bare = new InferenceRecord
        {
            LogId = "bare",
            RequestId = "r1",
            StartUs = T0,
            EndUs = T0 + 5,
            Route = "invocations",
            Status = 400,
        };
        await WriteAsync(bare);
        await using var reader = await OpenReaderAsync();
        var back = (await reader.TailAsync(5, cancellationToken: Ct)).ShouldHaveSingleItem();
        back.Model.ShouldBeNull();
        back.Version.ShouldBeNull();
        back.RequestPayload.ShouldBeNull();
        back.ResponsePayload.ShouldBeNull();
        back.Error.ShouldBeNull();
        back.Status.ShouldBe(400);
        back.Rows.ShouldBe(0);
        back.ParseUs.ShouldBe(0);
    }

    [Fact]
    public async Task Count_filters_by_model_and_start_time()
    {
        await WriteAsync(Record(0, "fraud"), Record(1, "fraud"), Record(2, "aml"), Record(3, null));
        await WriteAsync(Record(4, "fraud"), Record(5, "aml"));
        await using var reader = await OpenReaderAsync();
        (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(6);
        (await reader.CountAsync("fraud", cancellationToken: Ct)).ShouldBe(3);
        (await reader.CountAsync("aml", cancellationToken: Ct)).ShouldBe(2);
        (await reader.CountAsync("nope", cancellationToken: Ct)).ShouldBe(0);
        (await reader.CountAsync(sinceUs: T0 + 2_000, cancellationToken: Ct)).ShouldBe(4); // start at or after: rows 2..5
        (await reader.CountAsync("fraud", T0 + 1_000, Ct)).ShouldBe(2);
        (await reader.CountAsync(sinceUs: T0 + 5_001, cancellationToken: Ct)).ShouldBe(0);
    }

    [Fact]
    public async Task Tail_returns_the_newest_rows_by_start_time_oldest_first()
    {
        // written out of start order and across batches: the tail orders by start time, not by write order
        await WriteAsync(Record(5), Record(1), Record(9));
        await WriteAsync(Record(3), Record(8, "aml"), Record(2));
        await WriteAsync(Record(7), Record(0), Record(6, "aml"), Record(4));
        await using var reader = await OpenReaderAsync();
        (await reader.TailAsync(3, cancellationToken: Ct)).Select(r => r.LogId).ShouldBe(["log00000007", "log00000008", "log00000009"]);
        (await reader.TailAsync(100, cancellationToken: Ct)).Count.ShouldBe(10);
        (await reader.TailAsync(100, cancellationToken: Ct))[0].LogId.ShouldBe("log00000000");
        (await reader.TailAsync(2, "fraud", Ct)).Select(r => r.LogId).ShouldBe(["log00000007", "log00000009"]);
        (await reader.TailAsync(5, "aml", Ct)).Select(r => r.LogId).ShouldBe(["log00000006", "log00000008"]);
        (await reader.TailAsync(0, cancellationToken: Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Tail_breaks_start_time_ties_by_log_id()
    {
        await WriteAsync(Record(2, startUs: T0), Record(1, startUs: T0), Record(3, startUs: T0));
        await using var reader = await OpenReaderAsync();
        (await reader.TailAsync(2, cancellationToken: Ct)).Select(r => r.LogId).ShouldBe(["log00000002", "log00000003"]);
    }

    [Fact]
    public async Task A_batch_with_a_bad_row_writes_none_of_its_rows()
    {
        await WriteAsync(Record(0));
        await using (var sink = await OpenSinkAsync())
        {
            // the third row has no request id (a NOT NULL column): the whole batch fails, the earlier batch stays
            await Should.ThrowAsync<Exception>(() => sink.WriteAsync([Record(1), Record(2), Record(3, requestId: null)], Ct));
            await sink.WriteAsync([Record(4)], Ct); // the sink still works afterwards
        }
        await using var reader = await OpenReaderAsync();
        (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(2);
        (await reader.TailAsync(10, cancellationToken: Ct)).Select(r => r.LogId).ShouldBe(["log00000000", "log00000004"]);
    }

    [Fact]
    public async Task Several_batches_of_many_rows_are_all_counted_with_timings()
    {
        const int batches = 7;
        const int perBatch = 1_500;
        await using (var sink = await OpenSinkAsync())
        {
            for (var b = 0; b < batches; b++)
            {
                var batch = new InferenceRecord[perBatch];
                for (var i = 0; i < perBatch; i++)
                {
                    batch[i] = Record((b * perBatch) + i);
                }
                await sink.WriteAsync(batch, Ct);
            }
        }
        await using var reader = await OpenReaderAsync();
        (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(batches * perBatch);
        var tail = await reader.TailAsync(3, cancellationToken: Ct);
        tail.Select(r => r.ScoreUs).ShouldBe([33L + (batches * perBatch) - 3, 33L + (batches * perBatch) - 2, 33L + (batches * perBatch) - 1]);
        tail.ShouldAllBe(r => r.ParseUs > 0 && r.TransformUs > 0 && r.EndUs > r.StartUs);
    }

    [Fact]
    public async Task The_sink_describes_its_destination()
    {
        await using var sink = await OpenSinkAsync();
        sink.Description.ShouldNotBeNullOrWhiteSpace();
        sink.Description.ShouldNotContain("password", Case.Insensitive);
    }

    // ---------------------------------------------------------------- inference log v2: items

    [Fact]
    public async Task A_row_with_encoded_items_reads_back_as_the_same_row_with_item_objects()
    {
        // the server hands the SQL stores rows whose items are one encoded array (WithEncodedItems); every sink must
        // store them as it stores item objects
        var objects = WithItems(Record(0), Items3());
        var encoded = WithItems(Record(1), Items3(99.5)).WithEncodedItems();
        encoded.ItemsEncoded.ShouldNotBeNull();
        await using (var sink = await OpenSinkAsync())
        {
            await sink.WriteAsync([objects, encoded], Ct);
        }
        await using var reader = await OpenReaderAsync();
        var tail = await reader.TailAsync(2, cancellationToken: Ct);
        tail.Select(r => r.LogId).ShouldBe([objects.LogId, encoded.LogId]);
        var chunks = await ReadItemsAsync("fraud");
        chunks.SelectMany(c => c.Status).ShouldBe([200, 200, 400, 200, 200, 400]);
        chunks.SelectMany(c => c.Rule).ShouldBe([null, "blocked_country_✓", null, null, "blocked_country_✓", null]);
        chunks.SelectMany(c => c.Features[1].Texts!).ShouldBe(["DE", null, "日本", "DE", null, "日本"]);
        var logged = chunks.SelectMany(c => c.Features[0].Numbers!).Select(BitConverter.DoubleToInt64Bits);
        logged.ShouldBe(new[] { 12.5, 1e300, double.NaN, 99.5, 1e300, double.NaN }.Select(BitConverter.DoubleToInt64Bits));
    }


    /// <summary>Three items: scored normal, decided by a rule (no score), invalid (no label); a numeric and a categorical input.</summary>
    internal static InferenceItems Items3(double amount0 = 12.5) => new()
    {
        Count = 3,
        Status = [200, 200, 400],
        Score = [0.25, double.NaN, double.NaN],
        Label = [0, 1, -1],
        Rule = [null, "blocked_country_✓", null],
        Features =
        [
            new InferenceFeatureColumn("amount", [amount0, 1e300, double.NaN], null),
            new InferenceFeatureColumn("länd", null, ["DE", null, "日本"]),
        ],
    };

    internal static InferenceRecord WithItems(InferenceRecord r, InferenceItems? items) => new()
    {
        LogId = r.LogId,
        RequestId = r.RequestId,
        StartUs = r.StartUs,
        EndUs = r.EndUs,
        Route = r.Route,
        Model = r.Model,
        Version = r.Version,
        Status = r.Status,
        Rows = items?.Count ?? r.Rows,
        ScoredRows = r.ScoredRows,
        RequestPayload = r.RequestPayload,
        ResponsePayload = r.ResponsePayload,
        ParseUs = r.ParseUs,
        TransformUs = r.TransformUs,
        ScoreUs = r.ScoreUs,
        Items = items,
    };

    protected async Task<List<InferenceItemChunk>> ReadItemsAsync(string model, long? sinceUs = null, long? untilUs = null)
    {
        await using var reader = await OpenReaderAsync();
        var chunks = new List<InferenceItemChunk>();
        await foreach (var chunk in reader.ReadItemsAsync(model, sinceUs, untilUs, Ct))
        {
            chunk.Count.ShouldBeGreaterThan(0);
            chunk.Model.ShouldBe(model);
            chunks.Add(chunk);
        }
        return chunks;
    }

    [Fact]
    public async Task Items_read_back_exactly_as_written()
    {
        var record = WithItems(Record(0, requestId: "req-ünï"), Items3());
        await WriteAsync(record);
        var chunk = (await ReadItemsAsync("fraud")).ShouldHaveSingleItem();
        chunk.Count.ShouldBe(3);
        chunk.LogId.ShouldBe(["log00000000", "log00000000", "log00000000"]);
        chunk.RequestId.ShouldBe(["req-ünï", "req-ünï", "req-ünï"]);
        chunk.Item.ShouldBe([0, 1, 2]);
        chunk.StartUs.ShouldBe([T0, T0, T0]);
        chunk.Version.ShouldBe([3, 3, 3]);
        chunk.Status.ShouldBe([200, 200, 400]);
        chunk.Score[0].ShouldBe(0.25);
        double.IsNaN(chunk.Score[1]).ShouldBeTrue();
        double.IsNaN(chunk.Score[2]).ShouldBeTrue();
        chunk.Label.ShouldBe([(sbyte)0, (sbyte)1, (sbyte)-1]);
        chunk.Rule.ShouldBe([null, "blocked_country_✓", null]);
        chunk.Features.Select(f => (f.Name, f.IsText)).ShouldBe([("amount", false), ("länd", true)]);
        chunk.Features[0].Numbers!.Length.ShouldBe(3);
        chunk.Features[0].Numbers![0].ShouldBe(12.5);
        chunk.Features[0].Numbers![1].ShouldBe(1e300);
        double.IsNaN(chunk.Features[0].Numbers![2]).ShouldBeTrue();
        chunk.Features[1].Texts.ShouldBe(["DE", null, "日本"]);
    }

    [Fact]
    public async Task Items_are_filtered_by_model_and_start_time_half_open()
    {
        // requests start at T0 + i ms; fraud: 0, 1, 2, 4; aml: 3; request 5 has no items (logged before v2 or malformed)
        await WriteAsync(
            WithItems(Record(0), Items3(0)), WithItems(Record(1), Items3(1)), WithItems(Record(2), Items3(2)),
            WithItems(Record(3, "aml"), Items3(3)), WithItems(Record(4), Items3(4)), Record(5));
        (await ReadItemsAsync("fraud")).Sum(c => c.Count).ShouldBe(12);
        (await ReadItemsAsync("aml")).Sum(c => c.Count).ShouldBe(3);
        (await ReadItemsAsync("nope")).ShouldBeEmpty();
        var window = await ReadItemsAsync("fraud", T0 + 1_000, T0 + 4_000); // [since, until): requests 1 and 2
        window.SelectMany(c => c.LogId).Distinct().Order(StringComparer.Ordinal).ShouldBe(["log00000001", "log00000002"]);
        window.SelectMany(c => c.Features[0].Numbers!.Where((_, i) => c.Item[i] == 0)).Order().ShouldBe([1.0, 2.0]);
        (await ReadItemsAsync("fraud", sinceUs: T0 + 4_000)).SelectMany(c => c.LogId).Distinct().ShouldBe(["log00000004"]);
        (await ReadItemsAsync("fraud", untilUs: T0)).ShouldBeEmpty();
        (await ReadItemsAsync("fraud", sinceUs: T0 + 5_000)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Model_versions_with_other_features_come_in_separate_chunks()
    {
        var v4 = new InferenceItems
        {
            Count = 2,
            Status = [200, 200],
            Score = [0.9, 0.1],
            Label = [1, 0],
            Rule = [null, null],
            Features = [new InferenceFeatureColumn("amount", [5, 6], null), new InferenceFeatureColumn("hour", [23, 2], null)],
        };
        var r4 = Record(1);
        await WriteAsync(WithItems(Record(0), Items3()), new InferenceRecord
        {
            LogId = r4.LogId, RequestId = "r4", StartUs = r4.StartUs, EndUs = r4.EndUs, Route = r4.Route, Model = "fraud", Version = 4, Status = 200, Items = v4,
        });
        var chunks = await ReadItemsAsync("fraud");
        chunks.Count.ShouldBe(2);
        var byVersion = chunks.OrderBy(c => c.Version[0]).ToArray();
        byVersion[0].Features.Select(f => f.Name).ShouldBe(["amount", "länd"]);
        byVersion[1].Features.Select(f => f.Name).ShouldBe(["amount", "hour"]);
        byVersion[1].Version.ShouldBe([4, 4]);
        byVersion[1].Features[1].Numbers.ShouldBe([23.0, 2.0]);
        byVersion[1].Label.ShouldBe([(sbyte)1, (sbyte)0]);
    }

    [Fact]
    public async Task A_request_with_no_items_and_one_with_inconsistent_items()
    {
        var empty = new InferenceItems { Count = 0, Status = [], Score = [], Label = [], Rule = [], Features = [] };
        await WriteAsync(WithItems(Record(0), empty), WithItems(Record(1), Items3()));
        (await ReadItemsAsync("fraud")).Sum(c => c.Count).ShouldBe(3);
        var bad = new InferenceItems { Count = 2, Status = [200], Score = [1, 2], Label = [0, 0], Rule = [null, null], Features = [] };
        await using var sink = await OpenSinkAsync();
        (await Should.ThrowAsync<Exception>(() => sink.WriteAsync([WithItems(Record(2), Items3()), WithItems(Record(3), bad)], Ct)))
            .Message.ShouldContain("status, score, label or rule array shorter than the item count");
        await using var reader = await OpenReaderAsync();
        (await reader.CountAsync(cancellationToken: Ct)).ShouldBe(2); // the failed batch wrote nothing
    }
}
