using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle;

/// <summary>A model bundle loaded from a path or a registry URI.</summary>
/// <param name="Reference">The reference as given: a bundle path, or <c>models:/NAME@ALIAS</c>, <c>models:/NAME/VERSION</c>, <c>models:/NAME/STAGE</c>.</param>
/// <param name="Bundle">The loaded bundle (files verified by SHA-256).</param>
/// <param name="Version">The registry version the URI resolved to, or null for a path.</param>
public sealed record LoadedModel(string Reference, ModelBundle Bundle, ModelVersion? Version);
