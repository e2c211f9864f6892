using System.Reflection;
using Microsoft.AspNetCore.Http;
using Vigil.Data;

namespace Vigil.Serving;

/// <summary>What the MLflow and Open Inference protocols share: body reading, model lookup, content types.</summary>
internal static class ProtocolSupport
{
    /// <summary>
    /// Reads the whole body. When it is too large (declared or streamed) or the transport fails to deliver it, answers
    /// with a problem through the exchange (so the request still gets its inference log row) and returns false.
    /// </summary>
    public static async ValueTask<bool> TryReadBodyAsync(ScoringExchange exchange)
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
        catch (BadHttpRequestException e)
        {
            exchange.CloseConnection();
            await exchange.RespondProblemAsync(e.StatusCode, e.StatusCode == 413 ? "Payload too large" : "Bad request", e.Message, "body").ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>
    /// The loaded model <paramref name="name"/>, or null after answering 404 (not served) or 503 (served but not
    /// loaded yet) naming <paramref name="field"/>.
    /// </summary>
    public static async ValueTask<ServedModel?> FindModelAsync(ScoringExchange exchange, ServingRuntime runtime, string name, string field)
    {
        var model = runtime.Models.Find(name);
        if (model is not null)
        {
            exchange.Model = model;
            return model;
        }

        exchange.ModelName = name;
        var (status, title, detail) = Missing(runtime, name);
        await exchange.RespondProblemAsync(status, title, detail, field).ConfigureAwait(false);
        return null;
    }

    /// <summary>The loaded model <paramref name="name"/>, or null after writing a 404/503 problem naming <paramref name="field"/>.</summary>
    public static async ValueTask<ServedModel?> FindModelAsync(HttpContext context, ServingRuntime runtime, string name, string field)
    {
        var model = runtime.Models.Find(name);
        if (model is not null)
        {
            return model;
        }

        var (status, title, detail) = Missing(runtime, name);
        await Problems.WriteAsync(context, status, title, detail, field).ConfigureAwait(false);
        return null;
    }

    /// <summary>404 for a name that is not served; 503 for a served model that is not loaded (yet).</summary>
    private static (int Status, string Title, string Detail) Missing(ServingRuntime runtime, string name)
    {
        foreach (var spec in runtime.Models.Specs)
        {
            if (spec.Name == name)
            {
                return (503, "Model not loaded", VigilProtocol.UnknownModel(runtime, name));
            }
        }

        return (404, "Unknown model", VigilProtocol.UnknownModel(runtime, name));
    }

    /// <summary>"Models not loaded yet: fraud: loading" for a server that is not ready.</summary>
    public static string NotReadyDetail(ServingRuntime runtime)
    {
        var snapshot = runtime.Models.Snapshot;
        var failures = runtime.Models.Failures;
        var missing = new List<string>();
        foreach (var spec in runtime.Models.Specs)
        {
            if (!snapshot.ContainsKey(spec.Name))
            {
                missing.Add(failures.TryGetValue(spec.Name, out var why) ? $"{spec}: {why}" : $"{spec}: loading");
            }
        }

        return "Models not loaded yet: " + string.Join("; ", missing);
    }

    /// <summary>The media type of <paramref name="contentType"/> equals <paramref name="mediaType"/> (parameters such as charset ignored).</summary>
    public static bool IsMediaType(string? contentType, string mediaType)
    {
        if (contentType is null)
        {
            return false;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var type = (semicolon < 0 ? contentType : contentType[..semicolon]).AsSpan().Trim();
        return type.Equals(mediaType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The index of the feature whose UTF-8 name is <paramref name="utf8Name"/>, or -1.</summary>
    public static int FindInput(ServedModel model, ReadOnlySpan<byte> utf8Name)
    {
        for (var i = 0; i < model.InputCount; i++)
        {
            if (utf8Name.SequenceEqual(model.Utf8Input(i)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index of feature <paramref name="name"/>, or -1.</summary>
    public static int FindInput(ServedModel model, string name)
    {
        for (var i = 0; i < model.InputCount; i++)
        {
            if (model.InputNames[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>True when input <paramref name="input"/> is categorical.</summary>
    public static bool IsCategorical(ServedModel model, int input) => model.Bundle.Transform.InputSchema[input].Kind == ColumnKind.Categorical;

    /// <summary>The service version (informational version without the commit).</summary>
    public static string ServiceVersion
    {
        get
        {
            var informational = typeof(ProtocolSupport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }
    }

    /// <summary>At most <paramref name="max"/> characters of <paramref name="text"/>, for error messages.</summary>
    public static string Clip(string text, int max = 40) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
