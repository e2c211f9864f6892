using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vigil.Detectors.Tests.Bundles;

/// <summary>
/// <see cref="BundleJson"/> and <see cref="ProfileJson"/> write what the source-generated serializer wrote before them
/// (checked against that serializer, configured as the bundle's contexts were, and against the golden v1 files it
/// produced), and read it back.
/// </summary>
public sealed class BundleJsonTests
{
    private static readonly string V1 = Path.Combine(AppContext.BaseDirectory, "Golden", "v1", "iforest");

    private static ModelBundle Bundle()
    {
        var spec = new TrainSpec
        {
            Label = "label",
            IdColumn = "id",
            Forest = new IsolationForestOptions { Seed = 5, Estimators = 20 },
        };
        // A categorical input (one-hot categories in transform.json), a null run id and metrics with a named literal.
        return ModelBundle.Train(TestData.Transactions(3, 300), spec)
            .WithMetrics(new Dictionary<string, double>(StringComparer.Ordinal) { ["train_auc_pr"] = 0.25, ["train_auc_roc"] = double.NaN, ["x"] = double.NegativeInfinity });
    }

    [Fact]
    public void Manifest_bytes_are_the_serializers()
    {
        var manifest = Bundle().Manifest;
        manifest.TrainingRunId.ShouldBeNull();
        BundleJson.WriteManifest(manifest).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(manifest, SerializerReference.Default.BundleManifest));
        var infinite = manifest with { Threshold = double.PositiveInfinity, TrainingRunId = "run \"1\" é" };
        BundleJson.WriteManifest(infinite).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(infinite, SerializerReference.Default.BundleManifest));
    }

    [Fact]
    public void Transform_bytes_are_the_serializers()
    {
        var doc = Bundle().Transform.ToDocument();
        doc.Inputs.ShouldContain(i => i.Categories != null);
        BundleJson.WriteTransform(doc).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(doc, SerializerReference.Default.TransformDocument));
    }

    [Fact]
    public void Profile_bytes_are_the_serializers_and_read_back()
    {
        var profile = Bundle().Profile!;
        profile.Features.ShouldContain(f => f.Categorical != null);
        profile.Features.ShouldContain(f => f.Numeric != null);
        var bytes = ProfileJson.Write(profile);
        bytes.ShouldBe(JsonSerializer.SerializeToUtf8Bytes(profile, ProfileSerializerReference.Default.ReferenceProfile));
        ProfileJson.Write(ProfileJson.Read(bytes)!).ShouldBe(bytes);

        var sparse = profile with { Features = [profile.Features[0] with { Numeric = null, Name = null! }], Scores = null! };
        ProfileJson.Write(sparse).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(sparse, ProfileSerializerReference.Default.ReferenceProfile));
    }

    [Fact]
    public void Golden_v1_documents_read_and_write_back_byte_for_byte()
    {
        var manifestBytes = File.ReadAllBytes(Path.Combine(V1, "bundle.json"));
        using var doc = JsonDocument.Parse(manifestBytes);
        var manifest = BundleJson.ReadManifest(doc.RootElement);
        manifest.FormatVersion.ShouldBe(1);
        manifest.Metrics.Count.ShouldBeGreaterThan(0);
        BundleJson.WriteManifest(manifest).ShouldBe(manifestBytes);

        var transformBytes = File.ReadAllBytes(Path.Combine(V1, "transform.json"));
        BundleJson.WriteTransform(BundleJson.ReadTransform(transformBytes)!).ShouldBe(transformBytes);
    }

    [Fact]
    public void A_written_manifest_reads_back_equal_named_literals_included()
    {
        var manifest = Bundle().Manifest;
        using var doc = JsonDocument.Parse(BundleJson.WriteManifest(manifest));
        var again = BundleJson.ReadManifest(doc.RootElement);
        again.Metrics["train_auc_roc"].ShouldBe(double.NaN);
        again.Metrics["x"].ShouldBe(double.NegativeInfinity);
        again.FeatureSchema.ShouldBe(manifest.FeatureSchema);
        again.Files.Keys.ShouldBe(manifest.Files.Keys);
        BundleJson.WriteManifest(again).ShouldBe(BundleJson.WriteManifest(manifest));
    }

    [Fact]
    public void Values_of_the_wrong_type_are_json_errors_naming_the_property()
    {
        using var doc = JsonDocument.Parse("""{"formatVersion": 2, "threshold": "high"}""");
        Should.Throw<JsonException>(() => BundleJson.ReadManifest(doc.RootElement)).Message.ShouldContain("$.threshold");
        Should.Throw<JsonException>(() => BundleJson.ReadTransform("""{"inputs": [{"kind": "NoSuchKind"}]}"""u8.ToArray())).Message.ShouldContain("$.inputs[0].kind");
    }
}

/// <summary>The serializer configured as the bundle's source-generated context was, kept as the reference layout.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BundleManifest))]
[JsonSerializable(typeof(TransformDocument))]
internal sealed partial class SerializerReference : JsonSerializerContext;

/// <summary>The serializer configured as the profile's source-generated context was, kept as the reference layout.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReferenceProfile))]
internal sealed partial class ProfileSerializerReference : JsonSerializerContext;
