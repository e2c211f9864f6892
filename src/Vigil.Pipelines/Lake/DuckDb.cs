using DuckDB.NET.Data;

namespace Vigil.Pipelines;

/// <summary>Opens DuckDB connections, turning a missing native library into one readable error.</summary>
internal static class DuckDb
{
    /// <summary>A new connection to <paramref name="connectionString"/>.</summary>
    /// <exception cref="LakeException">DuckDB's native library (libduckdb.so) is not installed with this build (the container image leaves it out).</exception>
    public static DuckDBConnection Connect(string connectionString)
    {
        try
        {
            var connection = new DuckDBConnection(connectionString);
            connection.Open();
            return connection;
        }
        catch (Exception e) when (IsMissingNative(e))
        {
            throw Missing(e);
        }
    }

    /// <summary>True when <paramref name="e"/> says the native library could not be loaded.</summary>
    public static bool IsMissingNative(Exception e) => e is DllNotFoundException or TypeInitializationException or BadImageFormatException;

    /// <summary>The error for a missing native library.</summary>
    public static LakeException Missing(Exception cause) => new(
        "DuckDB's native library (libduckdb.so) is not part of this installation: the container image leaves it out to stay small; " +
        "run 'vigil lake query' and 'vigil metrics sync --to duckdb:...' from the dotnet tool or a source build", cause);
}
