namespace Vigil.Tracking.Tests;

/// <summary>The inference log in the tracking store: what the SQL backends add to the contract.</summary>
public abstract class SqlInferenceLogTests : InferenceLogContractTests
{
    protected abstract Task<string> StoreSpecAsync();

    protected override async Task<IInferenceLogSink> OpenSinkAsync() => await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);

    protected override async Task<IInferenceLogReader> OpenReaderAsync() => await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);

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
    public async Task A_failed_batch_names_the_store_and_says_nothing_was_written()
    {
        await using var store = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        var error = await Should.ThrowAsync<TrackingException>(() => store.WriteAsync([Record(1), Record(2, requestId: null)], Ct));
        error.Message.ShouldStartWith($"cannot write 2 inference log rows to the {store.Backend} store {store.Location} (none were written): ");
    }

    [Fact]
    public async Task The_inference_log_lives_in_the_tracking_store_at_schema_version_4()
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
}

/// <summary>The inference log on a SQLite file.</summary>
public sealed class SqliteInferenceLogTests : SqlInferenceLogTests
{
    protected override Task<string> StoreSpecAsync() => Task.FromResult("sqlite:" + Path.Combine(Home, "vigil.db"));

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
}
