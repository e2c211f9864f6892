using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Vigil.Data;

namespace Vigil.Detectors.Tests.Calibration;

/// <summary>
/// The score calibrator as a bundle part: fitted on the validation rows of a supervised kind, stored as data
/// (<c>calibration.json</c>, listed and hashed in the manifest), kept by threshold and metric changes, read back
/// identically from a directory or a zip; bundles without it (unsupervised kinds, no validation rows, older bundles)
/// load with no calibrator.
/// </summary>
public sealed class CalibratedBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-calibration-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec LightGbm = new()
    {
        Model = "lightgbm",
        Label = "label",
        IdColumn = "id",
        LightGbm = new LightGbmOptions { Iterations = 10, MinRowsPerLeaf = 5, Seed = 1, Threads = 1 },
    };

    private static (Frame Train, Frame Validation) Data()
    {
        var frame = TestData.Transactions(5, 1500);
        var rows = Enumerable.Range(0, frame.RowCount).ToArray();
        return (frame.Take(rows[..1000]), frame.Take(rows[1000..]));
    }

    [Fact]
    public void Supervised_bundle_trained_with_validation_rows_stores_its_calibrator_and_reads_it_back()
    {
        var (train, validation) = Data();
        var bundle = new BundleTrainer(LightGbm).Fit(train, validation);
        var calibrator = bundle.Calibrator.ShouldNotBeNull();
        calibrator.Rows.ShouldBe(500);
        calibrator.Positives.ShouldBe(10); // every 50th row
        bundle.Manifest.Files.Keys.ShouldContain(ModelBundle.CalibrationFile);
        bundle.Manifest.Parameters["calibration"].ShouldBe("isotonic");
        bundle.Manifest.Parameters["calibrationRows"].ShouldBe("500");

        // The calibrator is the isotonic fit of the bundle's own scores of the validation rows.
        var direct = IsotonicCalibrator.Fit(bundle.Score(validation), [.. Enumerable.Range(0, validation.RowCount).Select(i => (int)validation["label"].GetDouble(i))]);
        calibrator.X.ShouldBe(direct.X);
        calibrator.Y.ShouldBe(direct.Y);

        foreach (var path in new[] { Path.Combine(_dir, "dir-bundle"), Path.Combine(_dir, "bundle.zip") })
        {
            bundle.Save(path);
            var loaded = ModelBundle.Load(path);
            loaded.Calibrator.ShouldNotBeNull().X.ShouldBe(calibrator.X);
            loaded.Calibrator!.Y.ShouldBe(calibrator.Y);
            var scores = loaded.Score(validation);
            scores.Select(loaded.Calibrator.Calibrate).ShouldBe(scores.Select(calibrator.Calibrate));
        }

        bundle.WithThreshold(0.3).Calibrator.ShouldBeSameAs(calibrator);
        bundle.WithMetrics(new Dictionary<string, double> { ["x"] = 1 }).Calibrator.ShouldBeSameAs(calibrator);
        bundle.WithCalibrator(null).Manifest.Files.Keys.ShouldNotContain(ModelBundle.CalibrationFile);
    }

    [Fact]
    public void Bundles_without_validation_rows_or_of_unsupervised_kinds_have_no_calibrator()
    {
        var (train, validation) = Data();
        var noValidation = new BundleTrainer(LightGbm).Fit(train);
        noValidation.Calibrator.ShouldBeNull();
        noValidation.Manifest.Files.Keys.ShouldNotContain(ModelBundle.CalibrationFile);
        var forest = new BundleTrainer(new TrainSpec { Label = "label", IdColumn = "id", Forest = new IsolationForestOptions { Estimators = 10, Seed = 1 } }).Fit(train, validation);
        forest.Calibrator.ShouldBeNull();
        var path = Path.Combine(_dir, "plain");
        noValidation.Save(path);
        ModelBundle.Load(path).Calibrator.ShouldBeNull();
    }

    [Fact]
    public void A_malformed_calibrator_is_refused_naming_the_file()
    {
        var (train, validation) = Data();
        var path = Path.Combine(_dir, "tampered");
        new BundleTrainer(LightGbm).Fit(train, validation).Save(path);
        var bad = """{"method":"isotonic","rows":500,"positives":10,"x":[0.5,0.1],"y":[0,1]}"""u8.ToArray();
        File.WriteAllBytes(Path.Combine(path, ModelBundle.CalibrationFile), bad);
        var manifestPath = Path.Combine(path, ModelBundle.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["files"]![ModelBundle.CalibrationFile] = new JsonObject
        {
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bad)),
            ["size"] = bad.Length,
        };
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var e = Should.Throw<BundleException>(() => ModelBundle.Load(path));
        e.Message.ShouldContain("calibration.json");
        e.Message.ShouldContain("knot 1");
    }
}
