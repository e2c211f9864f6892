using System.Text.Json.Serialization;

namespace Vigil.Detectors;

/// <summary>Source-generated (reflection-free) JSON for <c>bundle.json</c> and <c>transform.json</c>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(BundleManifest))]
[JsonSerializable(typeof(TransformDocument))]
internal sealed partial class BundleJsonContext : JsonSerializerContext;
