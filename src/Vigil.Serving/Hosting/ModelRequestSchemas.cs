using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>
/// The per-model part of the OpenAPI document, generated on every request for <c>/openapi/v1.json</c> from the models
/// loaded at that moment (so a hot swap that changes the features changes the document): per served model a component
/// <c>Instance_NAME</c> (one property per input feature, typed <c>number</c> or <c>string</c> for a categorical one,
/// all required, nullable when the model's missing policy accepts a missing value, examples from the bundle's
/// reference profile: the median, or the most frequent category), a component <c>PredictRequest_NAME</c>
/// (<c>{"tenant"?, "instances": [Instance_NAME]}</c>) and the path <c>POST /v1/models/NAME/predict</c> taking it.
/// The generic endpoints (<c>/v1/predict</c>, MLflow, Open Inference) keep their generic schemas.
/// </summary>
internal static class ModelRequestSchemas
{
    /// <summary>The response component the per-model paths answer with (written by the generator for <c>/v1/predict</c>).</summary>
    private const string ResponseSchema = "PredictResponseDoc";

    /// <summary>At most this many known categories are listed in a categorical feature's description.</summary>
    private const int ListedCategories = 20;

    public static void Add(OpenApiDocument doc, IEnumerable<ServedModel> models)
    {
        doc.Components ??= new OpenApiComponents();
        doc.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        doc.Paths ??= new OpenApiPaths();
        foreach (var model in models.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var id = ComponentId(model.Name);
            var instance = "Instance_" + id;
            var request = "PredictRequest_" + id;
            doc.Components.Schemas[instance] = InstanceSchema(model);
            doc.Components.Schemas[request] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = $"A /v1/models/{model.Name}/predict request: the instances to score with {model.Name} (version {model.VersionText} when this document was generated).",
                Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                {
                    ["tenant"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "The client the instances are for (optional)." },
                    ["instances"] = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Array,
                        MinItems = 1,
                        Items = new OpenApiSchemaReference(instance, doc),
                    },
                },
                Required = new HashSet<string>(StringComparer.Ordinal) { "instances" },
            };

            var operation = new OpenApiOperation
            {
                OperationId = "Predict_" + id,
                Summary = $"Scores instances with {model.Name} (features typed from its bundle); per-item status.",
                Tags = new HashSet<OpenApiTagReference> { new("Vigil", doc) },
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                    {
                        ["application/json"] = new() { Schema = new OpenApiSchemaReference(request, doc) },
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse
                    {
                        Description = "OK",
                        Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                        {
                            ["application/json"] = new()
                            {
                                Schema = doc.Components.Schemas.ContainsKey(ResponseSchema)
                                    ? new OpenApiSchemaReference(ResponseSchema, doc)
                                    : new OpenApiSchema { Type = JsonSchemaType.Object },
                            },
                        },
                    },
                },
            };
            foreach (var status in (ReadOnlySpan<string>)["400", "404", "413", "415", "503"])
            {
                operation.Responses[status] = new OpenApiResponse
                {
                    Description = status switch
                    {
                        "400" => "Bad Request",
                        "404" => "Not Found",
                        "413" => "Payload Too Large",
                        "415" => "Unsupported Media Type",
                        _ => "Service Unavailable",
                    },
                    Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                    {
                        ["application/problem+json"] = new()
                        {
                            Schema = doc.Components.Schemas.ContainsKey("ProblemDetails")
                                ? new OpenApiSchemaReference("ProblemDetails", doc)
                                : new OpenApiSchema { Type = JsonSchemaType.Object },
                        },
                    },
                };
            }

            var path = new OpenApiPathItem();
            path.AddOperation(HttpMethod.Post, operation);
            doc.Paths["/v1/models/" + model.Name + "/predict"] = path;
        }
    }

    /// <summary>One instance of <paramref name="model"/>: its input features, typed, with examples from the reference profile.</summary>
    internal static OpenApiSchema InstanceSchema(ServedModel model)
    {
        var transform = model.Bundle.Transform;
        var nullable = transform.MissingPolicy != MissingPolicy.Error;
        var profile = model.Bundle.Profile;
        var properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        var required = new HashSet<string>(StringComparer.Ordinal);
        var example = new JsonObject();
        foreach (var column in transform.InputSchema)
        {
            var categorical = column.Kind == ColumnKind.Categorical;
            var feature = profile?.Feature(column.Name);
            var schema = new OpenApiSchema
            {
                Type = (categorical ? JsonSchemaType.String : JsonSchemaType.Number) | (nullable ? JsonSchemaType.Null : 0),
            };
            if (categorical)
            {
                var top = feature?.Categorical?.Top;
                if (top is { Count: > 0 })
                {
                    schema.Examples = [JsonValue.Create(top[0].Category)];
                    var listed = string.Join(", ", top.Take(ListedCategories).Select(c => c.Category));
                    schema.Description = $"Categorical. Most frequent in training: {listed}{(feature!.Categorical!.DistinctCount > top.Count ? ", …" : "")}. Another value scores as an unseen category.";
                }
                else
                {
                    schema.Description = "Categorical.";
                }
            }
            else if (feature?.Numeric is { Quantiles.Count: 11 } numeric)
            {
                var q = numeric.Quantiles;
                schema.Examples = [JsonValue.Create(q[5])];
                schema.Description = string.Create(CultureInfo.InvariantCulture,
                    $"Numeric. In training: median {q[5]:G6}, 1st–99th percentile {q[1]:G6} to {q[9]:G6}, range {q[0]:G6} to {q[10]:G6}.");
            }
            else
            {
                schema.Description = "Numeric.";
            }

            if (nullable)
            {
                schema.Description += $" null means missing (the model's missing policy: {transform.MissingPolicy.ToString().ToLowerInvariant()}).";
            }

            properties[column.Name] = schema;
            required.Add(column.Name);
            example[column.Name] = schema.Examples is [var first, ..] ? first?.DeepClone() : null;
        }

        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = $"One instance for {model.Name}: its {properties.Count} input features, in the bundle's order. Other fields are ignored by the model (rules may read them).",
            Properties = properties,
            Required = required,
            Examples = [example],
        };
    }

    /// <summary>A component id for <paramref name="name"/> (OpenAPI allows letters, digits, '.', '-' and '_').</summary>
    internal static string ComponentId(string name)
    {
        var id = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            id.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return id.ToString();
    }
}
