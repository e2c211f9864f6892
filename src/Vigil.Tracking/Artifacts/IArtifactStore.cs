namespace Vigil.Tracking;

/// <summary>
/// A content-addressed blob store holding run artifacts and model bundles, keyed by the SHA-256 of the content:
/// a local folder (<see cref="ArtifactStore"/>, the default) or an Azure Blob Storage / ADLS Gen2 container
/// (<see cref="BlobArtifactStore"/>). Open the configured one with <see cref="ArtifactStoreFactory"/>. Identical
/// content is stored once; every read checks the hash, and a missing or corrupted blob is a
/// <see cref="TrackingException"/> naming the caller's context.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Where the blobs live, for messages: a folder, or <c>az://CONTAINER/prefix</c>.</summary>
    string Location { get; }

    /// <summary>Copies <paramref name="content"/> into the store (from its current position) and returns its hash and size.</summary>
    Task<StoredArtifact> PutAsync(Stream content, CancellationToken cancellationToken = default);

    /// <summary>Copies the file at <paramref name="path"/> into the store.</summary>
    Task<StoredArtifact> PutFileAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Whether a blob with this hash is present (not verified).</summary>
    Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks that the blob exists and hashes to <paramref name="sha256"/>; otherwise throws
    /// <see cref="TrackingException"/> whose message starts with <paramref name="context"/> (e.g. "bundle of model
    /// 'fraud' version 3") and says where it looked.
    /// </summary>
    Task VerifyAsync(string sha256, string context, CancellationToken cancellationToken = default);

    /// <summary>
    /// A local file with the blob's verified content: the blob itself for a local store, a verified copy in the local
    /// cache for a remote one (bundles are opened from local files).
    /// </summary>
    Task<string> GetVerifiedPathAsync(string sha256, string context, CancellationToken cancellationToken = default);

    /// <summary>Opens the blob for reading after it was verified.</summary>
    Task<Stream> OpenReadAsync(string sha256, string context, CancellationToken cancellationToken = default);
}
