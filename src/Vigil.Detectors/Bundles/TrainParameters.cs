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

    /// <summary>
    /// Creates a setting of detector kind <paramref name="kind"/>: <paramref name="format"/> reads its value from a spec
    /// (culture-invariant text), <paramref name="apply"/> returns a spec with a parsed value (throw
    /// <see cref="FormatException"/> or <see cref="OverflowException"/> for a bad one).
    /// </summary>
    public TrainParameter(string kind, string name, string expects, Func<TrainSpec, string> format, Func<TrainSpec, string, TrainSpec> apply)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(expects);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(apply);
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

    /// <summary>The <c>vigil train</c> option that sets it (e.g. <c>--estimators</c>; kinds may share one), or null when only <c>--param</c> does.</summary>
    public string? CommandLineOption { get; private init; }

    /// <summary>True when <see cref="CommandLineOption"/> is a switch: given means <c>true</c>.</summary>
    public bool IsSwitch { get; private init; }

    /// <summary>What the setting does, in a few words for help (e.g. "number of trees"); may be empty.</summary>
    public string Help { get; private init; } = string.Empty;

    /// <summary>A copy that <c>vigil train</c> sets with <paramref name="option"/>, described by <paramref name="help"/>.</summary>
    public TrainParameter WithCommandLineOption(string option, string help, bool isSwitch = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        ArgumentNullException.ThrowIfNull(help);
        return new TrainParameter(Kind, Name, Expects, _format, _apply) { CommandLineOption = option, Help = help, IsSwitch = isSwitch };
    }

    /// <summary>The value when nothing sets it (its value in a fresh <see cref="TrainSpec"/> of the kind), for help.</summary>
    public string DefaultValue => Format(new TrainSpec { Model = Kind });

    /// <summary>
    /// A setting kept as text in <see cref="TrainSpec.Settings"/> (for kinds without a typed options record, such as
    /// kinds registered outside this assembly): <paramref name="defaultValue"/> when unset; <paramref name="isValid"/>
    /// accepts or refuses a value.
    /// </summary>
    public static TrainParameter Setting(string kind, string name, string expects, string defaultValue, Func<string, bool> isValid)
    {
        ArgumentNullException.ThrowIfNull(isValid);
        return new TrainParameter(kind, name, expects,
            s => s.Settings is not null && s.Settings.TryGetValue(name, out var v) ? v : defaultValue,
            (s, v) =>
            {
                if (!isValid(v))
                {
                    throw new FormatException();
                }

                var settings = new Dictionary<string, string>(StringComparer.Ordinal);
                if (s.Settings is not null)
                {
                    foreach (var (k, old) in s.Settings)
                    {
                        settings[k] = old;
                    }
                }

                settings[name] = v;
                return s with { Settings = settings };
            });
    }

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
/// The tunable settings of every detector kind, under one set of names (<see cref="TrainParameter"/>), as each kind's
/// <see cref="DetectorDescriptor.Parameters"/> in <see cref="DetectorCatalog"/> declares them.
/// <see cref="ModelBundle.Train"/> records <see cref="Describe"/> in the manifest; the CLI logs the same
/// names as run params and accepts them in search grids.
/// </summary>
public static class TrainParameters
{
    /// <summary>The settings of detector kind <paramref name="kind"/>, in a fixed order.</summary>
    /// <exception cref="ArgumentException">Unknown kind.</exception>
    public static IReadOnlyList<TrainParameter> For(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return DetectorCatalog.Get(kind).Parameters;
    }

    /// <summary>The setting named <paramref name="name"/> (exact, case-sensitive) of <paramref name="kind"/>.</summary>
    /// <exception cref="TrainParameterException">No such setting; the message lists the valid names.</exception>
    public static TrainParameter Find(string kind, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var all = For(kind);
        foreach (var p in all)
        {
            if (string.Equals(p.Name, name, StringComparison.Ordinal))
            {
                return p;
            }
        }

        // One mapping between the camelCase names and the CLI's kebab-case flags: learning-rate, learning_rate and
        // learningRate name the same setting; old names stay accepted (Renamed).
        var key = Normalize(Renamed.GetValueOrDefault(name, name));
        foreach (var p in all)
        {
            if (Normalize(p.Name) == key)
            {
                return p;
            }
        }

        throw new TrainParameterException(name, $"unknown {kind} parameter '{name}'; valid parameters: {string.Join(", ", all.Select(p => p.Name))}");
    }

    /// <summary>Old setting names still accepted, with the name that replaced them (lightgbm's <c>iterations</c> is <c>estimators</c>, as for iforest).</summary>
    public static IReadOnlyDictionary<string, string> Renamed { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["iterations"] = "estimators",
    };

    private static string Normalize(string name) =>
        name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

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

    /// <summary>
    /// A copy of <paramref name="spec"/> whose kind's <c>seed</c> setting is <paramref name="seed"/> (a kind with a 32-bit
    /// seed, LightGBM, takes it modulo <see cref="int.MaxValue"/>); the spec itself when the kind has no seed.
    /// </summary>
    public static TrainSpec WithSeed(TrainSpec spec, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var p in For(spec.Model))
        {
            if (p.Name == "seed")
            {
                try
                {
                    return p.Apply(spec, seed.ToString(CultureInfo.InvariantCulture));
                }
                catch (TrainParameterException)
                {
                    return p.Apply(spec, (seed % int.MaxValue).ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        return spec;
    }

    /// <summary>Validates the options of the spec's kind (the other kinds' options are ignored).</summary>
    /// <exception cref="ArgumentException">They are invalid together (the message names the option).</exception>
    public static void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        DetectorCatalog.Get(spec.Model).Validate(spec);
    }
}

/// <summary>Culture-invariant text of parameter values, shared by the built-in descriptors.</summary>
internal static class ParameterText
{
    public static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    public static string I(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    public static string D(double v) => v.ToString(CultureInfo.InvariantCulture);

    public static string B(bool v) => v ? "true" : "false";

    public static string Name(Activation a) => a.ToString().ToLowerInvariant();

    public static int ParseInt(string v) => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static ulong ParseULong(string v) => ulong.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static double ParseDouble(string v)
    {
        var d = double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        return double.IsFinite(d) ? d : throw new FormatException();
    }

    public static bool ParseBool(string v) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException(),
    };

    public static Activation ParseActivation(string v) => v.ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "linear" => Activation.Linear,
        _ => throw new FormatException(),
    };

    public static int[] ParseLayers(string v)
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
