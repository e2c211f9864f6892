using System.Globalization;
using System.Security.Cryptography;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>What <see cref="ModelLifecycle.SignVersionAsync"/> made.</summary>
/// <param name="Source">The version that was signed.</param>
/// <param name="Signed">The new version: the same bundle with <c>signature.json</c> added.</param>
/// <param name="KeyId">The signing key's id (see <see cref="BundleTrust.KeyId"/>).</param>
/// <param name="RunId">The run that recorded the signed bundle (experiment <c>signing</c>).</param>
public sealed record SignedVersion(ModelVersion Source, ModelVersion Signed, string KeyId, string RunId);

public sealed partial class ModelLifecycle
{
    /// <summary>The experiment of the runs that record signed copies of registered versions.</summary>
    public const string SigningExperiment = "signing";

    /// <summary>
    /// Signs a registered version: a registered bundle is immutable (its SHA-256 names it), so the signed bundle becomes
    /// a new version of the same model, with the source version's metrics and a description naming the source and the
    /// key; aliases and stages do not move. The run that records it (experiment <see cref="SigningExperiment"/>) has
    /// params <c>signed_from</c> and <c>key_id</c>.
    /// </summary>
    /// <param name="reference">The version: <c>models:/NAME/VERSION</c>, <c>models:/NAME@ALIAS</c> or <c>models:/NAME/STAGE</c>.</param>
    /// <param name="key">An ECDSA P-256 private key (see <see cref="BundleSigner.ReadPrivateKey"/>).</param>
    /// <param name="cancellationToken">Cancels before the run is created.</param>
    public async Task<SignedVersion> SignVersionAsync(string reference, ECDsa key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentNullException.ThrowIfNull(key);
        var uri = ModelUri.Parse(reference);
        var store = RequireStore(reference);
        var source = await store.ResolveAsync(uri, cancellationToken).ConfigureAwait(false);
        var path = await store.GetVerifiedBundlePathAsync(source, cancellationToken).ConfigureAwait(false);
        var temp = Path.Combine(Path.GetTempPath(), "vigil-sign-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            File.Copy(path, temp);
            var keyId = BundleSigner.Sign(temp, key);
            var manifest = ModelBundle.Load(temp, BundleLoadOptions.Default).Manifest;
            var run = await TrackedRun.StartAsync(this, SigningExperiment, null, null, cancellationToken).ConfigureAwait(false);
            try
            {
                await run.LogParamsAsync(new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["signed_from"] = source.Uri.ToString(),
                    ["key_id"] = keyId,
                }, cancellationToken).ConfigureAwait(false);
                var stored = await run.LogBundleFileAsync(temp, cancellationToken).ConfigureAwait(false);
                var signed = await run.RegisterAsync(source.ModelName, stored.Sha256, manifest, source.Metrics,
                    string.Create(CultureInfo.InvariantCulture, $"version {source.Version} signed by key {keyId}"), cancellationToken).ConfigureAwait(false);
                await run.FinishAsync(RunStatus.Finished, cancellationToken).ConfigureAwait(false);
                return new SignedVersion(source, signed, keyId, run.Id);
            }
            catch (Exception e)
            {
                await run.FailAsync(e).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
