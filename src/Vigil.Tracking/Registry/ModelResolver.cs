using System.Collections.Concurrent;

namespace Vigil.Tracking;

/// <summary>A resolved model URI with its loaded bundle.</summary>
/// <typeparam name="TBundle">The loaded bundle type (e.g. the detector bundle).</typeparam>
/// <param name="Version">The registry version the URI resolved to.</param>
/// <param name="Bundle">The bundle, loaded once per bundle hash.</param>
public sealed record LoadedModel<TBundle>(ModelVersion Version, TBundle Bundle);

/// <summary>
/// Resolves model URIs (models:/NAME@champion ...) against the registry on every call, so alias moves are seen
/// at once, and loads each bundle once: loaded bundles are cached by SHA-256, and the bundle file is verified
/// against its hash before the first load. Thread-safe.
/// </summary>
/// <typeparam name="TBundle">The loaded bundle type.</typeparam>
public sealed class ModelResolver<TBundle>
    where TBundle : class
{
    private readonly ITrackingStore _store;
    private readonly Func<string, ModelVersion, CancellationToken, ValueTask<TBundle>> _load;
    private readonly ConcurrentDictionary<string, Lazy<Task<TBundle>>> _cache = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates the resolver. <paramref name="load"/> receives the verified local path of the bundle (the zip in
    /// the artifact store) and the version.
    /// </summary>
    public ModelResolver(ITrackingStore store, Func<string, ModelVersion, CancellationToken, ValueTask<TBundle>> load)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(load);
        _store = store;
        _load = load;
    }

    /// <summary>Number of bundles currently loaded.</summary>
    public int LoadedCount => _cache.Count;

    /// <summary>Resolves <paramref name="uri"/> (text form) and returns the version with its loaded bundle.</summary>
    public Task<LoadedModel<TBundle>> GetAsync(string uri, CancellationToken cancellationToken = default) =>
        GetAsync(ModelUri.Parse(uri), cancellationToken);

    /// <summary>Resolves <paramref name="uri"/> and returns the version with its loaded bundle.</summary>
    public async Task<LoadedModel<TBundle>> GetAsync(ModelUri uri, CancellationToken cancellationToken = default)
    {
        var version = await _store.ResolveAsync(uri, cancellationToken).ConfigureAwait(false);
        var lazy = _cache.GetOrAdd(version.BundleSha256, _ => new Lazy<Task<TBundle>>(() => LoadAsync(version)));
        try
        {
            var bundle = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new LoadedModel<TBundle>(version, bundle);
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<Task<TBundle>>>(version.BundleSha256, lazy)); // retry next time
            throw;
        }
    }

    /// <summary>Drops the cached bundle with this hash (e.g. once no alias points at it) to free memory.</summary>
    public void Evict(string bundleSha256) => _cache.TryRemove(bundleSha256, out _);

    private async Task<TBundle> LoadAsync(ModelVersion version)
    {
        var path = await _store.GetVerifiedBundlePathAsync(version, CancellationToken.None).ConfigureAwait(false);
        return await _load(path, version, CancellationToken.None).ConfigureAwait(false);
    }
}
