using System.CommandLine;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// The served model and its inference log for the monitoring commands (<c>labels ingest</c>, <c>performance</c>):
/// <c>--model</c> (a registry URI or a bundle with <c>--name</c>), <c>--store</c> (registry, labels and, by default,
/// the log) and <c>--parquet DIR</c> (the log from Parquet files instead).
/// </summary>
internal sealed class MonitoringSource
{
    public Option<string> Model { get; } = new("--model", "-m") { HelpName = "MODEL", Description = "The served model: models:/NAME@ALIAS (or NAME, meaning models:/NAME@champion), or a bundle path with --name.", Required = true };

    public Option<string?> Name { get; } = new("--name") { HelpName = "NAME", Description = "The model name in the inference log (default: NAME of models:/NAME...)." };

    public Option<string?> Parquet { get; } = new("--parquet") { HelpName = "DIR", Description = "Read the inference log from this folder of Parquet files instead of the store (labels stay in the store)." };

    public StoreArgs Store { get; } = new();

    public MonitoringSource AddTo(Command command, bool withModel = true)
    {
        if (withModel)
        {
            command.Options.Add(Model);
        }

        command.Options.Add(Name);
        command.Options.Add(Parquet);
        Store.AddTo(command);
        return this;
    }

    /// <summary>A bare NAME becomes models:/NAME@champion.</summary>
    public static string Reference(string model) =>
        CliLifecycle.IsRegistryUri(model) || model.Contains('/', StringComparison.Ordinal) || model.Contains('.', StringComparison.Ordinal) || Directory.Exists(model)
            ? model
            : ModelLifecycle.ModelUriScheme + model + "@" + ModelLifecycle.ChampionAlias;

    /// <summary>The name the server logged the model under.</summary>
    public string LogName(ParseResult parse, string reference) =>
        parse.GetValue(Name) ?? (CliLifecycle.IsRegistryUri(reference)
            ? ModelUri.Parse(reference).Name
            : throw new CliUsageException("with a bundle path give --name: the model name the server logged it under"));

    public async Task<LoadedModel> LoadAsync(ParseResult parse, string reference, CancellationToken cancellationToken)
    {
        await using var lifecycle = await CliLifecycle.OpenReadingAsync(Store, parse, CliLifecycle.IsRegistryUri(reference), cancellationToken).ConfigureAwait(false);
        return await lifecycle.Operations.LoadModelAsync(reference, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The tracking store's inference-log part (labels; the log unless --parquet); it must exist.</summary>
    public async Task<InferenceLogStore> OpenStoreAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var store = parse.GetValue(Store.Store);
        StoreFactory.RequireExisting(store, Terminal.Home);
        return await InferenceLogStore.OpenAsync(store, Terminal.Home, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The log's items of <paramref name="model"/> in the window, from --parquet or the store.</summary>
    public IAsyncEnumerable<InferenceItemChunk> Items(ParseResult parse, InferenceLogStore store, string model, long? sinceUs, long? untilUs, CancellationToken cancellationToken)
    {
        var parquet = parse.GetValue(Parquet);
        return parquet is null
            ? store.ReadItemsAsync(model, sinceUs, untilUs, cancellationToken)
            : FromParquet(parquet, model, sinceUs, untilUs, cancellationToken);

        static async IAsyncEnumerable<InferenceItemChunk> FromParquet(string folder, string model, long? sinceUs, long? untilUs,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await using var reader = new ParquetInferenceLogReader(folder);
            await foreach (var chunk in reader.ReadItemsAsync(model, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }
    }
}
