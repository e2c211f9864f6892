using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Vigil.Serving;

/// <summary>A setting of the server is invalid; the message names the setting and where it came from.</summary>
public sealed class ServingConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServingConfigurationException(string setting, string message)
        : base($"invalid setting {setting}: {message}")
    {
        Setting = setting;
    }

    /// <summary>The setting as the user wrote it, e.g. <c>VIGIL_PORT</c> or <c>appsettings.json Vigil:Port</c>.</summary>
    public string Setting { get; }
}

/// <summary>
/// Reads and validates <see cref="ServingOptions"/>. Each setting has a name in <c>appsettings.json</c>
/// (<c>Vigil:Port</c>), an environment variable (<c>VIGIL_PORT</c>) and usually a command-line option; the last
/// one given wins. An invalid value stops start-up with an error naming the setting.
/// </summary>
public static class ServingConfiguration
{
    private static readonly Setting[] Settings =
    [
        new("Host", "VIGIL_HOST", "--host", (o, v) => o with { Host = v.Length > 0 ? v : throw new FormatException("is empty") }),
        new("Port", "VIGIL_PORT", "--port", (o, v) => o with { Port = Int(v, 0, 65_535) }),
        new("Store", "VIGIL_STORE", "--store", (o, v) => o with { Store = v }),
        new("Home", "VIGIL_HOME", "--home", (o, v) => o with { Home = v }),
        new("Models", "VIGIL_MODELS", "--models", (o, v) => o with { Models = ModelSpec.ParseList(v) }),
        new("ApiKeys", "VIGIL_API_KEYS", null, (o, v) => o with { ApiKeys = List(v) }),
        new("ScoringKeys", "VIGIL_SCORING_KEYS", null, (o, v) => o with { ScoringKeys = List(v) }),
        new("LogLevel", "VIGIL_LOG_LEVEL", "--log-level", (o, v) => o with { LogLevel = Enum<LogLevel>(v) }),
        new("CorsOrigins", "VIGIL_CORS_ORIGINS", null, (o, v) => o with { CorsOrigins = Origins(v) }),
        new("MaxBodyBytes", "VIGIL_MAX_BODY_BYTES", null, (o, v) => o with { MaxBodyBytes = Long(v, 1024, 1L << 31) }),
        new("RateLimit", "VIGIL_RATE_LIMIT", null, (o, v) => o with { RateLimitPerSecond = Int(v, 0, 10_000_000) }),
        new("RateLimitBurst", "VIGIL_RATE_LIMIT_BURST", null, (o, v) => o with { RateLimitBurst = Int(v, 0, 10_000_000) }),
        new("RefreshSeconds", "VIGIL_REFRESH_SECONDS", null, (o, v) => o with { RefreshSeconds = Int(v, 0, 86_400) }),
        new("RegistryNotifications", "VIGIL_REGISTRY_NOTIFY", null, (o, v) => o with { RegistryNotifications = Bool(v) }),
        new("Reasons", "VIGIL_REASONS", null, (o, v) => o with { Reasons = Int(v, 0, 100) }),
        new("InferenceLog", "VIGIL_INFERENCE_LOG", "--inference-log", (o, v) => o with { InferenceLog = Enum<InferenceLogDestination>(v) }),
        new("InferenceLogFolder", "VIGIL_INFERENCE_LOG_FOLDER", null, (o, v) => o with { InferenceLogFolder = v }),
        new("InferenceLogPayloads", "VIGIL_INFERENCE_LOG_PAYLOADS", null, (o, v) => o with { InferenceLogPayloads = Enum<PayloadMode>(v) }),
        new("InferenceLogWhenFull", "VIGIL_INFERENCE_LOG_WHEN_FULL", null, (o, v) => o with { InferenceLogWhenFull = Enum<QueueFullMode>(v) }),
        new("InferenceLogCapacity", "VIGIL_INFERENCE_LOG_CAPACITY", null, (o, v) => o with { InferenceLogCapacity = Int(v, 1, 100_000_000) }),
        new("InferenceLogBatch", "VIGIL_INFERENCE_LOG_BATCH", null, (o, v) => o with { InferenceLogBatch = Int(v, 1, 1_000_000) }),
        new("ShutdownSeconds", "VIGIL_SHUTDOWN_SECONDS", null, (o, v) => o with { ShutdownSeconds = Int(v, 0, 3600) }),
        new("InferenceLogDurability", "VIGIL_INFERENCE_LOG_DURABILITY", null, (o, v) => o with { InferenceLogDurability = Enum<InferenceLogDurability>(v) }),
        new("InferenceLogWalFolder", "VIGIL_INFERENCE_LOG_WAL_FOLDER", null, (o, v) => o with { InferenceLogWalFolder = v.Length > 0 ? v : throw new FormatException("is empty") }),
        new("InferenceLogWalMaxBytes", "VIGIL_INFERENCE_LOG_WAL_MAX_BYTES", null, (o, v) => o with { InferenceLogWalMaxBytes = Long(v, 1L << 20, long.MaxValue / 2) }),
        new("InferenceLogDeadLetter", "VIGIL_INFERENCE_LOG_DEAD_LETTER", null, (o, v) => o with { InferenceLogDeadLetter = v.Length > 0 ? v : throw new FormatException("is empty") }),
        new("InferenceLogShutdownSeconds", "VIGIL_INFERENCE_LOG_SHUTDOWN_SECONDS", null, (o, v) => o with { InferenceLogShutdownSeconds = Int(v, 0, 3600) }),
        new("DefaultModel", "VIGIL_DEFAULT_MODEL", null, (o, v) => o with { DefaultModel = v }),
        new("OnlineDrift", "VIGIL_ONLINE_DRIFT", null, (o, v) => o with { OnlineDrift = Bool(v) }),
        new("OnlineDriftWindow", "VIGIL_ONLINE_DRIFT_WINDOW", null, (o, v) => o with { OnlineDriftWindow = Int(v, 10, 10_000_000) }),
        new("OnlineDriftSeconds", "VIGIL_ONLINE_DRIFT_SECONDS", null, (o, v) => o with { OnlineDriftSeconds = Int(v, 1, 86_400) }),
    ];

    /// <summary>
    /// Builds the options from <paramref name="appSettings"/> (its <c>Vigil</c> section; may be null), then
    /// <paramref name="environment"/> (<c>VIGIL_*</c> variables), then <paramref name="overrides"/> (command-line
    /// options by their <c>--name</c>), and validates them.
    /// </summary>
    /// <exception cref="ServingConfigurationException">A value is invalid; the message names the setting.</exception>
    public static ServingOptions Load(
        IConfiguration? appSettings,
        IReadOnlyDictionary<string, string?> environment,
        IReadOnlyDictionary<string, string?> overrides)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(overrides);
        var options = new ServingOptions();
        var section = appSettings?.GetSection("Vigil");
        foreach (var setting in Settings)
        {
            options = Apply(options, setting, section?[setting.Name], $"appsettings.json Vigil:{setting.Name}");
            options = Apply(options, setting, environment.GetValueOrDefault(setting.Env), setting.Env);
            if (setting.Option is not null)
            {
                options = Apply(options, setting, overrides.GetValueOrDefault(setting.Option), setting.Option);
            }
        }

        if (section is not null)
        {
            var known = new HashSet<string>(Settings.Select(s => s.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var child in section.GetChildren())
            {
                if (!known.Contains(child.Key))
                {
                    throw new ServingConfigurationException($"appsettings.json Vigil:{child.Key}",
                        "unknown setting; known: " + string.Join(", ", Settings.Select(s => s.Name)));
                }
            }
        }

        if (options.RateLimitBurst == 0)
        {
            options = options with { RateLimitBurst = options.RateLimitPerSecond };
        }

        var batchGiven = section?["InferenceLogBatch"] is not null || environment.GetValueOrDefault("VIGIL_INFERENCE_LOG_BATCH") is not null;
        if (options.InferenceLogBatch > options.InferenceLogCapacity && !batchGiven)
        {
            options = options with { InferenceLogBatch = options.InferenceLogCapacity };
        }
        else if (options.InferenceLogBatch > options.InferenceLogCapacity)
        {
            throw new ServingConfigurationException("VIGIL_INFERENCE_LOG_BATCH", "must not exceed VIGIL_INFERENCE_LOG_CAPACITY");
        }

        if (options.DefaultModel is { } d && options.Models.Count > 0 && !options.Models.Any(m => m.Name == d))
        {
            throw new ServingConfigurationException("VIGIL_DEFAULT_MODEL", $"'{d}' is not one of the served models ({string.Join(", ", options.Models.Select(m => m.Name))})");
        }

        return options;
    }

    /// <summary>The current process's <c>VIGIL_*</c> environment variables.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && k.StartsWith("VIGIL_", StringComparison.Ordinal))
            {
                result[k] = e.Value as string;
            }
        }

        return result;
    }

    /// <summary>The environment variable names of every setting, for help texts.</summary>
    public static IEnumerable<string> EnvironmentVariables => Settings.Select(s => s.Env);

    private static ServingOptions Apply(ServingOptions options, Setting setting, string? raw, string origin)
    {
        if (raw is null)
        {
            return options;
        }

        try
        {
            return setting.Apply(options, raw.Trim());
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new ServingConfigurationException(origin, $"'{raw}' {e.Message}");
        }
    }

    private static int Int(string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"is not a whole number in [{min}, {max}]");

    private static bool Bool(string v) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "on" or "yes" => true,
        "false" or "0" or "off" or "no" => false,
        _ => throw new FormatException("is not true or false"),
    };

    private static long Long(string v, long min, long max) =>
        long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"is not a whole number of bytes in [{min}, {max}]");

    private static T Enum<T>(string v)
        where T : struct, Enum =>
        System.Enum.TryParse<T>(v, ignoreCase: true, out var e) && System.Enum.IsDefined(e) && !int.TryParse(v, out _)
            ? e
            : throw new FormatException("is not one of " + string.Join(", ", System.Enum.GetNames<T>()).ToLowerInvariant());

    private static string[] List(string v) =>
        v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string[] Origins(string v)
    {
        var origins = List(v);
        foreach (var o in origins)
        {
            if (o != "*" && (!Uri.TryCreate(o, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https") || u.AbsolutePath != "/"))
            {
                throw new FormatException($"has '{o}', which is not an origin like https://app.example.com or *");
            }
        }

        return origins;
    }

    private sealed record Setting(string Name, string Env, string? Option, Func<ServingOptions, string, ServingOptions> Apply);
}
