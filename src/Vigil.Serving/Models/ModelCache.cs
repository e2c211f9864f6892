using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>What a refresh did to one model.</summary>
/// <param name="Model">The served model name.</param>
/// <param name="Outcome"><c>loaded</c> (first load), <c>swapped</c>, <c>unchanged</c> or <c>failed</c>.</param>
/// <param name="FromVersion">The version served before, if any.</param>
/// <param name="ToVersion">The version served after, if any.</param>
/// <param name="Error">Why loading failed (the previous version, if any, keeps serving).</param>
public sealed record ModelChange(string Model, string Outcome, int? FromVersion, int? ToVersion, string? Error);

/// <summary>The last change of the version a model serves.</summary>
/// <param name="Model">The served model name.</param>
/// <param name="FromVersion">The version served before (null for the first load).</param>
/// <param name="ToVersion">The version served since.</param>
/// <param name="At">When the new version was published to requests.</param>
/// <param name="Trigger">What ran the refresh: <c>start</c>, <c>poll</c>, <c>notify</c> (a registry notification) or <c>admin</c>.</param>
public sealed record ModelSwap(string Model, int? FromVersion, int ToVersion, DateTimeOffset At, string Trigger);

/// <summary>
/// The served models. Each refresh resolves every <see cref="ModelSpec"/> in the registry, loads versions that
/// changed (verifying the bundle's SHA-256) and then publishes a new immutable snapshot with one reference swap:
/// requests that started before keep the versions they took; no request sees a half-swapped model.
/// </summary>
public sealed partial class ModelCache : IDisposable
{
    private const int KeepLoadedVersions = 4;

    private readonly IReadOnlyList<ModelSpec> _specs;
    private readonly ITrackingStore _store;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IItemRuleProvider? _rules;
    private readonly BundleLoadOptions _bundleOptions;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly Dictionary<string, List<ServedModel>> _recent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelSwap> _swaps = new(StringComparer.Ordinal);
    private FrozenDictionary<string, ServedModel> _snapshot = FrozenDictionary<string, ServedModel>.Empty;

    /// <summary>Creates an empty cache; call <see cref="RefreshAsync(CancellationToken)"/> to load.</summary>
    /// <param name="specs">The configured models.</param>
    /// <param name="store">The registry and artifact store.</param>
    /// <param name="metrics">Load counters.</param>
    /// <param name="logger">Load logs.</param>
    /// <param name="time">The clock of load times.</param>
    /// <param name="rules">Supplies each loaded version's pre-model rules (none without it).</param>
    /// <param name="bundleOptions">
    /// Size caps and trusted keys for loading bundles; default: the environment's (<c>VIGIL_BUNDLE_MAX_FILE_BYTES</c>,
    /// <c>VIGIL_BUNDLE_MAX_BYTES</c>, <c>VIGIL_TRUSTED_KEYS</c>), read once here so that a bad setting stops start-up.
    /// With trusted keys, a version whose bundle is unsigned or not signed by one of them is refused (and reported in
    /// <see cref="Failures"/>).
    /// </param>
    /// <exception cref="BundleSettingsException">A bundle setting in the environment is invalid.</exception>
    public ModelCache(IReadOnlyList<ModelSpec> specs, ITrackingStore store, ServingMetrics metrics, ILogger<ModelCache> logger, TimeProvider time, IItemRuleProvider? rules = null, BundleLoadOptions? bundleOptions = null)
    {
        _bundleOptions = bundleOptions ?? BundleLoadOptions.FromEnvironment();
        _rules = rules;
        _specs = specs;
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    /// <summary>The configured models.</summary>
    public IReadOnlyList<ModelSpec> Specs => _specs;

    /// <summary>The model versions whose bundle this cache opened, in order (<c>models:/NAME/VERSION</c>); tests observe tenant isolation with it.</summary>
    internal System.Collections.Concurrent.ConcurrentQueue<string> Opened { get; } = new();

    /// <summary>The current snapshot (name → loaded version). Take it once per request.</summary>
    public FrozenDictionary<string, ServedModel> Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>True when every configured model has a loaded version.</summary>
    public bool IsReady
    {
        get
        {
            var snapshot = Snapshot;
            foreach (var spec in _specs)
            {
                if (!snapshot.ContainsKey(spec.Name))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The last load error of each model that failed (and has not loaded since).</summary>
    public IReadOnlyDictionary<string, string> Failures
    {
        get
        {
            lock (_failures)
            {
                return new Dictionary<string, string>(_failures, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The last version change of each model that has loaded.</summary>
    public IReadOnlyDictionary<string, ModelSwap> LastSwaps
    {
        get
        {
            lock (_swaps)
            {
                return new Dictionary<string, ModelSwap>(_swaps, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The loaded version of <paramref name="name"/>, or null.</summary>
    public ServedModel? Find(string name) => Snapshot.GetValueOrDefault(name);

    /// <summary>
    /// Re-resolves every model and swaps in versions that changed. Refreshes never run concurrently; a model that
    /// fails to load keeps its previous version and is reported as <c>failed</c>.
    /// </summary>
    public Task<IReadOnlyList<ModelChange>> RefreshAsync(CancellationToken cancellationToken = default) => RefreshAsync("admin", cancellationToken);

    /// <summary>
    /// <see cref="RefreshAsync(CancellationToken)"/>, recording <paramref name="trigger"/> (<c>start</c>, <c>poll</c>,
    /// <c>notify</c>, <c>admin</c>) with each version change in <see cref="LastSwaps"/> and the metrics.
    /// </summary>
    public async Task<IReadOnlyList<ModelChange>> RefreshAsync(string trigger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        await _refreshLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Snapshot;
            var next = new Dictionary<string, ServedModel>(current, StringComparer.Ordinal);
            var changes = new List<ModelChange>(_specs.Count);
            foreach (var spec in _specs)
            {
                var before = current.GetValueOrDefault(spec.Name);
                try
                {
                    var version = await spec.ResolveAsync(_store, cancellationToken).ConfigureAwait(false);
                    if (before is not null && before.Version == version.Version && before.BundleSha256 == version.BundleSha256)
                    {
                        changes.Add(new ModelChange(spec.Name, "unchanged", before.Version, before.Version, null));
                        SetFailure(spec.Name, null);
                        continue;
                    }

                    var loaded = await LoadAsync(spec, version, cancellationToken).ConfigureAwait(false);
                    next[spec.Name] = loaded;
                    changes.Add(new ModelChange(spec.Name, before is null ? "loaded" : "swapped", before?.Version, loaded.Version, null));
                    SetFailure(spec.Name, null);
                    _metrics.ModelLoaded(spec.Name, loaded.Version);
                    LogLoaded(spec.Name, loaded.Version, spec.Follows, before?.Version);
                }
                catch (Exception e) when (e is TrackingException or BundleException or IOException or InvalidDataException or UnauthorizedAccessException or System.Data.Common.DbException)
                {
                    changes.Add(new ModelChange(spec.Name, "failed", before?.Version, before?.Version, e.Message));
                    SetFailure(spec.Name, e.Message);
                    _metrics.ModelLoadFailed(spec.Name);
                    LogLoadFailed(spec.Name, e.Message);
                }
            }

            Volatile.Write(ref _snapshot, next.ToFrozenDictionary(StringComparer.Ordinal));
            var at = _time.GetUtcNow();
            foreach (var change in changes)
            {
                if (change.Outcome is "loaded" or "swapped" && change.ToVersion is { } to)
                {
                    lock (_swaps)
                    {
                        _swaps[change.Model] = new ModelSwap(change.Model, change.FromVersion, to, at, trigger);
                    }

                    _metrics.ModelSwapped(change.Model, trigger, at);
                    LogSwapped(change.Model, change.FromVersion, to, trigger);
                }
            }

            return changes;
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _refreshLock.Dispose();

    private async Task<ServedModel> LoadAsync(ModelSpec spec, ModelVersion version, CancellationToken cancellationToken)
    {
        lock (_recent)
        {
            if (_recent.TryGetValue(spec.Name, out var list))
            {
                var hit = list.Find(m => m.Version == version.Version && m.BundleSha256 == version.BundleSha256);
                if (hit is not null)
                {
                    return hit;
                }
            }
        }

        Opened.Enqueue(version.Uri.ToString());
        var path = await _store.GetVerifiedBundlePathAsync(version, cancellationToken).ConfigureAwait(false);
        ModelBundle bundle;
        try
        {
            bundle = await Task.Run(() => ModelBundle.Load(path, _bundleOptions), cancellationToken).ConfigureAwait(false);
        }
        catch (BundleException e) when (e.Message.StartsWith(e.BundlePath + ": ", StringComparison.Ordinal))
        {
            // Name the version, not only the content-addressed blob: "models:/fraud/3 (PATH): the bundle is unsigned ...".
            throw new BundleException($"{version.Uri} ({path})", e.File, e.Message[(e.BundlePath.Length + 2)..], e);
        }

        var model = new ServedModel(spec, version.Version, bundle, _time.GetUtcNow(), version.BundleSha256, _rules?.GetRules(spec, bundle));
        lock (_recent)
        {
            if (!_recent.TryGetValue(spec.Name, out var list))
            {
                _recent[spec.Name] = list = [];
            }

            list.Add(model);
            if (list.Count > KeepLoadedVersions)
            {
                list.RemoveAt(0);
            }
        }

        return model;
    }

    private void SetFailure(string name, string? error)
    {
        lock (_failures)
        {
            if (error is null)
            {
                _failures.Remove(name);
            }
            else
            {
                _failures[name] = error;
            }
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Model {Model} version {Version} loaded (follows {Follows}; previous {Previous})")]
    private partial void LogLoaded(string model, int version, string follows, int? previous);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Model {Model} swapped from version {From} to {To} (trigger: {Trigger})")]
    private partial void LogSwapped(string model, int? from, int to, string trigger);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Model {Model} failed to load: {Error}")]
    private partial void LogLoadFailed(string model, string error);
}
