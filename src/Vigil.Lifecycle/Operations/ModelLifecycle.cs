using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>
/// The model lifecycle as operations: train, evaluate, score a file, search, compare, promote through a gate, and
/// record a bundle made elsewhere. Each operation takes a typed options record, reports <see cref="LifecycleProgress"/>
/// and honours its <see cref="CancellationToken"/>; a tracked run that an operation started ends FINISHED, FAILED, or
/// KILLED when cancelled. Every tracking side effect (runs, params, metrics, dataset fingerprints, artifacts, registry
/// versions, alias moves with their reasons) happens here, so the CLI, the server's admin and pipelines behave alike.
/// </summary>
/// <remarks>
/// Errors a caller can act on are <see cref="Vigil.Data.VigilException"/>s (<see cref="LifecycleException"/> names the
/// option at fault) or <see cref="ArgumentException"/>s for invalid detector options; anything else is a bug.
/// The instance does not own the store: dispose it yourself.
/// </remarks>
public sealed partial class ModelLifecycle
{
    /// <summary>Operations without a tracking store: training to a file, evaluating and scoring bundle paths.</summary>
    public ModelLifecycle()
        : this(null)
    {
    }

    /// <summary>Operations over <paramref name="store"/> (null: only operations that need no store work).</summary>
    /// <param name="store">The tracking store and registry (its artifact store holds the bundles).</param>
    /// <param name="timeProvider">The clock for metric timestamps and bundle creation times (default: system).</param>
    public ModelLifecycle(ITrackingStore? store, TimeProvider? timeProvider = null)
    {
        Store = store;
        Time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The tracking store, or null.</summary>
    public ITrackingStore? Store { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The folder whose git commit is recorded as a run's code version (default: the current directory).</summary>
    public string CodeDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The prefix of a registry model reference.</summary>
    public const string ModelUriScheme = "models:/";

    /// <summary>The registry alias that <see cref="PromoteAsync"/> moves.</summary>
    public const string ChampionAlias = "champion";

    /// <summary>
    /// Loads a model named by a bundle path (directory or .zip) or a registry URI (<c>models:/NAME@ALIAS</c>,
    /// <c>models:/NAME/VERSION</c>, <c>models:/NAME/STAGE</c>; needs the store), verifying every file's SHA-256.
    /// </summary>
    public async Task<LoadedModel> LoadModelAsync(string reference, IProgress<LifecycleProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        if (!reference.StartsWith(ModelUriScheme, StringComparison.Ordinal))
        {
            return new LoadedModel(reference, ModelBundle.Load(reference), null);
        }

        var uri = ModelUri.Parse(reference);
        var store = RequireStore(reference);
        var version = await store.ResolveAsync(uri, cancellationToken).ConfigureAwait(false);
        var bundle = await LoadVersionAsync(version, cancellationToken).ConfigureAwait(false);
        progress?.Report(new LifecycleProgress(LifecycleStages.Model, 1, 1) { Message = $"{uri} -> {version.Uri} ({store.Location})" });
        return new LoadedModel(reference, bundle, version);
    }

    internal async Task<ModelBundle> LoadVersionAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        var path = await RequireStore(version.Uri.ToString()).GetVerifiedBundlePathAsync(version, cancellationToken).ConfigureAwait(false);
        return ModelBundle.Load(path);
    }

    internal ITrackingStore RequireStore(string what) =>
        Store ?? throw new LifecycleException($"{what}: needs a tracking store, and this lifecycle has none");
}
