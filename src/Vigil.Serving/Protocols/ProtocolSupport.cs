using System.Reflection;

namespace Vigil.Serving;

/// <summary>What the protocols share besides the scoring pipeline: readiness text, content types, the service version, message clipping.</summary>
internal static class ProtocolSupport
{
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
