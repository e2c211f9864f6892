using System.Security.Cryptography;

namespace Vigil.Tracking.Tests;

/// <summary>The Azure Blob artifact store against a real Azurite, and how VIGIL_ARTIFACTS picks a store.</summary>
public sealed class BlobArtifactStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private IArtifactStore Open(AzuriteTestContainer container, string home, string prefix = "team/artifacts") =>
        ArtifactStoreFactory.Open($"az://{container.Name}/{prefix}", _dir.File(home), container.ConnectionString);

    [Fact]
    public async Task A_blob_written_under_one_home_is_read_and_verified_under_another()
    {
        await using var container = AzuriteTestContainer.Create();
        var writer = Open(container, "home-a");
        var reader = Open(container, "home-b");
        var bytes = Content(300_000, 1);

        var stored = await writer.PutAsync(new MemoryStream(bytes), Ct);

        stored.Sha256.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        writer.Location.ShouldBe($"az://{container.Name}/team/artifacts");
        (await container.Client.GetBlobClient($"team/artifacts/sha256/{stored.Sha256[..2]}/{stored.Sha256}").ExistsAsync(Ct)).Value.ShouldBeTrue();
        (await reader.ContainsAsync(stored.Sha256, Ct)).ShouldBeTrue();
        var path = await reader.GetVerifiedPathAsync(stored.Sha256, "test", Ct);
        path.ShouldStartWith(_dir.File(Path.Combine("home-b", "cache", "artifacts")));
        (await File.ReadAllBytesAsync(path, Ct)).ShouldBe(bytes);
        await using var read = await reader.OpenReadAsync(stored.Sha256, "test", Ct);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy, Ct);
        copy.ToArray().ShouldBe(bytes);
    }

    [Fact]
    public async Task The_same_content_is_uploaded_once()
    {
        await using var container = AzuriteTestContainer.Create();
        var a = Open(container, "home-a");
        var b = Open(container, "home-b");
        var first = await a.PutAsync(new MemoryStream([1, 2, 3]), Ct);
        var blob = container.Client.GetBlobClient($"team/artifacts/sha256/{first.Sha256[..2]}/{first.Sha256}");
        var etag = (await blob.GetPropertiesAsync(cancellationToken: Ct)).Value.ETag;

        var second = await b.PutAsync(new MemoryStream([1, 2, 3]), Ct);

        second.ShouldBe(first);
        (await blob.GetPropertiesAsync(cancellationToken: Ct)).Value.ETag.ShouldBe(etag, "a conditional upload leaves the existing blob untouched");
        var names = new List<string>();
        await foreach (var item in container.Client.GetBlobsAsync(cancellationToken: Ct))
        {
            names.Add(item.Name);
        }

        names.ShouldBe([blob.Name]);
    }

    [Fact]
    public async Task A_damaged_cache_entry_is_downloaded_again_and_a_damaged_blob_is_refused()
    {
        await using var container = AzuriteTestContainer.Create();
        var store = Open(container, "home-a", prefix: "");
        var bytes = Content(10_000, 2);
        var stored = await store.PutAsync(new MemoryStream(bytes), Ct);
        var cached = await store.GetVerifiedPathAsync(stored.Sha256, "test", Ct);
        await File.WriteAllBytesAsync(cached, [9, 9, 9], Ct);

        (await File.ReadAllBytesAsync(await store.GetVerifiedPathAsync(stored.Sha256, "test", Ct), Ct)).ShouldBe(bytes);

        // Someone overwrites the blob with other content: the download no longer hashes to its name.
        await container.Client.GetBlobClient($"sha256/{stored.Sha256[..2]}/{stored.Sha256}").UploadAsync(new BinaryData(new byte[] { 7, 7 }), overwrite: true, Ct);
        File.Delete(cached);
        var e = await Should.ThrowAsync<TrackingException>(() => store.VerifyAsync(stored.Sha256, "bundle of model 'fraud' version 3", Ct));
        e.Message.ShouldStartWith($"bundle of model 'fraud' version 3: artifact sha256:{stored.Sha256} is corrupted");
        File.Exists(cached).ShouldBeFalse("a corrupted download is never kept in the cache");
    }

    [Fact]
    public async Task A_missing_blob_names_the_context_and_the_container()
    {
        await using var container = AzuriteTestContainer.Create();
        var store = Open(container, "home-a");
        await store.PutAsync(new MemoryStream([1]), Ct); // creates the container
        var sha = new string('a', 64);

        var e = await Should.ThrowAsync<TrackingException>(() => store.GetVerifiedPathAsync(sha, "artifact 'model.zip' of run 'r1'", Ct));

        e.Message.ShouldBe($"artifact 'model.zip' of run 'r1': artifact sha256:{sha} is missing from the artifact store (expected at az://{container.Name}/team/artifacts/sha256/aa/{sha})");
        (await store.ContainsAsync(sha, Ct)).ShouldBeFalse();
    }

    [Fact]
    public async Task A_version_registered_under_one_home_is_verified_from_another_through_its_cache()
    {
        await using var container = AzuriteTestContainer.Create();
        var db = _dir.File("shared.db");
        var bundle = Content(50_000, 3);
        ModelVersion registered;
        await using (var a = await StoreFactory.OpenAsync(db, _dir.File("home-a"), Open(container, "home-a"), TimeProvider.System, Ct))
        {
            var stored = await a.Artifacts.PutAsync(new MemoryStream(bundle), Ct);
            registered = await a.CreateModelVersionAsync("fraud", new NewModelVersion { BundleSha256 = stored.Sha256, FeatureSchema = "amount:float64" }, Ct);
        }

        await using var b = await StoreFactory.OpenAsync(db, _dir.File("home-b"), Open(container, "home-b"), TimeProvider.System, Ct);
        var version = await b.GetModelVersionAsync("fraud", registered.Version, Ct);
        var path = await b.GetVerifiedBundlePathAsync(version, Ct);

        path.ShouldStartWith(_dir.File("home-b"));
        (await File.ReadAllBytesAsync(path, Ct)).ShouldBe(bundle);
        Directory.Exists(_dir.File(Path.Combine("home-b", "artifacts"))).ShouldBeFalse("nothing is written to the local default store");
    }

    [Theory]
    [InlineData("az://A", "not a valid container name")]
    [InlineData("az://ab", "not a valid container name")]
    [InlineData("az://my--models", "not a valid container name")]
    [InlineData("az://models/a//b", "empty or '..' segment")]
    [InlineData("s3://bucket", "neither az://CONTAINER[/prefix] nor a local folder")]
    public void A_bad_spec_is_refused_naming_VIGIL_ARTIFACTS(string spec, string fragment)
    {
        var e = Should.Throw<TrackingException>(() => ArtifactStoreFactory.Open(spec, _dir.Path, "UseDevelopmentStorage=true"));
        e.Message.ShouldStartWith("VIGIL_ARTIFACTS");
        e.Message.ShouldContain(fragment);
    }

    [Fact]
    public void A_blob_spec_without_a_connection_string_is_refused_naming_the_variable()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING")))
        {
            Assert.Skip("AZURE_STORAGE_CONNECTION_STRING is set in this environment");
        }

        Should.Throw<TrackingException>(() => ArtifactStoreFactory.Open("az://models", _dir.Path))
            .Message.ShouldBe("VIGIL_ARTIFACTS=az://models needs AZURE_STORAGE_CONNECTION_STRING (the storage account's connection string)");
        Should.Throw<TrackingException>(() => ArtifactStoreFactory.Open("az://models", _dir.Path, "not a connection string"))
            .Message.ShouldStartWith("AZURE_STORAGE_CONNECTION_STRING is not a valid Azure Storage connection string");
    }

    [Fact]
    public async Task An_unreachable_account_is_one_line_naming_the_store()
    {
        var store = ArtifactStoreFactory.Open("az://models", _dir.Path,
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;");

        var e = await Should.ThrowAsync<TrackingException>(() => store.PutAsync(new MemoryStream([1]), Ct));

        e.Message.ShouldStartWith("artifact store az://models: cannot create the container: no response");
        e.Message.ShouldNotContain("\n");
    }

    [Fact]
    public void No_spec_is_the_local_folder_and_a_path_is_a_local_folder()
    {
        ArtifactStoreFactory.Open(null, _dir.Path).ShouldBeOfType<ArtifactStore>().Root.ShouldBe(Path.Combine(_dir.Path, "artifacts"));
        ArtifactStoreFactory.Open(_dir.File("elsewhere"), _dir.Path).Location.ShouldBe(_dir.File("elsewhere"));
        ArtifactStoreFactory.Open("file://" + _dir.File("x"), _dir.Path).Location.ShouldBe(_dir.File("x"));
    }
}
