namespace Vigil.Detectors;

/// <summary>
/// An ONNX model or its schema cannot be used: a file is missing or unreadable, the schema lacks a key or has a
/// bad value, or the model does not match the schema (no such input or output, wrong shape or element type).
/// The message names the file and, when it is about one, the schema key.
/// </summary>
public sealed class OnnxModelException : Vigil.Data.VigilException
{
    /// <summary>Creates the exception; the message becomes <c>"{file}: {key}: {problem}"</c> (without the key part when it is null).</summary>
    public OnnxModelException(string file, string? key, string problem, Exception? inner = null)
        : base(key is null ? $"{file}: {problem}" : $"{file}: \"{key}\" {problem}", inner)
    {
        FilePath = file;
        Key = key;
    }

    /// <summary>The model or schema file the problem is about.</summary>
    public string FilePath { get; }

    /// <summary>The schema key the problem is about, if any (e.g. <c>"input"</c>).</summary>
    public string? Key { get; }
}
