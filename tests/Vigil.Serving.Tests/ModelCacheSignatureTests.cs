using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Serving.Tests;

/// <summary>With trusted keys the server loads only bundles signed by one of them, and says which version and why otherwise.</summary>
public sealed class ModelCacheSignatureTests : IAsyncDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vigil-serving-signature-").FullName;

    public async ValueTask DisposeAsync()
    {
        await Task.Yield();
        Directory.Delete(_home, recursive: true);
    }

    private static ModelBundle Train() =>
        ModelBundle.Train(ServerHarness.Data, new TrainSpec { Model = "iforest", Label = Vigil.Data.TransactionColumns.Label, IdColumn = Vigil.Data.TransactionColumns.TransactionId, Exclude = new HashSet<string>(Vigil.Data.TransactionColumns.LeakColumns), Forest = new IsolationForestOptions { Seed = 3, Estimators = 5 } });

    /// <summary>Registers the bundle; when <paramref name="key"/> is given, the stored zip is signed with it first.</summary>
    private static async Task<int> RegisterAsync(ITrackingStore store, string name, ModelBundle bundle, ECDsa? key)
    {
        var temp = Path.Combine(Path.GetTempPath(), "vigil-test-signed-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            bundle.Save(temp);
            if (key is not null)
            {
                BundleSigner.Sign(temp, key);
            }

            var stored = await store.Artifacts.PutFileAsync(temp);
            return (await store.CreateModelVersionAsync(name, new NewModelVersion { BundleSha256 = stored.Sha256, FeatureSchema = "x" })).Version;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    [Fact]
    public async Task Unsigned_and_foreign_signed_versions_are_refused_and_a_signed_one_loads()
    {
        await using var store = await StoreFactory.OpenAsync(null, _home, TestContext.Current.CancellationToken);
        var trusted = BundleSigner.GenerateKeyPair(Path.Combine(_home, "trusted"));
        var stranger = BundleSigner.GenerateKeyPair(Path.Combine(_home, "stranger"));
        using var trustedKey = BundleSigner.ReadPrivateKey(trusted.PrivateKey);
        using var strangerKey = BundleSigner.ReadPrivateKey(stranger.PrivateKey);
        var bundle = Train();
        await RegisterAsync(store, "plain", bundle, null);
        await RegisterAsync(store, "foreign", bundle, strangerKey);
        await RegisterAsync(store, "signed", bundle, trustedKey);

        var options = new BundleLoadOptions { TrustedKeys = BundleTrust.Load(trusted.PublicKey) };
        using var cache = new ModelCache([ModelSpec.Parse("plain/1"), ModelSpec.Parse("foreign/1"), ModelSpec.Parse("signed/1")], store, new ServingMetrics(),
            NullLogger<ModelCache>.Instance, TimeProvider.System, bundleOptions: options);
        var changes = await cache.RefreshAsync(TestContext.Current.CancellationToken);

        changes.Select(c => c.Outcome).ShouldBe(["failed", "failed", "loaded"]);
        changes[0].Error!.ShouldStartWith("models:/plain/1 (");
        changes[0].Error!.ShouldContain("): the bundle is unsigned (signature.json is missing) and trusted keys are configured");
        changes[1].Error!.ShouldStartWith("models:/foreign/1 (");
        changes[1].Error!.ShouldContain($"): the bundle is signed by key {stranger.KeyId}, which is not a trusted key");
        cache.Failures.Keys.ShouldBe(["plain", "foreign"], ignoreOrder: true);
        cache.Find("signed")!.Version.ShouldBe(1);

        // Without trusted keys every one of them loads.
        using var open = new ModelCache([ModelSpec.Parse("plain/1"), ModelSpec.Parse("foreign/1")], store, new ServingMetrics(),
            NullLogger<ModelCache>.Instance, TimeProvider.System, bundleOptions: BundleLoadOptions.Default);
        (await open.RefreshAsync(TestContext.Current.CancellationToken)).Select(c => c.Outcome).ShouldBe(["loaded", "loaded"]);
    }
}
