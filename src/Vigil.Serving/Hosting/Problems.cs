using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Vigil.Serving;

/// <summary>RFC 9457 problem details (<c>application/problem+json</c>) for every error the server returns.</summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <summary>The problem document: type, title, status, detail, instance, the field at fault and the request id.</summary>
    public static ReadOnlyMemory<byte> Serialize(HttpContext context, int status, string title, string detail, string? field)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
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
