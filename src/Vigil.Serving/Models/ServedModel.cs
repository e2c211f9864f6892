using System.Text;
using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>
/// One loaded, immutable model version. A request takes a reference once and uses it to the end, so a hot swap
/// never mixes two versions in one response.
/// </summary>
public sealed class ServedModel
{
    private readonly byte[][] _utf8Inputs;

    internal ServedModel(ModelSpec spec, int version, ModelBundle bundle, DateTimeOffset loadedUtc, string bundleSha256)
    {
        Spec = spec;
        Version = version;
        Bundle = bundle;
        LoadedUtc = loadedUtc;
        BundleSha256 = bundleSha256;
        var inputs = bundle.Transform.InputSchema;
        InputNames = [.. inputs.Select(c => c.Name)];
        _utf8Inputs = [.. InputNames.Select(Encoding.UTF8.GetBytes)];
        VersionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

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

    /// <summary>The input feature names as UTF-8, for allocation-free JSON property matching.</summary>
    internal ReadOnlySpan<byte> Utf8Input(int i) => _utf8Inputs[i];

    /// <summary>The number of input features.</summary>
    internal int InputCount => _utf8Inputs.Length;
}
