namespace Vigil.Serving.Tests;

/// <summary>
/// A fresh PostgreSQL database on the server named by <c>VIGIL_TEST_POSTGRES</c> (eng/test.sh starts one), dropped on
/// dispose. Without that variable the test is skipped, or fails under <c>CI=true</c>.
/// </summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string _admin;
    private readonly string _name;

    private PostgresTestDatabase(string admin, string name)
    {
        _admin = admin;
        _name = name;
        ConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>The connection string of the new database (a store spec).</summary>
    public string ConnectionString { get; }

    /// <summary>Creates a database named <paramref name="prefix"/> plus a GUID.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync(string prefix)
    {
        var admin = Environment.GetEnvironmentVariable("VIGIL_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("VIGIL_TEST_POSTGRES is not set but CI=true: eng/test.sh starts PostgreSQL");
            }

            Assert.Skip("needs VIGIL_TEST_POSTGRES (eng/test.sh sets it)");
        }

        var name = prefix + Guid.NewGuid().ToString("N");
        await using var connection = new Npgsql.NpgsqlConnection(admin);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        return new PostgresTestDatabase(admin, name);
    }

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await using var connection = new Npgsql.NpgsqlConnection(_admin);
        await connection.OpenAsync(CancellationToken.None);
        await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync(CancellationToken.None);
    }
}
