using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Vigil.Serving.Tests;

/// <summary>A server over an empty home that serves model <c>ghost</c>, which is not registered: it never becomes ready.</summary>
internal sealed class NotReadyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _home;

    private NotReadyServer(WebApplication app, string home)
    {
        _app = app;
        _home = home;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public HttpClient Client { get; }

    public static async Task<NotReadyServer> StartAsync()
    {
        var home = Path.Combine(Path.GetTempPath(), "vigil-serving-" + Guid.NewGuid().ToString("N"));
        var app = await VigilServer.BuildAsync(new ServingOptions
        {
            Port = 0,
            Home = home,
            Models = ModelSpec.ParseList("ghost"),
            RefreshSeconds = 0,
            InferenceLog = InferenceLogDestination.Off,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Critical,
        });
        await app.StartAsync();
        return new NotReadyServer(app, home);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
