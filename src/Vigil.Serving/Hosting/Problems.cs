using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Vigil.Serving;

/// <summary>
/// RFC 9457 problem details (<c>application/problem+json</c>) for every error the server returns, in the shape of the
/// protocol the path belongs to: MLflow paths (<c>/invocations</c>, <c>/models/…</c>, <c>/ping</c>, <c>/health</c>) add
/// MLflow's <c>error_code</c> and <c>message</c>; Open Inference Protocol paths (<c>/v2…</c>) add the <c>error</c>
/// string its clients read; Vigil's own paths keep plain problem details.
/// </summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <summary>MLflow's code for a body that is not valid JSON (or CSV).</summary>
    public const string MalformedRequest = "MALFORMED_REQUEST";

    /// <summary>MLflow's code for an input value the model cannot take.</summary>
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";

    /// <summary>The protocol whose error shape a path uses.</summary>
    public enum Shape
    {
        Vigil,
        Mlflow,
        OpenInference,
    }

    /// <summary>The protocol of <paramref name="path"/>.</summary>
    public static Shape ShapeOf(PathString path)
    {
        var p = path.Value ?? "";
        if (p.StartsWith("/v2", StringComparison.Ordinal) && (p.Length == 3 || p[3] == '/'))
        {
            return Shape.OpenInference;
        }

        return p == "/invocations" || p == "/ping" || p == "/health" || p.StartsWith("/models/", StringComparison.Ordinal) ? Shape.Mlflow : Shape.Vigil;
    }

    /// <summary>
    /// The problem document: type, title, status, detail, instance, the field at fault and the request id, plus the
    /// protocol's own members. <paramref name="code"/> is the MLflow error code (by default from the status).
    /// </summary>
    public static ReadOnlyMemory<byte> Serialize(HttpContext context, int status, string title, string detail, string? field, string? code = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, ScoringExchange.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("type", "https://vigil.dev/problems/" + Slug(status));
            w.WriteString("title", title);
            w.WriteNumber("status", status);
            w.WriteString("detail", detail);
            w.WriteString("instance", context.Request.Path.Value);
            if (field is not null)
            {
                w.WriteString("field", field);
            }

            w.WriteString("requestId", context.TraceIdentifier);
            switch (ShapeOf(context.Request.Path))
            {
                case Shape.Mlflow:
                    w.WriteString("error_code", code ?? MlflowCode(status));
                    w.WriteString("message", detail);
                    break;
                case Shape.OpenInference:
                    w.WriteString("error", detail);
                    break;
            }

            w.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>Writes a problem response (for errors outside a scoring exchange).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, string? field = null)
    {
        var bytes = Serialize(context, status, title, detail, field);
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The MLflow error code of a status, as MLflow maps its codes to statuses.</summary>
    private static string MlflowCode(int status) => status switch
    {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "RESOURCE_DOES_NOT_EXIST",
        429 => "REQUEST_LIMIT_EXCEEDED",
        503 => "TEMPORARILY_UNAVAILABLE",
        >= 500 => "INTERNAL_ERROR",
        _ => "BAD_REQUEST",
    };

    private static string Slug(int status) => status switch
    {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        429 => "too-many-requests",
        503 => "unavailable",
        _ => status >= 500 ? "internal-error" : "client-error",
    };
}
