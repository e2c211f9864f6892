using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle.Tests;

/// <summary>Training refuses an output that holds other files before it starts; a registered version signs into a new version.</summary>
public sealed class SafetyTests
{
    [Fact]
    public async Task Train_refuses_a_folder_of_other_files_before_logging_a_run()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var folder = fx.File("data");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine");

        var e = await Should.ThrowAsync<BundleException>(() => fx.Lifecycle.TrainAsync(new TrainOptions
        {
            Data = fx.Data, Spec = LifecycleFixture.Spec(), Output = folder, Experiment = "refused", Overwrite = true,
        }, null, ct));

        e.Message.ShouldContain("is not a Vigil model bundle (it holds notes.txt)");
        File.ReadAllText(Path.Combine(folder, "notes.txt")).ShouldBe("mine");
        (await fx.Store.ListExperimentsAsync(ct)).ShouldNotContain(x => x.Name == "refused"); // no run, not even its experiment
    }

    [Fact]
    public async Task Signing_a_version_registers_a_signed_copy_and_moves_no_alias()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), RegisterAs = "fraud" }, null, ct);
        await fx.Store.SetAliasAsync("fraud", "champion", 1, "test", null, ct);
        var keys = BundleSigner.GenerateKeyPair(fx.File("keys"));
        using var key = BundleSigner.ReadPrivateKey(keys.PrivateKey);

        var signed = await fx.Lifecycle.SignVersionAsync("models:/fraud@champion", key, ct);

        signed.Source.Version.ShouldBe(1);
        signed.Signed.Version.ShouldBe(2);
        signed.KeyId.ShouldBe(keys.KeyId);
        signed.Signed.Description.ShouldBe($"version 1 signed by key {keys.KeyId}");
        (await fx.Store.ResolveAsync(ModelUri.Parse("models:/fraud@champion"), ct)).Version.ShouldBe(1);
        var path = await fx.Store.GetVerifiedBundlePathAsync(signed.Signed, ct);
        var trusted = new BundleLoadOptions { TrustedKeys = BundleTrust.Load(keys.PublicKey) };
        ModelBundle.Load(path, trusted).Manifest.DetectorKind.ShouldBe("iforest");
        var unsigned = await fx.Store.GetVerifiedBundlePathAsync(signed.Source, ct);
        Should.Throw<BundleException>(() => ModelBundle.Load(unsigned, trusted)).Message.ShouldContain("the bundle is unsigned");
    }
}
