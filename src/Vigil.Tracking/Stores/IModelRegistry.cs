namespace Vigil.Tracking;

/// <summary>
/// The model registry: registered models, numbered versions, aliases and stages, with an audit history of
/// every alias and stage change. Implemented by the SQLite and PostgreSQL stores; every method is safe to
/// call from several processes at once.
/// </summary>
public interface IModelRegistry
{
    /// <summary>Registers a model; returns the existing one unchanged when the name is taken (idempotent).</summary>
    Task<RegisteredModel> CreateRegisteredModelAsync(string name, string? description = null, CancellationToken cancellationToken = default);

    /// <summary>The model; <see cref="TrackingException"/> when unknown.</summary>
    Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>All registered models by name.</summary>
    Task<IReadOnlyList<RegisteredModel>> ListRegisteredModelsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates the next version of <paramref name="name"/> (registering the model when needed). The number is
    /// max+1, assigned atomically even under concurrent callers. The source run must exist when given, and the
    /// bundle must be in the store's <see cref="ArtifactStore"/> with a matching SHA-256 (put it there first).
    /// </summary>
    Task<ModelVersion> CreateModelVersionAsync(string name, NewModelVersion version, CancellationToken cancellationToken = default);

    /// <summary>The version; <see cref="TrackingException"/> when the model or version is unknown.</summary>
    Task<ModelVersion> GetModelVersionAsync(string name, int version, CancellationToken cancellationToken = default);

    /// <summary>All versions of the model, ascending; <see cref="TrackingException"/> when the model is unknown.</summary>
    Task<IReadOnlyList<ModelVersion>> ListModelVersionsAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Points <paramref name="alias"/> at <paramref name="version"/> (creating or moving it) and records a
    /// <see cref="RegistryAction.SetAlias"/> history entry in the same transaction. Returns that entry.
    /// </summary>
    Task<RegistryHistoryEntry> SetAliasAsync(string name, string alias, int version, string actor, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Removes the alias and records a <see cref="RegistryAction.DeleteAlias"/> entry; error when it does not exist.</summary>
    Task<RegistryHistoryEntry> DeleteAliasAsync(string name, string alias, string actor, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the version to <paramref name="stage"/> and records a <see cref="RegistryAction.SetStage"/> entry.
    /// With <paramref name="archiveExisting"/>, other versions in that stage move to Archived (one entry each).
    /// Returns the entries written, the requested change first.
    /// </summary>
    Task<IReadOnlyList<RegistryHistoryEntry>> SetStageAsync(string name, int version, ModelStage stage, string actor, string? reason = null, bool archiveExisting = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Points the alias back at its previous version: the from-version of the latest history entry that moved
    /// the alias to its current version. Records a <see cref="RegistryAction.Rollback"/> entry and returns it.
    /// <see cref="TrackingException"/> when the alias does not exist or has no previous version.
    /// </summary>
    Task<RegistryHistoryEntry> RollbackAliasAsync(string name, string alias, string actor, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The model's alias and stage history, oldest first; only entries for <paramref name="target"/> (an alias
    /// or a stage name) when given. <see cref="TrackingException"/> when the model is unknown.
    /// </summary>
    Task<IReadOnlyList<RegistryHistoryEntry>> GetHistoryAsync(string name, string? target = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The version a URI names. <see cref="TrackingException"/> naming the URI when the model, version or alias
    /// is unknown or no version is in the stage.
    /// </summary>
    Task<ModelVersion> ResolveAsync(ModelUri uri, CancellationToken cancellationToken = default);
}
