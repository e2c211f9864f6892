namespace Vigil.Detectors;

/// <summary>
/// The one place detector kinds are registered (ML.NET's component catalog is the model). The trainer, the bundle
/// reader and writer, <see cref="TrainParameters"/> and the CLI's <c>train</c>, <c>search</c> and <c>bench</c> ask it
/// for a kind's descriptor instead of switching on the kind. Adding a kind is one folder with its descriptor plus one
/// line in the registration list below (or one <see cref="Register"/> call for a kind defined outside this assembly).
/// </summary>
public static class DetectorCatalog
{
    private static readonly Lock Gate = new();

    // The registration list: one line per built-in kind, in the order help and listings show them.
    private static DetectorDescriptor[] _all =
    [
        new IsolationForestDescriptor(),
        new AutoencoderDescriptor(),
        new LightGbmDescriptor(),
        new OnnxDescriptor(),
        new EnsembleDescriptor(),
    ];

    /// <summary>Every registered kind, in registration order (a snapshot).</summary>
    public static IReadOnlyList<DetectorDescriptor> All => Volatile.Read(ref _all);

    /// <summary>The names of every registered kind, in registration order.</summary>
    public static IReadOnlyList<string> Kinds
    {
        get
        {
            var all = All;
            var names = new string[all.Count];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = all[i].Name;
            }

            return names;
        }
    }

    /// <summary>
    /// Registers <paramref name="descriptor"/>. Registering the same instance again does nothing; another descriptor
    /// under a registered name is refused.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, not a plain identifier, or already taken by another descriptor.</exception>
    public static void Register(DetectorDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var name = descriptor.Name;
        if (string.IsNullOrEmpty(name) || !IsIdentifier(name))
        {
            throw new ArgumentException($"A detector kind name must be letters, digits, '-' or '_', got '{name}'.", nameof(descriptor));
        }

        lock (Gate)
        {
            foreach (var existing in _all)
            {
                if (string.Equals(existing.Name, name, StringComparison.Ordinal))
                {
                    if (ReferenceEquals(existing, descriptor) || existing.GetType() == descriptor.GetType())
                    {
                        return;
                    }

                    throw new ArgumentException($"The detector kind '{name}' is already registered.", nameof(descriptor));
                }
            }

            Volatile.Write(ref _all, [.. _all, descriptor]);
        }
    }

    /// <summary>The descriptor of <paramref name="kind"/> (exact, case-sensitive), if registered.</summary>
    public static bool TryGet(string kind, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DetectorDescriptor? descriptor)
    {
        ArgumentNullException.ThrowIfNull(kind);
        foreach (var d in All)
        {
            if (string.Equals(d.Name, kind, StringComparison.Ordinal))
            {
                descriptor = d;
                return true;
            }
        }

        descriptor = null;
        return false;
    }

    /// <summary>The descriptor of <paramref name="kind"/>.</summary>
    /// <exception cref="ArgumentException">Unknown kind; the message lists the known ones.</exception>
    public static DetectorDescriptor Get(string kind) =>
        TryGet(kind, out var d) ? d : throw new ArgumentException($"Unknown model '{kind}'; known models: {string.Join(", ", Kinds)}.", nameof(kind));

    private static bool IsIdentifier(string name)
    {
        foreach (var ch in name)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
