using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Vigil.Detectors.Tests.Bundles;

/// <summary>Saving never destroys what a user owns; loading caps sizes before reading and checks signatures when keys are trusted.</summary>
public sealed class BundleSafetyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-bundle-safety-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec Spec = new()
    {
        Label = "label",
        IdColumn = "id",
        Forest = new IsolationForestOptions { Seed = 5, Estimators = 10 },
    };

    private static ModelBundle Train(ulong seed = 31) => ModelBundle.Train(TestData.Transactions(seed, 300), Spec);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Save_over_a_folder_that_is_not_a_bundle_is_refused_even_with_overwrite_and_leaves_it_intact()
    {
        var folder = PathOf("data");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllText(Path.Combine(folder, "tx.csv"), "amount\n1\n");
        File.WriteAllText(Path.Combine(folder, "sub", "keep.txt"), "mine");

        foreach (var overwrite in (bool[])[false, true])
        {
            var e = Should.Throw<BundleException>(() => Train().Save(folder, overwrite));
            e.Message.ShouldBe($"{folder}: the folder exists and is not a Vigil model bundle (it holds sub, tx.csv); Vigil never writes a bundle over other files: choose a new or empty folder");
        }

        File.ReadAllText(Path.Combine(folder, "tx.csv")).ShouldBe("amount\n1\n");
        File.ReadAllText(Path.Combine(folder, "sub", "keep.txt")).ShouldBe("mine");
        Directory.GetFileSystemEntries(_dir).ShouldBe([folder]); // no temporary sibling left
    }

    [Fact]
    public void A_bundle_folder_with_an_extra_file_is_not_replaced()
    {
        Train().Save(PathOf("m"));
        File.WriteAllText(Path.Combine(PathOf("m"), "notes.txt"), "mine");
        Should.Throw<BundleException>(() => Train(32).Save(PathOf("m"), overwrite: true)).Message.ShouldContain("is not a Vigil model bundle (it holds ");
        File.ReadAllText(Path.Combine(PathOf("m"), "notes.txt")).ShouldBe("mine");
    }

    [Fact]
    public void An_empty_folder_takes_a_bundle()
    {
        Directory.CreateDirectory(PathOf("empty"));
        Train().Save(PathOf("empty"));
        ModelBundle.Load(PathOf("empty")).Manifest.DetectorKind.ShouldBe("iforest");
    }

    [Fact]
    public void A_file_that_is_not_a_bundle_zip_is_never_replaced()
    {
        File.WriteAllText(PathOf("report.zip"), "not a zip");
        Should.Throw<BundleException>(() => Train().Save(PathOf("report.zip"), overwrite: true)).Message.ShouldContain("not a Vigil bundle zip");
        File.ReadAllText(PathOf("report.zip")).ShouldBe("not a zip");
    }

    [Fact]
    public void A_bundle_zip_is_replaced_only_with_overwrite()
    {
        Train().Save(PathOf("m.zip"));
        var other = Train(33);
        Should.Throw<BundleException>(() => other.Save(PathOf("m.zip"))).Message.ShouldContain("pass --force");
        other.Save(PathOf("m.zip"), overwrite: true);
        ModelBundle.Load(PathOf("m.zip")).Manifest.Files["forest.bin"].ShouldBe(other.Manifest.Files["forest.bin"]);
        Directory.GetFileSystemEntries(_dir).ShouldBe([PathOf("m.zip")]);
    }

    [Fact]
    public void A_declared_size_over_the_file_cap_is_refused_before_reading()
    {
        Train().Save(PathOf("m"));
        var manifest = Path.Combine(PathOf("m"), "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["files"]!["forest.bin"]!["size"] = 5L << 40;
        File.WriteAllText(manifest, json.ToJsonString());

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldBe($"{PathOf("m")}: bundle.json declares forest.bin as 5497558138880 bytes, over the limit of {Array.MaxLength} bytes per file (VIGIL_BUNDLE_MAX_FILE_BYTES); nothing was read");
        e.File.ShouldBe("forest.bin");
    }

    [Fact]
    public void Actual_lengths_and_totals_are_checked_against_configured_caps()
    {
        var bundle = Train();
        bundle.Save(PathOf("m.zip"));
        var forest = bundle.Manifest.Files["forest.bin"].Size;
        var total = bundle.Manifest.Files.Values.Sum(f => f.Size);

        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m.zip"), new BundleLoadOptions { MaxFileBytes = forest - 1 }))
            .Message.ShouldContain($"declares forest.bin as {forest} bytes, over the limit of {forest - 1} bytes per file (VIGIL_BUNDLE_MAX_FILE_BYTES)");
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m.zip"), new BundleLoadOptions { MaxBundleBytes = total }))
            .Message.ShouldContain($"bytes in all, over the limit of {total} bytes per bundle (VIGIL_BUNDLE_MAX_BYTES)");
        ModelBundle.Load(PathOf("m.zip"), new BundleLoadOptions { MaxFileBytes = forest, MaxBundleBytes = total + 100_000 }).ShouldNotBeNull();

        // A manifest that understates a file: the actual length is checked before reading.
        bundle.Save(PathOf("m"));
        var path = Path.Combine(PathOf("m"), "forest.bin");
        File.WriteAllBytes(path, new byte[forest + 10]);
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"), new BundleLoadOptions { MaxFileBytes = forest + 5 }))
            .Message.ShouldContain($"forest.bin is {forest + 10} bytes, over the limit of {forest + 5} bytes per file");
    }

    [Theory]
    [InlineData("VIGIL_BUNDLE_MAX_FILE_BYTES", "0")]
    [InlineData("VIGIL_BUNDLE_MAX_BYTES", "4GB")]
    [InlineData("VIGIL_TRUSTED_KEYS", "/nonexistent/keys")]
    public void Invalid_settings_name_the_variable(string variable, string value)
    {
        Should.Throw<BundleSettingsException>(() => BundleLoadOptions.FromEnvironment(v => v == variable ? value : null))
            .Message.ShouldStartWith($"{variable}={value}: ");
    }

    [Fact]
    public void Settings_come_from_the_environment()
    {
        var keys = BundleSigner.GenerateKeyPair(PathOf("keys"));
        var env = new Dictionary<string, string>
        {
            ["VIGIL_BUNDLE_MAX_FILE_BYTES"] = "1000",
            ["VIGIL_BUNDLE_MAX_BYTES"] = "5000",
            ["VIGIL_TRUSTED_KEYS"] = keys.PublicKey,
        };
        var options = BundleLoadOptions.FromEnvironment(v => env.GetValueOrDefault(v));
        options.MaxFileBytes.ShouldBe(1000);
        options.MaxBundleBytes.ShouldBe(5000);
        options.TrustedKeys!.KeyIds.ShouldBe([keys.KeyId]);
        BundleLoadOptions.FromEnvironment(_ => null).ShouldBe(BundleLoadOptions.Default);
    }

    [Theory]
    [InlineData("m")]
    [InlineData("m.zip")]
    public void A_signed_bundle_loads_with_its_key_trusted(string name)
    {
        var keys = BundleSigner.GenerateKeyPair(PathOf("keys"));
        Train().Save(PathOf(name));
        using var key = BundleSigner.ReadPrivateKey(keys.PrivateKey);
        BundleSigner.Sign(PathOf(name), key).ShouldBe(keys.KeyId);

        var trusted = new BundleLoadOptions { TrustedKeys = BundleTrust.Load(keys.PublicKey) };
        ModelBundle.Load(PathOf(name), trusted).Manifest.DetectorKind.ShouldBe("iforest");
        ModelBundle.Load(PathOf(name), BundleLoadOptions.Default).ShouldNotBeNull();

        // Signing again replaces the signature; a signed bundle can still be overwritten (its signature is its own file).
        BundleSigner.Sign(PathOf(name), key);
        ModelBundle.Load(PathOf(name), trusted).ShouldNotBeNull();
        Train(34).Save(PathOf(name), overwrite: true);
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf(name), trusted)).Message.ShouldContain("the bundle is unsigned");
    }

    [Fact]
    public void Unsigned_is_refused_when_keys_are_trusted_and_accepted_when_not()
    {
        var keys = BundleSigner.GenerateKeyPair(PathOf("keys"));
        Train().Save(PathOf("m"));
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"), new BundleLoadOptions { TrustedKeys = BundleTrust.Load(keys.PublicKey) }));
        e.Message.ShouldBe($"{PathOf("m")}: the bundle is unsigned (signature.json is missing) and trusted keys are configured (VIGIL_TRUSTED_KEYS={keys.PublicKey}); sign it with 'vigil models sign'");
        e.File.ShouldBe("signature.json");
        ModelBundle.Load(PathOf("m"), BundleLoadOptions.Default).ShouldNotBeNull();
    }

    [Fact]
    public void A_changed_weights_byte_with_its_manifest_hash_updated_is_refused()
    {
        var (bundle, trusted, keyId) = SignedBundle("m");
        var forest = Path.Combine(bundle, "forest.bin");
        var bytes = File.ReadAllBytes(forest);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(forest, bytes);
        var manifest = Path.Combine(bundle, "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["files"]!["forest.bin"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllText(manifest, json.ToJsonString());

        ModelBundle.Load(bundle, BundleLoadOptions.Default).ShouldNotBeNull(); // hashes alone catch corruption, not tampering
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(bundle, trusted));
        e.Message.ShouldBe($"{bundle}: the signature does not verify with trusted key {keyId}: bundle.json (or a file it lists) was changed after signing, or signature.json is corrupt");
    }

    [Fact]
    public void A_changed_manifest_is_refused()
    {
        var (bundle, trusted, _) = SignedBundle("m.zip");
        using (var zip = ZipFile.Open(bundle, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("bundle.json")!;
            string text;
            using (var reader = new StreamReader(entry.Open()))
            {
                text = reader.ReadToEnd();
            }

            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("bundle.json").Open());
            writer.Write(text.Replace("\"trainingRunId\": null", "\"trainingRunId\": \"forged\"", StringComparison.Ordinal));
        }

        Should.Throw<BundleException>(() => ModelBundle.Load(bundle, trusted)).Message.ShouldContain(": the signature does not verify with trusted key ");
    }

    [Fact]
    public void A_bundle_signed_by_another_key_is_refused_naming_both()
    {
        var (bundle, _, signer) = SignedBundle("m");
        var other = BundleSigner.GenerateKeyPair(PathOf("other"));
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(bundle, new BundleLoadOptions { TrustedKeys = BundleTrust.Load(other.PublicKey) }));
        e.Message.ShouldBe($"{bundle}: the bundle is signed by key {signer}, which is not a trusted key (VIGIL_TRUSTED_KEYS={other.PublicKey} holds {other.KeyId})");
    }

    [Fact]
    public void A_trust_folder_holds_several_keys_and_refuses_private_keys()
    {
        var a = BundleSigner.GenerateKeyPair(PathOf("a"));
        var b = BundleSigner.GenerateKeyPair(PathOf("b"));
        Directory.CreateDirectory(PathOf("trust"));
        File.WriteAllText(Path.Combine(PathOf("trust"), "both.pem"), File.ReadAllText(a.PublicKey) + File.ReadAllText(b.PublicKey));
        BundleTrust.Load(PathOf("trust")).KeyIds.ShouldBe([a.KeyId, b.KeyId], ignoreOrder: true);

        File.Copy(a.PrivateKey, Path.Combine(PathOf("trust"), "oops.pem"));
        Should.Throw<BundleSettingsException>(() => BundleTrust.Load(PathOf("trust"))).Message.ShouldContain("holds a 'PRIVATE KEY' block; a trust list holds public keys only");
        Should.Throw<BundleSettingsException>(() => BundleSigner.GenerateKeyPair(PathOf("a"))).Message.ShouldContain("a key file already exists");
    }

    [Fact]
    public void Signing_refuses_a_bundle_that_does_not_verify()
    {
        var keys = BundleSigner.GenerateKeyPair(PathOf("keys"));
        Train().Save(PathOf("m"));
        File.AppendAllText(Path.Combine(PathOf("m"), "transform.json"), " ");
        using var key = BundleSigner.ReadPrivateKey(keys.PrivateKey);
        Should.Throw<BundleException>(() => BundleSigner.Sign(PathOf("m"), key)).Message.ShouldContain("transform.json has");
        File.Exists(Path.Combine(PathOf("m"), "signature.json")).ShouldBeFalse();
    }

    [Fact]
    public void A_non_key_file_is_refused_as_a_signing_key()
    {
        File.WriteAllText(PathOf("key.pem"), "hello");
        Should.Throw<BundleSettingsException>(() => BundleSigner.ReadPrivateKey(PathOf("key.pem"))).Message.ShouldStartWith($"{PathOf("key.pem")}: not an unencrypted ECDSA P-256 private key in PEM");
    }

    private (string Bundle, BundleLoadOptions Trusted, string KeyId) SignedBundle(string name)
    {
        var keys = BundleSigner.GenerateKeyPair(PathOf("keys"));
        Train().Save(PathOf(name));
        using var key = BundleSigner.ReadPrivateKey(keys.PrivateKey);
        BundleSigner.Sign(PathOf(name), key);
        ModelBundle.Load(PathOf(name), new BundleLoadOptions { TrustedKeys = BundleTrust.Load(keys.PublicKey) }).ShouldNotBeNull();
        return (PathOf(name), new BundleLoadOptions { TrustedKeys = BundleTrust.Load(keys.PublicKey) }, keys.KeyId);
    }
}
