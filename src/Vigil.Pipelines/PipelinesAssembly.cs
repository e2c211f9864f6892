namespace Vigil.Pipelines;

/// <summary>Marker for the pipelines assembly (flows, schedules, workers, lakehouse zones, warehouse sync).</summary>
public static class PipelinesAssembly
{
    /// <summary>The assembly's name, as logged.</summary>
    public const string Name = "Vigil.Pipelines";
}
