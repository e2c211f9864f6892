namespace Vigil.Tracking.Tests;

/// <summary>The inference log in the tracking store: what the SQL backends add to the contract.</summary>
public abstract class SqlInferenceLogTests : InferenceLogContractTests
{
    protected abstract Task<string> StoreSpecAsync();

    /// <summary>The number of rows in table <c>inference_items</c>, counted with the backend's own driver.</summary>
    protected abstract Task<long> ItemRowsAsync();

    protected override async Task<IInferenceLogSink> OpenSinkAsync() => await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);

    protected override async Task<IInferenceLogReader> OpenReaderAsync() => await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);

    [Fact]
    public async Task Labels_are_stored_per_model_and_a_later_label_replaces_an_earlier_one()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        await store.WriteLabelsAsync("fraud", [new InferenceLabel("r1", 0, 1, 1_000), new InferenceLabel("r1", 1, 0, null), new InferenceLabel("r2", 0, 0, 2_000)], 10, Ct);
        await store.WriteLabelsAsync("other", [new InferenceLabel("r1", 0, 0, null)], 10, Ct);
        await store.WriteLabelsAsync("fraud", [new InferenceLabel("r2", 0, 1, 3_000)], 20, Ct); // the chargeback arrived later
        (await store.ReadLabelsAsync("fraud", Ct)).ShouldBe(
            [new InferenceLabel("r1", 0, 1, 1_000), new InferenceLabel("r1", 1, 0, null), new InferenceLabel("r2", 0, 1, 3_000)]);
        (await store.ReadLabelsAsync("other", Ct)).ShouldBe([new InferenceLabel("r1", 0, 0, null)]);
        (await store.ReadLabelsAsync("none", Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Retrying_a_batch_that_was_written_adds_no_rows()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        InferenceRecord[] batch = [Record(0), Record(1), Record(2)];
        await store.WriteAsync(batch, Ct);
        await store.WriteAsync(batch, Ct); // e.g. the commit succeeded but its acknowledgement was lost
        await store.WriteAsync([Record(2), Record(3)], Ct); // overlapping: only the new row is added
        (await store.CountAsync(cancellationToken: Ct)).ShouldBe(4);
    }

    [Fact]
    public async Task Retrying_a_batch_with_items_adds_no_items_and_keeps_the_first_ones()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        InferenceRecord[] batch = [WithItems(Record(0), Items3(0)), WithItems(Record(1), Items3(1))];
        await store.WriteAsync(batch, Ct);
        await store.WriteAsync(batch, Ct); // the commit succeeded but its acknowledgement was lost
        await store.WriteAsync([WithItems(Record(1), Items3(99)), WithItems(Record(2), Items3(2))], Ct); // overlapping
        (await store.CountAsync(cancellationToken: Ct)).ShouldBe(3);
        var chunk = (await ReadItemsAsync("fraud")).ShouldHaveSingleItem();
        chunk.Count.ShouldBe(9);
        chunk.LogId.Distinct().ShouldBe(["log00000000", "log00000001", "log00000002"]);
        chunk.Features[0].Numbers!.Where((_, i) => chunk.LogId[i] == "log00000001" && chunk.Item[i] == 0).ShouldBe([1.0]);
        var tail = await store.TailAsync(10, "fraud", Ct);
        tail.Select(r => r.Items.ShouldNotBeNull().Features[0].Numbers![0]).ShouldBe([0.0, 1.0, 2.0]);
    }

    [Fact]
    public async Task A_failed_batch_names_the_store_and_says_nothing_was_written()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        var error = await Should.ThrowAsync<TrackingException>(() => store.WriteAsync([Record(1), Record(2, requestId: null)], Ct));
        error.Message.ShouldStartWith($"cannot write 2 inference log rows to the {store.Backend} store {store.Location} (none were written): ");
    }

    [Fact]
    public async Task The_inference_log_lives_in_the_tracking_store_at_the_current_schema_version()
    {
        await using (var log = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct))
        {
            await log.WriteAsync([Record(0)], Ct);
            log.Description.ShouldBe($"{log.Backend} {log.Location}");
        }
        await using var tracking = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, Ct);
        tracking.SchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
        await using var again = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        (await again.CountAsync(cancellationToken: Ct)).ShouldBe(1);
    }

    [Fact]
    public async Task Opening_a_version_3_store_adds_the_inference_log_and_keeps_the_registry()
    {
        await using (var old = await StoreFactory.OpenSqlAsync(await StoreSpecAsync(), Home, TimeProvider.System, 3, Ct))
        {
            old.SchemaVersion.ShouldBe(3);
            await old.CreateRegisteredModelAsync("fraud", "kept", Ct);
        }
        await using (var log = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct))
        {
            await log.WriteAsync([Record(0)], Ct);
            (await log.CountAsync(cancellationToken: Ct)).ShouldBe(1);
        }
        await using var tracking = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, Ct);
        (await tracking.GetRegisteredModelAsync("fraud", Ct)).Description.ShouldBe("kept");
    }
    [Fact]
    public async Task Tail_returns_each_request_with_its_items()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        var written = WithItems(Record(0), Items3());
        await store.WriteAsync([written, Record(1)], Ct);
        var tail = await store.TailAsync(2, cancellationToken: Ct);
        tail[1].Items.ShouldBeNull();
        var items = tail[0].Items.ShouldNotBeNull();
        items.Count.ShouldBe(3);
        items.Status.ShouldBe([200, 200, 400]);
        items.Score.Select(BitConverter.DoubleToInt64Bits).ShouldBe(written.Items!.Score.Select(BitConverter.DoubleToInt64Bits));
        items.Label.ShouldBe([(sbyte)0, (sbyte)1, (sbyte)-1]);
        items.Rule.ShouldBe([null, "blocked_country_✓", null]);
        items.Features[0].Numbers!.Select(BitConverter.DoubleToInt64Bits).ShouldBe(written.Items.Features[0].Numbers!.Select(BitConverter.DoubleToInt64Bits));
        items.Features[1].Texts.ShouldBe(["DE", null, "日本"]);
    }

    [Fact]
    public async Task A_batch_stores_its_items_as_runs_of_less_than_a_second_and_reads_back_every_request_in_its_window()
    {
        // 3,000 one-item requests 1 ms apart (3 s) in one batch, shuffled: per second 1,000 requests, cut into runs of
        // at most 512 requests and 32 KiB -> a few runs per second, tens of items rows in all instead of 3,000
        const int requests = 3_000;
        var batch = new InferenceRecord[requests];
        for (var i = 0; i < requests; i++)
        {
            batch[(i * 7) % requests] = WithItems(Record(i), new InferenceItems
            {
                Count = 1,
                Status = [200],
                Score = [i / 10_000.0],
                Label = [0],
                Rule = [null],
                Features = [new InferenceFeatureColumn("amount", [i], null)],
            });
        }
        await using (var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct))
        {
            await store.WriteAsync(batch, Ct);
            await store.WriteAsync(batch, Ct); // a retried batch adds nothing
            (await store.CountAsync(cancellationToken: Ct)).ShouldBe(requests);
        }
        (await ItemRowsAsync()).ShouldBeInRange(6, 30);
        var all = (await ReadItemsAsync("fraud")).SelectMany(c => c.Features[0].Numbers!).ToArray();
        all.ShouldBe(Enumerable.Range(0, requests).Select(i => (double)i).ToArray());
        // a window that starts and ends inside runs: exactly the requests started in [T0 + 1,499.5 ms, T0 + 2,500 ms)
        var window = (await ReadItemsAsync("fraud", T0 + 1_499_500, T0 + 2_500_000)).SelectMany(c => c.Features[0].Numbers!).ToArray();
        window.ShouldBe(Enumerable.Range(1_500, 1_000).Select(i => (double)i).ToArray());
        // the tail finds each request's items inside its run
        await using var again = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        var tail = await again.TailAsync(3, "fraud", Ct);
        tail.Select(r => r.Items.ShouldNotBeNull().Features[0].Numbers![0]).ShouldBe([2_997.0, 2_998.0, 2_999.0]);
    }

    [Fact]
    public async Task A_small_chunk_size_splits_runs_and_loses_no_request()
    {
        var batch = Enumerable.Range(0, 50).Select(i => WithItems(Record(i), Items3(i))).ToArray();
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        await store.WriteAsync(batch, Ct);
        (await ItemRowsAsync()).ShouldBe(1);
        var chunks = new List<InferenceItemChunk>();
        await foreach (var chunk in store.ReadItemsAsync("fraud", null, null, chunkItems: 7, Ct))
        {
            chunks.Add(chunk);
        }
        chunks.Select(c => c.Count).ShouldAllBe(n => n == 9 || n == 6); // a chunk closes at the first request that reaches 7 items
        chunks.Sum(c => c.Count).ShouldBe(150);
        chunks.SelectMany(c => c.Features[0].Numbers!.Where((_, i) => c.Item[i] == 0)).ShouldBe(Enumerable.Range(0, 50).Select(i => (double)i));
    }

    [Fact]
    public async Task The_item_reader_streams_in_start_order_in_chunks_of_about_8192_items()
    {
        // 7,000 requests × 10 items = 70,000 items, written newest first: read back oldest first in nine chunks
        const int requests = 7_000;
        var batch = new InferenceRecord[requests];
        for (var i = 0; i < requests; i++)
        {
            var n = 10;
            var amount = new double[n];
            for (var k = 0; k < n; k++)
            {
                amount[k] = i + (k / 100.0);
            }
            batch[requests - 1 - i] = WithItems(Record(i), new InferenceItems
            {
                Count = n,
                Status = Enumerable.Repeat(200, n).ToArray(),
                Score = Enumerable.Repeat(0.5, n).ToArray(),
                Label = new sbyte[n],
                Rule = new string?[n],
                Features = [new InferenceFeatureColumn("amount", amount, null)],
            });
        }
        await using (var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct))
        {
            await store.WriteAsync(batch, Ct);
        }
        var chunks = await ReadItemsAsync("fraud");
        chunks.Select(c => c.Count).ShouldBe([.. Enumerable.Repeat(8_200, 8), 4_400]); // a chunk closes at the first request that reaches 8,192 items
        var starts = chunks.SelectMany(c => c.StartUs).ToArray();
        starts.ShouldBe(starts.Order().ToArray());
        chunks[^1].Features[0].Numbers![^1].ShouldBe(6_999.09);
        chunks[^1].Item[^1].ShouldBe(9);
    }

    [Fact]
    public async Task A_schema_5_store_migrates_to_6_and_its_rows_stay_readable_without_items()
    {
        await using (var v5 = await StoreFactory.OpenSqlAsync(await StoreSpecAsync(), Home, TimeProvider.System, 5, Ct))
        {
            v5.SchemaVersion.ShouldBe(5);
            await v5.WriteInferenceAsync([Record(0), Record(1, "aml")], Ct); // the v5 table: no items column
            (await Should.ThrowAsync<TrackingException>(() => v5.WriteInferenceAsync([WithItems(Record(2), Items3())], Ct)))
                .Message.ShouldContain("schema version 5, which cannot hold per-item inference log entries");
        }
        await using (var log = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct))
        {
            var old = await log.TailAsync(10, cancellationToken: Ct);
            old.Select(r => r.LogId).ShouldBe(["log00000000", "log00000001"]);
            old.ShouldAllBe(r => r.Items == null);
            old[0].ShouldBeEquivalentTo(Record(0));
            await log.WriteAsync([WithItems(Record(3), Items3())], Ct);
            (await log.CountAsync(cancellationToken: Ct)).ShouldBe(3);
        }
        var items = await ReadItemsAsync("fraud");
        items.ShouldHaveSingleItem().LogId.ShouldBe(["log00000003", "log00000003", "log00000003"]);
        await using var tracking = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, Ct);
        tracking.SchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
    }
}

/// <summary>The inference log on a SQLite file.</summary>
public sealed class SqliteInferenceLogTests : SqlInferenceLogTests
{
    protected override Task<string> StoreSpecAsync() => Task.FromResult("sqlite:" + Path.Combine(Home, "vigil.db"));

    protected override async Task<long> ItemRowsAsync()
    {
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Path.Combine(Home, "vigil.db"));
        await c.OpenAsync(Ct);
        await using var command = c.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM inference_items";
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    [Fact]
    public async Task The_default_store_is_vigil_db_in_the_vigil_home()
    {
        await using var log = await InferenceLogStore.OpenAsync(null, Home, Ct);
        if (Environment.GetEnvironmentVariable(StoreFactory.StoreVariable) is { Length: > 0 })
        {
            return; // VIGIL_STORE names another store on this machine
        }
        log.Description.ShouldBe("sqlite " + Path.Combine(Home, "vigil.db"));
    }
}

/// <summary>The inference log on a real PostgreSQL server (a fresh schema per test; see <see cref="PostgresDatabase"/>).</summary>
public sealed class PostgresInferenceLogTests(PostgresDatabase database) : SqlInferenceLogTests, IClassFixture<PostgresDatabase>
{
    private string? _spec;

    protected override async Task<string> StoreSpecAsync() => _spec ??= await database.NewSchemaAsync(Ct);

    protected override async Task<long> ItemRowsAsync()
    {
        await using var c = new Npgsql.NpgsqlConnection(await StoreSpecAsync());
        await c.OpenAsync(Ct);
        await using var command = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM inference_items", c);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
