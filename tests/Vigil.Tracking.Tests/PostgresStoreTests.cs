using Npgsql;

namespace Vigil.Tracking.Tests;

/// <summary>
/// A throwaway database on the PostgreSQL server named by VIGIL_TEST_POSTGRES (an Npgsql connection string
/// with rights to create databases; eng/postgres.sh prints one). Created for the test class, dropped after it.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string Variable = "VIGIL_TEST_POSTGRES";
    private readonly string? _admin = Environment.GetEnvironmentVariable(Variable);
    private string? _database;

    /// <summary>Connection string of the throwaway database, or null when VIGIL_TEST_POSTGRES is not set.</summary>
    public string? ConnectionString { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (string.IsNullOrWhiteSpace(_admin))
        {
            return;
        }
        _database = "vigil_test_" + Guid.NewGuid().ToString("N");
        await using (var admin = new NpgsqlConnection(_admin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(_admin) { Database = _database, MaxPoolSize = 5 }.ConnectionString;
    }

    /// <summary>
    /// A connection string to a new empty schema of the class's database (search_path set to it). Skips the test
    /// when VIGIL_TEST_POSTGRES is not set, except under CI=true where it fails: CI must run both backends.
    /// </summary>
    public async Task<string> NewSchemaAsync(CancellationToken ct)
    {
        if (ConnectionString is null)
        {
            var ci = Environment.GetEnvironmentVariable("CI");
            if (string.Equals(ci, "true", StringComparison.OrdinalIgnoreCase) || ci == "1")
            {
                Assert.Fail($"{Variable} is not set but CI={ci}: the PostgreSQL store tests must run in CI (eng/test.sh starts a server with eng/postgres.sh)");
            }
            Assert.Skip($"PostgreSQL store tests need {Variable} (eng/test.sh sets it)");
        }
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is null)
        {
            return;
        }
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_admin);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// The store contract on a real PostgreSQL server: each test gets its own schema in the class's throwaway
/// database. Without VIGIL_TEST_POSTGRES the tests are skipped, except under CI=true where they fail: CI must
/// run both backends.
/// </summary>
public sealed class PostgresStoreTests(PostgresDatabase database) : StoreContractTests, IClassFixture<PostgresDatabase>
{
    private string? _spec;

    protected override async Task<string> StoreSpecAsync() => _spec ??= await database.NewSchemaAsync(Ct);

    [Fact]
    public async Task The_postgres_store_names_its_server_without_the_password()
    {
        await using var store = await OpenAsync();
        store.Backend.ShouldBe("postgres");
        store.Location.ShouldContain(":");
        store.Location.ShouldContain("vigil_test_");
        store.Location.ShouldNotContain("password", Case.Insensitive);
    }
}
