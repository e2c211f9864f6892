using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vigil.Pipelines;

/// <summary>
/// Reads flow files:
/// <code>
/// name: retrain
/// params: { sample-size: 20000 }
/// steps:
///   - name: candidates
///     uses: train                  # a step kind
///     foreach: [{model: iforest}]  # or a grid {estimators: [50, 100]} or "${params.candidates}"
///     parallel: 2                  # foreach items at once
///     retries: 2                   # attempts after the first
///     backoff: 1s                  # first retry delay, doubling
///     timeout: 10m                 # per attempt
///     inputs: { data: split.train }  # STEP.OUTPUT of an earlier step, or file:PATH
///     with: { model: "${item.model}" }
/// </code>
/// Every error names the source and line, and everything is checked before a flow runs.
/// </summary>
public static partial class FlowYaml
{
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    private static partial Regex OutputPattern();

    [GeneratedRegex(@"\$\{([^}]*)\}")]
    internal static partial Regex TemplatePattern();

    private static readonly HashSet<string> StepKeys = new(StringComparer.Ordinal)
    {
        "name", "uses", "with", "inputs", "outputs", "retries", "backoff", "timeout", "foreach", "parallel",
    };

    /// <summary>Parses and checks a flow; <paramref name="source"/> (a file name) prefixes every error.</summary>
    /// <exception cref="FlowException">Not valid YAML, an unknown step kind, parameter, input or step reference, a bad value.</exception>
    public static FlowDefinition Parse(string yaml, string source, StepRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(registry);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new FlowException($"{source} line {e.Start.Line.ToString(CultureInfo.InvariantCulture)}: not valid YAML: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new FlowException($"{source}: expected a mapping with 'name' and 'steps'");
        }

        string? name = null;
        var description = string.Empty;
        var parameters = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        YamlSequenceNode? stepNodes = null;
        foreach (var (k, v) in root.Children)
        {
            var key = Scalar(k, source, "a key");
            switch (key)
            {
                case "name":
                    name = Scalar(v, source, "'name'");
                    break;
                case "description":
                    description = Scalar(v, source, "'description'");
                    break;
                case "params":
                    foreach (var (pk, pv) in Mapping(v, source, "'params'").Children)
                    {
                        var pname = Scalar(pk, source, "a parameter name");
                        if (!parameters.TryAdd(pname, pv is YamlScalarNode s ? s.Value ?? string.Empty : Flatten(pv)))
                        {
                            throw new FlowException($"{source} line {Line(pk)}: parameter '{pname}' appears twice");
                        }
                    }

                    break;
                case "steps":
                    stepNodes = v as YamlSequenceNode ?? throw new FlowException($"{source} line {Line(v)}: 'steps' must be a list of steps");
                    break;
                default:
                    throw new FlowException($"{source} line {Line(k)}: unknown key '{key}'; a flow has name, description, params and steps");
            }
        }

        if (string.IsNullOrWhiteSpace(name) || !NamePattern().IsMatch(name))
        {
            throw new FlowException($"{source}: the flow needs a 'name' of letters, digits, '-' and '_'");
        }

        if (stepNodes is null || stepNodes.Children.Count == 0)
        {
            throw new FlowException($"{source}: the flow has no steps");
        }

        var steps = new List<StepDefinition>();
        foreach (var node in stepNodes.Children)
        {
            steps.Add(ParseStep(node, source, registry, parameters, steps));
        }

        return new FlowDefinition(name, description, parameters, steps, yaml);
    }

    private static StepDefinition ParseStep(YamlNode node, string source, StepRegistry registry, IReadOnlyDictionary<string, string> flowParams, List<StepDefinition> earlier)
    {
        var map = Mapping(node, source, "a step");
        var line = Line(node);
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = Scalar(k, source, "a key");
            if (!StepKeys.Contains(key))
            {
                throw new FlowException($"{source} line {Line(k)}: unknown step key '{key}'; a step has {string.Join(", ", StepKeys)}");
            }

            values[key] = v;
        }

        var name = values.TryGetValue("name", out var n) ? Scalar(n, source, "'name'") : null;
        if (string.IsNullOrWhiteSpace(name) || !NamePattern().IsMatch(name))
        {
            throw new FlowException($"{source} line {line}: every step needs a 'name' of letters, digits, '-' and '_'");
        }

        var where = $"{source} line {line}: step '{name}'";
        if (earlier.Any(s => s.Name == name))
        {
            throw new FlowException($"{where}: the name is used by an earlier step");
        }

        var kindName = values.TryGetValue("uses", out var u) ? Scalar(u, source, "'uses'") : null;
        var kind = kindName is null ? null : registry.Find(kindName);
        if (kind is null)
        {
            throw new FlowException($"{where}: {(kindName is null ? "needs 'uses: KIND'" : $"unknown step kind '{kindName}'")}; kinds are: {string.Join(", ", registry.All.Select(k => k.Name))}");
        }

        var with = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        if (values.TryGetValue("with", out var w))
        {
            foreach (var (pk, pv) in Mapping(w, source, "'with'").Children)
            {
                var pname = Scalar(pk, source, "a parameter name");
                if (!kind.AcceptsExtraParameters && kind.Parameters.All(p => p.Name != pname))
                {
                    throw new FlowException($"{where}: '{kind.Name}' has no parameter '{pname}'; its parameters are: {Names(kind.Parameters.Select(p => p.Name))}");
                }

                with[pname] = pv is YamlScalarNode s ? s.Value ?? string.Empty : Flatten(pv);
            }
        }

        foreach (var p in kind.Parameters.Where(p => p.Required && !with.ContainsKey(p.Name)))
        {
            throw new FlowException($"{where}: '{kind.Name}' needs parameter '{p.Name}' ({p.Description})");
        }

        var outputs = new List<string>();
        if (values.TryGetValue("outputs", out var o))
        {
            if (!kind.FlowDeclaresPorts)
            {
                throw new FlowException($"{where}: '{kind.Name}' declares its own outputs ({Names(kind.Outputs.Select(x => x.Name))}); only exec takes 'outputs'");
            }

            foreach (var item in (o as YamlSequenceNode ?? throw new FlowException($"{where}: 'outputs' must be a list of names")).Children)
            {
                var oname = Scalar(item, source, "an output name");
                if (!OutputPattern().IsMatch(oname) || outputs.Any(x => StepKind.OutputName(x) == StepKind.OutputName(oname)))
                {
                    throw new FlowException($"{where}: output '{oname}' must be a unique NAME or NAME.EXT (the file it is written as) of letters, digits, '-' and '_'");
                }

                outputs.Add(oname);
            }
        }

        var inputs = new OrderedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (values.TryGetValue("inputs", out var i))
        {
            foreach (var (ik, iv) in Mapping(i, source, "'inputs'").Children)
            {
                var iname = Scalar(ik, source, "an input name");
                var port = kind.Inputs.FirstOrDefault(p => p.Name == iname);
                if (port is null && !kind.FlowDeclaresPorts)
                {
                    throw new FlowException($"{where}: '{kind.Name}' has no input '{iname}'; its inputs are: {Names(kind.Inputs.Select(p => p.Name))}");
                }

                IReadOnlyList<string> sources = iv switch
                {
                    YamlScalarNode s => [s.Value ?? string.Empty],
                    YamlSequenceNode list => [.. list.Children.Select(c => Scalar(c, source, "an input source"))],
                    _ => throw new FlowException($"{where}: input '{iname}' must be STEP.OUTPUT, file:PATH or a list of them"),
                };
                if (sources.Count > 1 && port is { Many: false })
                {
                    throw new FlowException($"{where}: input '{iname}' takes one source, got {sources.Count.ToString(CultureInfo.InvariantCulture)}");
                }

                foreach (var s in sources)
                {
                    CheckSource(s, where, iname, earlier, registry);
                }

                inputs[iname] = sources;
            }
        }

        foreach (var p in kind.Inputs.Where(p => p.Required && !inputs.ContainsKey(p.Name)))
        {
            throw new FlowException($"{where}: '{kind.Name}' needs input '{p.Name}' ({p.Description})");
        }

        var retries = values.TryGetValue("retries", out var r) ? Int(r, where, "retries", 0, 100) : 0;
        var backoff = values.TryGetValue("backoff", out var b) ? Duration(b, where, "backoff") : TimeSpan.FromSeconds(1);
        TimeSpan? timeout = values.TryGetValue("timeout", out var t) ? Duration(t, where, "timeout") : null;
        if (timeout is { } to && to <= TimeSpan.Zero)
        {
            throw new FlowException($"{where}: 'timeout' must be longer than zero");
        }

        ForEachSource? forEach = null;
        if (values.TryGetValue("foreach", out var f))
        {
            forEach = f is YamlScalarNode fs
                ? new ForEachSource(null, fs.Value ?? string.Empty)
                : new ForEachSource(Items(f, where), null);
        }

        var parallel = values.TryGetValue("parallel", out var pa) ? Int(pa, where, "parallel", 1, 1024) : 1;
        if (forEach is null && values.ContainsKey("parallel"))
        {
            throw new FlowException($"{where}: 'parallel' applies to a foreach step only");
        }

        var step = new StepDefinition(name, kind.Name, with, inputs, outputs, retries, backoff, timeout, forEach, parallel, (int)node.Start.Line);
        CheckTemplates(step, where, flowParams);
        return step;
    }

    private static void CheckSource(string text, string where, string input, List<StepDefinition> earlier, StepRegistry registry)
    {
        if (text.StartsWith("file:", StringComparison.Ordinal))
        {
            return;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var step = dot > 0 ? earlier.FirstOrDefault(s => s.Name == text[..dot]) : null;
        if (step is null)
        {
            throw new FlowException($"{where}: input '{input}' = '{text}' is neither STEP.OUTPUT of an earlier step nor file:PATH");
        }

        var output = text[(dot + 1)..];
        var kind = registry.Find(step.Kind)!;
        List<string> outputs = kind.FlowDeclaresPorts ? [.. step.Outputs.Select(StepKind.OutputName)] : [.. kind.Outputs.Select(p => p.Name)];
        if (!outputs.Contains(output))
        {
            throw new FlowException($"{where}: input '{input}': step '{step.Name}' has no output '{output}'; its outputs are: {Names(outputs)}");
        }
    }

    private static void CheckTemplates(StepDefinition step, string where, IReadOnlyDictionary<string, string> flowParams)
    {
        var texts = step.With.Values.Concat(step.Inputs.Values.SelectMany(v => v));
        if (step.ForEach?.Template is { } ft)
        {
            texts = texts.Append(ft);
        }

        foreach (var text in texts)
        {
            foreach (Match m in TemplatePattern().Matches(text))
            {
                var reference = m.Groups[1].Value.Trim();
                if (reference.StartsWith("params.", StringComparison.Ordinal))
                {
                    var p = reference["params.".Length..];
                    if (!flowParams.ContainsKey(p))
                    {
                        throw new FlowException($"{where}: '{m.Value}' names no flow parameter; the flow's params are: {Names(flowParams.Keys)}");
                    }
                }
                else if (reference == "item" || reference.StartsWith("item.", StringComparison.Ordinal))
                {
                    if (step.ForEach is null)
                    {
                        throw new FlowException($"{where}: '{m.Value}' is only defined in a foreach step");
                    }
                }
                else if (reference is not ("flow.name" or "flow.run" or "run.id" or "inputs" or "outputs") &&
                         !reference.StartsWith("inputs.", StringComparison.Ordinal) && !reference.StartsWith("outputs.", StringComparison.Ordinal))
                {
                    throw new FlowException($"{where}: unknown reference '{m.Value}'; use ${{params.NAME}}, ${{item}}, ${{item.KEY}}, ${{flow.name}}, ${{flow.run}}");
                }
            }
        }
    }

    /// <summary>Parses a foreach template's text (after substitution) into items.</summary>
    internal static IReadOnlyList<FlowItem> ParseItems(string text, string where)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new FlowException($"{where}: foreach: not valid YAML: {e.Message}");
        }

        if (stream.Documents.Count == 0)
        {
            throw new FlowException($"{where}: foreach: no items");
        }

        return Items(stream.Documents[0].RootNode, where);
    }

    /// <summary>A list (scalars or mappings) or a grid mapping (every combination, the last key varying fastest).</summary>
    private static List<FlowItem> Items(YamlNode node, string where)
    {
        var items = new List<FlowItem>();
        switch (node)
        {
            case YamlSequenceNode list:
                foreach (var c in list.Children)
                {
                    items.Add(c switch
                    {
                        YamlScalarNode s => new FlowItem(s.Value ?? string.Empty, null),
                        YamlMappingNode m => new FlowItem(null, [.. m.Children.Select(kv => new KeyValuePair<string, string>(
                            Scalar(kv.Key, where, "a field name"), kv.Value is YamlScalarNode sv ? sv.Value ?? string.Empty : throw new FlowException($"{where}: foreach item field must be a plain value")))]),
                        _ => throw new FlowException($"{where}: a foreach item must be a value or a mapping of values"),
                    });
                }

                break;
            case YamlMappingNode grid:
                IEnumerable<List<KeyValuePair<string, string>>> combos = [[]];
                foreach (var (k, v) in grid.Children)
                {
                    var key = Scalar(k, where, "a field name");
                    var options = v switch
                    {
                        YamlSequenceNode l => l.Children.Select(c => Scalar(c, where, "a grid value")).ToList(),
                        YamlScalarNode s => [s.Value ?? string.Empty],
                        _ => throw new FlowException($"{where}: foreach grid '{key}' must be a value or a list"),
                    };
                    combos = [.. combos.SelectMany(c => options.Select(o => new List<KeyValuePair<string, string>>(c) { new(key, o) }))];
                }

                items.AddRange(combos.Select(c => new FlowItem(null, c)));
                break;
            default:
                throw new FlowException($"{where}: foreach must be a list, a grid mapping or a ${{params.NAME}} holding one");
        }

        if (items.Count == 0)
        {
            throw new FlowException($"{where}: foreach has no items");
        }

        return items;
    }

    /// <summary>Durations: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c> or a number of seconds.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ when text.EndsWith('h') => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < 0 || v * scale > TimeSpan.FromDays(7).TotalSeconds)
        {
            throw new FormatException($"'{text}' is not a duration like 500ms, 30s, 5m or 2h");
        }

        return TimeSpan.FromSeconds(v * scale);
    }

    private static TimeSpan Duration(YamlNode node, string where, string key)
    {
        try
        {
            return ParseDuration(Scalar(node, where, $"'{key}'"));
        }
        catch (FormatException e)
        {
            throw new FlowException($"{where}: '{key}': {e.Message}");
        }
    }

    private static int Int(YamlNode node, string where, string key, int min, int max)
    {
        var text = Scalar(node, where, $"'{key}'");
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new FlowException($"{where}: '{key}' must be a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, got '{text}'");
        }

        return v;
    }

    private static string Scalar(YamlNode node, string source, string what) =>
        node is YamlScalarNode s ? s.Value ?? string.Empty : throw new FlowException($"{source} line {Line(node)}: {what} must be a plain value");

    private static YamlMappingNode Mapping(YamlNode node, string source, string what) =>
        node as YamlMappingNode ?? throw new FlowException($"{source} line {Line(node)}: {what} must be a mapping");

    /// <summary>A non-scalar parameter value as flow-style YAML text (e.g. a grid given inline).</summary>
    private static string Flatten(YamlNode node)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        var text = writer.ToString().Trim();
        return text.EndsWith("...", StringComparison.Ordinal) ? text[..^3].Trim() : text;
    }

    private static string Line(YamlNode node) => node.Start.Line.ToString(CultureInfo.InvariantCulture);

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "(none)" : string.Join(", ", list);
    }
}
