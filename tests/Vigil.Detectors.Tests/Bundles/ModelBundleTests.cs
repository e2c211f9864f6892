using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Vigil.Data;

namespace Vigil.Detectors.Tests.Bundles;

public sealed class ModelBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-bundle-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec Spec = new()
    {
        Label = "label",
        IdColumn = "id",
        Forest = new IsolationForestOptions { Seed = 11, Estimators = 50 },
        TrainingRunId = "run-1",
    };

    private static ModelBundle Train(int rows = 400) => ModelBundle.Train(TestData.Transactions(21, rows), Spec);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Label_and_id_are_never_features()
    {
        var bundle = Train();
        bundle.Manifest.FeatureSchema.Select(c => c.Name).ShouldBe(["amount", "hour", "country"]);
        bundle.Manifest.DetectorKind.ShouldBe("iforest");
        bundle.Manifest.FormatVersion.ShouldBe(2);
        bundle.Manifest.TrainingRunId.ShouldBe("run-1");
        bundle.Manifest.Parameters["estimators"].ShouldBe("50");
        bundle.Manifest.Parameters["label"].ShouldBe("label");
        bundle.Manifest.Files.Keys.ShouldBe(["transform.json", "forest.bin", "profile.json"], ignoreOrder: true);
        bundle.Threshold.ShouldBe(0.5);
    }

    [Fact]
    public void Unknown_model_or_label_column_is_refused()
    {
        var frame = TestData.Transactions(1, 50);
        Should.Throw<ArgumentException>(() => ModelBundle.Train(frame, Spec with { Model = "svm" })).Message.ShouldContain("'svm'");
        Should.Throw<ArgumentException>(() => ModelBundle.Train(frame, Spec with { Label = "is_fraud" })).Message.ShouldContain("'is_fraud'");
    }

    [Fact]
    public void Scores_equal_transform_then_detector()
    {
        var frame = TestData.Transactions(22, 9000); // several 4096-row chunks scored in parallel
        var bundle = ModelBundle.Train(frame, Spec);
        var expected = new double[frame.RowCount];
        bundle.Detector.Score(bundle.Transform.Transform(frame), expected);
        bundle.Score(frame).ShouldBe(expected);

        var span = new double[frame.RowCount + 3];
        bundle.Score(frame, span);
        span.AsSpan(0, frame.RowCount).ToArray().ShouldBe(expected);
    }

    [Fact]
    public void Is_anomaly_compares_strictly_with_the_threshold()
    {
        var bundle = Train();
        bundle.IsAnomaly(0.5).ShouldBeFalse();
        bundle.IsAnomaly(0.5000001).ShouldBeTrue();
    }

    [Theory]
    [InlineData("model")]
    [InlineData("model.zip")]
    public void Save_then_load_gives_bit_identical_scores(string name)
    {
        var frame = TestData.Transactions(23, 700);
        var bundle = ModelBundle.Train(frame, Spec with { Forest = Spec.Forest with { Contamination = 0.05 } })
            .WithMetrics(new Dictionary<string, double> { ["auc_roc"] = 0.91, ["nan_metric"] = double.NaN });
        bundle.Save(PathOf(name));
        var loaded = ModelBundle.Load(PathOf(name));

        loaded.Score(frame).ShouldBe(bundle.Score(frame));
        loaded.Threshold.ShouldBe(bundle.Threshold);
        loaded.Manifest.Metrics["auc_roc"].ShouldBe(0.91);
        double.IsNaN(loaded.Manifest.Metrics["nan_metric"]).ShouldBeTrue();
        loaded.Manifest.FeatureSchema.ShouldBe(bundle.Manifest.FeatureSchema);
        loaded.Manifest.Transform.OutputColumns.ShouldBe(bundle.Manifest.Transform.OutputColumns);
        loaded.Manifest.CreatedUtc.ShouldBe(bundle.Manifest.CreatedUtc);
        loaded.Manifest.Parameters.ShouldBe(bundle.Manifest.Parameters);
    }

    [Fact]
    public void Bundle_json_is_camel_case_and_indented()
    {
        Train().Save(PathOf("m"));
        var text = File.ReadAllText(Path.Combine(PathOf("m"), "bundle.json"));
        text.ShouldStartWith("{\n  \"formatVersion\": 2,");
        text.ShouldContain("\"detectorKind\": \"iforest\"");
        text.ShouldContain("\"kind\": \"Float64\"");
        var files = JsonNode.Parse(text)!["files"]!["forest.bin"]!;
        var bytes = File.ReadAllBytes(Path.Combine(PathOf("m"), "forest.bin"));
        files["sha256"]!.GetValue<string>().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        files["size"]!.GetValue<long>().ShouldBe(bytes.LongLength);
    }

    [Fact]
    public void Save_replaces_an_existing_bundle_directory_only_when_asked()
    {
        Train().Save(PathOf("m"));
        var other = ModelBundle.Train(TestData.Transactions(24, 300), Spec with { Forest = Spec.Forest with { Seed = 99 } });
        Should.Throw<BundleException>(() => other.Save(PathOf("m"))).Message.ShouldContain("a model bundle already exists in this folder; pass --force");
        other.Save(PathOf("m"), overwrite: true);
        ModelBundle.Load(PathOf("m")).Manifest.Files["forest.bin"].ShouldBe(other.Manifest.Files["forest.bin"]);
        Directory.GetFileSystemEntries(_dir).Length.ShouldBe(1); // no temp or backup left behind
    }

    [Fact]
    public void Flipped_byte_is_reported_as_a_sha256_mismatch()
    {
        Train().Save(PathOf("m"));
        var forest = Path.Combine(PathOf("m"), "forest.bin");
        var bytes = File.ReadAllBytes(forest);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(forest, bytes);

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldStartWith(PathOf("m") + ": forest.bin SHA-256 mismatch (bundle.json says ");
        e.Message.ShouldEndWith("the bundle was modified or corrupted");
        e.File.ShouldBe("forest.bin");
    }

    [Fact]
    public void Flipped_byte_inside_a_zip_is_reported_as_a_sha256_mismatch()
    {
        Train().Save(PathOf("m.zip"));
        using (var zip = ZipFile.Open(PathOf("m.zip"), ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("transform.json")!;
            string text;
            using (var reader = new StreamReader(entry.Open()))
            {
                text = reader.ReadToEnd();
            }

            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("transform.json").Open());
            writer.Write(text.Replace("\"maxCategories\": 50", "\"maxCategories\": 51", StringComparison.Ordinal));
        }

        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m.zip"))).Message.ShouldContain("transform.json SHA-256 mismatch");
    }

    [Fact]
    public void Truncated_file_is_reported_with_its_size()
    {
        Train().Save(PathOf("m"));
        var forest = Path.Combine(PathOf("m"), "forest.bin");
        var bytes = File.ReadAllBytes(forest);
        File.WriteAllBytes(forest, bytes[..^10]);
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldContain($"forest.bin has {bytes.Length - 10} bytes but bundle.json says {bytes.Length}");
    }

    [Fact]
    public void Truncated_binary_with_matching_hash_is_reported_as_truncated()
    {
        Train().Save(PathOf("m"));
        var forest = Path.Combine(PathOf("m"), "forest.bin");
        var cut = File.ReadAllBytes(forest)[..^10];
        File.WriteAllBytes(forest, cut);
        RewriteManifest("m", json =>
        {
            json["files"]!["forest.bin"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(cut));
            json["files"]!["forest.bin"]!["size"] = cut.Length;
        });

        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldContain("forest.bin is truncated");
        e.InnerException.ShouldBeOfType<InvalidDataException>();
    }

    [Fact]
    public void Unknown_format_version_is_refused_before_anything_else()
    {
        Train().Save(PathOf("m"));
        RewriteManifest("m", json =>
        {
            json["formatVersion"] = 3;
            json["detectorKind"] = "from-the-future";
            json.Remove("files");
        });
        File.Delete(Path.Combine(PathOf("m"), "forest.bin"));

        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")))
            .Message.ShouldBe($"{PathOf("m")}: bundle.json has format version 3; this Vigil reads versions 1, 2");
    }

    [Fact]
    public void Unknown_detector_kind_is_refused()
    {
        Train().Save(PathOf("m"));
        RewriteManifest("m", json => json["detectorKind"] = "System.Diagnostics.Process");
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")))
            .Message.ShouldContain("unknown detector kind 'System.Diagnostics.Process'");
    }

    [Fact]
    public void Missing_file_is_named()
    {
        Train().Save(PathOf("m"));
        File.Delete(Path.Combine(PathOf("m"), "forest.bin"));
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldBe($"{PathOf("m")}: forest.bin is missing (listed in bundle.json)");
    }

    [Fact]
    public void Unlisted_required_file_is_refused()
    {
        Train().Save(PathOf("m"));
        RewriteManifest("m", json => json["files"]!.AsObject().Remove("transform.json"));
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"))).Message.ShouldContain("does not list transform.json");
    }

    [Fact]
    public void File_names_outside_the_bundle_are_refused()
    {
        Train().Save(PathOf("m"));
        RewriteManifest("m", json => json["files"]!["../secret"] = new JsonObject { ["sha256"] = "00", ["size"] = 1 });
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"))).Message.ShouldContain("invalid file name '../secret'");
    }

    [Fact]
    public void Malformed_manifest_json_is_a_bundle_exception()
    {
        Train().Save(PathOf("m"));
        File.WriteAllText(Path.Combine(PathOf("m"), "bundle.json"), "{ \"formatVersion\": 1, ");
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m")));
        e.Message.ShouldContain("bundle.json is not valid JSON");
    }

    [Fact]
    public void Malformed_transform_json_with_matching_hash_is_a_bundle_exception()
    {
        Train().Save(PathOf("m"));
        var bad = "{\"formatVersion\": 1, \"inputs\": [{\"name\": \"amount\", \"kind\": \"Float64\"}]}"u8.ToArray();
        File.WriteAllBytes(Path.Combine(PathOf("m"), "transform.json"), bad);
        RewriteManifest("m", json =>
        {
            json["files"]!["transform.json"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bad));
            json["files"]!["transform.json"]!["size"] = bad.Length;
        });
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"))).Message.ShouldContain("transform.json input 'amount'");
    }

    [Fact]
    public void Edited_threshold_in_manifest_is_refused()
    {
        Train().Save(PathOf("m"));
        RewriteManifest("m", json => json["threshold"] = 0.1);
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m"))).Message.ShouldContain("WithThreshold");
    }

    [Fact]
    public void With_threshold_survives_a_round_trip()
    {
        var bundle = Train().WithThreshold(0.6);
        bundle.Save(PathOf("m.zip"));
        var loaded = ModelBundle.Load(PathOf("m.zip"));
        loaded.Threshold.ShouldBe(0.6);
        loaded.Detector.Threshold.ShouldBe(0.6);
    }

    [Fact]
    public void Garbage_zip_is_a_bundle_exception()
    {
        File.WriteAllBytes(PathOf("m.zip"), [0x50, 0x4b, 1, 2, 3, 4, 5, 6, 7, 8]);
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m.zip")));
        e.Message.ShouldStartWith($"{PathOf("m.zip")}: is not a readable zip archive");
    }

    [Fact]
    public void Zip_without_manifest_is_not_a_bundle()
    {
        using (var zip = ZipFile.Open(PathOf("m.zip"), ZipArchiveMode.Create))
        {
            zip.CreateEntry("readme.txt");
        }

        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("m.zip"))).Message.ShouldContain("bundle.json is missing");
    }

    [Fact]
    public void Nonexistent_path_is_a_bundle_exception()
    {
        Should.Throw<BundleException>(() => ModelBundle.Load(PathOf("nothing"))).Message.ShouldContain("no bundle directory or zip file");
    }

    [Fact]
    public void Scoring_a_frame_without_a_feature_column_names_it()
    {
        var bundle = Train();
        var frame = TestData.Transactions(5, 10).Drop("hour");
        Should.Throw<SchemaMismatchException>(() => bundle.Score(frame)).Column.ShouldBe("hour");
    }

    [Fact]
    public void Scoring_an_empty_frame_still_checks_the_schema()
    {
        var bundle = Train();
        bundle.Score(TestData.Transactions(5, 0)).ShouldBeEmpty();
        Should.Throw<SchemaMismatchException>(() => bundle.Score(TestData.Transactions(5, 0).Drop("country"))).Column.ShouldBe("country");
    }

    [Fact]
    public void Scoring_reports_the_first_bad_row_across_parallel_chunks()
    {
        var frame = TestData.Transactions(6, 9000);
        var bundle = ModelBundle.Train(frame, Spec with { Transform = new FeatureTransformOptions { MissingPolicy = MissingPolicy.Error } });
        var amount = ((Float64Column)frame["amount"]).Values.ToArray();
        amount[8500] = double.NaN;
        amount[5000] = double.NaN;
        var bad = frame.With(new Float64Column("amount", amount));
        Should.Throw<FeatureDataException>(() => bundle.Score(bad)).Row.ShouldBe(5000);
    }

    private void RewriteManifest(string name, Action<JsonObject> edit)
    {
        var file = Path.Combine(PathOf(name), "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(json);
        File.WriteAllText(file, json.ToJsonString());
    }
}
