namespace Vigil.Tracking.Tests;

/// <summary>The store contract on a SQLite file in a temporary VIGIL_HOME.</summary>
public sealed class SqliteStoreTests : StoreContractTests
{
    protected override Task<string> StoreSpecAsync() => Task.FromResult("sqlite:" + Path.Combine(Home, "vigil.db"));

    [Fact]
    public async Task The_sqlite_store_uses_wal_journal_mode()
    {
        await using var store = await OpenAsync();
        store.Backend.ShouldBe("sqlite");
        store.Location.ShouldBe(Path.Combine(Home, "vigil.db"));
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + store.Location);
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        ((string?)await command.ExecuteScalarAsync(Ct)).ShouldBe("wal");
    }
    [Fact]
    public async Task A_new_sqlite_store_has_16_KiB_pages_and_an_existing_one_keeps_its_own()
    {
        await using (var store = await OpenAsync())
        {
            (await PragmaAsync(store.Location, "page_size")).ShouldBe(16384L);
        }

        // A store made with SQLite's default 4 KiB pages (by an earlier Vigil) stays as it is and keeps working.
        var old = Path.Combine(Home, "old.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + old + ";Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE earlier (x INTEGER);";
            await command.ExecuteNonQueryAsync(Ct);
        }

        await using (var store = await StoreFactory.OpenAsync("sqlite:" + old, Home, TimeProvider.System, Ct))
        {
            var experiment = await store.GetOrCreateExperimentAsync("pages", Ct);
            experiment.Name.ShouldBe("pages");
        }

        (await PragmaAsync(old, "page_size")).ShouldBe(4096L);
        (await PragmaAsync(old, "journal_mode")).ShouldBe("wal");
    }

    private async Task<object?> PragmaAsync(string path, string name)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA " + name;
        return await command.ExecuteScalarAsync(Ct);
    }
}
