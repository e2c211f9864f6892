namespace Vigil.Detectors;

/// <summary>
/// A model bundle cannot be read or written: unknown format version or detector kind, a missing,
/// modified, truncated or malformed file. The message names the bundle path and the file.
/// </summary>
public sealed class BundleException : Vigil.Data.VigilException
{
    /// <summary>Creates the exception; the message becomes <c>"{bundlePath}: {problem}"</c>.</summary>
    public BundleException(string bundlePath, string? file, string problem, Exception? inner = null)
        : base($"{bundlePath}: {problem}", inner)
    {
        BundlePath = bundlePath;
        File = file;
    }

    /// <summary>The bundle directory or zip path as given.</summary>
    public string BundlePath { get; }

    /// <summary>The file inside the bundle the problem is about, if any.</summary>
    public string? File { get; }
}
