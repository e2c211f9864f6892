using System.Text;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Monitoring;

namespace Vigil.Serving;

/// <summary>
/// One loaded, immutable model version. A request takes a reference once and uses it to the end, so a hot swap
/// never mixes two versions in one response.
/// </summary>
public sealed class ServedModel
{
    /// <summary>The bundle parameter that lists the tenants a bundle may serve (comma-separated), until the manifest has a field for it.</summary>
    public const string TenantsParameter = "tenants";

    private readonly byte[][] _utf8Inputs;
    private SlidingProfileDrift? _driftWindow;
    private readonly bool[] _categorical;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>>?[] _categories;

    internal ServedModel(ModelSpec spec, int version, ModelBundle bundle, DateTimeOffset loadedUtc, string bundleSha256, IReadOnlyList<IItemRule>? rules = null)
    {
        Spec = spec;
        Version = version;
        Bundle = bundle;
        LoadedUtc = loadedUtc;
        BundleSha256 = bundleSha256;
        Rules = rules ?? [];
        Tenants = spec.Tenants ?? ParseTenants(bundle.Manifest.Parameters.GetValueOrDefault(TenantsParameter));
        var inputs = bundle.Transform.InputSchema;
        InputNames = [.. inputs.Select(c => c.Name)];
        _utf8Inputs = [.. InputNames.Select(Encoding.UTF8.GetBytes)];
        _categorical = [.. inputs.Select(c => c.Kind == ColumnKind.Categorical)];
        _categories = Vocabularies(bundle.Transform, InputNames, _categorical);
        VersionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The online drift window of this loaded version, created on first use with <paramref name="window"/> items; null
    /// when the bundle has no reference profile (format v1).
    /// </summary>
    internal SlidingProfileDrift? DriftWindow(int window)
    {
        var current = Volatile.Read(ref _driftWindow);
        if (current is not null || Bundle.Profile is null)
        {
            return current;
        }

        var created = new SlidingProfileDrift(Bundle.Profile, Bundle.Threshold, InputNames, window);
        return Interlocked.CompareExchange(ref _driftWindow, created, null) ?? created;
    }

    /// <summary>The online drift window if one was created.</summary>
    internal SlidingProfileDrift? CurrentDriftWindow => Volatile.Read(ref _driftWindow);

    /// <summary>The served name (the registered model name).</summary>
    public string Name => Spec.Name;

    /// <summary>What the server follows for this model (alias, stage or version).</summary>
    public ModelSpec Spec { get; }

    /// <summary>The registry version.</summary>
    public int Version { get; }

    /// <summary>The version as text.</summary>
    public string VersionText { get; }

    /// <summary>The bundle (transform + detector + threshold).</summary>
    public ModelBundle Bundle { get; }

    /// <summary>The SHA-256 of the bundle as registered.</summary>
    public string BundleSha256 { get; }

    /// <summary>When this version was loaded into this process.</summary>
    public DateTimeOffset LoadedUtc { get; }

    /// <summary>The input feature names, in transform order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The pre-model rules of this version, in evaluation order (empty for today's models).</summary>
    public IReadOnlyList<IItemRule> Rules { get; }

    /// <summary>
    /// The tenants this version may serve (from <see cref="ModelSpec.Tenants"/>, else the bundle's <c>tenants</c>
    /// parameter), or null when it declares none and serves any caller.
    /// </summary>
    public IReadOnlyList<string>? Tenants { get; }

    /// <summary>True when this version may serve <paramref name="tenant"/> (always, when it declares no tenants).</summary>
    public bool Serves(string tenant)
    {
        if (Tenants is null)
        {
            return true;
        }

        foreach (var t in Tenants)
        {
            if (string.Equals(t, tenant, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The input feature names as UTF-8, for allocation-free JSON property matching.</summary>
    internal ReadOnlySpan<byte> Utf8Input(int i) => _utf8Inputs[i];

    /// <summary>The number of input features.</summary>
    internal int InputCount => _utf8Inputs.Length;

    /// <summary>True when input <paramref name="input"/> is categorical.</summary>
    internal bool IsCategorical(int input) => _categorical[input];

    /// <summary>The index of input <paramref name="name"/>, or -1.</summary>
    internal int InputIndex(string name)
    {
        for (var i = 0; i < _utf8Inputs.Length; i++)
        {
            if (string.Equals(InputNames[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index of the input whose UTF-8 name is <paramref name="utf8Name"/>, or -1.</summary>
    internal int InputIndex(ReadOnlySpan<byte> utf8Name)
    {
        for (var i = 0; i < _utf8Inputs.Length; i++)
        {
            if (utf8Name.SequenceEqual(_utf8Inputs[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The category <paramref name="value"/> of input <paramref name="input"/> as a string: the model's own string for a known category (no allocation), a new one otherwise.</summary>
    internal string Category(int input, ReadOnlySpan<char> value) =>
        _categories[input] is { } lookup && lookup.TryGetValue(value, out var known) ? known : new string(value);

    private static IReadOnlyList<string>? ParseTenants(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Per categorical input, its categories (from the one-hot output columns <c>name=category</c>).</summary>
    private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>>?[] Vocabularies(FeatureTransform transform, IReadOnlyList<string> inputs, bool[] categorical)
    {
        var result = new Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>>?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            if (!categorical[i])
            {
                continue;
            }

            var prefix = inputs[i] + "=";
            var words = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var output in transform.OutputColumns)
            {
                if (output.StartsWith(prefix, StringComparison.Ordinal))
                {
                    var word = output[prefix.Length..];
                    words.TryAdd(word, word);
                }
            }

            result[i] = words.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        return result;
    }
}
