using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vigil.Serving;

/// <summary>
/// Vigil's own scoring protocol: <c>POST /v1/predict</c> with
/// <c>{"model": "name", "instances": [{"feature": value, ...}, ...]}</c>. Each item is validated on its own: an
/// invalid item gets <c>"status": 400</c> and an error naming the field, valid items in the same request are scored.
/// </summary>
internal static class VigilProtocol
{
    public const string PredictRoute = "v1/predict";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/predict", PredictAsync)
            .WithName("Predict")
            .WithTags("Vigil")
            .WithSummary("Scores a batch of instances with a served model; per-item status.")
            .Accepts<PredictRequestDoc>("application/json")
            .Produces<PredictResponseDoc>()
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(503);
    }

    private static async Task PredictAsync(HttpContext context, ServingRuntime runtime)
    {
        var exchange = new ScoringExchange(context, runtime, PredictRoute);
        if (!IsJson(context.Request.ContentType))
        {
            await exchange.RespondProblemAsync(415, "Unsupported media type", $"POST /v1/predict takes application/json, not '{context.Request.ContentType ?? "(none)"}'.", "Content-Type").ConfigureAwait(false);
            return;
        }

        await exchange.ReadBodyAsync().ConfigureAwait(false);
        string? modelName;
        int items;
        try
        {
            (modelName, items) = Scan(exchange.Body);
        }
        catch (JsonException e)
        {
            await exchange.RespondProblemAsync(400, "Malformed request", "The body is not valid JSON: " + e.Message, "body").ConfigureAwait(false);
            return;
        }
        catch (RequestShapeException e)
        {
            await exchange.RespondProblemAsync(400, "Malformed request", e.Message, e.Field).ConfigureAwait(false);
            return;
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on invalid UTF-8 or a lone surrogate escape.
            await exchange.RespondProblemAsync(400, "Malformed request", "The body holds invalid text: " + e.Message, "body").ConfigureAwait(false);
            return;
        }

        if (modelName is null)
        {
            modelName = runtime.DefaultModelName;
            if (modelName is null)
            {
                await exchange.RespondProblemAsync(400, "Malformed request", "The body names no model: add \"model\": \"NAME\" (served: " + string.Join(", ", runtime.Models.Specs.Select(s => s.Name)) + ").", "model").ConfigureAwait(false);
                return;
            }
        }

        var model = await ProtocolSupport.FindModelAsync(exchange, runtime, modelName, "model").ConfigureAwait(false);
        if (model is null)
        {
            return;
        }

        exchange.Rows = items;
        exchange.Parsed();
        using var batch = new FeatureBatch(model, items);
        try
        {
            ReadInstances(exchange.Body, batch);
        }
        catch (InvalidOperationException e)
        {
            // A property name with a lone surrogate escape (values are checked item by item in JsonValues).
            await exchange.RespondProblemAsync(400, "Malformed request", "The body holds invalid text: " + e.Message, "body").ConfigureAwait(false);
            return;
        }

        exchange.Transformed();
        batch.Score();
        exchange.ScoredRows = batch.ScoredRows;
        var reasons = runtime.Options.Reasons;
        var response = Predictions.Build(batch, reasons);
        exchange.Scored();
        await exchange.RespondJsonAsync(200, (model, response), static (w, s) => Predictions.WriteV1(w, s.model, s.response)).ConfigureAwait(false);
    }

    internal static string UnknownModel(ServingRuntime runtime, string name)
    {
        var configured = runtime.Models.Specs.Any(s => s.Name == name);
        return configured
            ? $"Model '{name}' is configured but not loaded yet (see /readyz)."
            : $"No model named '{name}' is served; served models: {string.Join(", ", runtime.Models.Specs.Select(s => s.Name))}.";
    }

    internal static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>First pass: the model name and the number of instances, checking the shape of the body.</summary>
    private static (string? Model, int Items) Scan(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException("body", "The body must be a JSON object {\"model\": ..., \"instances\": [...]}.");
        }

        string? model = null;
        var items = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = reader.TokenType == JsonTokenType.String
                    ? reader.GetString()
                    : throw new RequestShapeException("model", "\"model\" must be a string naming a served model.");
            }
            else if (reader.ValueTextEquals("instances"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new RequestShapeException("instances", "\"instances\" must be an array of objects {\"feature\": value}.");
                }

                items = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items++;
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Reading to the end validates the rest of the document.
        while (reader.Read())
        {
        }

        return items switch
        {
            < 0 => throw new RequestShapeException("instances", "The body has no \"instances\" array."),
            0 => throw new RequestShapeException("instances", "\"instances\" is empty: send at least one instance."),
            _ => (model, items),
        };
    }

    /// <summary>Second pass: every instance into the batch (the shape was checked by <see cref="Scan"/>).</summary>
    private static void ReadInstances(ReadOnlySequence<byte> body, FeatureBatch batch)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("instances"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            reader.Read();
            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                batch.BeginItem();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    JsonValues.ReadObject(ref reader, batch);
                }
                else
                {
                    batch.Fail($"instances[{index}]", "must be an object {\"feature\": value, ...}");
                    reader.Skip();
                }

                batch.EndItem();
                index++;
            }

            return;
        }
    }

    /// <summary>Documentation shape of the request body (the handler parses the body itself).</summary>
    internal sealed record PredictRequestDoc(string Model, IReadOnlyList<Dictionary<string, JsonElement>> Instances);

    /// <summary>Documentation shape of one prediction.</summary>
    internal sealed record PredictionDoc(double? Score, int? Label, IReadOnlyList<ReasonDoc>? Reasons, int Status, string? Field, string? Error);

    /// <summary>Documentation shape of a reason.</summary>
    internal sealed record ReasonDoc(string Feature, double Contribution);

    /// <summary>Documentation shape of the response.</summary>
    internal sealed record PredictResponseDoc(string Model, int Version, double Threshold, IReadOnlyList<PredictionDoc> Predictions);
}

/// <summary>The body parses as JSON but does not have the protocol's shape.</summary>
internal sealed class RequestShapeException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
