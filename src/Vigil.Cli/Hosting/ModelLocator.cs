using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>The <c>--store</c> and <c>--user</c> options shared by every command that touches the tracking store.</summary>
internal sealed class StoreArgs
{
    public Option<string?> Store { get; } = new("--store")
    {
        Description = "Tracking store: a SQLite path (sqlite:PATH) or postgres://user:pass@host/db (default: $VIGIL_STORE, else $VIGIL_HOME/vigil.db, VIGIL_HOME defaulting to ~/.vigil).",
    };

    public Option<string?> User { get; } = new("--user") { Description = "Who makes the change, for the audit history (default: $VIGIL_USER, else the OS user)." };

    /// <summary>Adds the options to a command; returns this for chaining.</summary>
    public StoreArgs AddTo(Command command, bool withUser = false)
    {
        command.Options.Add(Store);
        if (withUser)
        {
            command.Options.Add(User);
        }

        return this;
    }

    public Task<ITrackingStore> OpenAsync(ParseResult parse, CancellationToken cancellationToken) =>
        StoreFactory.OpenAsync(parse.GetValue(Store), null, cancellationToken);

    public string Actor(ParseResult parse) => Tracking.Actor.Resolve(parse.GetValue(User));
}

/// <summary>Loads a model named by a bundle path or a registry URI (models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/STAGE).</summary>
internal static class ModelLocator
{
    public const string Scheme = "models:/";

    public static bool IsRegistryUri(string text) => text.StartsWith(Scheme, StringComparison.Ordinal);

    /// <summary>The bundle and, for a registry URI, the resolved version.</summary>
    public static async Task<(ModelBundle Bundle, ModelVersion? Version)> LoadAsync(string model, string? storeSpec, CancellationToken cancellationToken)
    {
        if (!IsRegistryUri(model))
        {
            return (ModelBundle.Load(model), null);
        }

        var uri = ModelUri.Parse(model);
        await using var store = await StoreFactory.OpenAsync(storeSpec, null, cancellationToken).ConfigureAwait(false);
        var version = await store.ResolveAsync(uri, cancellationToken).ConfigureAwait(false);
        var path = await store.GetVerifiedBundlePathAsync(version, cancellationToken).ConfigureAwait(false);
        Terminal.Note($"{uri} -> {version.Uri} ({store.Location})");
        return (ModelBundle.Load(path), version);
    }
}

/// <summary>Formatting shared by the tracking commands.</summary>
internal static class TrackingFormat
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void WriteJson(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(Indented));

    public static string Time(DateTimeOffset? t) => t is null ? "" : t.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string? Iso(DateTimeOffset? t) => t?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    public static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    public static string Int(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

    public static string FeatureSchema(BundleManifest manifest) =>
        string.Join(",", manifest.FeatureSchema.Select(c => $"{c.Name}:{c.Kind.ToString().ToLowerInvariant()}"));

    public static JsonObject Map(IReadOnlyDictionary<string, double> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o[k] = double.IsFinite(v) ? JsonValue.Create(v) : null;
        }

        return o;
    }

    public static JsonObject Map(IReadOnlyDictionary<string, string> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o[k] = v;
        }

        return o;
    }
}
