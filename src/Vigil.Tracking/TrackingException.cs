namespace Vigil.Tracking;

/// <summary>
/// A tracking or registry error a user can act on: an unknown run, model, version or alias, an invalid
/// name, a store written by a newer Vigil, a missing or corrupted artifact. The message says what is
/// wrong and where (run id, model name and version, store location).
/// </summary>
public sealed class TrackingException : Vigil.Data.VigilException
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public TrackingException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public TrackingException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a generic message.</summary>
    public TrackingException() : base("tracking store error") { }
}
