using Azure.Core;
using Azure.Storage.Blobs;

namespace Vigil.Tracking;

/// <summary>
/// Opens the artifact store a user configured. The spec (argument, else <c>VIGIL_ARTIFACTS</c>) is:
/// <list type="bullet">
/// <item>empty: the local folder $VIGIL_HOME/artifacts (the default);</item>
/// <item><c>az://CONTAINER[/prefix]</c>: an Azure Blob Storage (or ADLS Gen2) container reached with the standard
/// <c>AZURE_STORAGE_CONNECTION_STRING</c>, read through a verified local cache in $VIGIL_HOME/cache/artifacts;</item>
/// <item>anything else: a local folder (<c>file:</c> prefix accepted).</item>
/// </list>
/// </summary>
public static class ArtifactStoreFactory
{
    /// <summary>The environment variable holding the artifact store spec.</summary>
    public const string ArtifactsVariable = "VIGIL_ARTIFACTS";

    /// <summary>The standard Azure Storage connection string variable.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The spec: the argument, else VIGIL_ARTIFACTS, else null (the local default).</summary>
    public static string? ResolveSpec(string? artifactsSpec = null)
    {
        var spec = !string.IsNullOrWhiteSpace(artifactsSpec) ? artifactsSpec : Environment.GetEnvironmentVariable(ArtifactsVariable);
        return string.IsNullOrWhiteSpace(spec) ? null : spec.Trim();
    }

    /// <summary>Whether the spec names an Azure Blob container.</summary>
    public static bool IsBlob(string? artifactsSpec) => artifactsSpec is not null && artifactsSpec.StartsWith("az://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Opens the store (nothing is contacted or created yet: a blob container is created on the first write).
    /// </summary>
    /// <param name="artifactsSpec">The spec; null reads VIGIL_ARTIFACTS.</param>
    /// <param name="vigilHome">The Vigil home (default folder and cache); null reads VIGIL_HOME.</param>
    /// <param name="connectionString">The Azure Storage connection string; null reads AZURE_STORAGE_CONNECTION_STRING.</param>
    /// <exception cref="TrackingException">The spec is invalid or the connection string is missing or invalid.</exception>
    public static IArtifactStore Open(string? artifactsSpec = null, string? vigilHome = null, string? connectionString = null)
    {
        var home = StoreFactory.ResolveHome(vigilHome);
        var spec = ResolveSpec(artifactsSpec);
        if (spec is null)
        {
            return new ArtifactStore(Path.Combine(home, "artifacts"));
        }

        if (!IsBlob(spec))
        {
            var folder = spec.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? spec["file:".Length..] : spec;
            if (folder.StartsWith("//", StringComparison.Ordinal))
            {
                folder = folder[2..];
            }

            if (folder.Contains("://", StringComparison.Ordinal) || folder.Length == 0)
            {
                throw new TrackingException($"{ArtifactsVariable}: '{spec}' is neither az://CONTAINER[/prefix] nor a local folder");
            }

            return new ArtifactStore(folder);
        }

        var rest = spec["az://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (!ValidContainer(container))
        {
            throw new TrackingException(
                $"{ArtifactsVariable}: '{container}' in '{spec}' is not a valid container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)");
        }

        if (prefix.Contains("//", StringComparison.Ordinal) || prefix.Contains("..", StringComparison.Ordinal))
        {
            throw new TrackingException($"{ArtifactsVariable}: the prefix '{prefix}' in '{spec}' has an empty or '..' segment");
        }

        var cs = !string.IsNullOrWhiteSpace(connectionString) ? connectionString : Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (string.IsNullOrWhiteSpace(cs))
        {
            throw new TrackingException($"{ArtifactsVariable}={spec} needs {ConnectionStringVariable} (the storage account's connection string)");
        }

        BlobServiceClient service;
        try
        {
            var options = new BlobClientOptions();
            options.Retry.MaxRetries = 3;
            options.Retry.Mode = RetryMode.Exponential;
            options.Retry.Delay = TimeSpan.FromMilliseconds(200);
            options.Retry.MaxDelay = TimeSpan.FromSeconds(5);
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
            service = new BlobServiceClient(cs, options);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new TrackingException($"{ConnectionStringVariable} is not a valid Azure Storage connection string: {e.Message}", e);
        }

        return new BlobArtifactStore(service.GetBlobContainerClient(container), prefix, Path.Combine(home, "cache", "artifacts"));
    }

    private static bool ValidContainer(string name)
    {
        if (name.Length is < 3 or > 63 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '-' ? name[i - 1] == '-' : !(char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)))
            {
                return false;
            }
        }

        return true;
    }
}
