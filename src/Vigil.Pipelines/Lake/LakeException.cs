namespace Vigil.Pipelines;

/// <summary>A lakehouse error a user can act on (bad zone, date, file, SQL, or an unreachable location); one readable line.</summary>
public sealed class LakeException : Vigil.Data.VigilException
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public LakeException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public LakeException(string message, Exception innerException) : base(message, innerException) { }
}
