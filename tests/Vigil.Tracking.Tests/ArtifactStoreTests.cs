using System.Security.Cryptography;

namespace Vigil.Tracking.Tests;

public sealed class ArtifactStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Put_stores_content_under_its_sha256_and_leaves_no_temporary_files()
    {
        var store = new ArtifactStore(_dir.File("artifacts"));
        var bytes = new byte[200_000];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 31);
        }

        var stored = await store.PutAsync(new MemoryStream(bytes), Ct);

        stored.Sha256.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        stored.SizeBytes.ShouldBe(bytes.Length);
        store.GetPath(stored.Sha256).ShouldBe(Path.Combine(store.Root, "sha256", stored.Sha256[..2], stored.Sha256));
        (await File.ReadAllBytesAsync(store.GetPath(stored.Sha256), Ct)).ShouldBe(bytes);
        Directory.GetFiles(store.Root, "*", SearchOption.AllDirectories).ShouldBe([store.GetPath(stored.Sha256)]);
    }

    [Fact]
    public async Task The_same_content_is_stored_once()
    {
        var store = new ArtifactStore(_dir.File("artifacts"));
        var a = await store.PutAsync(new MemoryStream([1, 2, 3]), Ct);
        var b = await store.PutAsync(new MemoryStream([1, 2, 3]), Ct);
        var c = await store.PutAsync(new MemoryStream([1, 2, 4]), Ct);

        b.ShouldBe(a);
        c.Sha256.ShouldNotBe(a.Sha256);
        Directory.GetFiles(store.Root, "*", SearchOption.AllDirectories).Length.ShouldBe(2);
    }

    [Fact]
    public async Task A_truncated_blob_is_repaired_by_putting_its_content_again()
    {
        var store = new ArtifactStore(_dir.File("artifacts"));
        var stored = await store.PutAsync(new MemoryStream([5, 6, 7, 8]), Ct);
        await File.WriteAllBytesAsync(store.GetPath(stored.Sha256), [5, 6], Ct);

        await store.PutAsync(new MemoryStream([5, 6, 7, 8]), Ct);

        await store.VerifyAsync(stored.Sha256, "repaired", Ct);
    }

    [Fact]
    public async Task Verify_names_the_context_and_the_path_of_a_missing_or_corrupted_blob()
    {
        var store = new ArtifactStore(_dir.File("artifacts"));
        var stored = await store.PutAsync(new MemoryStream([1, 2, 3]), Ct);
        var path = store.GetPath(stored.Sha256);
        await File.WriteAllBytesAsync(path, [3, 2, 1], Ct);

        var corrupted = await Should.ThrowAsync<TrackingException>(() => store.OpenReadAsync(stored.Sha256, "bundle of model 'fraud' version 2", Ct));
        File.Delete(path);
        var missing = await Should.ThrowAsync<TrackingException>(() => store.GetVerifiedPathAsync(stored.Sha256, "bundle of model 'fraud' version 2", Ct));

        corrupted.Message.ShouldBe($"bundle of model 'fraud' version 2: artifact sha256:{stored.Sha256} is corrupted: its content hashes to {Convert.ToHexStringLower(SHA256.HashData([3, 2, 1]))} ({path})");
        missing.Message.ShouldBe($"bundle of model 'fraud' version 2: artifact sha256:{stored.Sha256} is missing from the artifact store (expected at {path})");
    }

    [Fact]
    public async Task PutFile_copies_a_file_and_reports_a_missing_one()
    {
        var store = new ArtifactStore(_dir.File("artifacts"));
        var file = _dir.File("bundle.zip");
        await File.WriteAllBytesAsync(file, [42, 43], Ct);

        var stored = await store.PutFileAsync(file, Ct);

        store.Contains(stored.Sha256).ShouldBeTrue();
        (await Should.ThrowAsync<TrackingException>(() => store.PutFileAsync(_dir.File("nope.zip"), Ct))).Message.ShouldContain("nope.zip");
    }

    [Fact]
    public void A_malformed_hash_is_rejected() =>
        Should.Throw<TrackingException>(() => new ArtifactStore(_dir.Path).GetPath("../../etc/passwd")).Message.ShouldContain("is not a SHA-256");
}
