using Vigil.Detectors;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Pipelines.Steps;

/// <summary>The current champion of a registered model (its <c>champion</c> alias), when there is one.</summary>
internal static class Champion
{
    /// <summary>The step-key state of a step that reads the champion of the model named by parameter <paramref name="parameter"/>.</summary>
    public static async Task<string?> StateAsync(ITrackingStore store, IReadOnlyDictionary<string, string> parameters, string parameter, CancellationToken cancellationToken)
    {
        if (!parameters.TryGetValue(parameter, out var name) || string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var model = (await store.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == name.Trim());
        return model is not null && model.Aliases.TryGetValue(ModelLifecycle.ChampionAlias, out var v)
            ? $"champion={name.Trim()}/{v.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $"champion={name.Trim()}/none";
    }

    /// <summary>The champion's version and bundle, or null when the model or its champion alias does not exist yet.</summary>
    public static async Task<(ModelVersion Version, ModelBundle Bundle)?> FindAsync(StepContext context, string? modelName, CancellationToken cancellationToken)
    {
        if (modelName is null)
        {
            return null;
        }

        var models = await context.Store.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false);
        var model = models.FirstOrDefault(m => m.Name == modelName);
        if (model is null || !model.Aliases.ContainsKey(ModelLifecycle.ChampionAlias))
        {
            return null;
        }

        var loaded = await context.Lifecycle.LoadModelAsync(ModelUri.ForAlias(modelName, ModelLifecycle.ChampionAlias).ToString(), null, cancellationToken).ConfigureAwait(false);
        return (loaded.Version!, loaded.Bundle);
    }
}
