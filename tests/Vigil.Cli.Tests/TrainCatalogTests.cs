using System.CommandLine;
using System.Text.RegularExpressions;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Detectors.Tests.Catalog;

namespace Vigil.Cli.Tests;

/// <summary>
/// `vigil train` builds its kinds and parameters from the detector catalog: a kind registered with one call (the
/// test-only <c>meandistance</c> of Vigil.Detectors.Tests) is offered, documented and trained. In process: the
/// command tree is built after the registration, as a host that registers its own kinds at start-up would.
/// </summary>
public sealed partial class TrainCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-train-catalog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_registered_kind_and_its_parameters_appear_in_train_help()
    {
        MeanDistanceDescriptor.Register();
        using var output = new StringWriter();

        var code = CliApp.BuildRoot().Parse(["train", "--help"]).Invoke(new InvocationConfiguration { Output = output });

        code.ShouldBe(0);
        var help = Spaces().Replace(output.ToString(), " "); // the help wraps long descriptions
        help.ShouldContain("meandistance = test-only root-mean-square z-score against the training mean");
        help.ShouldContain("meandistance: cutoff (a number > 0; default 3)");
        help.ShouldContain("iforest: estimators (a whole number >= 1; default 100), maxSamples ('auto', a row count or a fraction like 0.5; default auto)");
        help.ShouldContain("lightgbm = LightGBM gradient boosting (supervised");
        help.ShouldContain("--param");
    }

    [Fact]
    public async Task A_registered_kind_trains_from_the_command_line_with_its_parameter()
    {
        MeanDistanceDescriptor.Register();
        var data = Path.Combine(_dir, "train.csv");
        FrameFile.Write(new Frame(
        [
            new Float64Column("amount", [.. Enumerable.Range(0, 200).Select(i => 100.0 + (i % 17))]),
            new Float64Column("hour", [.. Enumerable.Range(0, 200).Select(i => (double)(i % 24))]),
        ]), data);
        var bundle = Path.Combine(_dir, "m");

        var code = await CliApp.RunAsync(["train", "--data", data, "--kind", "meandistance", "--param", "cutoff=2.5", "--out", bundle]);

        code.ShouldBe(0);
        var loaded = ModelBundle.Load(bundle);
        loaded.Manifest.DetectorKind.ShouldBe("meandistance");
        loaded.Manifest.Parameters["cutoff"].ShouldBe("2.5");
        loaded.Threshold.ShouldBe(2.5);
        (await CliApp.RunAsync(["train", "--data", data, "--kind", "meandistance", "--param", "estimators=5", "--out", bundle])).ShouldBe(CliApp.UsageError);
    }

    [Fact]
    public async Task Per_kind_options_come_from_the_catalog_and_set_that_kinds_parameters()
    {
        var data = Path.Combine(_dir, "labelled.csv");
        FrameFile.Write(new Frame(
        [
            new Float64Column("amount", [.. Enumerable.Range(0, 300).Select(i => 100.0 + (i % 17) + (i % 10 == 0 ? 50 : 0))]),
            new Float64Column("hour", [.. Enumerable.Range(0, 300).Select(i => (double)(i % 24))]),
            new Float64Column("label", [.. Enumerable.Range(0, 300).Select(i => i % 10 == 0 ? 1.0 : 0.0)]),
        ]), data);

        // --estimators is iforest's and lightgbm's estimators (lightgbm's old name iterations is still accepted); --learning-rate is shared by autoencoder and lightgbm.
        var gbm = Path.Combine(_dir, "gbm");
        (await CliApp.RunAsync(["train", "--data", data, "--label", "label", "--kind", "lightgbm", "--estimators", "7", "--leaves", "5",
            "--learning-rate", "0.2", "--unbalanced", "--seed", "3", "--threads", "1", "--out", gbm])).ShouldBe(0);
        var p = ModelBundle.Load(gbm).Manifest.Parameters;
        (p["estimators"], p["leaves"], p["learningRate"], p["unbalanced"], p["seed"]).ShouldBe(("7", "5", "0.2", "true", "3"));

        var ae = Path.Combine(_dir, "ae");
        (await CliApp.RunAsync(["train", "--data", data, "--label", "label", "--kind", "autoencoder", "--hidden", "4,2,4", "--activation", "relu",
            "--epochs", "2", "--out", ae])).ShouldBe(0);
        p = ModelBundle.Load(ae).Manifest.Parameters;
        (p["hiddenLayers"], p["hiddenActivation"], p["epochs"], p["learningRate"]).ShouldBe(("4,2,4", "relu", "2", "0.001"));

        var forest = Path.Combine(_dir, "forest");
        (await CliApp.RunAsync(["train", "--data", data, "--kind", "iforest", "--estimators", "9", "--max-samples", "0.5", "--bootstrap",
            "--contamination", "0.1", "--out", forest])).ShouldBe(0);
        p = ModelBundle.Load(forest).Manifest.Parameters;
        (p["estimators"], p["maxSamples"], p["bootstrap"], p["contamination"]).ShouldBe(("9", "0.5", "true", "0.1"));

        (await CliApp.RunAsync(["train", "--data", data, "--kind", "iforest", "--estimators", "0", "--out", forest])).ShouldBe(CliApp.UsageError);
        (await CliApp.RunAsync(["train", "--data", data, "--kind", "iforest", "--max-samples", "lots", "--out", forest])).ShouldBe(CliApp.UsageError);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
