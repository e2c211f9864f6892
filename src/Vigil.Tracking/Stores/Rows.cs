using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vigil.Tracking;

// Row shapes read by Dapper (columns are aliased to these property names in the SQL).

internal sealed class ExperimentRow
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public long CreatedUs { get; set; }

    public Experiment ToExperiment() => new(Id, Name, Micros.To(CreatedUs));
}

internal sealed class RunRow
{
    public string Id { get; set; } = "";
    public long ExperimentId { get; set; }
    public string ExperimentName { get; set; } = "";
    public string Name { get; set; } = "";
    public string Status { get; set; } = "";
    public long StartUs { get; set; }
    public long? EndUs { get; set; }
    public string? CodeVersion { get; set; }
    public string? Host { get; set; }
    public long? Pid { get; set; }
    public long? PidStartUs { get; set; }
    public string? ParentRunId { get; set; }
}

internal sealed class KeyValueRow
{
    public string RunId { get; set; } = "";
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
}

internal sealed class MetricRow
{
    public string RunId { get; set; } = "";
    public string Key { get; set; } = "";
    public double? Value { get; set; }
    public long Step { get; set; }
    public long TsUs { get; set; }

    public MetricPoint ToPoint() => new(Key, Value ?? double.NaN, Step, Micros.To(TsUs));
}

internal sealed class ArtifactRow
{
    public string RunId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long SizeBytes { get; set; }
    public long CreatedUs { get; set; }

    public RunArtifact ToArtifact() => new(Name, Sha256, SizeBytes, Micros.To(CreatedUs));
}

internal sealed class DatasetRow
{
    public string RunId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public string SchemaText { get; set; } = "";
    public long RowCount { get; set; }
    public string? Source { get; set; }

    public DatasetFingerprint ToDataset() => new(Name, Sha256, SchemaText, RowCount, Source);
}

internal sealed class ModelRow
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public long CreatedUs { get; set; }
    public long LastVersion { get; set; }
}

internal sealed class AliasRow
{
    public string ModelName { get; set; } = "";
    public string Alias { get; set; } = "";
    public long Version { get; set; }
}

internal sealed class VersionRow
{
    public string ModelName { get; set; } = "";
    public long Version { get; set; }
    public string? SourceRunId { get; set; }
    public string BundleSha256 { get; set; } = "";
    public string FeatureSchema { get; set; } = "";
    public string MetricsJson { get; set; } = "{}";
    public string? Description { get; set; }
    public string Stage { get; set; } = "None";
    public long CreatedUs { get; set; }

    public ModelVersion ToVersion(IReadOnlyList<string> aliases) => new()
    {
        ModelName = ModelName,
        Version = checked((int)Version),
        SourceRunId = SourceRunId,
        BundleSha256 = BundleSha256,
        FeatureSchema = FeatureSchema,
        Metrics = JsonSerializer.Deserialize(MetricsJson, TrackingJson.Default.DictionaryStringDouble) ?? [],
        Description = Description,
        Stage = Enum.Parse<ModelStage>(Stage),
        CreatedUtc = Micros.To(CreatedUs),
        Aliases = aliases,
    };
}

internal sealed class HistoryRow
{
    public long Id { get; set; }
    public string ModelName { get; set; } = "";
    public string Action { get; set; } = "";
    public string Target { get; set; } = "";
    public long? FromVersion { get; set; }
    public long? ToVersion { get; set; }
    public string? FromStage { get; set; }
    public string Actor { get; set; } = "";
    public string? Reason { get; set; }
    public long TsUs { get; set; }

    public RegistryHistoryEntry ToEntry() => new(
        Id,
        ModelName,
        StoreText.ParseAction(Action),
        Target,
        FromVersion is { } f ? checked((int)f) : null,
        ToVersion is { } t ? checked((int)t) : null,
        FromStage is null ? null : Enum.Parse<ModelStage>(FromStage),
        Actor,
        Reason,
        Micros.To(TsUs));
}

internal sealed class OrphanRow
{
    public string Id { get; set; } = "";
    public long? Pid { get; set; }
    public long? PidStartUs { get; set; }
}

/// <summary>Text forms of enums in the stores (MLflow spelling for run status).</summary>
internal static class StoreText
{
    public static string Status(RunStatus status) => status switch
    {
        RunStatus.Running => "RUNNING",
        RunStatus.Finished => "FINISHED",
        RunStatus.Failed => "FAILED",
        RunStatus.Killed => "KILLED",
        _ => throw new TrackingException($"unknown run status {status}"),
    };

    public static RunStatus ParseStatus(string text) => text switch
    {
        "RUNNING" => RunStatus.Running,
        "FINISHED" => RunStatus.Finished,
        "FAILED" => RunStatus.Failed,
        "KILLED" => RunStatus.Killed,
        _ => throw new TrackingException($"the store holds an unknown run status '{text}'"),
    };

    public static string Action(RegistryAction action) => action switch
    {
        RegistryAction.SetAlias => "SET_ALIAS",
        RegistryAction.DeleteAlias => "DELETE_ALIAS",
        RegistryAction.Rollback => "ROLLBACK",
        RegistryAction.SetStage => "SET_STAGE",
        _ => throw new TrackingException($"unknown registry action {action}"),
    };

    public static RegistryAction ParseAction(string text) => text switch
    {
        "SET_ALIAS" => RegistryAction.SetAlias,
        "DELETE_ALIAS" => RegistryAction.DeleteAlias,
        "ROLLBACK" => RegistryAction.Rollback,
        "SET_STAGE" => RegistryAction.SetStage,
        _ => throw new TrackingException($"the store holds an unknown registry action '{text}'"),
    };
}

[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(Dictionary<string, double>))]
internal sealed partial class TrackingJson : JsonSerializerContext;
