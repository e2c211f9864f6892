using Npgsql;

namespace Vigil.Tracking.Tests;

public sealed class StoreFactoryTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("postgres://vigil:s%40cret@db.example:6543/tracking?sslmode=require&search_path=ml", "db.example", 6543, "vigil", "s@cret", "tracking", "ml")]
    [InlineData("postgresql://u@localhost/vigil", "localhost", 5432, "u", null, "vigil", null)]
    [InlineData("Host=127.0.0.1;Port=55432;Username=vigil;Password=vigil;Database=postgres", "127.0.0.1", 55432, "vigil", "vigil", "postgres", null)]
    public void Postgres_specs_become_npgsql_connection_strings(string spec, string host, int port, string user, string? password, string database, string? searchPath)
    {
        StoreFactory.IsPostgres(spec).ShouldBeTrue();
        var b = new NpgsqlConnectionStringBuilder(StoreFactory.ToNpgsqlConnectionString(spec));

        b.Host.ShouldBe(host);
        b.Port.ShouldBe(port);
        b.Username.ShouldBe(user);
        b.Password.ShouldBe(password);
        b.Database.ShouldBe(database);
        b.SearchPath.ShouldBe(searchPath);
    }

    [Fact]
    public void Uri_options_reach_the_connection_string() =>
        new NpgsqlConnectionStringBuilder(StoreFactory.ToNpgsqlConnectionString("postgres://u:p@h/db?sslmode=require")).SslMode.ShouldBe(SslMode.Require);

    [Fact]
    public void A_malformed_postgres_uri_is_reported() =>
        Should.Throw<TrackingException>(() => StoreFactory.ToNpgsqlConnectionString("postgres://u:p@h/db?sslmode=sometimes")).Message.ShouldContain("sslmode=sometimes");

    [Fact]
    public void Sqlite_specs_name_a_file_and_the_default_is_vigil_db_in_the_home()
    {
        StoreFactory.IsPostgres("sqlite:/tmp/x.db").ShouldBeFalse();
        StoreFactory.Describe("sqlite:///var/lib/vigil/store.db", _dir.Path).ShouldBe("sqlite /var/lib/vigil/store.db");
        StoreFactory.Describe("sqlite:/tmp/x.db", _dir.Path).ShouldBe("sqlite /tmp/x.db");
        var explicitStore = StoreFactory.ResolveStoreSpec("sqlite:/explicit.db");
        explicitStore.ShouldBe("sqlite:/explicit.db");
    }

    [Fact]
    public async Task Opening_with_only_a_home_creates_the_sqlite_store_and_artifacts_under_it()
    {
        var home = _dir.File("home");
        await using var store = await StoreFactory.OpenAsync(Environment.GetEnvironmentVariable(StoreFactory.StoreVariable) is { Length: > 0 } ? "sqlite:" + Path.Combine(home, "vigil.db") : null, home, Ct);

        store.Backend.ShouldBe("sqlite");
        store.Location.ShouldBe(Path.Combine(home, "vigil.db"));
        store.Artifacts.ShouldBeOfType<ArtifactStore>().Root.ShouldBe(Path.Combine(home, "artifacts"));
        File.Exists(Path.Combine(home, "vigil.db")).ShouldBeTrue();
    }

    [Fact]
    public async Task An_unreachable_postgres_server_is_reported_with_its_address()
    {
        var error = await Should.ThrowAsync<TrackingException>(() =>
            StoreFactory.OpenAsync("Host=127.0.0.1;Port=1;Username=u;Password=secret;Database=vigil;Timeout=2", _dir.Path, Ct));

        error.Message.ShouldStartWith("cannot open the postgres store 127.0.0.1:1/vigil: ");
        error.Message.ShouldNotContain("secret");
    }

    [Fact]
    public async Task A_sqlite_file_that_cannot_be_created_is_reported_with_its_path()
    {
        var blocker = _dir.File("not-a-folder");
        await File.WriteAllTextAsync(blocker, "x", Ct);

        var error = await Should.ThrowAsync<TrackingException>(() => StoreFactory.OpenAsync("sqlite:" + blocker + "/vigil.db", _dir.Path, Ct));

        error.Message.ShouldStartWith($"cannot open the SQLite store sqlite:{blocker}/vigil.db: ");
    }

    [Fact]
    public void The_home_is_the_argument_when_given() =>
        StoreFactory.ResolveHome(_dir.Path).ShouldBe(_dir.Path);

    [Fact]
    public void The_actor_is_the_configured_user_first()
    {
        Actor.Resolve("  carol ").ShouldBe("carol");
        Actor.ForApiKey("deployer").ShouldBe("api-key:deployer");
        Actor.Resolve().ShouldNotBeNullOrWhiteSpace();
    }
}
