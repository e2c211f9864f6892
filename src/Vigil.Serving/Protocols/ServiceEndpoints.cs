using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>Health, model listing, version, metrics and admin endpoints.</summary>
internal static class ServiceEndpoints
{
    public const string ApiKeyHeader = "X-API-Key";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/livez", () => Results.Json(new { status = "live" }))
            .WithTags("Health").WithSummary("Liveness: the process answers.");
        app.MapGet("/readyz", Ready)
            .WithTags("Health").WithSummary("Readiness: 200 once every configured model is loaded, else 503 naming what is missing.");
        app.MapGet("/v1/models", ListModels)
            .WithTags("Vigil").WithSummary("The served models with their loaded versions.");
        app.MapGet("/v1/models/{name}", GetModel)
            .WithTags("Vigil").WithSummary("One served model: version, features, threshold.")
            .ProducesProblem(404);
        app.MapGet("/v1/version", Version)
            .WithTags("Vigil").WithSummary("Service version, git commit and each model's name, version, alias and load time.");
        app.MapGet("/metrics", MetricsAsync)
            .WithTags("Health").WithSummary("Prometheus metrics (text format 0.0.4).").ExcludeFromDescription();
        app.MapPost("/admin/refresh-models", RefreshAsync)
            .WithTags("Admin").WithSummary("Re-resolves every alias and swaps changed versions; needs X-API-Key.")
            .ProducesProblem(401).ProducesProblem(403);
    }

    private static async Task Ready(HttpContext context, ServingRuntime runtime)
    {
        if (runtime.Models.IsReady)
        {
            await context.Response.WriteAsJsonAsync(new { status = "ready", models = runtime.Models.Snapshot.Count, inference_log = InferenceLogDetail(runtime.Log.Status) }).ConfigureAwait(false);
            return;
        }

        await Problems.WriteAsync(context, 503, "Not ready", ProtocolSupport.NotReadyDetail(runtime), "models").ConfigureAwait(false);
    }

    /// <summary>The inference log part of <c>/readyz</c>: a destination that fails transiently does not make the server unready (rows wait), but it shows here.</summary>
    private static object InferenceLogDetail(InferenceLogStatus s) => new
    {
        durability = s.Durability,
        destination = s.Destination,
        state = s.State,
        queued_rows = s.QueuedRows,
        wal_bytes = s.WalBytes,
        wal_segments = s.WalSegments,
        dead_lettered_rows = s.DeadLetteredRows,
        altered_rows = s.AlteredRows,
        last_error = s.LastError,
        failing_since = s.FailingSince,
    };

    private static IResult ListModels(ServingRuntime runtime) =>
        Results.Json(new { models = runtime.Models.Specs.Select(s => Describe(runtime, s)).ToList(), refresh = runtime.Watch.Describe(runtime.Options.RefreshSeconds) });

    private static async Task GetModel(string name, HttpContext context, ServingRuntime runtime)
    {
        var spec = runtime.Models.Specs.FirstOrDefault(s => s.Name == name);
        if (spec is null)
        {
            var route = runtime.Router.Route(new ModelRequest(name));
            await Problems.WriteAsync(context, 404, "Unknown model", route.Detail!, "name").ConfigureAwait(false);
            return;
        }

        await context.Response.WriteAsJsonAsync(Describe(runtime, spec)).ConfigureAwait(false);
    }

    private static object Describe(ServingRuntime runtime, ModelSpec spec)
    {
        var m = runtime.Models.Find(spec.Name);
        runtime.Models.Failures.TryGetValue(spec.Name, out var error);
        runtime.Models.LastSwaps.TryGetValue(spec.Name, out var swap);
        return new
        {
            name = spec.Name,
            follows = spec.Follows,
            loaded = m is not null,
            version = m?.Version,
            kind = m?.Bundle.Manifest.DetectorKind,
            loadedAt = m?.LoadedUtc,
            threshold = m?.Bundle.Threshold,
            features = m?.Bundle.Transform.InputSchema.Select(c => new { name = c.Name, kind = c.Kind.ToString() }),
            bundleSha256 = m?.BundleSha256,
            lastSwap = swap is null ? null : new { from = swap.FromVersion, to = swap.ToVersion, at = swap.At, trigger = swap.Trigger },
            error,
        };
    }

    private static IResult Version(ServingRuntime runtime)
    {
        var assembly = typeof(ServiceEndpoints).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        var commit = plus < 0 ? CodeVersion.TryGetGitCommit(AppContext.BaseDirectory) : informational[(plus + 1)..];
        return Results.Json(new
        {
            service = "vigil",
            version,
            commit,
            dotnet = Environment.Version.ToString(),
            inferenceLog = runtime.Log.Destination,
            models = runtime.Models.Specs.Select(s =>
            {
                var m = runtime.Models.Find(s.Name);
                return new { name = s.Name, version = m?.Version, alias = s.Follows, loadedAt = m?.LoadedUtc };
            }).ToList(),
        });
    }

    private static async Task MetricsAsync(HttpContext context, ServingRuntime runtime)
    {
        runtime.Metrics.QueueDepth(runtime.Log.QueueDepth);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await runtime.Metrics.WriteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RefreshAsync(HttpContext context, ServingRuntime runtime)
    {
        if (!await AuthorizeAsync(context, runtime).ConfigureAwait(false))
        {
            return;
        }

        var changes = await runtime.Models.RefreshAsync(context.RequestAborted).ConfigureAwait(false);
        await context.Response.WriteAsJsonAsync(new
        {
            changed = changes.Count(c => c.Outcome is "loaded" or "swapped"),
            failed = changes.Count(c => c.Outcome == "failed"),
            models = changes.Select(c => new { model = c.Model, outcome = c.Outcome, from = c.FromVersion, to = c.ToVersion, error = c.Error }),
        }).ConfigureAwait(false);
    }

    /// <summary>401 without a key, 403 with a wrong one; keys (<c>VIGIL_API_KEYS</c>) are compared in constant time.</summary>
    internal static async Task<bool> AuthorizeAsync(HttpContext context, ServingRuntime runtime)
    {
        if (runtime.AdminKeys.Check(context, "VIGIL_API_KEYS") is not { } problem)
        {
            return true;
        }

        await Problems.WriteAsync(context, problem.Status, problem.Title, problem.Detail, ApiKeyHeader).ConfigureAwait(false);
        return false;
    }
}
