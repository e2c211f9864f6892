namespace Vigil.Tracking;

/// <summary>MLflow-style model version stage.</summary>
public enum ModelStage
{
    /// <summary>No stage (a new version).</summary>
    None,
    /// <summary>Under evaluation.</summary>
    Staging,
    /// <summary>Serving traffic; models:/NAME/Production resolves to the highest version in this stage.</summary>
    Production,
    /// <summary>Retired.</summary>
    Archived,
}

/// <summary>What a <see cref="RegistryHistoryEntry"/> records.</summary>
public enum RegistryAction
{
    /// <summary>An alias was created or moved (<see cref="RegistryHistoryEntry.Target"/> = alias).</summary>
    SetAlias,
    /// <summary>An alias was removed (<see cref="RegistryHistoryEntry.ToVersion"/> is null).</summary>
    DeleteAlias,
    /// <summary>An alias was pointed back to its previous version.</summary>
    Rollback,
    /// <summary>
    /// A version changed stage (<see cref="RegistryHistoryEntry.Target"/> = the new stage name,
    /// <see cref="RegistryHistoryEntry.ToVersion"/> = the version that moved,
    /// <see cref="RegistryHistoryEntry.FromVersion"/> = the highest version that was in that stage before, if any,
    /// <see cref="RegistryHistoryEntry.FromStage"/> = the version's previous stage).
    /// </summary>
    SetStage,
}

/// <summary>A registered model (MLflow registered model).</summary>
/// <param name="Name">Unique name.</param>
/// <param name="Description">Free text, may be null.</param>
/// <param name="CreatedUtc">When the model was registered.</param>
/// <param name="LatestVersion">Highest version number; 0 when the model has no versions.</param>
/// <param name="Aliases">Alias → version.</param>
public sealed record RegisteredModel(
    string Name,
    string? Description,
    DateTimeOffset CreatedUtc,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases);

/// <summary>What to record for a new model version; the store assigns the number.</summary>
public sealed record NewModelVersion
{
    /// <summary>Lower-case hex SHA-256 of the bundle (zip) in the store's <see cref="IArtifactStore"/>. Required.</summary>
    public required string BundleSha256 { get; init; }
    /// <summary>The run that trained the model, or null; must exist in the store when given.</summary>
    public string? SourceRunId { get; init; }
    /// <summary>The feature schema the model expects (text or JSON). Required.</summary>
    public required string FeatureSchema { get; init; }
    /// <summary>Evaluation metrics copied into the version (snapshot, independent of the run).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Free text, may be null.</summary>
    public string? Description { get; init; }
}

/// <summary>One version of a registered model.</summary>
public sealed record ModelVersion
{
    /// <summary>The registered model name.</summary>
    public required string ModelName { get; init; }
    /// <summary>1, 2, 3 ... assigned by the store, never reused.</summary>
    public required int Version { get; init; }
    /// <summary>The run that produced it, or null.</summary>
    public string? SourceRunId { get; init; }
    /// <summary>Lower-case hex SHA-256 of the bundle in the store's <see cref="IArtifactStore"/>.</summary>
    public required string BundleSha256 { get; init; }
    /// <summary>The feature schema the model expects.</summary>
    public required string FeatureSchema { get; init; }
    /// <summary>Metrics snapshot taken when the version was created.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Free text, may be null.</summary>
    public string? Description { get; init; }
    /// <summary>When the version was created.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }
    /// <summary>Current stage.</summary>
    public ModelStage Stage { get; init; }
    /// <summary>Aliases currently pointing at this version, sorted.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>"models:/NAME/VERSION".</summary>
    public ModelUri Uri => ModelUri.ForVersion(ModelName, Version);
}

/// <summary>An audit record of an alias or stage change; written in the same transaction as the change.</summary>
/// <param name="Id">Increasing id: later changes have higher ids.</param>
/// <param name="ModelName">The registered model.</param>
/// <param name="Action">What happened.</param>
/// <param name="Target">The alias name, or the new stage name for <see cref="RegistryAction.SetStage"/>.</param>
/// <param name="FromVersion">The version the alias pointed to before (null when it was new).</param>
/// <param name="ToVersion">The version it points to after (null when deleted).</param>
/// <param name="FromStage">For <see cref="RegistryAction.SetStage"/>: the previous stage of the moved version.</param>
/// <param name="Actor">Who: configured user name, "api-key:NAME" or the OS user.</param>
/// <param name="Reason">Why, as given by the actor; may be null.</param>
/// <param name="TimestampUtc">When.</param>
public sealed record RegistryHistoryEntry(
    long Id,
    string ModelName,
    RegistryAction Action,
    string Target,
    int? FromVersion,
    int? ToVersion,
    ModelStage? FromStage,
    string Actor,
    string? Reason,
    DateTimeOffset TimestampUtc);

/// <summary>Who is making a registry change.</summary>
public static class Actor
{
    /// <summary>
    /// The configured user name when given, else the VIGIL_USER environment variable, else the OS user
    /// (<see cref="Environment.UserName"/>).
    /// </summary>
    public static string Resolve(string? configuredUser = null)
    {
        if (!string.IsNullOrWhiteSpace(configuredUser))
        {
            return configuredUser.Trim();
        }
        var env = Environment.GetEnvironmentVariable("VIGIL_USER");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return env.Trim();
        }
        var os = Environment.UserName;
        return string.IsNullOrWhiteSpace(os) ? "unknown" : os;
    }

    /// <summary>The actor name recorded for a change made through the HTTP API with an API key: "api-key:NAME".</summary>
    public static string ForApiKey(string keyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyName);
        return "api-key:" + keyName.Trim();
    }
}
