namespace Vigil.Serving;

/// <summary>
/// How a request names its model: by name (the version the server loaded for it), by alias (<c>name@alias</c>: the
/// model must be served following that alias), by version (<c>name/3</c>: that version must be the loaded one; or
/// <c>name/Production</c>, <c>name/latest</c> when the model is served following that stage), and
/// optionally for a tenant (the model must declare it, or declare no tenants). With no name, the tenant alone picks
/// the model that declares it.
/// </summary>
/// <param name="Name">The served model name, or null to route by <paramref name="Tenant"/>.</param>
/// <param name="Alias">The alias the model must follow, or null.</param>
/// <param name="Version">The version that must be loaded (as text, as clients send it), or null.</param>
/// <param name="Tenant">The tenant (client) the request is for, or null.</param>
public readonly record struct ModelRequest(string? Name, string? Alias = null, string? Version = null, string? Tenant = null)
{
    /// <summary>Reads <c>name</c>, <c>name@alias</c> or <c>name/VERSION</c> (a <c>models:/</c> prefix is accepted).</summary>
    public static ModelRequest Parse(string reference, string? tenant = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var text = reference.StartsWith("models:/", StringComparison.Ordinal) ? reference["models:/".Length..] : reference;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            return new ModelRequest(text[..at], Alias: text[(at + 1)..], Tenant: tenant);
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? new ModelRequest(text[..slash], Version: text[(slash + 1)..], Tenant: tenant) : new ModelRequest(text, Tenant: tenant);
    }
}

/// <summary>Why a request was not routed to a model (or <see cref="Found"/>).</summary>
public enum RouteOutcome
{
    /// <summary>A loaded model matches.</summary>
    Found,

    /// <summary>No model of that name is served (404).</summary>
    NotServed,

    /// <summary>The model is served but not loaded yet (503).</summary>
    NotLoaded,

    /// <summary>The requested version is not the loaded one (404).</summary>
    VersionNotLoaded,

    /// <summary>The model is not served following the requested alias (404).</summary>
    AliasNotServed,

    /// <summary>The model does not serve the tenant, or no served model does (400).</summary>
    TenantRefused,
}

/// <summary>The router's answer: the model, or why there is none (with the HTTP status and a message for the client).</summary>
/// <param name="Model">The model, when <paramref name="Outcome"/> is <see cref="RouteOutcome.Found"/>.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Detail">The message for the client when no model was found.</param>
public readonly record struct ModelRoute(ServedModel? Model, RouteOutcome Outcome, string? Detail)
{
    /// <summary>The HTTP status of a failed route (200 when found).</summary>
    public int Status => Outcome switch
    {
        RouteOutcome.Found => 200,
        RouteOutcome.NotLoaded => 503,
        RouteOutcome.TenantRefused => 400,
        _ => 404,
    };

    /// <summary>The problem title of a failed route.</summary>
    public string Title => Outcome switch
    {
        RouteOutcome.Found => "OK",
        RouteOutcome.NotLoaded => "Model not loaded",
        RouteOutcome.VersionNotLoaded => "Unknown model version",
        RouteOutcome.AliasNotServed => "Unknown model alias",
        RouteOutcome.TenantRefused => "Tenant not served",
        _ => "Unknown model",
    };
}

/// <summary>
/// Picks the loaded model version for a request among the server's models (one snapshot read: a hot swap between
/// two calls is seen by the second only). Thread-safe.
/// </summary>
public sealed class ModelRouter
{
    private readonly ModelCache _models;

    /// <summary>Routes among the models of <paramref name="models"/>.</summary>
    public ModelRouter(ModelCache models) => _models = models;

    /// <summary>The loaded model for <paramref name="request"/>, or why there is none.</summary>
    public ModelRoute Route(in ModelRequest request)
    {
        if (request.Name is null)
        {
            return request.Tenant is null
                ? new ModelRoute(null, RouteOutcome.NotServed, "The request names no model.")
                : RouteTenant(request.Tenant);
        }

        var model = _models.Find(request.Name);
        if (model is null)
        {
            return IsConfigured(request.Name)
                ? new ModelRoute(null, RouteOutcome.NotLoaded, $"Model '{request.Name}' is configured but not loaded yet (see /readyz).")
                : new ModelRoute(null, RouteOutcome.NotServed, $"No model named '{request.Name}' is served; served models: {ServedNames()}.");
        }

        if (request.Version is not null && request.Version != model.VersionText && !FollowsPath(model.Spec, request.Version))
        {
            return new ModelRoute(null, RouteOutcome.VersionNotLoaded, $"Model '{model.Name}' serves version {model.VersionText}, not '{ProtocolSupport.Clip(request.Version)}'.");
        }

        if (request.Alias is not null && !Follows(model.Spec, request.Alias))
        {
            return new ModelRoute(null, RouteOutcome.AliasNotServed, $"Model '{model.Name}' is served following {model.Spec.Follows}, not @{ProtocolSupport.Clip(request.Alias)}.");
        }

        if (request.Tenant is not null && !model.Serves(request.Tenant))
        {
            return new ModelRoute(null, RouteOutcome.TenantRefused, $"Model '{model.Name}' does not serve tenant '{ProtocolSupport.Clip(request.Tenant)}' (it serves {string.Join(", ", model.Tenants!)}).");
        }

        return new ModelRoute(model, RouteOutcome.Found, null);
    }

    /// <summary>The loaded model that declares <paramref name="tenant"/> (the first in configuration order), or 400 when none does.</summary>
    public ModelRoute RouteTenant(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var snapshot = _models.Snapshot;
        foreach (var spec in _models.Specs)
        {
            if (snapshot.TryGetValue(spec.Name, out var model) && model.Tenants is not null && model.Serves(tenant))
            {
                return new ModelRoute(model, RouteOutcome.Found, null);
            }
        }

        return new ModelRoute(null, RouteOutcome.TenantRefused, $"No served model serves tenant '{ProtocolSupport.Clip(tenant)}'.");
    }

    private bool IsConfigured(string name)
    {
        foreach (var spec in _models.Specs)
        {
            if (spec.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the spec follows <c>/STAGE</c> or <c>/latest</c> as <paramref name="path"/> names it (e.g. <c>fraud/Production</c>).</summary>
    private static bool FollowsPath(ModelSpec spec, string path) =>
        spec.Uri is not null && spec.Follows.Length == path.Length + 1 && spec.Follows.AsSpan(1).Equals(path, StringComparison.OrdinalIgnoreCase);

    private static bool Follows(ModelSpec spec, string alias) => spec.Uri is null
        ? alias == ModelSpec.DefaultAlias
        : spec.Uri.Kind == Vigil.Tracking.ModelUriKind.Alias && spec.Uri.Alias == alias;

    private string ServedNames()
    {
        var names = new string[_models.Specs.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = _models.Specs[i].Name;
        }

        return string.Join(", ", names);
    }
}
