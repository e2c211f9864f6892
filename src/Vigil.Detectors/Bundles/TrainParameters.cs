using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// One tunable training setting of a detector kind, under the single name used everywhere: the bundle
/// manifest's <see cref="BundleManifest.Parameters"/>, tracked run params (<c>vigil train --experiment</c>) and
/// <c>vigil search</c> grids.
/// </summary>
public sealed class TrainParameter
{
    private readonly Func<TrainSpec, string> _format;
    private readonly Func<TrainSpec, string, TrainSpec> _apply;

    internal TrainParameter(string kind, string name, string expects, Func<TrainSpec, string> format, Func<TrainSpec, string, TrainSpec> apply)
    {
        Kind = kind;
        Name = name;
        Expects = expects;
        _format = format;
        _apply = apply;
    }

    /// <summary>The detector kind the setting belongs to (<c>iforest</c>, <c>autoencoder</c>, <c>lightgbm</c>).</summary>
    public string Kind { get; }

    /// <summary>The parameter name, e.g. <c>maxSamples</c>.</summary>
    public string Name { get; }

    /// <summary>What values are accepted, for messages and help, e.g. "a whole number >= 1".</summary>
    public string Expects { get; }

    /// <summary>The setting's value in <paramref name="spec"/>, formatted culture-invariantly (parses back with <see cref="Apply"/>).</summary>
    public string Format(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return _format(spec);
    }

    /// <summary>A copy of <paramref name="spec"/> with the setting parsed from <paramref name="value"/>.</summary>
    /// <exception cref="TrainParameterException">The value does not parse.</exception>
    public TrainSpec Apply(TrainSpec spec, string value)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(value);
        try
        {
            return _apply(spec, value.Trim());
        }
        catch (FormatException)
        {
            throw new TrainParameterException(Name, $"{Kind} parameter '{Name}' = '{value}': expected {Expects}");
        }
        catch (OverflowException)
        {
            throw new TrainParameterException(Name, $"{Kind} parameter '{Name}' = '{value}': expected {Expects}");
        }
    }
}

/// <summary>An unknown training parameter name or a value that does not parse; the message names both.</summary>
public sealed class TrainParameterException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public TrainParameterException(string parameter, string message)
        : base(message) => Parameter = parameter;

    /// <summary>The parameter name as given.</summary>
    public string Parameter { get; }
}

/// <summary>
/// The tunable settings of every detector kind, under one set of names (<see cref="TrainParameter"/>).
/// <see cref="ModelBundle.Train"/> records <see cref="Describe"/> in the manifest; the CLI logs the same
/// names as run params and accepts them in search grids.
/// </summary>
public static class TrainParameters
{
    private static readonly Dictionary<string, TrainParameter[]> ByKind = new(StringComparer.Ordinal)
    {
        [IsolationForestModel.DetectorKind] =
        [
            Forest("estimators", "a whole number >= 1", o => I(o.Estimators), (o, v) => o with { Estimators = ParseInt(v) }),
            Forest("maxSamples", "'auto', a row count or a fraction like 0.5", o => o.MaxSamples.ToString(), (o, v) => o with { MaxSamples = MaxSamples.Parse(v) }),
            Forest("maxFeatures", "a fraction in (0, 1] or a whole count", o => D(o.MaxFeatures), (o, v) => o with { MaxFeatures = ParseDouble(v) }),
            Forest("bootstrap", "true or false", o => B(o.Bootstrap), (o, v) => o with { Bootstrap = ParseBool(v) }),
            Forest("contamination", "'auto' or a fraction in (0, 0.5]", o => o.Contamination is { } c ? D(c) : "auto",
                (o, v) => o with { Contamination = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseDouble(v) }),
            Forest("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
        ],
        [AutoencoderModel.DetectorKind] =
        [
            Auto("hiddenLayers", "'auto' or layer widths like 64,32,8,32,64", o => o.HiddenLayers is { } l ? string.Join(",", l.Select(I)) : "auto",
                (o, v) => o with { HiddenLayers = v.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : ParseLayers(v) }),
            Auto("hiddenActivation", "relu, tanh, sigmoid or linear", o => Name(o.HiddenActivation), (o, v) => o with { HiddenActivation = ParseActivation(v) }),
            Auto("outputActivation", "relu, tanh, sigmoid or linear", o => Name(o.OutputActivation), (o, v) => o with { OutputActivation = ParseActivation(v) }),
            Auto("epochs", "a whole number >= 1", o => I(o.Epochs), (o, v) => o with { Epochs = ParseInt(v) }),
            Auto("batchSize", "a whole number >= 1", o => I(o.BatchSize), (o, v) => o with { BatchSize = ParseInt(v) }),
            Auto("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) }),
            Auto("weightDecay", "a number >= 0", o => D(o.WeightDecay), (o, v) => o with { WeightDecay = ParseDouble(v) }),
            Auto("validationFraction", "a fraction in [0, 0.5]", o => D(o.ValidationFraction), (o, v) => o with { ValidationFraction = ParseDouble(v) }),
            Auto("patience", "a whole number >= 1", o => I(o.Patience), (o, v) => o with { Patience = ParseInt(v) }),
            Auto("trimFraction", "a fraction in [0, 0.5)", o => D(o.TrimFraction), (o, v) => o with { TrimFraction = ParseDouble(v) }),
            Auto("contamination", "a fraction in (0, 0.5]", o => D(o.Contamination), (o, v) => o with { Contamination = ParseDouble(v) }),
            Auto("seed", "a whole number >= 0", o => I(o.Seed), (o, v) => o with { Seed = ParseULong(v) }),
        ],
        [LightGbmModel.DetectorKind] =
        [
            Gbm("iterations", "a whole number >= 1", o => I(o.Iterations), (o, v) => o with { Iterations = ParseInt(v) }),
            Gbm("leaves", "a whole number >= 2", o => I(o.Leaves), (o, v) => o with { Leaves = ParseInt(v) }),
            Gbm("learningRate", "a number > 0", o => D(o.LearningRate), (o, v) => o with { LearningRate = ParseDouble(v) }),
            Gbm("minRowsPerLeaf", "a whole number >= 1", o => I(o.MinRowsPerLeaf), (o, v) => o with { MinRowsPerLeaf = ParseInt(v) }),
            Gbm("minHessianPerLeaf", "a number >= 0", o => D(o.MinHessianPerLeaf), (o, v) => o with { MinHessianPerLeaf = ParseDouble(v) }),
            Gbm("l2", "a number >= 0", o => D(o.L2), (o, v) => o with { L2 = ParseDouble(v) }),
            Gbm("maxBins", "a whole number >= 2", o => I(o.MaxBins), (o, v) => o with { MaxBins = ParseInt(v) }),
            Gbm("unbalanced", "true or false", o => B(o.Unbalanced), (o, v) => o with { Unbalanced = ParseBool(v) }),
            Gbm("scalePositiveWeight", "a number > 0", o => D(o.ScalePositiveWeight), (o, v) => o with { ScalePositiveWeight = ParseDouble(v) }),
            Gbm("seed", "a whole number", o => I(o.Seed), (o, v) => o with { Seed = ParseInt(v) }),
        ],
    };

    /// <summary>The settings of detector kind <paramref name="kind"/>, in a fixed order.</summary>
    /// <exception cref="ArgumentException">Unknown kind.</exception>
    public static IReadOnlyList<TrainParameter> For(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return ByKind.TryGetValue(kind, out var list)
            ? list
            : throw new ArgumentException($"Unknown model '{kind}'; known models: {string.Join(", ", ModelBundle.KnownKinds)}.");
    }

    /// <summary>The setting named <paramref name="name"/> (exact, case-sensitive) of <paramref name="kind"/>.</summary>
    /// <exception cref="TrainParameterException">No such setting; the message lists the valid names.</exception>
    public static TrainParameter Find(string kind, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var p in For(kind))
        {
            if (string.Equals(p.Name, name, StringComparison.Ordinal))
            {
                return p;
            }
        }

        throw new TrainParameterException(name, $"unknown {kind} parameter '{name}'; valid parameters: {string.Join(", ", For(kind).Select(p => p.Name))}");
    }

    /// <summary>
    /// A copy of <paramref name="spec"/> with every named setting parsed in, then the options of the spec's kind
    /// validated.
    /// </summary>
    /// <exception cref="TrainParameterException">An unknown name or a value that does not parse.</exception>
    /// <exception cref="ArgumentException">The options are invalid together (the message names the option).</exception>
    public static TrainSpec Apply(TrainSpec spec, IEnumerable<KeyValuePair<string, string>> values)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, value) in values)
        {
            spec = Find(spec.Model, name).Apply(spec, value);
        }

        Validate(spec);
        return spec;
    }

    /// <summary>Every setting of the spec's kind with its value, in <see cref="For"/> order.</summary>
    public static IReadOnlyDictionary<string, string> Describe(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var result = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in For(spec.Model))
        {
            result[p.Name] = p.Format(spec);
        }

        return result;
    }

    /// <summary>Validates the options of the spec's kind (the other kinds' options are ignored).</summary>
    internal static void Validate(TrainSpec spec)
    {
        switch (spec.Model)
        {
            case IsolationForestModel.DetectorKind: spec.Forest.Validate(); break;
            case AutoencoderModel.DetectorKind: spec.Autoencoder.Validate(); break;
            case LightGbmModel.DetectorKind: spec.LightGbm.Validate(); break;
            default: For(spec.Model); break;
        }
    }

    private static TrainParameter Forest(string name, string expects, Func<IsolationForestOptions, string> get, Func<IsolationForestOptions, string, IsolationForestOptions> set) =>
        new(IsolationForestModel.DetectorKind, name, expects, s => get(s.Forest), (s, v) => s with { Forest = set(s.Forest, v) });

    private static TrainParameter Auto(string name, string expects, Func<AutoencoderOptions, string> get, Func<AutoencoderOptions, string, AutoencoderOptions> set) =>
        new(AutoencoderModel.DetectorKind, name, expects, s => get(s.Autoencoder), (s, v) => s with { Autoencoder = set(s.Autoencoder, v) });

    private static TrainParameter Gbm(string name, string expects, Func<LightGbmOptions, string> get, Func<LightGbmOptions, string, LightGbmOptions> set) =>
        new(LightGbmModel.DetectorKind, name, expects, s => get(s.LightGbm), (s, v) => s with { LightGbm = set(s.LightGbm, v) });

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string I(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string D(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string B(bool v) => v ? "true" : "false";

    private static string Name(Activation a) => a.ToString().ToLowerInvariant();

    private static int ParseInt(string v) => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static ulong ParseULong(string v) => ulong.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static double ParseDouble(string v)
    {
        var d = double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        return double.IsFinite(d) ? d : throw new FormatException();
    }

    private static bool ParseBool(string v) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException(),
    };

    private static Activation ParseActivation(string v) => v.ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "linear" => Activation.Linear,
        _ => throw new FormatException(),
    };

    private static int[] ParseLayers(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new FormatException();
        }

        var layers = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            layers[i] = ParseInt(parts[i]);
        }

        return layers;
    }
}
