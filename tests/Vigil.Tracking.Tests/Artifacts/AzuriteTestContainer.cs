using Azure.Storage.Blobs;

namespace Vigil.Tracking.Tests;

/// <summary>
/// A fresh blob container on the Azurite named by <c>VIGIL_TEST_AZURITE</c> (a connection string; eng/test.sh starts
/// Azurite and sets it), deleted on dispose. Without that variable the test is skipped, or fails under <c>CI=true</c>.
/// </summary>
internal sealed class AzuriteTestContainer : IAsyncDisposable
{
    private AzuriteTestContainer(string connectionString, string name)
    {
        ConnectionString = connectionString;
        Name = name;
    }

    /// <summary>The Azurite connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>The container name (not created: the store creates it on first write).</summary>
    public string Name { get; }

    /// <summary>The container's client.</summary>
    public BlobContainerClient Client => new BlobServiceClient(ConnectionString).GetBlobContainerClient(Name);

    public static AzuriteTestContainer Create()
    {
        var cs = Environment.GetEnvironmentVariable("VIGIL_TEST_AZURITE");
        if (string.IsNullOrWhiteSpace(cs))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("VIGIL_TEST_AZURITE is not set but CI=true: eng/test.sh starts Azurite");
            }

            Assert.Skip("needs VIGIL_TEST_AZURITE (eng/test.sh starts Azurite and sets it)");
        }

        return new AzuriteTestContainer(cs, "vigil-" + Guid.NewGuid().ToString("N")[..20]);
    }

    public async ValueTask DisposeAsync() => await Client.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
}
