using System.Collections.Concurrent;
using System.Globalization;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>An output of a step: a file in the artifact store, addressed by its SHA-256.</summary>
/// <param name="Name">The output's name (<c>model</c>, <c>data</c>, ...).</param>
/// <param name="FileName">The file name it was written under (its extension tells readers the format).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content: its key in the artifact store.</param>
/// <param name="SizeBytes">Its length.</param>
public sealed record StepArtifact(string Name, string FileName, string Sha256, long SizeBytes);

/// <summary>
/// What one attempt of a step sees: its resolved parameters, its inputs (as files), where to write its outputs, and the
/// tracking store. Outputs written under <see cref="OutputPath"/> are committed to the artifact store by the engine only
/// when the attempt succeeds, so a failed or killed attempt leaves no output behind.
/// </summary>
public sealed class StepContext
{
    private readonly string _inputDirectory;
    private readonly string _outputDirectory;
    private readonly ConcurrentDictionary<string, string> _outputs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _metrics = new(StringComparer.Ordinal);
    private readonly Action<string> _log;

    internal StepContext(
        FlowRunContext flow, StepDefinition step, string runId, FlowItem? item, int itemIndex, int attempt,
        IReadOnlyDictionary<string, string> parameters, IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> inputs,
        string workDirectory, Action<string> log)
    {
        Flow = flow;
        Step = step;
        RunId = runId;
        Item = item;
        ItemIndex = itemIndex;
        Attempt = attempt;
        Parameters = parameters;
        Inputs = inputs;
        _inputDirectory = Path.Combine(workDirectory, "in");
        _outputDirectory = Path.Combine(workDirectory, "out");
        Directory.CreateDirectory(_outputDirectory);
        WorkDirectory = workDirectory;
        _log = log;
    }

    internal FlowRunContext Flow { get; }

    /// <summary>The flow's name.</summary>
    public string FlowName => Flow.Definition.Name;

    /// <summary>The flow run.</summary>
    public string FlowRunId => Flow.RunId;

    /// <summary>The step as written in the flow.</summary>
    public StepDefinition Step { get; }

    /// <summary>The run of this step (of this item for a foreach step).</summary>
    public string RunId { get; }

    /// <summary>The foreach item, or null.</summary>
    public FlowItem? Item { get; }

    /// <summary>The item's 0-based index, or -1.</summary>
    public int ItemIndex { get; }

    /// <summary>1 for the first attempt.</summary>
    public int Attempt { get; }

    /// <summary>The parameters after substitution, with the kind's defaults filled in.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>The connected inputs by name (an unconnected optional input is absent).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<StepArtifact>> Inputs { get; }

    /// <summary>A scratch folder of this attempt, removed afterwards.</summary>
    public string WorkDirectory { get; }

    /// <summary>The tracking store.</summary>
    public ITrackingStore Store => Flow.Store;

    /// <summary>Lifecycle operations over <see cref="Store"/>.</summary>
    public ModelLifecycle Lifecycle => Flow.Lifecycle;

    /// <summary>Cores this attempt may use: the machine's cores shared among the items of a foreach running at once.</summary>
    public int Threads => Math.Max(1, Environment.ProcessorCount / Math.Max(1, Step.ForEach is null ? 1 : Step.Parallel));

    /// <summary>The steps finished so far in this flow run (for a summary).</summary>
    public IReadOnlyList<StepRecord> CompletedSteps => Flow.CompletedSteps;

    /// <summary>What the step should say about an item in messages: <c>STEP</c> or <c>STEP[i]</c>.</summary>
    public string Label => ItemIndex < 0 ? Step.Name : $"{Step.Name}[{ItemIndex.ToString(CultureInfo.InvariantCulture)}]";

    /// <summary>True when the input is connected.</summary>
    public bool HasInput(string name) => Inputs.TryGetValue(name, out var list) && list.Count > 0;

    /// <summary>The files of an input, verified against their hashes and named with their original file names.</summary>
    public async Task<IReadOnlyList<string>> InputPathsAsync(string name, CancellationToken cancellationToken)
    {
        if (!Inputs.TryGetValue(name, out var artifacts) || artifacts.Count == 0)
        {
            throw new StepFailedException($"step {Label}: input '{name}' is not connected");
        }

        var paths = new List<string>(artifacts.Count);
        for (var i = 0; i < artifacts.Count; i++)
        {
            var a = artifacts[i];
            var blob = await Store.Artifacts.GetVerifiedPathAsync(a.Sha256, $"step {Label} input '{name}'", cancellationToken).ConfigureAwait(false);
            var dir = Path.Combine(_inputDirectory, name, i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, a.FileName);
            if (!File.Exists(path))
            {
                try
                {
                    File.CreateSymbolicLink(path, blob); // readers see the extension; the blob is not copied
                }
                catch (IOException)
                {
                    File.Copy(blob, path, overwrite: true);
                }
            }

            paths.Add(path);
        }

        return paths;
    }

    /// <summary>The single file of an input (the first when it holds several).</summary>
    public async Task<string> InputPathAsync(string name, CancellationToken cancellationToken) =>
        (await InputPathsAsync(name, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Where to write output <paramref name="name"/> as <paramref name="fileName"/> (its extension says the format). Written
    /// files are committed to the artifact store when the attempt succeeds.
    /// </summary>
    public string OutputPath(string name, string fileName)
    {
        var dir = Path.Combine(_outputDirectory, name);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, fileName);
        _outputs[name] = path;
        return path;
    }

    /// <summary>Writes a text output (JSON reports, summaries).</summary>
    public async Task WriteOutputTextAsync(string name, string fileName, string text, CancellationToken cancellationToken) =>
        await File.WriteAllTextAsync(OutputPath(name, fileName), text, cancellationToken).ConfigureAwait(false);

    /// <summary>Records a metric of the step's run (logged when the attempt succeeds).</summary>
    public void Metric(string key, double value) => _metrics[key] = value;

    /// <summary>Writes a line to the step's log (<c>log.txt</c> on its run) and to the flow's progress.</summary>
    public void Log(string line) => _log(line);

    internal IReadOnlyDictionary<string, string> WrittenOutputs => _outputs;

    internal IReadOnlyDictionary<string, double> Metrics => _metrics;

    /// <summary>A parameter's text (empty when given as empty).</summary>
    public string String(string name) =>
        Parameters.TryGetValue(name, out var v) ? v : throw new StepFailedException($"step {Label}: parameter '{name}' is not set");

    /// <summary>A parameter's text, or null when it is empty.</summary>
    public string? Optional(string name) => Parameters.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    /// <summary>A whole-number parameter.</summary>
    public long Long(string name, long min = long.MinValue)
    {
        var text = String(name);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
        {
            throw new StepFailedException($"step {Label}: parameter '{name}' must be a whole number{(min > long.MinValue ? $" >= {min.ToString(CultureInfo.InvariantCulture)}" : "")}, got '{text}'");
        }

        return v;
    }

    /// <summary>A number parameter.</summary>
    public double Double(string name)
    {
        var text = String(name);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new StepFailedException($"step {Label}: parameter '{name}' must be a number, got '{text}'");
        }

        return v;
    }

    /// <summary>A true/false parameter.</summary>
    public bool Bool(string name)
    {
        var text = String(name).Trim();
        return text.ToLowerInvariant() switch
        {
            "true" or "yes" or "1" => true,
            "false" or "no" or "0" or "" => false,
            _ => throw new StepFailedException($"step {Label}: parameter '{name}' must be true or false, got '{text}'"),
        };
    }

    /// <summary>A comma-separated list parameter (empty: null).</summary>
    public IReadOnlyList<string>? List(string name) =>
        Optional(name) is { } text ? [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null;
}
