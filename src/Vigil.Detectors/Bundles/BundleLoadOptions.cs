using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// What loading a bundle allows: the largest file and the largest bundle (checked against the sizes the manifest
/// declares and the files' actual lengths before anything is read), and the public keys a bundle must be signed by
/// (none: signatures are not required). <see cref="FromEnvironment"/> reads them from <c>VIGIL_BUNDLE_MAX_FILE_BYTES</c>,
/// <c>VIGIL_BUNDLE_MAX_BYTES</c> and <c>VIGIL_TRUSTED_KEYS</c>.
/// </summary>
public sealed record BundleLoadOptions
{
    /// <summary>The variable holding <see cref="MaxFileBytes"/>.</summary>
    public const string MaxFileBytesVariable = "VIGIL_BUNDLE_MAX_FILE_BYTES";

    /// <summary>The variable holding <see cref="MaxBundleBytes"/>.</summary>
    public const string MaxBundleBytesVariable = "VIGIL_BUNDLE_MAX_BYTES";

    /// <summary>The variable naming the trusted public keys: a PEM file or a folder of <c>.pem</c> files.</summary>
    public const string TrustedKeysVariable = "VIGIL_TRUSTED_KEYS";

    /// <summary>The default <see cref="MaxFileBytes"/>: 2 GiB.</summary>
    public const long DefaultMaxFileBytes = 2L << 30;

    /// <summary>The default <see cref="MaxBundleBytes"/>: 4 GiB.</summary>
    public const long DefaultMaxBundleBytes = 4L << 30;

    /// <summary>No trusted keys and the default size caps.</summary>
    public static BundleLoadOptions Default { get; } = new();

    /// <summary>The largest file a bundle may hold, in bytes (default 2 GiB; a file is held in memory, so at most about 2 GiB in any case).</summary>
    public long MaxFileBytes { get; init; } = DefaultMaxFileBytes;

    /// <summary>The largest total of a bundle's files, manifest included, in bytes (default 4 GiB).</summary>
    public long MaxBundleBytes { get; init; } = DefaultMaxBundleBytes;

    /// <summary>The keys a bundle must be signed by; null (the default) loads signed and unsigned bundles alike without checking signatures.</summary>
    public BundleTrust? TrustedKeys { get; init; }

    /// <summary>
    /// The options the environment sets: <c>VIGIL_BUNDLE_MAX_FILE_BYTES</c>, <c>VIGIL_BUNDLE_MAX_BYTES</c> (positive
    /// byte counts; unset = the defaults) and <c>VIGIL_TRUSTED_KEYS</c> (a PEM file or a folder of <c>.pem</c>
    /// files with ECDSA P-256 public keys; unset = signatures not required).
    /// </summary>
    /// <param name="variable">Reads a variable (default: the process environment).</param>
    /// <exception cref="BundleSettingsException">A variable is set to something invalid; the message names it.</exception>
    public static BundleLoadOptions FromEnvironment(Func<string, string?>? variable = null)
    {
        variable ??= Environment.GetEnvironmentVariable;
        var options = new BundleLoadOptions
        {
            MaxFileBytes = Bytes(variable, MaxFileBytesVariable, DefaultMaxFileBytes),
            MaxBundleBytes = Bytes(variable, MaxBundleBytesVariable, DefaultMaxBundleBytes),
        };
        var keys = variable(TrustedKeysVariable);
        return string.IsNullOrWhiteSpace(keys) ? options : options with { TrustedKeys = BundleTrust.Load(keys.Trim(), TrustedKeysVariable) };
    }

    private static long Bytes(Func<string, string?> variable, string name, long fallback)
    {
        var text = variable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new BundleSettingsException($"{name}={text}: expected a positive number of bytes (default {fallback.ToString(CultureInfo.InvariantCulture)})");
        }

        return value;
    }
}

/// <summary>A bundle setting (size cap, trusted keys, signing key) is invalid; the message names the setting or file.</summary>
public sealed class BundleSettingsException : Vigil.Data.VigilException
{
    /// <summary>Creates the exception with a message naming the setting.</summary>
    public BundleSettingsException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
