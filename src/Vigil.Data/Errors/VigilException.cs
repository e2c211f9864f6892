namespace Vigil.Data;

/// <summary>
/// The base of every Vigil exception that describes a user's mistake or bad input (malformed data, a bad bundle, an
/// unknown model, a failing gate expression, ...): its message is one readable line that says what is wrong and where,
/// meant to be shown as is. Anything else escaping Vigil is a bug. The CLI maps this type to exit code 2 and other
/// exceptions to an "internal error" line with exit code 1.
/// </summary>
/// <remarks>
/// A few user-facing errors keep a framework base type for their existing catch sites instead
/// (<c>TrainParameterException</c> is an <see cref="ArgumentException"/>); callers treat those explicitly.
/// </remarks>
public abstract class VigilException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    protected VigilException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    protected VigilException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
