namespace Vigil.Tracking;

/// <summary>
/// The inference log in the tracking store (SQLite or PostgreSQL): table <c>inference_log</c>, created by store
/// schema migration 5 (column <c>items</c>: migration 6), indexed by (model, start_us) and start_us. Each batch is written in one transaction
/// (SQLite: one prepared statement re-bound per row; PostgreSQL: binary COPY), all rows or none; a row whose log id
/// is already stored is skipped, so retrying a batch that did commit adds nothing.
/// </summary>
public sealed class InferenceLogStore : IInferenceLogSink, IInferenceLogReader
{
    private readonly SqlTrackingStore _store;

    private InferenceLogStore(SqlTrackingStore store)
    {
        _store = store;
    }

    /// <summary>"sqlite" or "postgres".</summary>
    public string Backend => _store.Backend;

    /// <summary>Where the store is (no password).</summary>
    public string Location => _store.Location;

    /// <inheritdoc/>
    public string Description => $"{_store.Backend} {_store.Location}";

    /// <summary>
    /// Opens the store named by <paramref name="storeSpec"/> exactly as <see cref="StoreFactory.OpenAsync(string?, string?, CancellationToken)"/>
    /// does (null: VIGIL_STORE, else SQLite at $VIGIL_HOME/vigil.db; <c>sqlite:PATH</c>; <c>postgres://...</c> or
    /// <c>Host=...</c>), applying pending schema migrations.
    /// </summary>
    /// <exception cref="TrackingException">The store cannot be opened or was written by a newer Vigil.</exception>
    public static async Task<InferenceLogStore> OpenAsync(string? storeSpec = null, string? vigilHome = null, CancellationToken cancellationToken = default)
    {
        var store = await StoreFactory.OpenSqlAsync(storeSpec, vigilHome, TimeProvider.System, null, cancellationToken).ConfigureAwait(false);
        return new InferenceLogStore(store);
    }

    /// <inheritdoc/>
    /// <exception cref="TrackingException">The batch could not be written; none of its rows were.</exception>
    public Task WriteAsync(IReadOnlyList<InferenceRecord> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _store.WriteInferenceAsync(batch, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>True: both SQL stores write the encoded items as they are (table <c>inference_items</c>).</remarks>
    public bool StoresEncodedItems => true;

    /// <inheritdoc/>
    public Task<long> CountAsync(string? model = null, long? sinceUs = null, CancellationToken cancellationToken = default) =>
        _store.CountInferenceAsync(model, sinceUs, cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<InferenceRecord>> TailAsync(int count, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count == 0
            ? Task.FromResult<IReadOnlyList<InferenceRecord>>([])
            : _store.TailInferenceAsync(count, model, cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="TrackingException">A stored row's items cannot be decoded; the message names its log id.</exception>
    public IAsyncEnumerable<InferenceItemChunk> ReadItemsAsync(string model, long? sinceUs = null, long? untilUs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _store.ReadInferenceItemsAsync(model, sinceUs, untilUs, InferenceItemChunkBuilder.DefaultTargetItems, cancellationToken);
    }

    /// <summary>As <see cref="ReadItemsAsync(string, long?, long?, CancellationToken)"/> with chunks of about <paramref name="chunkItems"/> items (tests).</summary>
    internal IAsyncEnumerable<InferenceItemChunk> ReadItemsAsync(string model, long? sinceUs, long? untilUs, int chunkItems, CancellationToken cancellationToken) =>
        _store.ReadInferenceItemsAsync(model, sinceUs, untilUs, chunkItems, cancellationToken);

    /// <summary>
    /// Stores delayed labels of <paramref name="model"/>'s logged predictions (table <c>inference_labels</c>, schema 8) in
    /// one transaction; a label for an item already labelled replaces it.
    /// </summary>
    /// <exception cref="TrackingException">The store is older than schema 8 or the write failed.</exception>
    public Task WriteLabelsAsync(string model, IReadOnlyList<InferenceLabel> labels, long ingestedUs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        return _store.WriteLabelsAsync(model, labels, ingestedUs, cancellationToken);
    }

    /// <summary>Every stored label of <paramref name="model"/>'s predictions, by request id and item.</summary>
    public Task<IReadOnlyList<InferenceLabel>> ReadLabelsAsync(string model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _store.ReadLabelsAsync(model, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
