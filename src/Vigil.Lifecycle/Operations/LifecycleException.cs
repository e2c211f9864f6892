using Vigil.Data;

namespace Vigil.Lifecycle;

/// <summary>
/// A lifecycle operation cannot run with the options and data it was given: a column that is not there, one label
/// class only, a candidate that is already the champion, no tracking store for a registry URI. When one option is at
/// fault, <see cref="Option"/> names it (the options record's property, e.g. <c>Label</c>) and <see cref="Detail"/>
/// says what is wrong with it, so a caller can name the option in its own terms (the CLI says <c>--label</c>).
/// </summary>
public sealed class LifecycleException : VigilException
{
    /// <summary>An error not tied to one option.</summary>
    public LifecycleException(string message)
        : base(message) => Detail = message;

    /// <summary>An error about the option named <paramref name="option"/>; the message is <c>"{option} {detail}"</c>.</summary>
    public LifecycleException(string option, string detail)
        : base($"{option} {detail}")
    {
        Option = option;
        Detail = detail;
    }

    /// <summary>The options property at fault (e.g. <c>Label</c>, <c>TimeColumn</c>), or null.</summary>
    public string? Option { get; }

    /// <summary>What is wrong, without the option name.</summary>
    public string Detail { get; }
}
