namespace Vigil.Tracking.Tests;

/// <summary>
/// The inference log contract: every destination (SQLite, PostgreSQL, Parquet folder) runs these same tests.
/// Each test gets an empty log.
/// </summary>
public abstract class InferenceLogContractTests : IDisposable
{
    /// <summary>2026-03-01T12:00:00Z in unix microseconds.</summary>
    protected const long T0 = 1_772_366_400_000_000;

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
}
