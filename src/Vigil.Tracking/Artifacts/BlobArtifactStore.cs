using System.Buffers;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Vigil.Tracking;

/// <summary>
/// Content-addressed artifact store in an Azure Blob Storage container (an ADLS Gen2 account works the same through its
/// blob endpoint): the blob with SHA-256 <c>abcdef...</c> is <c>PREFIX/sha256/ab/abcdef...</c>, the same layout as the
/// local store. Uploads are conditional (<c>If-None-Match: *</c>), so identical content is stored once and a blob is
/// never overwritten; a block blob becomes visible only when complete. Every read goes through a local cache (a
/// <see cref="ArtifactStore"/> under $VIGIL_HOME/cache/artifacts): a blob is downloaded while hashing, kept only when
/// it hashes to its name, and the cached copy is re-verified before each use, so a damaged cache entry is downloaded
/// again instead of served.
/// </summary>
public sealed class BlobArtifactStore : IArtifactStore
{
    private const int BufferSize = 1 << 16;
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly ArtifactStore _cache;
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private volatile bool _containerReady;

    /// <summary>A store in <paramref name="container"/> under <paramref name="prefix"/> ("" for the container root), caching reads in <paramref name="cacheRoot"/>.</summary>
    public BlobArtifactStore(BlobContainerClient container, string prefix, string cacheRoot)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheRoot);
        _container = container;
        _prefix = prefix.Trim('/');
        _cache = new ArtifactStore(cacheRoot);
        Location = "az://" + container.Name + (_prefix.Length == 0 ? "" : "/" + _prefix);
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <summary>The local folder of verified downloads.</summary>
    public string CacheRoot => _cache.Root;

    /// <summary>The blob name of a hash (whether or not it exists).</summary>
    public string BlobName(string sha256)
    {
        ArtifactStore.ValidateSha(sha256);
        var lower = sha256.ToLowerInvariant();
        return (_prefix.Length == 0 ? "" : _prefix + "/") + "sha256/" + lower[..2] + "/" + lower;
    }

    /// <inheritdoc />
    public async Task<StoredArtifact> PutAsync(Stream content, CancellationToken cancellationToken = default)
    {
        // Hash into the local cache first (the name of a content-addressed blob is known only at the end), then upload
        // the cached file; the cache entry also spares a later download on this machine.
        var stored = await _cache.PutAsync(content, cancellationToken).ConfigureAwait(false);
        await UploadAsync(stored, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <inheritdoc />
    public async Task<StoredArtifact> PutFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var stored = await _cache.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
        await UploadAsync(stored, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <inheritdoc />
    public async Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var name = BlobName(sha256);
        try
        {
            return (await _container.GetBlobClient(name).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure($"cannot check artifact sha256:{sha256}", e);
        }
    }

    /// <inheritdoc />
    public Task VerifyAsync(string sha256, string context, CancellationToken cancellationToken = default) =>
        GetVerifiedPathAsync(sha256, context, cancellationToken);

    /// <inheritdoc />
    public async Task<string> GetVerifiedPathAsync(string sha256, string context, CancellationToken cancellationToken = default)
    {
        var cached = _cache.GetPath(sha256);
        if (File.Exists(cached))
        {
            try
            {
                return await _cache.GetVerifiedPathAsync(sha256, context, cancellationToken).ConfigureAwait(false);
            }
            catch (TrackingException)
            {
                // a damaged cache entry: fetch the blob again below (the download replaces the file atomically)
            }
        }

        await DownloadAsync(sha256, context, cancellationToken).ConfigureAwait(false);
        return cached;
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string sha256, string context, CancellationToken cancellationToken = default)
    {
        var path = await GetVerifiedPathAsync(sha256, context, cancellationToken).ConfigureAwait(false);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    private async Task UploadAsync(StoredArtifact stored, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _container.GetBlobClient(BlobName(stored.Sha256));
        var path = _cache.GetPath(stored.Sha256);
        try
        {
            await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await blob.UploadAsync(input, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["sha256"] = stored.Sha256 },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409 || e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            // Same content already stored (by this or another machine). A blob of another length under this name
            // cannot be this content: replace it (a truncated upload from a foreign tool, say).
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (properties.Value.ContentLength != stored.SizeBytes)
            {
                await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await blob.UploadAsync(input, overwrite: true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure($"cannot store artifact sha256:{stored.Sha256}", e);
        }
    }

    private async Task DownloadAsync(string sha256, string context, CancellationToken cancellationToken)
    {
        var name = BlobName(sha256);
        var target = _cache.GetPath(sha256);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, ".download-" + Guid.NewGuid().ToString("N"));
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            string actual;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
                {
                    Stream input;
                    try
                    {
                        input = await _container.GetBlobClient(name).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        throw new TrackingException($"{context}: artifact sha256:{sha256} is missing from the artifact store (expected at {Location}/{name[(_prefix.Length == 0 ? 0 : _prefix.Length + 1)..]})", e);
                    }

                    await using (input.ConfigureAwait(false))
                    {
                        int read;
                        while ((read = await input.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                    }

                    output.Flush(flushToDisk: true);
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new TrackingException($"{context}: artifact sha256:{sha256} is corrupted: its content hashes to {actual} ({Location}/{name})");
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure($"{context}: cannot read artifact sha256:{sha256}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady)
        {
            return;
        }

        await _createLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_containerReady)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _containerReady = true;
            }
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("cannot create the container", e);
        }
        finally
        {
            _createLock.Release();
        }
    }

    /// <summary>A service error, or the SDK's retries giving up on one (it throws them as an AggregateException).</summary>
    private static bool IsServiceFailure(Exception e) =>
        e is RequestFailedException || (e is AggregateException a && a.InnerExceptions.Count > 0 && a.InnerExceptions[^1] is RequestFailedException);

    private TrackingException Failure(string what, Exception failure)
    {
        var e = failure as RequestFailedException ?? (RequestFailedException)((AggregateException)failure).InnerExceptions[^1];

        // The service message spans lines (request id, time, headers): keep its first line and the status.
        var message = e.Message;
        var newline = message.IndexOfAny(['\r', '\n']);
        if (newline >= 0)
        {
            message = message[..newline];
        }

        var status = e.Status == 0 ? "no response" : "HTTP " + e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new TrackingException($"artifact store {Location}: {what}: {status}{(e.ErrorCode is null ? "" : " " + e.ErrorCode)}: {message}", failure);
    }
}
