using System.Buffers;
using System.Security.Cryptography;

namespace Vigil.Tracking;

/// <summary>A blob in an <see cref="IArtifactStore"/>.</summary>
/// <param name="Sha256">Lower-case hex SHA-256 of the content: its key.</param>
/// <param name="SizeBytes">Content length.</param>
public sealed record StoredArtifact(string Sha256, long SizeBytes);

/// <summary>
/// Content-addressed local blob store (the default <see cref="IArtifactStore"/>): every blob lives at
/// ROOT/sha256/ab/abcdef... (its SHA-256).
/// Writes hash while copying into a temporary file next to the blobs, flush it to disk and rename it into
/// place, so a reader never sees a partial blob and identical content is stored once. Reads check the hash
/// and report a missing or corrupted blob with the caller's context (run, model version).
/// </summary>
public sealed class ArtifactStore : IArtifactStore
{
    private const int BufferSize = 1 << 16;
    private readonly string _blobs;

    /// <summary>A store rooted at <paramref name="root"/> (created on first write), e.g. $VIGIL_HOME/artifacts.</summary>
    public ArtifactStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        _blobs = Path.Combine(Root, "sha256");
    }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <inheritdoc />
    public string Location => Root;

    /// <summary>Copies <paramref name="content"/> into the store (from its current position) and returns its hash and size.</summary>
    public async Task<StoredArtifact> PutAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        Directory.CreateDirectory(_blobs);
        var temp = Path.Combine(_blobs, ".tmp-" + Guid.NewGuid().ToString("N"));
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            string sha;
            long size = 0;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
                {
                    int read;
                    while ((read = await content.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        size += read;
                    }
                    output.Flush(flushToDisk: true);
                }
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            var path = GetPath(sha);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var existing = new FileInfo(path);
            if (existing.Exists && existing.Length == size)
            {
                File.Delete(temp); // same content already stored
            }
            else
            {
                File.Move(temp, path, overwrite: true); // atomic rename; also repairs a truncated blob
            }
            return new StoredArtifact(sha, size);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies the file at <paramref name="path"/> into the store.</summary>
    public async Task<StoredArtifact> PutFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new TrackingException($"cannot store artifact: file '{path}' does not exist");
        }
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await PutAsync(input, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether a blob with this hash is present (not verified).</summary>
    public bool Contains(string sha256) => File.Exists(GetPath(sha256));

    /// <inheritdoc />
    public Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default) => Task.FromResult(Contains(sha256));

    /// <summary>Where the blob with this hash lives (whether or not it exists).</summary>
    public string GetPath(string sha256)
    {
        ValidateSha(sha256);
        var lower = sha256.ToLowerInvariant();
        return Path.Combine(_blobs, lower[..2], lower);
    }

    /// <summary>
    /// Checks that the blob exists and hashes to <paramref name="sha256"/>; otherwise throws
    /// <see cref="TrackingException"/> whose message starts with <paramref name="context"/> (e.g. "bundle of model
    /// 'fraud' version 3") and gives the path.
    /// </summary>
    public async Task VerifyAsync(string sha256, string context, CancellationToken cancellationToken = default)
    {
        var path = GetPath(sha256);
        string actual;
        try
        {
            await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(input, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TrackingException($"{context}: artifact sha256:{sha256} is missing from the artifact store (expected at {path})", e);
        }
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new TrackingException($"{context}: artifact sha256:{sha256} is corrupted: its content hashes to {actual} ({path})");
        }
    }

    /// <summary>The blob's path after <see cref="VerifyAsync"/> succeeded.</summary>
    public async Task<string> GetVerifiedPathAsync(string sha256, string context, CancellationToken cancellationToken = default)
    {
        await VerifyAsync(sha256, context, cancellationToken).ConfigureAwait(false);
        return GetPath(sha256);
    }

    /// <summary>Opens the blob for reading after <see cref="VerifyAsync"/> succeeded.</summary>
    public async Task<Stream> OpenReadAsync(string sha256, string context, CancellationToken cancellationToken = default)
    {
        var path = await GetVerifiedPathAsync(sha256, context, cancellationToken).ConfigureAwait(false);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    internal static void ValidateSha(string? sha256)
    {
        if (sha256 is null || sha256.Length != 64 || !IsHex(sha256))
        {
            throw new TrackingException($"'{sha256}' is not a SHA-256 (64 hex characters)");
        }
    }

    private static bool IsHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
