using System.Globalization;

namespace Vigil.Tracking;

/// <summary>How a <see cref="ModelUri"/> names a version.</summary>
public enum ModelUriKind
{
    /// <summary>models:/NAME@ALIAS</summary>
    Alias,
    /// <summary>models:/NAME/VERSION</summary>
    Version,
    /// <summary>models:/NAME/STAGE (Staging, Production, Archived): the highest version in that stage.</summary>
    Stage,
    /// <summary>models:/NAME/latest: the highest version.</summary>
    Latest,
}

/// <summary>
/// A reference to a model version: models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/STAGE
/// (Staging, Production, Archived; case-insensitive) or models:/NAME/latest. Resolve with
/// <see cref="IModelRegistry.ResolveAsync"/>.
/// </summary>
public sealed record ModelUri
{
    private const string Scheme = "models:/";
    private const string Expected =
        "expected models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/STAGE (Staging, Production, Archived) or models:/NAME/latest";

    private ModelUri(string name, ModelUriKind kind, string? alias, int? version, ModelStage? stage)
    {
        Name = name;
        Kind = kind;
        Alias = alias;
        Version = version;
        Stage = stage;
    }

    /// <summary>The registered model name.</summary>
    public string Name { get; }
    /// <summary>Which form the URI has.</summary>
    public ModelUriKind Kind { get; }
    /// <summary>The alias for <see cref="ModelUriKind.Alias"/>, else null.</summary>
    public string? Alias { get; }
    /// <summary>The version number for <see cref="ModelUriKind.Version"/>, else null.</summary>
    public int? Version { get; }
    /// <summary>The stage for <see cref="ModelUriKind.Stage"/>, else null.</summary>
    public ModelStage? Stage { get; }

    /// <summary>models:/NAME@ALIAS</summary>
    public static ModelUri ForAlias(string name, string alias) =>
        new(Names.ModelName(name), ModelUriKind.Alias, Names.Alias(alias), null, null);

    /// <summary>models:/NAME/VERSION</summary>
    public static ModelUri ForVersion(string name, int version)
    {
        if (version < 1)
        {
            throw new TrackingException($"model version must be 1 or more, got {version.ToString(CultureInfo.InvariantCulture)}");
        }
        return new(Names.ModelName(name), ModelUriKind.Version, null, version, null);
    }

    /// <summary>models:/NAME/STAGE; <see cref="ModelStage.None"/> is not addressable.</summary>
    public static ModelUri ForStage(string name, ModelStage stage)
    {
        if (stage == ModelStage.None || !Enum.IsDefined(stage))
        {
            throw new TrackingException($"stage {stage} cannot be used in a model URI: use Staging, Production or Archived");
        }
        return new(Names.ModelName(name), ModelUriKind.Stage, null, null, stage);
    }

    /// <summary>models:/NAME/latest</summary>
    public static ModelUri ForLatest(string name) => new(Names.ModelName(name), ModelUriKind.Latest, null, null, null);

    /// <summary>Parses a model URI; throws <see cref="FormatException"/> naming the problem.</summary>
    public static ModelUri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var uri, out var error) ? uri : throw new FormatException(error);
    }

    /// <summary>Parses a model URI; on failure returns false and a message naming the problem.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelUri? uri, out string? error)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"empty model URI: {Expected}";
            return false;
        }
        if (!text.StartsWith(Scheme, StringComparison.Ordinal))
        {
            error = $"'{text}' is not a model URI: it must start with '{Scheme}'; {Expected}";
            return false;
        }
        var rest = text[Scheme.Length..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        try
        {
            if (at >= 0 && (slash < 0 || at < slash))
            {
                var name = rest[..at];
                var alias = rest[(at + 1)..];
                if (name.Length == 0 || alias.Length == 0)
                {
                    error = $"'{text}' has an empty {(name.Length == 0 ? "model name" : "alias")}; {Expected}";
                    return false;
                }
                uri = ForAlias(name, alias);
                error = null;
                return true;
            }
            if (slash < 0)
            {
                error = $"'{text}' names no version: add @ALIAS, /VERSION, /STAGE or /latest; {Expected}";
                return false;
            }
            var model = rest[..slash];
            var selector = rest[(slash + 1)..];
            if (model.Length == 0 || selector.Length == 0)
            {
                error = $"'{text}' has an empty {(model.Length == 0 ? "model name" : "version or stage")}; {Expected}";
                return false;
            }
            if (char.IsAsciiDigit(selector[0]))
            {
                if (!int.TryParse(selector, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
                {
                    error = $"'{text}': version '{selector}' is not a whole number from 1 to {int.MaxValue.ToString(CultureInfo.InvariantCulture)}";
                    return false;
                }
                uri = ForVersion(model, version);
                error = null;
                return true;
            }
            if (string.Equals(selector, "latest", StringComparison.OrdinalIgnoreCase))
            {
                uri = ForLatest(model);
                error = null;
                return true;
            }
            if (Enum.TryParse<ModelStage>(selector, ignoreCase: true, out var stage) && stage != ModelStage.None
                && !char.IsAsciiDigit(selector[0]) && Enum.GetName(stage)!.Equals(selector, StringComparison.OrdinalIgnoreCase))
            {
                uri = ForStage(model, stage);
                error = null;
                return true;
            }
            error = $"'{text}': '{selector}' is neither a version number, a stage (Staging, Production, Archived) nor 'latest'";
            return false;
        }
        catch (TrackingException e)
        {
            error = $"'{text}': {e.Message}";
            return false;
        }
    }

    /// <summary>The canonical text form.</summary>
    public override string ToString() => Kind switch
    {
        ModelUriKind.Alias => $"{Scheme}{Name}@{Alias}",
        ModelUriKind.Version => $"{Scheme}{Name}/{Version!.Value.ToString(CultureInfo.InvariantCulture)}",
        ModelUriKind.Stage => $"{Scheme}{Name}/{Stage}",
        _ => $"{Scheme}{Name}/latest",
    };
}
