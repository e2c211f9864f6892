using System.Globalization;
using Npgsql;

namespace Vigil.Tracking;

/// <summary>
/// Opens the tracking store a user configured. The store spec (argument, else VIGIL_STORE) is:
/// <list type="bullet">
/// <item>empty: SQLite at $VIGIL_HOME/vigil.db (VIGIL_HOME defaults to ~/.vigil);</item>
/// <item>postgres://user:pass@host:port/db?sslmode=..., postgresql://..., or an Npgsql connection string
/// starting with "Host=": PostgreSQL;</item>
/// <item>"sqlite:PATH" or any other text: SQLite at that path.</item>
/// </list>
/// Artifacts live where <see cref="ArtifactStoreFactory"/> says (VIGIL_ARTIFACTS: $VIGIL_HOME/artifacts by default, or
/// an Azure Blob container). Opening applies pending schema migrations and refuses a
/// store written by a newer Vigil.
/// </summary>
public static class StoreFactory
{
    /// <summary>The environment variable holding the store spec.</summary>
    public const string StoreVariable = "VIGIL_STORE";

    /// <summary>The environment variable holding the Vigil home folder.</summary>
    public const string HomeVariable = "VIGIL_HOME";

    /// <summary>The newest store schema version this build of Vigil reads and writes.</summary>
    public const int SupportedSchemaVersion = 10;

    /// <summary>Opens the store; see the type summary for how <paramref name="storeSpec"/> is read.</summary>
    public static Task<ITrackingStore> OpenAsync(string? storeSpec = null, string? vigilHome = null, CancellationToken cancellationToken = default) =>
        OpenAsync(storeSpec, vigilHome, TimeProvider.System, cancellationToken);

    /// <summary>Opens the store with a clock (tests).</summary>
    public static async Task<ITrackingStore> OpenAsync(string? storeSpec, string? vigilHome, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return await OpenSqlAsync(storeSpec, vigilHome, timeProvider, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens the store with an artifact store chosen by the caller (e.g. one from <see cref="ArtifactStoreFactory.Open"/>
    /// with an explicit spec) instead of the one VIGIL_ARTIFACTS names.
    /// </summary>
    public static async Task<ITrackingStore> OpenAsync(string? storeSpec, string? vigilHome, IArtifactStore artifacts, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        ArgumentNullException.ThrowIfNull(timeProvider);
        return await OpenSqlAsync(storeSpec, vigilHome, timeProvider, null, cancellationToken, artifacts: artifacts).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a store that must already exist, for commands that only read: a SQLite file that is not there is refused
    /// (naming it) and nothing is created, neither the file nor its folder. A PostgreSQL database is never created by
    /// Vigil anyway; connecting to one that does not exist fails with the server's message.
    /// </summary>
    /// <exception cref="TrackingException">The SQLite store does not exist, or the store cannot be opened.</exception>
    public static async Task<ITrackingStore> OpenExistingAsync(string? storeSpec = null, string? vigilHome = null, CancellationToken cancellationToken = default) =>
        await OpenSqlAsync(storeSpec, vigilHome, TimeProvider.System, null, cancellationToken, mustExist: true).ConfigureAwait(false);

    /// <summary>
    /// Refuses, naming it, a SQLite store file that does not exist (for commands that only read); does nothing for
    /// PostgreSQL. Creates nothing.
    /// </summary>
    /// <exception cref="TrackingException">The SQLite store does not exist.</exception>
    public static void RequireExisting(string? storeSpec = null, string? vigilHome = null)
    {
        var spec = ResolveStoreSpec(storeSpec);
        if (IsPostgres(spec))
        {
            return;
        }

        var path = SqlitePath(spec, ResolveHome(vigilHome));
        if (!File.Exists(path))
        {
            var why = spec is null ? $" (the default, $VIGIL_HOME/vigil.db; nothing has been tracked here yet)" : string.Empty;
            throw new TrackingException(
                $"the SQLite store {path} does not exist{why}; this command only reads and creates none: check --store, {StoreVariable} or {HomeVariable}");
        }
    }

    internal static async Task<SqlTrackingStore> OpenSqlAsync(string? storeSpec, string? vigilHome, TimeProvider timeProvider, int? schemaVersion, CancellationToken cancellationToken, bool mustExist = false, IArtifactStore? artifacts = null)
    {
        var home = ResolveHome(vigilHome);
        var spec = ResolveStoreSpec(storeSpec);
        if (mustExist)
        {
            RequireExisting(spec, home);
        }

        artifacts ??= ArtifactStoreFactory.Open(null, home);
        SqlDialect dialect;
        try
        {
            dialect = IsPostgres(spec)
                ? new PostgresDialect(ToNpgsqlConnectionString(spec!))
                : new SqliteDialect(SqlitePath(spec, home), create: !mustExist);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            var where = IsPostgres(spec) ? "the PostgreSQL store" : $"the SQLite store {spec ?? Path.Combine(home, "vigil.db")}";
            throw new TrackingException($"cannot open {where}: {e.Message}", e);
        }
        try
        {
            return await SqlTrackingStore.OpenAsync(dialect, artifacts, timeProvider, schemaVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new TrackingException($"cannot open the {dialect.Backend} store {dialect.Location}: {e.Message}", e);
        }
    }

    /// <summary>The Vigil home: the argument, else VIGIL_HOME, else ~/.vigil (full path).</summary>
    public static string ResolveHome(string? vigilHome = null)
    {
        var home = !string.IsNullOrWhiteSpace(vigilHome) ? vigilHome : Environment.GetEnvironmentVariable(HomeVariable);
        if (string.IsNullOrWhiteSpace(home))
        {
            home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".vigil");
        }
        return Path.GetFullPath(home);
    }

    /// <summary>The store spec: the argument, else VIGIL_STORE, else null (default SQLite file).</summary>
    public static string? ResolveStoreSpec(string? storeSpec = null)
    {
        var spec = !string.IsNullOrWhiteSpace(storeSpec) ? storeSpec : Environment.GetEnvironmentVariable(StoreVariable);
        return string.IsNullOrWhiteSpace(spec) ? null : spec.Trim();
    }

    /// <summary>Whether the spec names a PostgreSQL database.</summary>
    public static bool IsPostgres(string? storeSpec) =>
        storeSpec is not null && (storeSpec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || storeSpec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || storeSpec.StartsWith("Host=", StringComparison.OrdinalIgnoreCase)
            || storeSpec.StartsWith("Server=", StringComparison.OrdinalIgnoreCase));

    /// <summary>Where the store is, for messages (no password), without opening it.</summary>
    public static string Describe(string? storeSpec = null, string? vigilHome = null)
    {
        var spec = ResolveStoreSpec(storeSpec);
        if (IsPostgres(spec))
        {
            var b = new NpgsqlConnectionStringBuilder(ToNpgsqlConnectionString(spec!));
            return $"postgres {b.Host}:{b.Port.ToString(CultureInfo.InvariantCulture)}/{b.Database}";
        }
        return "sqlite " + SqlitePath(spec, ResolveHome(vigilHome));
    }

    private static string SqlitePath(string? spec, string home)
    {
        if (spec is null)
        {
            return Path.Combine(home, "vigil.db");
        }
        var path = spec.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? spec["sqlite:".Length..] : spec;
        if (path.StartsWith("//", StringComparison.Ordinal))
        {
            path = path[2..]; // sqlite:///abs/path
        }
        if (path.Length == 0)
        {
            throw new TrackingException($"store spec '{spec}' names no SQLite file");
        }
        return Path.GetFullPath(path);
    }

    /// <summary>
    /// Turns postgres://user:password@host:port/database?key=value into an Npgsql connection string (query keys:
    /// sslmode, search_path/schema, application_name, and any Npgsql keyword); other specs are returned unchanged.
    /// </summary>
    public static string ToNpgsqlConnectionString(string storeSpec)
    {
        ArgumentNullException.ThrowIfNull(storeSpec);
        if (!storeSpec.Contains("://", StringComparison.Ordinal))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(storeSpec).ConnectionString;
            }
            catch (ArgumentException e)
            {
                throw new TrackingException($"invalid PostgreSQL connection string: {e.Message}", e);
            }
        }
        if (!Uri.TryCreate(storeSpec, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new TrackingException("invalid PostgreSQL URI: expected postgres://user:password@host:port/database");
        }
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (uri.Port > 0)
        {
            b.Port = uri.Port;
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            b.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                b.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }
        var db = uri.AbsolutePath.Trim('/');
        if (db.Length > 0)
        {
            b.Database = Uri.UnescapeDataString(db);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            try
            {
                switch (key.ToLowerInvariant())
                {
                    case "sslmode":
                        b.SslMode = Enum.Parse<SslMode>(value, ignoreCase: true);
                        break;
                    case "search_path":
                    case "schema":
                        b.SearchPath = value;
                        break;
                    case "application_name":
                        b.ApplicationName = value;
                        break;
                    default:
                        b[key] = value;
                        break;
                }
            }
            catch (ArgumentException e)
            {
                throw new TrackingException($"invalid PostgreSQL URI option '{key}={value}': {e.Message}", e);
            }
        }
        return b.ConnectionString;
    }
}
