using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vigil.Serving;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil serve</c>: the scoring server.</summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var port = new Option<string?>("--port", "-p") { Description = "TCP port (VIGIL_PORT; default 8080; 0 picks a free one)." };
        var host = new Option<string?>("--host") { Description = "Address to listen on (VIGIL_HOST; default 127.0.0.1)." };
        var store = new Option<string?>("--store") { Description = "Tracking store (VIGIL_STORE): sqlite path or postgres:// URI; default $VIGIL_HOME/vigil.db." };
        var models = new Option<string?>("--models", "-m") { Description = "Models to serve (VIGIL_MODELS): NAME (champion, else Production, else Staging), NAME@ALIAS, NAME/STAGE or NAME/VERSION, comma-separated." };
        var logLevel = new Option<string?>("--log-level") { Description = "Trace, Debug, Information, Warning, Error (VIGIL_LOG_LEVEL)." };
        var inferenceLog = new Option<string?>("--inference-log") { Description = "store, parquet or off (VIGIL_INFERENCE_LOG; default store)." };
        var settings = new Option<string?>("--settings") { Description = "appsettings.json to read (section \"Vigil\"); default ./appsettings.json when present." };
        var wait = new Option<bool>("--wait-for-models")
        {
            Description = "Start even when a model in --models is not registered yet and serve it once it is (VIGIL_WAIT_FOR_MODELS=1); without it such a name stops start-up (exit code 2).",
        };
        var cmd = new Command("serve", "Serve registered models over HTTP: /v1/predict, MLflow /invocations, Open Inference Protocol /v2, /metrics, /docs.")
        {
            port, host, store, models, logLevel, inferenceLog, settings, wait,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var overrides = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["--port"] = parse.GetValue(port),
                ["--host"] = parse.GetValue(host),
                ["--store"] = parse.GetValue(store),
                ["--models"] = parse.GetValue(models),
                ["--log-level"] = parse.GetValue(logLevel),
                ["--inference-log"] = parse.GetValue(inferenceLog),
            };
            var settingsPath = parse.GetValue(settings);
            if (settingsPath is not null && !File.Exists(settingsPath))
            {
                throw new CliUsageException($"--settings {settingsPath}: file not found");
            }

            settingsPath ??= File.Exists("appsettings.json") ? "appsettings.json" : null;
            IConfiguration? appSettings = null;
            if (settingsPath is not null)
            {
                try
                {
                    appSettings = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(settingsPath), optional: false).Build();
                }
                catch (InvalidDataException e)
                {
                    throw new CliUsageException($"{settingsPath}: {e.Message}");
                }
            }

            var options = ServingConfiguration.Load(appSettings, ServingConfiguration.ProcessEnvironment(), overrides);
            if (options.Models.Count == 0)
            {
                throw new CliUsageException("no models to serve: pass --models NAME[@ALIAS],... or set VIGIL_MODELS");
            }

            if (!parse.GetValue(wait) && Environment.GetEnvironmentVariable("VIGIL_WAIT_FOR_MODELS") is not ("1" or "true"))
            {
                await RequireRegisteredAsync(options, ct).ConfigureAwait(false);
            }

            await using var app = await VigilServer.BuildAsync(options, cancellationToken: ct).ConfigureAwait(false);
            await app.StartAsync(ct).ConfigureAwait(false);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Terminal.Note($"vigil serve: listening on {string.Join(", ", addresses)} serving {string.Join(", ", options.Models)} (docs at /docs)");
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// Refuses a model name that was never registered (a typo, or the wrong store): a server would start and log an
    /// error every poll. A registered model whose alias is not set yet is fine: the server waits for it.
    /// </summary>
    private static async Task RequireRegisteredAsync(ServingOptions options, CancellationToken cancellationToken)
    {
        ITrackingStore registry;
        try
        {
            registry = await StoreFactory.OpenExistingAsync(options.Store, Terminal.Home, cancellationToken).ConfigureAwait(false);
        }
        catch (Vigil.Data.VigilException e)
        {
            throw new CliUsageException($"--models {string.Join(",", options.Models.Select(m => m.Name))}: {e.Message}; register a model first, or pass --wait-for-models");
        }

        await using (registry.ConfigureAwait(false))
        {
            var names = (await registry.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false)).Select(m => m.Name).ToList();
            var missing = options.Models.Select(m => m.Name).Where(n => !names.Contains(n, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                var hint = missing.Count == 1 && Guidance.Nearest(missing[0], names) is { } near ? $"; did you mean '{near}'?" : string.Empty;
                throw new CliUsageException(
                    $"--models: {string.Join(", ", missing.Select(n => $"'{n}'"))} {(missing.Count == 1 ? "is" : "are")} not registered in {registry.Location}{hint} " +
                    "(register with 'vigil train --register NAME', or pass --wait-for-models to start and wait for it)");
            }
        }
    }
}
