using System.Security.Cryptography;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// Logs a <c>vigil train</c> run to the tracking store (params, dataset fingerprint, metrics, the bundle as the
/// <c>model.zip</c> artifact) and, with <c>--register</c>, creates a model version from it.
/// </summary>
internal sealed class TrainTracking : IAsyncDisposable
{
    public const string ArtifactName = "model.zip";

    private readonly ITrackingStore _store;
    private readonly string? _registerAs;
    private bool _ended;

    private TrainTracking(ITrackingStore store, Run run, string? registerAs)
    {
        _store = store;
        Run = run;
        _registerAs = registerAs;
    }

    public Run Run { get; }

    /// <summary>The open store.</summary>
    public ITrackingStore Store => _store;

    /// <summary>Opens the store and starts a RUNNING run in <paramref name="experiment"/>.</summary>
    public static async Task<TrainTracking> StartAsync(Task<ITrackingStore> opening, string experiment, string? registerAs, CancellationToken cancellationToken)
    {
        var store = await opening.ConfigureAwait(false);
        try
        {
            var run = await store.CreateRunAsync(experiment, codeVersion: CodeVersion.TryGetGitCommit(Environment.CurrentDirectory), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            return new TrainTracking(store, run, registerAs);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Logs everything about the finished training, registers the model when asked, and ends the run FINISHED.
    /// <paramref name="dataPath"/> and <paramref name="frame"/> are null for a model trained elsewhere (<c>vigil import</c>):
    /// no dataset fingerprint then.
    /// </summary>
    public async Task<ModelVersion?> CompleteAsync(
        IReadOnlyDictionary<string, string> parameters, string? dataPath, Frame? frame, ModelBundle bundle,
        IReadOnlyDictionary<string, double>? metrics, CancellationToken cancellationToken)
    {
        var id = Run.RunId;
        await _store.LogParamsAsync(id, parameters, cancellationToken).ConfigureAwait(false);

        if (dataPath is not null && frame is not null)
        {
            string sha;
            var stream = File.OpenRead(dataPath);
            await using (stream.ConfigureAwait(false))
            {
                sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }

            await _store.SetDatasetFingerprintAsync(id, new DatasetFingerprint("train", sha, frame.Schema.ToString(), frame.RowCount, Path.GetFullPath(dataPath)), cancellationToken)
                .ConfigureAwait(false);
        }

        if (metrics is { Count: > 0 })
        {
            var now = DateTimeOffset.UtcNow;
            var points = metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new MetricPoint(kv.Key, kv.Value, 0, now)).ToList();
            await _store.LogMetricsAsync(id, points, cancellationToken).ConfigureAwait(false);
        }

        var temp = Path.Combine(Path.GetTempPath(), "vigil-bundle-" + Guid.NewGuid().ToString("N") + ".zip");
        StoredArtifact stored;
        try
        {
            bundle.Save(temp);
            stored = await _store.Artifacts.PutFileAsync(temp, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(temp);
        }

        await _store.RecordArtifactAsync(id, ArtifactName, stored, cancellationToken).ConfigureAwait(false);

        ModelVersion? version = null;
        if (_registerAs is not null)
        {
            version = await _store.CreateModelVersionAsync(_registerAs, new NewModelVersion
            {
                BundleSha256 = stored.Sha256,
                SourceRunId = id,
                FeatureSchema = TrackingFormat.FeatureSchema(bundle.Manifest),
                Metrics = metrics ?? new Dictionary<string, double>(),
            }, cancellationToken).ConfigureAwait(false);
        }

        await _store.EndRunAsync(id, RunStatus.Finished, cancellationToken).ConfigureAwait(false);
        _ended = true;
        return version;
    }

    /// <summary>
    /// Ends the run FAILED (training threw), or KILLED when <paramref name="cancelled"/> (Ctrl+C); never throws
    /// itself, so the original error is reported.
    /// </summary>
    public async Task FailAsync(bool cancelled = false)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        await RunEnding.EndAfterErrorAsync(_store, Run.RunId, cancelled ? new OperationCanceledException() : null).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
