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
}
