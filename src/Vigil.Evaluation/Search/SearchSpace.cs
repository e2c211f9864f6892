using System.Globalization;
using Vigil.Data;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vigil.Evaluation;

/// <summary>One searched parameter: a list of values, or a numeric range to sample from.</summary>
/// <param name="Name">The parameter name (as in <c>Vigil.Detectors.TrainParameters</c>).</param>
/// <param name="Values">The values to try, as text; null for a range.</param>
/// <param name="Min">Range lower bound (inclusive).</param>
/// <param name="Max">Range upper bound (inclusive).</param>
/// <param name="Log">Sample the range uniformly on a log scale (both bounds must be &gt; 0).</param>
/// <param name="Integer">Sample whole numbers (both bounds are written without a decimal point).</param>
public sealed record SearchDimension(string Name, IReadOnlyList<string>? Values, double Min = 0, double Max = 0, bool Log = false, bool Integer = false)
{
    /// <summary>True for a value list.</summary>
    public bool IsList => Values is not null;
}

/// <summary>A search space file (or text) that does not parse; the message names the source and line.</summary>
public sealed class SearchSpaceException(string message) : Vigil.Data.VigilException(message);

/// <summary>
/// Hyper-parameter candidates: a grid (the cartesian product of value lists) or seeded random trials. Read from
/// YAML mapping parameter names to a list (<c>estimators: [50, 100, 200]</c>), a single value
/// (<c>bootstrap: true</c>), or a range (<c>learningRate: {min: 0.01, max: 0.3, log: true}</c>; whole-number
/// bounds sample whole numbers).
/// </summary>
public sealed class SearchSpace
{
    /// <summary>Creates a space over <paramref name="dimensions"/> (names must be distinct).</summary>
    public SearchSpace(IReadOnlyList<SearchDimension> dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in dimensions)
        {
            if (!seen.Add(d.Name))
            {
                throw new ArgumentException($"The search space names parameter '{d.Name}' twice.", nameof(dimensions));
            }

            if (d.Values is { Count: 0 })
            {
                throw new ArgumentException($"Parameter '{d.Name}' lists no value.", nameof(dimensions));
            }

            if (!d.IsList && !(d.Min <= d.Max && double.IsFinite(d.Min) && double.IsFinite(d.Max) && (!d.Log || d.Min > 0)))
            {
                throw new ArgumentException($"Parameter '{d.Name}': the range needs finite min <= max{(d.Log ? " and min > 0 for log" : "")}.", nameof(dimensions));
            }
        }

        Dimensions = dimensions;
    }

    /// <summary>The searched parameters in file order.</summary>
    public IReadOnlyList<SearchDimension> Dimensions { get; }

    /// <summary>True when every dimension is a list, so <see cref="Grid"/> works.</summary>
    public bool IsDiscrete => Dimensions.All(d => d.IsList);

    /// <summary>The number of grid candidates (product of the list lengths); null when some dimension is a range.</summary>
    public long? GridSize
    {
        get
        {
            long n = 1;
            foreach (var d in Dimensions)
            {
                if (!d.IsList)
                {
                    return null;
                }

                n = checked(n * d.Values!.Count);
            }

            return n;
        }
    }

    /// <summary>
    /// Every combination of the lists, the first parameter varying slowest (as nested loops in file order).
    /// </summary>
    /// <exception cref="InvalidOperationException">A dimension is a range (use <see cref="Sample"/>).</exception>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Grid()
    {
        var size = GridSize ?? throw new InvalidOperationException(
            $"a grid needs value lists, but '{Dimensions.First(d => !d.IsList).Name}' is a range; sample it with trials instead");
        var result = new List<IReadOnlyDictionary<string, string>>((int)Math.Min(size, 1 << 20));
        for (long i = 0; i < size; i++)
        {
            result.Add(Combination(i));
        }

        return result;
    }

    /// <summary>
    /// <paramref name="trials"/> candidates drawn with a <see cref="VigilRandom"/> seeded by <paramref name="seed"/>
    /// (same seed, same candidates). A discrete space gives distinct grid combinations (all of them, in grid order,
    /// when there are no more than <paramref name="trials"/>); a space with ranges draws every parameter independently.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Sample(int trials, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, 1);
        var rng = new VigilRandom(seed);
        if (GridSize is { } size)
        {
            if (size <= trials)
            {
                return Grid();
            }

            // Distinct combinations: a partial Fisher-Yates over the grid indices.
            var picked = new Dictionary<long, long>();
            var result = new List<IReadOnlyDictionary<string, string>>(trials);
            for (long i = 0; i < trials; i++)
            {
                var j = i + (long)(rng.NextDouble() * (size - i));
                var atJ = picked.TryGetValue(j, out var pj) ? pj : j;
                picked[j] = picked.TryGetValue(i, out var pi) ? pi : i;
                result.Add(Combination(atJ));
            }

            return result;
        }

        var draws = new List<IReadOnlyDictionary<string, string>>(trials);
        for (var t = 0; t < trials; t++)
        {
            var values = new OrderedDictionary<string, string>(Dimensions.Count, StringComparer.Ordinal);
            foreach (var d in Dimensions)
            {
                values[d.Name] = d.IsList ? d.Values![rng.Next(d.Values.Count)] : Draw(d, rng);
            }

            draws.Add(values);
        }

        return draws;
    }

    /// <summary>Parses YAML text; <paramref name="source"/> (a file name) prefixes every error message.</summary>
    /// <exception cref="SearchSpaceException">Not a mapping of parameter names to lists, values or ranges.</exception>
    public static SearchSpace ParseYaml(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new SearchSpaceException($"{source} line {e.Start.Line.ToString(CultureInfo.InvariantCulture)}: not valid YAML: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root || root.Children.Count == 0)
        {
            throw new SearchSpaceException($"{source}: expected a mapping of parameter names to value lists, e.g. 'estimators: [50, 100]'");
        }

        var dimensions = new List<SearchDimension>();
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var line = Line(keyNode);
            var name = (keyNode as YamlScalarNode)?.Value;
            if (string.IsNullOrEmpty(name))
            {
                throw new SearchSpaceException($"{source} line {line}: a parameter name must be plain text");
            }

            if (dimensions.Any(d => d.Name == name))
            {
                throw new SearchSpaceException($"{source} line {line}: parameter '{name}' appears twice");
            }

            dimensions.Add(valueNode switch
            {
                YamlSequenceNode list => new SearchDimension(name, ListValues(list, name, source)),
                YamlScalarNode scalar when !string.IsNullOrEmpty(scalar.Value) => new SearchDimension(name, [scalar.Value]),
                YamlMappingNode range => Range(range, name, source),
                _ => throw new SearchSpaceException($"{source} line {line}: '{name}' needs a value, a list like [1, 2] or a range like {{min: 1, max: 10}}"),
            });
        }

        return new SearchSpace(dimensions);
    }

    private IReadOnlyDictionary<string, string> Combination(long index)
    {
        var values = new OrderedDictionary<string, string>(Dimensions.Count, StringComparer.Ordinal);
        var names = new string[Dimensions.Count];
        var picks = new string[Dimensions.Count];
        for (var k = Dimensions.Count - 1; k >= 0; k--)
        {
            var list = Dimensions[k].Values!;
            names[k] = Dimensions[k].Name;
            picks[k] = list[(int)(index % list.Count)];
            index /= list.Count;
        }

        for (var k = 0; k < names.Length; k++)
        {
            values[names[k]] = picks[k];
        }

        return values;
    }

    private static string Draw(SearchDimension d, VigilRandom rng)
    {
        var u = rng.NextDouble();
        var v = d.Log ? Math.Exp(Math.Log(d.Min) + (u * (Math.Log(d.Max) - Math.Log(d.Min)))) : d.Min + (u * (d.Max - d.Min));
        if (d.Integer)
        {
            return Math.Clamp(Math.Round(v), d.Min, d.Max).ToString("0", CultureInfo.InvariantCulture);
        }

        // six significant digits: readable in leaderboards and run params, and parses back exactly
        var rounded = double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return Math.Clamp(rounded, d.Min, d.Max).ToString(CultureInfo.InvariantCulture);
    }

    private static string[] ListValues(YamlSequenceNode list, string name, string source)
    {
        if (list.Children.Count == 0)
        {
            throw new SearchSpaceException($"{source} line {Line(list)}: '{name}' lists no value");
        }

        var values = new string[list.Children.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = list.Children[i] is YamlScalarNode { Value: { Length: > 0 } v }
                ? v
                : throw new SearchSpaceException($"{source} line {Line(list.Children[i])}: the values of '{name}' must be plain values");
        }

        return values;
    }

    private static SearchDimension Range(YamlMappingNode node, string name, string source)
    {
        string? min = null, max = null;
        var log = false;
        foreach (var (k, v) in node.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            var value = (v as YamlScalarNode)?.Value;
            switch (key)
            {
                case "min": min = value; break;
                case "max": max = value; break;
                case "log":
                    log = value is "true" or "yes" ? true : value is "false" or "no" ? false
                        : throw new SearchSpaceException($"{source} line {Line(v)}: '{name}': log must be true or false");
                    break;
                default:
                    throw new SearchSpaceException($"{source} line {Line(k)}: '{name}': unknown range key '{key}'; use min, max and log");
            }
        }

        var line = Line(node);
        if (!TryNumber(min, out var lo) || !TryNumber(max, out var hi))
        {
            throw new SearchSpaceException($"{source} line {line}: '{name}': a range needs numeric min and max, e.g. {{min: 0.01, max: 0.3}}");
        }

        if (!(lo <= hi) || (log && lo <= 0))
        {
            throw new SearchSpaceException($"{source} line {line}: '{name}': the range needs min <= max{(log ? " and min > 0 for log" : "")}");
        }

        var integer = IsWhole(min!) && IsWhole(max!);
        return new SearchDimension(name, null, lo, hi, log, integer);
    }

    private static bool IsWhole(string text) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);

    private static bool TryNumber(string? text, out double value)
    {
        value = 0;
        return text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static string Line(YamlNode node) => node.Start.Line.ToString(CultureInfo.InvariantCulture);
}
