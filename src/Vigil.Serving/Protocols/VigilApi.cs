using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vigil.Serving;

/// <summary>
/// Vigil's own scoring protocol: <c>POST /v1/predict</c> with
/// <c>{"model": "name", "tenant": "optional", "instances": [{"feature": value, ...}, ...]}</c>. Each item is validated
/// on its own: an invalid item gets <c>"status": 400</c> and an error naming the field, valid items in the same request
/// are scored. The model may be <c>name</c>, <c>name@alias</c> or <c>name/VERSION</c>; with a tenant and no model, the
/// model serving that tenant answers.
/// </summary>
internal static class VigilApi
{
    public const string PredictRoute = "v1/predict";

    public static RouteGroupBuilder MapVigilApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Vigil");
        group.MapPost("/predict", (HttpContext context, ServingRuntime runtime) => ScoringPipeline.RunAsync(context, runtime, new PredictAdapter()))
            .WithName("Predict")
            .WithSummary("Scores a batch of instances with a served model; per-item status.")
            .Accepts<PredictRequestDoc>("application/json")
            .Produces<PredictResponseDoc>()
            .ProducesScoringProblems();
        group.MapPost("/models/{name}/predict", (string name, HttpContext context, ServingRuntime runtime) => ScoringPipeline.RunAsync(context, runtime, new PredictAdapter(name)))
            .WithName("PredictModel")
            .WithSummary("Scores a batch of instances with the model the path names (name, name@alias or name/VERSION); per-item status. Each served model also has its own typed path below.")
            .Accepts<ModelPredictRequestDoc>("application/json")
            .Produces<PredictResponseDoc>()
            .ProducesScoringProblems();
        return group;
    }

    internal static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// The <c>/v1/predict</c> request (the body names the model) or the <c>/v1/models/{name}/predict</c> one
    /// (the path names it, and a body <c>"model"</c> must agree).
    /// </summary>
    private sealed class PredictAdapter(string? pathModel = null) : ScoringAdapter
    {
        private string? _model;
        private string? _tenant;

        public override string Route => PredictRoute;

        public override string MediaTypes => "application/json";

        public override string ModelField => pathModel is null ? "model" : "name";

        public override bool ModelInPath => false;

        public override bool RejectsWholeRequest => false;

        public override bool WritesReasons => true;

        public override bool Accepts(string? contentType) => IsJson(contentType);

        public override ModelRequest? ModelOf(ServingRuntime runtime)
        {
            if (pathModel is not null)
            {
                return ModelRequest.Parse(pathModel, _tenant);
            }

            if (_model is not null)
            {
                return ModelRequest.Parse(_model, _tenant);
            }

            if (_tenant is not null)
            {
                return new ModelRequest(null, Tenant: _tenant);
            }

            return runtime.DefaultModelName is { } name ? new ModelRequest(name) : null;
        }

        public override InputProblem NoModel(ServingRuntime runtime) =>
            new("Malformed request", "The body names no model: add \"model\": \"NAME\" (served: " + string.Join(", ", runtime.Models.Specs.Select(s => s.Name)) + ").", "model");

        /// <summary>First pass: the model name, the tenant and the number of instances, checking the shape of the body.</summary>
        public override void Scan(ReadOnlySequence<byte> body, ServedModel? model)
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new RequestShapeException("body", "The body must be a JSON object {\"model\": ..., \"instances\": [...]}.");
            }

            var items = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    _model = reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : throw new RequestShapeException("model", "\"model\" must be a string naming a served model.");
                    if (pathModel is not null && !string.Equals(_model, pathModel, StringComparison.Ordinal))
                    {
                        throw new RequestShapeException("model", $"The path names model '{pathModel}' but the body's \"model\" is '{_model}': leave \"model\" out of the body.");
                    }
                }
                else if (reader.ValueTextEquals("tenant"u8))
                {
                    reader.Read();
                    _tenant = reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : throw new RequestShapeException("tenant", "\"tenant\" must be a string naming the client the instances are for.");
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

            Items = items switch
            {
                < 0 => throw new RequestShapeException("instances", "The body has no \"instances\" array."),
                0 => throw new RequestShapeException("instances", "\"instances\" is empty: send at least one instance."),
                _ => items,
            };
        }

        /// <summary>Second pass: every instance into the batch (the shape was checked by <see cref="Scan"/>).</summary>
        public override InputProblem? Read(ScoringExchange exchange, FeatureBatch batch)
        {
            var reader = new Utf8JsonReader(exchange.Body, new JsonReaderOptions { MaxDepth = 64 });
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

                break;
            }

            return null;
        }

        /// <summary>The <c>/v1/predict</c> response: per item its decision (score, label, reasons; or the rule and its reason; or the error).</summary>
        public override void Write(Utf8JsonWriter w, FeatureBatch batch)
        {
            var model = batch.Model;
            w.WriteStartObject();
            w.WriteString("model"u8, model.Name);
            w.WriteNumber("version"u8, model.Version);
            w.WriteNumber("threshold"u8, model.Bundle.Threshold);
            w.WriteStartArray("predictions"u8);
            foreach (ref readonly var d in batch.Decisions)
            {
                w.WriteStartObject();
                if (d.Error is { } error)
                {
                    w.WriteNumber("status"u8, d.Status);
                    w.WriteString("field"u8, error.Field);
                    w.WriteString("error"u8, error.Field + " " + error.Detail);
                }
                else
                {
                    if (d.Rule is null)
                    {
                        w.WriteNumber("score"u8, d.Score);
                    }
                    else
                    {
                        w.WriteNull("score"u8);
                    }

                    w.WriteNumber("label"u8, d.Label);
                    w.WriteStartArray("reasons"u8);
                    if (d.Reasons is { } reasons)
                    {
                        foreach (var r in reasons)
                        {
                            w.WriteStartObject();
                            w.WriteString("feature"u8, r.Feature);
                            w.WriteNumber("contribution"u8, r.Contribution);
                            w.WriteEndObject();
                        }
                    }

                    w.WriteEndArray();
                    if (d.Rule is not null)
                    {
                        w.WriteString("rule"u8, d.Rule);
                        w.WriteString("reason"u8, d.RuleReason);
                    }

                    w.WriteNumber("status"u8, 200);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    /// <summary>Documentation shape of the request body (the handler parses the body itself).</summary>
    internal sealed record PredictRequestDoc(string Model, string? Tenant, IReadOnlyList<Dictionary<string, JsonElement>> Instances);

    /// <summary>Documentation shape of the <c>/v1/models/{name}/predict</c> request body (the path names the model).</summary>
    internal sealed record ModelPredictRequestDoc(string? Tenant, IReadOnlyList<Dictionary<string, JsonElement>> Instances);

    /// <summary>Documentation shape of one prediction (<c>rule</c> and <c>reason</c> when a pre-model rule decided the item; its score is then null).</summary>
    internal sealed record PredictionDoc(double? Score, int? Label, IReadOnlyList<ReasonDoc>? Reasons, string? Rule, string? Reason, int Status, string? Field, string? Error);

    /// <summary>Documentation shape of a reason.</summary>
    internal sealed record ReasonDoc(string Feature, double Contribution);

    /// <summary>Documentation shape of the response.</summary>
    internal sealed record PredictResponseDoc(string Model, int Version, double Threshold, IReadOnlyList<PredictionDoc> Predictions);
}
