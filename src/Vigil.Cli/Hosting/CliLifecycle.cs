using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Lifecycle;
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

    /// <summary>Opens the store, creating it on first use (commands that write).</summary>
    public Task<ITrackingStore> OpenAsync(ParseResult parse, CancellationToken cancellationToken) =>
        StoreFactory.OpenAsync(parse.GetValue(Store), Terminal.Home, cancellationToken);

    /// <summary>Opens a store that must exist (commands that only read): a missing one is an error naming it, and nothing is created.</summary>
    public Task<ITrackingStore> OpenExistingAsync(ParseResult parse, CancellationToken cancellationToken) =>
        StoreFactory.OpenExistingAsync(parse.GetValue(Store), Terminal.Home, cancellationToken);

    public string Actor(ParseResult parse) => Tracking.Actor.Resolve(parse.GetValue(User));
}

/// <summary>
/// A <see cref="ModelLifecycle"/> for one command, over the tracking store when the command needs one (a registry URI,
/// a tracked run); the store is opened only then, so commands on plain files never create one.
/// </summary>
internal sealed class CliLifecycle : IAsyncDisposable
{
    private readonly ITrackingStore? _store;

    private CliLifecycle(ITrackingStore? store)
    {
        _store = store;
        Operations = new ModelLifecycle(store);
    }

    public ModelLifecycle Operations { get; }

    /// <summary>Progress that prints what a model reference resolved to (stderr), as every command does.</summary>
    public static IProgress<LifecycleProgress> Notes { get; } = new CliProgress(null);

    public static async Task<CliLifecycle> OpenAsync(StoreArgs storeArgs, ParseResult parse, bool withStore, CancellationToken cancellationToken) =>
        new(withStore ? await storeArgs.OpenAsync(parse, cancellationToken).ConfigureAwait(false) : null);

    /// <summary>Like <see cref="OpenAsync"/> for a command that only reads the store: it must exist (see <see cref="StoreArgs.OpenExistingAsync"/>).</summary>
    public static async Task<CliLifecycle> OpenReadingAsync(StoreArgs storeArgs, ParseResult parse, bool withStore, CancellationToken cancellationToken) =>
        new(withStore ? await storeArgs.OpenExistingAsync(parse, cancellationToken).ConfigureAwait(false) : null);

    /// <summary>True when <paramref name="model"/> is a registry URI (which needs the store).</summary>
    public static bool IsRegistryUri(string model) => model.StartsWith(ModelLifecycle.ModelUriScheme, StringComparison.Ordinal);

    public ValueTask DisposeAsync() => _store?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// Synchronous progress for the CLI: prints resolved model references as notes, then hands every event to
/// <paramref name="onEvent"/> (a progress bar, a note per candidate) on the reporting thread.
/// </summary>
internal sealed class CliProgress(Action<LifecycleProgress>? onEvent) : IProgress<LifecycleProgress>
{
    public void Report(LifecycleProgress value)
    {
        if (value.Stage == LifecycleStages.Model && value.Message is not null)
        {
            Terminal.Note(value.Message);
        }
        else if (value.Stage == LifecycleStages.Features && value.Message is not null)
        {
            Terminal.Note($"{value.Message}; --include COL keeps one");
        }

        onEvent?.Invoke(value);
    }
}

/// <summary>Formatting shared by the tracking commands.</summary>
internal static class TrackingFormat
{
    // JSON for a terminal or a pipe, not for an HTML page: quotes, apostrophes and non-ASCII text stay readable
    // ("can't", "Zürich") instead of \u0027 and \u00FC escapes; what JSON itself requires is still escaped.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One-line JSON (JSON-lines output) with the same escaping as <see cref="WriteJson"/>.</summary>
    public static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteJson(JsonNode node) => Terminal.OutWriter.WriteLine(node.ToJsonString(Indented));

    public static string Time(DateTimeOffset? t) => t is null ? "" : t.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A time as a terminal table shows it: minutes, no seconds or zone (UTC).</summary>
    public static string ShortTime(DateTimeOffset? t) => t is null ? "" : t.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>How long a run took ("12.3s", "4m05s", "1h02m"), or "" while it runs.</summary>
    public static string Took(DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is null || end is null)
        {
            return "";
        }

        var d = end.Value - start.Value;
        return d.TotalSeconds < 60 ? d.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + "s"
            : d.TotalMinutes < 60 ? string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes}m{d.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}h{d.Minutes:00}m");
    }

    public static string? Iso(DateTimeOffset? t) => t?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    public static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    public static string Int(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

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
