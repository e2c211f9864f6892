namespace Vigil.Pipelines;

/// <summary>Finds a flow by name (a built-in flow) or by path (a YAML file).</summary>
public static class FlowCatalog
{
    /// <summary>The built-in flows: <c>retrain</c>.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = ["retrain"];

    /// <summary>The YAML of built-in flow <paramref name="name"/>.</summary>
    public static string BuiltInSource(string name)
    {
        using var stream = typeof(FlowCatalog).Assembly.GetManifestResourceStream($"Vigil.Pipelines.Flows.{name}.yaml")
            ?? throw new FlowException($"no built-in flow '{name}'; built-in flows: {string.Join(", ", BuiltIn)}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The flow <paramref name="nameOrPath"/>: a YAML file when that path exists (or ends in .yaml/.yml), else a built-in flow.
    /// </summary>
    /// <exception cref="FlowException">Neither a file nor a built-in flow, or the file is not a valid flow.</exception>
    public static FlowDefinition Load(string nameOrPath, StepRegistry registry)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        if (File.Exists(nameOrPath))
        {
            return FlowYaml.Parse(File.ReadAllText(nameOrPath), nameOrPath, registry);
        }

        if (nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || nameOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/', StringComparison.Ordinal))
        {
            throw new FlowException($"{nameOrPath}: flow file not found");
        }

        if (!BuiltIn.Contains(nameOrPath))
        {
            throw new FlowException($"'{nameOrPath}' is neither a flow file nor a built-in flow; built-in flows: {string.Join(", ", BuiltIn)}");
        }

        return FlowYaml.Parse(BuiltInSource(nameOrPath), $"built-in flow {nameOrPath}", registry);
    }
}
