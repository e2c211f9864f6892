using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Vigil.Serving;

/// <summary>A whole-request problem of a scoring request (400 unless said otherwise), in any protocol.</summary>
/// <param name="Title">The problem title.</param>
/// <param name="Detail">What is wrong.</param>
/// <param name="Field">The field at fault.</param>
/// <param name="Code">The MLflow error code (by default from the status).</param>
/// <param name="Status">The HTTP status.</param>
internal readonly record struct InputProblem(string Title, string Detail, string Field, string? Code = null, int Status = 400)
{
    /// <summary>A body that is not valid JSON (or CSV) or holds invalid text.</summary>
    public static InputProblem Malformed(string detail, string field = "body") => new("Malformed request", detail, field, Problems.MalformedRequest);
}

/// <summary>
/// The protocol side of one scoring request: which media types it takes, how it names the model, how it reads the
/// items (pass 1 <see cref="Scan"/> checks the shape; pass 2 <see cref="Read"/> hands every value to the
/// <see cref="FeatureBatch"/>) and how it writes the decisions. Everything else is <see cref="ScoringPipeline"/>'s.
/// One instance per request.
/// </summary>
internal abstract class ScoringAdapter
{
    /// <summary>The inference-log route label, e.g. <c>v1/predict</c>.</summary>
    public abstract string Route { get; }

    /// <summary>What the endpoint takes, for the 415 message.</summary>
    public abstract string MediaTypes { get; }

    /// <summary>The field that names the model (<c>model</c> in a body, <c>name</c> in a path).</summary>
    public virtual string ModelField => "name";

    /// <summary>True when the path names the model: it is routed before the body is read.</summary>
    public abstract bool ModelInPath { get; }

    /// <summary>True when one bad item rejects the whole request (MLflow, Open Inference), false for per-item status.</summary>
    public abstract bool RejectsWholeRequest { get; }

    /// <summary>True when the response carries per-feature reasons (they are only computed then).</summary>
    public virtual bool WritesReasons => false;

    /// <summary>The problem title of a body with the wrong shape.</summary>
    public virtual string ShapeTitle => "Malformed request";

    /// <summary>The number of items pass 1 found (0 when it cannot tell before reading them).</summary>
    public int Items { get; protected set; }

    /// <summary>True when <paramref name="contentType"/> is accepted.</summary>
    public abstract bool Accepts(string? contentType);

    /// <summary>The model the request names (path, or body after <see cref="Scan"/>), or null when it names none.</summary>
    public abstract ModelRequest? ModelOf(ServingRuntime runtime);

    /// <summary>The problem of a request that names no model and has no default.</summary>
    public abstract InputProblem NoModel(ServingRuntime runtime);

    /// <summary>
    /// Pass 1 over the body: checks its shape (for <paramref name="model"/> when the path named it, else reading the
    /// model's name). Throws <see cref="JsonException"/>, <see cref="RequestShapeException"/> or
    /// <see cref="InvalidOperationException"/> (invalid text).
    /// </summary>
    public abstract void Scan(ReadOnlySequence<byte> body, ServedModel? model);

    /// <summary>Pass 2: every item into <paramref name="batch"/>; the whole-request problem (malformed, or the first bad item where one rejects all), or null.</summary>
    public abstract InputProblem? Read(ScoringExchange exchange, FeatureBatch batch);

    /// <summary>The whole-request problem of item <paramref name="item"/> that failed after reading (a rule, or its score), for <see cref="RejectsWholeRequest"/> protocols.</summary>
    public virtual InputProblem FailedItem(int item, ItemError error, int status) =>
        new(status >= 500 ? "Item failed" : "Invalid input", $"The {error.Field} of item {item} {error.Detail}.", "body", status >= 500 ? null : Problems.InvalidParameterValue, status);

    /// <summary>The rows the inference log records for the request.</summary>
    public virtual int LoggedRows(FeatureBatch batch) => Items > 0 ? Items : batch.Items;

    /// <summary>Writes the 200 response from the batch's decisions.</summary>
    public abstract void Write(Utf8JsonWriter writer, FeatureBatch batch);
}

/// <summary>
/// The one scoring pipeline of every protocol: media type → model router → body → adapter (raw rows, validation,
/// features) → pre-model rules → detector → one <see cref="Decision"/> per item → protocol writer + inference-log row
/// (with one entry per item). Errors are answered in the protocol's own shape (see <see cref="Problems"/>).
/// </summary>
internal static class ScoringPipeline
{
    /// <summary>Documents the problems every scoring endpoint may answer (400, 404, 413, 415, 503).</summary>
    public static RouteHandlerBuilder ProducesScoringProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(503);

    /// <summary>Runs one scoring request through <paramref name="adapter"/>.</summary>
    public static async Task RunAsync(HttpContext context, ServingRuntime runtime, ScoringAdapter adapter)
    {
        var exchange = ScoringExchange.For(context, runtime, adapter.Route);
        var contentType = context.Request.ContentType;
        if (!adapter.Accepts(contentType))
        {
            await exchange.RespondProblemAsync(415, "Unsupported media type", $"{context.Request.Path} takes {adapter.MediaTypes}, not '{contentType ?? "(no Content-Type)"}'.", "Content-Type").ConfigureAwait(false);
            return;
        }

        ServedModel? model = null;
        if (adapter.ModelInPath && (model = await RouteAsync(exchange, runtime, adapter).ConfigureAwait(false)) is null)
        {
            return;
        }

        if (!await TryReadBodyAsync(exchange).ConfigureAwait(false))
        {
            return;
        }

        if (Scan(adapter, exchange.Body, model) is { } malformed)
        {
            await exchange.RespondProblemAsync(malformed.Status, malformed.Title, malformed.Detail, malformed.Field, malformed.Code).ConfigureAwait(false);
            return;
        }

        if (model is null && (model = await RouteAsync(exchange, runtime, adapter).ConfigureAwait(false)) is null)
        {
            return;
        }

        exchange.Parsed();
        var batch = new FeatureBatch(model, adapter.Items > 0 ? adapter.Items : 16, runtime.Log.Enabled || runtime.Options.OnlineDrift);
        exchange.Batch = batch;
        try
        {
            await ScoreAsync(exchange, runtime, adapter, batch).ConfigureAwait(false);
        }
        finally
        {
            // An exception leaves the batch half built: a row logged after this one (the 500) has no items.
            exchange.Batch = null;
            batch.Dispose();
        }
    }

    /// <summary>Reads, decides and answers the items of <paramref name="batch"/>.</summary>
    private static async Task ScoreAsync(ScoringExchange exchange, ServingRuntime runtime, ScoringAdapter adapter, FeatureBatch batch)
    {
        InputProblem? problem;
        try
        {
            problem = adapter.Read(exchange, batch);
        }
        catch (InvalidOperationException e)
        {
            // A property name with a lone surrogate escape (values are checked item by item in JsonValues).
            problem = InputProblem.Malformed("The body holds invalid text: " + e.Message);
        }

        exchange.Rows = adapter.LoggedRows(batch);
        exchange.Transformed();
        if (problem is null)
        {
            batch.ApplyRules();
            var reasons = adapter.WritesReasons ? runtime.Options.Reasons : 0;
            batch.Score(reasons);
            exchange.ScoredRows = batch.ScoredRows;
            var decisions = batch.Decide(reasons);
            exchange.Scored();
            if (adapter.RejectsWholeRequest && batch.FirstFailedItem(out var error) is var i and >= 0)
            {
                problem = adapter.FailedItem(i, error, decisions[i].Status);
            }
            else if (runtime.Options.OnlineDrift)
            {
                batch.Model.DriftWindow(runtime.Options.OnlineDriftWindow)?.Add(batch);
            }
        }

        if (problem is { } p)
        {
            exchange.ScoredRows = 0;
            await exchange.RespondProblemAsync(p.Status, p.Title, p.Detail, p.Field, p.Code).ConfigureAwait(false);
            return;
        }

        await exchange.RespondJsonAsync(200, (adapter, batch), static (w, s) => s.adapter.Write(w, s.batch)).ConfigureAwait(false);
    }

    /// <summary>Kestrel's message when the request body ends before its declared length or last chunk (the client stopped sending).</summary>
    private const string UnexpectedEndOfBody = "Unexpected end of request content.";

    /// <summary>
    /// Reads the whole body. When it is too large (declared or streamed) or the transport fails to deliver it, answers
    /// with a problem through the exchange (so the request still gets its inference log row) and returns false.
    /// </summary>
    private static async ValueTask<bool> TryReadBodyAsync(ScoringExchange exchange)
    {
        try
        {
            await exchange.ReadBodyAsync().ConfigureAwait(false);
            return true;
        }
        catch (BodyTooLargeException e)
        {
            // The rest of the body is not read: the connection cannot be reused for another request.
            exchange.CloseConnection();
            await exchange.RespondProblemAsync(413, "Payload too large", e.Message + " Split the batch or raise VIGIL_MAX_BODY_BYTES.", "body").ConfigureAwait(false);
            return false;
        }
        catch (BadHttpRequestException e) when (e.Message == UnexpectedEndOfBody)
        {
            // The client closed its side before sending the whole body: nobody reads an answer. Log it and close.
            await exchange.LogClientGoneAsync("The client closed the connection while sending the request body.").ConfigureAwait(false);
            exchange.Abort();
            return false;
        }
        catch (BadHttpRequestException e)
        {
            exchange.CloseConnection();
            await exchange.RespondProblemAsync(e.StatusCode, e.StatusCode == 413 ? "Payload too large" : "Bad request", e.Message, "body").ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>Pass 1, with its exceptions turned into the request's problem.</summary>
    private static InputProblem? Scan(ScoringAdapter adapter, ReadOnlySequence<byte> body, ServedModel? model)
    {
        try
        {
            adapter.Scan(body, model);
            return null;
        }
        catch (JsonException e)
        {
            return InputProblem.Malformed("The body is not valid JSON: " + e.Message);
        }
        catch (RequestShapeException e)
        {
            return new InputProblem(adapter.ShapeTitle, e.Message, e.Field);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on invalid UTF-8 or a lone surrogate escape.
            return InputProblem.Malformed("The body holds invalid text: " + e.Message);
        }
    }

    /// <summary>The model the request names, or null after answering why there is none.</summary>
    private static async ValueTask<ServedModel?> RouteAsync(ScoringExchange exchange, ServingRuntime runtime, ScoringAdapter adapter)
    {
        if (adapter.ModelOf(runtime) is not { } request)
        {
            var none = adapter.NoModel(runtime);
            await exchange.RespondProblemAsync(none.Status, none.Title, none.Detail, none.Field, none.Code).ConfigureAwait(false);
            return null;
        }

        var route = runtime.Router.Route(request);
        if (route.Model is { } model)
        {
            exchange.Model = model;
            return model;
        }

        exchange.ModelName = request.Name;
        var field = route.Outcome switch
        {
            RouteOutcome.VersionNotLoaded => "version",
            RouteOutcome.TenantRefused => "tenant",
            _ => adapter.ModelField,
        };
        await exchange.RespondProblemAsync(route.Status, route.Title, route.Detail!, field).ConfigureAwait(false);
        return null;
    }
}

/// <summary>The body parses as JSON but does not have the protocol's shape.</summary>
internal sealed class RequestShapeException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
