using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scalar.AspNetCore;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// Builds the Vigil scoring server. <c>vigil serve</c> calls <see cref="BuildAsync"/> then runs the app; tests
/// call it too (with port 0) or use <c>WebApplicationFactory</c> over <see cref="Configure"/>.
/// </summary>
public static partial class VigilServer
{
    /// <summary>Creates the web application: services, middleware and every endpoint. The tracking store is opened here.</summary>
    /// <exception cref="TrackingException">The store cannot be opened.</exception>
    public static async Task<WebApplication> BuildAsync(ServingOptions options, string[]? args = null, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        });
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':', StringComparison.Ordinal) ? "[" + options.Host + "]" : options.Host)}:{options.Port}");
        configure?.Invoke(builder);
        var store = await StoreFactory.OpenAsync(options.Store, options.Home, cancellationToken).ConfigureAwait(false);
        var sink = await OpenSinkAsync(options, cancellationToken).ConfigureAwait(false);
        Configure(builder, options, store, sink);
        var app = builder.Build();
        Map(app);
        return app;
    }

    /// <summary>Registers the server's services on <paramref name="builder"/> (store and sink already open; the app owns them).</summary>
    public static void Configure(WebApplicationBuilder builder, ServingOptions options, ITrackingStore store, IInferenceLogSink? sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Vigil.Fx.FxDescriptor.Register();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.LogLevel < LogLevel.Warning ? LogLevel.Warning : options.LogLevel);

        // The hosting scope would carry Kestrel's own request id; every line carries the X-Request-ID scope instead.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownSeconds));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ServingMetrics>();
        builder.Services.AddSingleton(sp => new ModelCache(options.Models, store, sp.GetRequiredService<ServingMetrics>(), sp.GetRequiredService<ILogger<ModelCache>>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<IItemRuleProvider>()));
        builder.Services.AddSingleton<ModelRouter>();
        builder.Services.AddSingleton(sp => new InferenceLogWriter(sink, options, sp.GetRequiredService<ServingMetrics>(), sp.GetRequiredService<ILogger<InferenceLogWriter>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InferenceLogWriter>());
        builder.Services.AddHostedService<ModelRefreshService>();
        builder.Services.AddHostedService<OnlineDriftService>();
        builder.Services.AddSingleton(_ => RegistryNotificationService.CreateWatch(store, options));
        builder.Services.AddHostedService<RegistryNotificationService>();
        builder.Services.AddSingleton<ServingRuntime>();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton(builder.Services, _ => FxExplainer.FromEnvironment());
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((doc, _, _) =>
            {
                doc.Info.Title = "Vigil scoring server";
                doc.Info.Description = "Fraud and anomaly scoring: Vigil /v1, MLflow /invocations and Open Inference Protocol V2 (/v2).";
                return Task.CompletedTask;
            });
            OpenApiContract.Configure(o);
            o.AddDocumentTransformer((doc, context, _) =>
            {
                ModelRequestSchemas.Add(doc, context.ApplicationServices.GetRequiredService<ModelCache>().Snapshot.Values);
                return Task.CompletedTask;
            });
        });
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            j.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping; // as the scoring writers
        });
        if (options.CorsOrigins.Count > 0)
        {
            builder.Services.AddCors(c => c.AddDefaultPolicy(p =>
            {
                if (options.CorsOrigins.Contains("*"))
                {
                    p.AllowAnyOrigin();
                }
                else
                {
                    p.WithOrigins([.. options.CorsOrigins]);
                }

                p.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders(RequestIdHeader, "Retry-After");
            }));
        }

        if (options.RateLimitPerSecond > 0)
        {
            var scoringKeys = new ApiKeySet(options.ScoringKeys);
            builder.Services.AddRateLimiter(r =>
            {
                r.RejectionStatusCode = 429;
                r.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                {
                    var path = context.Request.Path;
                    if (path.StartsWithSegments("/livez") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics"))
                    {
                        return RateLimitPartition.GetNoLimiter("health");
                    }

                    // A scoring request with a verified scoring key has its key's bucket; anything else (no keys
                    // configured, another path, a missing or unknown key) shares its client address's bucket, so a
                    // made-up key never opens a fresh one.
                    var key = scoringKeys.Count > 0 && ScoringExchange.Of(context) is not null
                        ? scoringKeys.IndexOf(context.Request.Headers[ServiceEndpoints.ApiKeyHeader].ToString())
                        : -1;
                    var partition = key >= 0 ? scoringKeys.Partition(key) : "ip:" + context.Connection.RemoteIpAddress;
                    return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = Math.Max(1, options.RateLimitBurst),
                        TokensPerPeriod = options.RateLimitPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
                });
                r.OnRejected = async (rejected, _) =>
                {
                    var context = rejected.HttpContext;
                    var retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                    context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var detail = $"The rate limit of {options.RateLimitPerSecond} requests per second (burst {options.RateLimitBurst}) is exceeded; retry after {retry} s.";
                    if (ScoringExchange.Of(context) is { } exchange)
                    {
                        await exchange.RespondProblemAsync(429, "Too many requests", detail, ServiceEndpoints.ApiKeyHeader).ConfigureAwait(false);
                    }
                    else
                    {
                        await Problems.WriteAsync(context, 429, "Too many requests", detail, ServiceEndpoints.ApiKeyHeader).ConfigureAwait(false);
                    }
                };
            });
        }
    }

    /// <summary>Adds the middleware and maps every endpoint.</summary>
    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var runtime = app.Services.GetRequiredService<ServingRuntime>();

        // The FX explanation settings are read here, so that a bad one stops start-up with its name.
        app.Services.GetRequiredService<FxExplainer>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Vigil.Serving.Requests");
        app.Use((context, next) => RequestPipeline(context, next, runtime, logger));
        if (runtime.Options.CorsOrigins.Count > 0)
        {
            app.UseCors();
        }

        if (runtime.Options.RateLimitPerSecond > 0)
        {
            app.UseRateLimiter();
        }

        if (runtime.ScoringKeys.Count > 0)
        {
            app.Use((context, next) => CheckScoringKeyAsync(context, next, runtime));
        }

        ServiceEndpoints.Map(app);
        app.MapVigilApi();
        app.MapMlflowApi();
        app.MapOpenInferenceApi();
        app.MapFxApi();
        app.MapOpenApi("/openapi/{documentName}.json");
        // The docs page of this server only: no hosted agent ("Ask AI"), MCP or client/deploy buttons, no telemetry.
        app.MapScalarApiReference("/docs", o => o.WithTitle("Vigil scoring server").WithOpenApiRoutePattern("/openapi/{documentName}.json").DisableDefaultFonts()
            .DisableAgent().DisableMcp().HideClientButton().DisableTelemetry());
    }

    /// <summary>The request id header, accepted from the client when well-formed, otherwise generated; always echoed.</summary>
    public const string RequestIdHeader = "X-Request-ID";

    private static async Task RequestPipeline(HttpContext context, RequestDelegate next, ServingRuntime runtime, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var given = context.Request.Headers[RequestIdHeader].ToString();
        var id = given.Length is > 0 and <= 128 && ValidRequestId().IsMatch(given) ? given : TimeOrderedId.New();
        context.TraceIdentifier = id;
        context.Response.Headers[RequestIdHeader] = id;
        using var scope = logger.BeginScope(new RequestScope(id));

        // Every request to a scoring path gets its inference log row through this exchange, whatever answers it.
        var exchange = ScoringRoute(context.Request.Path) is { } scoringRoute ? ScoringExchange.For(context, runtime, scoringRoute) : null;
        if (exchange is not null)
        {
            LingeringClose.AllowDrain(context, runtime.Options.MaxBodyBytes);
        }

        try
        {
            await next(context).ConfigureAwait(false);
            if (!context.Response.HasStarted && context.Response.StatusCode >= 400 && context.Response.ContentLength is null or 0 && !(exchange?.Logged ?? false))
            {
                // Routing answered without a body: no endpoint for the path, not for this method, or not this content type.
                var allow = context.Response.Headers.Allow.ToString();
                var (title, detail, field) = context.Response.StatusCode switch
                {
                    405 => ("Method not allowed", $"{context.Request.Method} is not allowed on {context.Request.Path}; use {allow}.", "method"),
                    415 => ("Unsupported media type", $"{context.Request.Path} does not take '{context.Request.ContentType ?? "(no Content-Type)"}'; see /docs for the accepted types.", "Content-Type"),
                    404 => ("Not found", $"No endpoint at {context.Request.Path}; see /docs for the API.", "path"),
                    var other => (ReasonPhrases.GetReasonPhrase(other), $"The request to {context.Request.Path} failed with status {other}.", (string?)null),
                };
                await FailAsync(context, context.Response.StatusCode, title, detail, field, allow.Length > 0 ? allow : null).ConfigureAwait(false);
            }
        }
        catch (BodyTooLargeException e)
        {
            await FailAsync(context, 413, "Payload too large", e.Message + " Split the batch or raise VIGIL_MAX_BODY_BYTES.", "body").ConfigureAwait(false);
        }
        catch (Exception e) when (ClientWentAway(context, e))
        {
            // The client went away; nothing to answer (the exchange logs the request below).
        }
        catch (BadHttpRequestException e)
        {
            await FailAsync(context, e.StatusCode, e.StatusCode == 413 ? "Payload too large" : "Bad request", e.Message, "body").ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogUnhandled(logger, e, context.Request.Method, context.Request.Path);
            await FailAsync(context, 500, "Internal error", $"The server failed to handle the request; quote request id {id} when reporting it.", null,
                logError: $"Unhandled {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            var gone = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted;
            if (exchange is not null)
            {
                await exchange.LogUnansweredAsync("The client closed the connection before the request was answered.").ConfigureAwait(false);
                if (context.Response.StatusCode == 413 && !context.RequestAborted.IsCancellationRequested)
                {
                    await LingeringClose.DrainAsync(context, runtime.Options.MaxBodyBytes).ConfigureAwait(false);
                }
            }

            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            var status = gone ? ScoringExchange.ClientClosedRequest : context.Response.StatusCode;
            runtime.Metrics.Request(route, status, Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (status >= 400)
            {
                LogFailed(logger, context.Request.Method, context.Request.Path, status);
            }
            else
            {
                LogRequest(logger, context.Request.Method, context.Request.Path, status);
            }
        }
    }

    /// <summary>True when <paramref name="e"/> only says that the client closed the connection (reset, aborted, body cut short).</summary>
    private static bool ClientWentAway(HttpContext context, Exception e) =>
        e is Microsoft.AspNetCore.Connections.ConnectionResetException
        || (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or BadHttpRequestException);

    /// <summary>With <c>VIGIL_SCORING_KEYS</c> set: a scoring request without a key is answered 401, with a wrong one 403 (after the rate limiter, so guessing is limited too).</summary>
    private static async Task CheckScoringKeyAsync(HttpContext context, RequestDelegate next, ServingRuntime runtime)
    {
        if (ScoringExchange.Of(context) is { } exchange && runtime.ScoringKeys.Check(context, "VIGIL_SCORING_KEYS") is { } problem)
        {
            await exchange.RespondProblemAsync(problem.Status, problem.Title, problem.Detail, ServiceEndpoints.ApiKeyHeader).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>The inference log route label of a scoring path, or null.</summary>
    internal static string? ScoringRoute(PathString path)
    {
        var p = path.Value ?? "";
        if (p == "/v1/predict" || (p.StartsWith("/v1/models/", StringComparison.Ordinal) && p.EndsWith("/predict", StringComparison.Ordinal)))
        {
            return VigilApi.PredictRoute;
        }

        if (p == "/fx/v1/score")
        {
            return FxApi.ScoreRoute;
        }

        if (p == "/invocations" || (p.StartsWith("/models/", StringComparison.Ordinal) && p.EndsWith("/invocations", StringComparison.Ordinal)))
        {
            return MlflowApi.InvocationsRoute;
        }

        return p.StartsWith("/v2/models/", StringComparison.Ordinal) && p.EndsWith("/infer", StringComparison.Ordinal) ? OpenInferenceApi.InferRoute : null;
    }

    /// <summary>
    /// Answers a problem outside an endpoint (routing, the body limit, an unhandled error): through the request's
    /// scoring exchange when it has one (so the request gets its inference log row, with <paramref name="logError"/>
    /// as the row's error when given), else as a plain problem.
    /// </summary>
    private static async Task FailAsync(HttpContext context, int status, string title, string detail, string? field, string? allow = null, string? logError = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.Headers[RequestIdHeader] = context.TraceIdentifier;
        if (status == 413)
        {
            // The rest of the body is drained (bounded) and the connection closed: it cannot be reused.
            context.Response.Headers.Connection = "close";
        }
        if (allow is not null)
        {
            context.Response.Headers.Allow = allow;
        }

        if (ScoringExchange.Of(context) is { } exchange)
        {
            await exchange.RespondProblemAsync(status, title, detail, field, logError: logError).ConfigureAwait(false);
        }
        else
        {
            await Problems.WriteAsync(context, status, title, detail, field).ConfigureAwait(false);
        }
    }

    private static async Task<IInferenceLogSink?> OpenSinkAsync(ServingOptions options, CancellationToken cancellationToken) => options.InferenceLog switch
    {
        InferenceLogDestination.Off => null,
        InferenceLogDestination.Parquet => new ParquetInferenceLogSink(options.InferenceLogFolder ?? Path.Combine(StoreFactory.ResolveHome(options.Home), "inference-log")),
        _ => await InferenceLogStore.OpenAsync(options.Store, options.Home, cancellationToken).ConfigureAwait(false),
    };

    [GeneratedRegex("^[A-Za-z0-9._:-]+$")]
    private static partial Regex ValidRequestId();

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status}")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Method} {Path} -> {Status}")]
    private static partial void LogFailed(ILogger logger, string method, string path, int status);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

    /// <summary>The logging scope of a request: every log line carries the request id.</summary>
    private sealed class RequestScope(string requestId) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public int Count => 1;

        public KeyValuePair<string, object> this[int index] => index == 0 ? new("RequestId", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "RequestId:" + requestId;
    }
}
