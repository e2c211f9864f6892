using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Vigil.Serving;

/// <summary>
/// Makes the generated OpenAPI document say what the API does: numbers are numbers (System.Text.Json's web defaults
/// also read "1.5" from a string, which the generator describes as number|string with a regex; the server writes
/// numbers, and clients should send them), and a property that may be null is optional, not required.
/// </summary>
internal static class OpenApiContract
{
    public static void Configure(OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, _, _) =>
        {
            Tighten(schema);
            return Task.CompletedTask;
        });

    internal static void Tighten(OpenApiSchema schema)
    {
        if (schema.Type is { } type && (type & (JsonSchemaType.Number | JsonSchemaType.Integer)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (schema.Properties is not { Count: > 0 } properties)
        {
            return;
        }

        foreach (var (name, property) in properties)
        {
            if (property is OpenApiSchema inner)
            {
                Tighten(inner);
            }

            if (property.Type is { } t && (t & JsonSchemaType.Null) != 0)
            {
                schema.Required?.Remove(name);
            }
        }
    }
}
