using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// A model the server serves: <c>NAME</c> (alias <c>champion</c>, else the Production stage, else Staging),
/// <c>NAME@ALIAS</c>, <c>NAME/STAGE</c>, <c>NAME/VERSION</c> or <c>NAME/latest</c>.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>The alias a bare name follows.</summary>
    public const string DefaultAlias = "champion";

    private ModelSpec(string name, ModelUri? uri)
    {
        Name = name;
        Uri = uri;
    }

    /// <summary>The registered model name (also the name clients use).</summary>
    public string Name { get; }

    /// <summary>The explicit reference, or null for "champion, else Production, else Staging".</summary>
    public ModelUri? Uri { get; }

    /// <summary>
    /// The tenants this model may serve, from configuration; null to use the bundle's <c>tenants</c> parameter (and,
    /// when that is absent too, to serve any caller). See <see cref="ModelRouter"/>.
    /// </summary>
    public IReadOnlyList<string>? Tenants { get; init; }

    /// <summary>What the spec follows, for <c>/v1/version</c>: e.g. <c>@champion</c>, <c>/Production</c>.</summary>
    public string Follows => Uri switch
    {
        null => "@" + DefaultAlias,
        { Kind: ModelUriKind.Alias } u => "@" + u.Alias,
        { Kind: ModelUriKind.Stage } u => "/" + u.Stage,
        { Kind: ModelUriKind.Version } u => "/" + u.Version,
        _ => "/latest",
    };

    /// <summary>Parses one spec.</summary>
    /// <exception cref="FormatException">The text is not a valid spec; the message says why.</exception>
    public static ModelSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.StartsWith("models:/", StringComparison.Ordinal))
        {
            text = text["models:/".Length..];
        }

        if (text.Length == 0)
        {
            throw new FormatException("names an empty model");
        }

        if (!text.Contains('@', StringComparison.Ordinal) && !text.Contains('/', StringComparison.Ordinal))
        {
            try
            {
                return new ModelSpec(ModelUri.ForLatest(text).Name, null);
            }
            catch (TrackingException e)
            {
                throw new FormatException(e.Message, e);
            }
        }

        if (!ModelUri.TryParse("models:/" + text, out var uri, out var error))
        {
            throw new FormatException(error);
        }

        return new ModelSpec(uri.Name, uri);
    }

    /// <summary>Parses a comma-separated list; a name may appear once.</summary>
    public static IReadOnlyList<ModelSpec> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var specs = new List<ModelSpec>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var spec = Parse(part);
            if (specs.Any(s => s.Name == spec.Name))
            {
                throw new FormatException($"names model '{spec.Name}' twice");
            }

            specs.Add(spec);
        }

        return specs;
    }

    /// <summary>The version this spec points at now.</summary>
    /// <exception cref="TrackingException">Nothing matches (no such model, alias or stage).</exception>
    public async Task<ModelVersion> ResolveAsync(IModelRegistry registry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (Uri is not null)
        {
            return await registry.ResolveAsync(Uri, cancellationToken).ConfigureAwait(false);
        }

        var candidates = new[]
        {
            ModelUri.ForAlias(Name, DefaultAlias),
            ModelUri.ForStage(Name, ModelStage.Production),
            ModelUri.ForStage(Name, ModelStage.Staging),
        };
        TrackingException? last = null;
        foreach (var candidate in candidates)
        {
            try
            {
                return await registry.ResolveAsync(candidate, cancellationToken).ConfigureAwait(false);
            }
            catch (TrackingException e)
            {
                last = e;
            }
        }

        throw new TrackingException($"model '{Name}' has no '{DefaultAlias}' alias and no version in Production or Staging", last!);
    }

    /// <inheritdoc />
    public override string ToString() => Uri is null ? Name : Name + Follows;
}
