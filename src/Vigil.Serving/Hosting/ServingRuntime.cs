using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>The shared, long-lived parts every endpoint uses.</summary>
internal sealed class ServingRuntime(ServingOptions options, ModelCache models, ServingMetrics metrics, InferenceLogWriter log, ITrackingStore store, TimeProvider time, ModelRouter router, RegistryWatch watch)
{
    /// <summary>How registry changes reach this server.</summary>
    public RegistryWatch Watch { get; } = watch;

    public ServingOptions Options { get; } = options;

    public ModelCache Models { get; } = models;

    /// <summary>Picks the model version of a request (name, alias, version, tenant).</summary>
    public ModelRouter Router { get; } = router;

    public ServingMetrics Metrics { get; } = metrics;

    public InferenceLogWriter Log { get; } = log;

    public ITrackingStore Store { get; } = store;

    public TimeProvider Time { get; } = time;

    /// <summary>The admin API keys (<c>VIGIL_API_KEYS</c>).</summary>
    public ApiKeySet AdminKeys { get; } = new(options.ApiKeys);

    /// <summary>The scoring API keys (<c>VIGIL_SCORING_KEYS</c>); none: scoring needs no key.</summary>
    public ApiKeySet ScoringKeys { get; } = new(options.ScoringKeys);

    /// <summary>The model <c>/invocations</c> uses without a name: the configured default, else the only served model.</summary>
    public string? DefaultModelName => Options.DefaultModel ?? (Models.Specs.Count == 1 ? Models.Specs[0].Name : null);
}
