using System.Security.Cryptography;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>
/// One tracked run and every side effect on it: params, metrics, tags, dataset fingerprint, the bundle artifact, the
/// registry version made from it, and its end (FINISHED, or FAILED / KILLED after an error or a cancellation).
/// </summary>
internal sealed class TrackedRun
{
    /// <summary>The artifact name of a run's model bundle (a zip).</summary>
    public const string BundleArtifact = "model.zip";

    private readonly ITrackingStore _store;
    private readonly TimeProvider _time;
    private bool _ended;

    private TrackedRun(ITrackingStore store, TimeProvider time, Run run)
    {
        _store = store;
        _time = time;
        Run = run;
    }

    public Run Run { get; }

    public string Id => Run.RunId;

    public static async Task<TrackedRun> StartAsync(
        ModelLifecycle lifecycle, string experiment, string? name, string? parentRunId, CancellationToken cancellationToken)
    {
        var store = lifecycle.RequireStore($"run in experiment '{experiment}'");
        cancellationToken.ThrowIfCancellationRequested();

        // Not cancellable once begun: a run that exists must be ended, so a cancellation arriving while it is created
        // ends it KILLED here instead of leaving it RUNNING behind an exception.
        var run = new TrackedRun(store, lifecycle.Time, await store.CreateRunAsync(experiment, name,
            codeVersion: parentRunId is null ? CodeVersion.TryGetGitCommit(lifecycle.CodeDirectory) : null,
            parentRunId: parentRunId, cancellationToken: CancellationToken.None).ConfigureAwait(false));
        if (cancellationToken.IsCancellationRequested)
        {
            var cancelled = new OperationCanceledException(cancellationToken);
            await run.FailAsync(cancelled).ConfigureAwait(false);
            throw cancelled;
        }

        return run;
    }

    public Task LogParamsAsync(IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        _store.LogParamsAsync(Id, parameters, cancellationToken);

    /// <summary>Logs <paramref name="metrics"/> at step 0, keys prefixed by <paramref name="prefix"/>, in key order.</summary>
    public Task LogMetricsAsync(IEnumerable<KeyValuePair<string, double>> metrics, string prefix, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var points = metrics.Select(kv => new MetricPoint(prefix + kv.Key, kv.Value, 0, now)).ToList();
        return points.Count == 0 ? Task.CompletedTask : _store.LogMetricsAsync(Id, points, cancellationToken);
    }

    public Task SetTagsAsync(IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        _store.SetTagsAsync(Id, tags, cancellationToken);

    /// <summary>Records the SHA-256 of the data file <paramref name="path"/> with the schema and row count of <paramref name="rows"/>.</summary>
    public async Task SetDatasetAsync(string name, string path, Frame rows, CancellationToken cancellationToken)
    {
        string sha;
        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }

        await _store.SetDatasetFingerprintAsync(Id, new DatasetFingerprint(name, sha, rows.Schema.ToString(), rows.RowCount, Path.GetFullPath(path)), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Stores the bundle (zipped) in the artifact store and records it as the run's <see cref="BundleArtifact"/>.</summary>
    public async Task<StoredArtifact> LogBundleAsync(ModelBundle bundle, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetTempPath(), "vigil-bundle-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            bundle.Save(temp);
            var stored = await _store.Artifacts.PutFileAsync(temp, cancellationToken).ConfigureAwait(false);
            await _store.RecordArtifactAsync(Id, BundleArtifact, stored, cancellationToken).ConfigureAwait(false);
            return stored;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Stores a bundle zip file as it is (e.g. signed) in the artifact store and records it as the run's <see cref="BundleArtifact"/>.</summary>
    public async Task<StoredArtifact> LogBundleFileAsync(string zipPath, CancellationToken cancellationToken)
    {
        var stored = await _store.Artifacts.PutFileAsync(zipPath, cancellationToken).ConfigureAwait(false);
        await _store.RecordArtifactAsync(Id, BundleArtifact, stored, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>Registers the stored bundle as a new version of <paramref name="modelName"/>, made by this run.</summary>
    public Task<ModelVersion> RegisterAsync(
        string modelName, string bundleSha256, BundleManifest manifest, IReadOnlyDictionary<string, double>? metrics, string? description, CancellationToken cancellationToken) =>
        _store.CreateModelVersionAsync(modelName, new NewModelVersion
        {
            BundleSha256 = bundleSha256,
            SourceRunId = Id,
            FeatureSchema = FeatureSchemaText(manifest),
            Metrics = metrics ?? new Dictionary<string, double>(),
            Description = description,
        }, cancellationToken);

    public async Task FinishAsync(RunStatus status, CancellationToken cancellationToken)
    {
        await _store.EndRunAsync(Id, status, cancellationToken).ConfigureAwait(false);
        _ended = true;
    }

    /// <summary>
    /// Ends the run KILLED when <paramref name="error"/> is a cancellation, else FAILED. Never throws for a store
    /// error, so that the caller rethrows the error that matters.
    /// </summary>
    public async Task FailAsync(Exception? error)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        try
        {
            await _store.EndRunAsync(Id, error is OperationCanceledException ? RunStatus.Killed : RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TrackingException)
        {
            // The store is failing too; the original error is what the caller reports.
        }
    }

    /// <summary>The registry's feature schema text: <c>name:kind,...</c>.</summary>
    public static string FeatureSchemaText(BundleManifest manifest) =>
        string.Join(",", manifest.FeatureSchema.Select(c => $"{c.Name}:{c.Kind.ToString().ToLowerInvariant()}"));
}
