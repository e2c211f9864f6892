using Vigil.Detectors;

namespace Vigil.Fx.Tests;

public sealed class FxBundleTests
{
    [Fact]
    public void Bundle_round_trip_through_a_zip_gives_the_same_decisions()
    {
        var dir = Directory.CreateTempSubdirectory("vigil-fx-");
        try
        {
            var path = Path.Combine(dir.FullName, "fisau.zip");
            FxTestModel.Bundle.Save(path);
            FxDescriptor.Register();
            var loaded = ModelBundle.Load(path);
            loaded.Manifest.DetectorKind.ShouldBe("fx");
            loaded.Manifest.Files.Keys.Order().ShouldBe(["autoencoder.bin", "fx.json", "profile.json", "transform.json"]);
            var scorer = new FxScorer(loaded);
            scorer.Clients.ShouldBe(["FISAU"]);

            var raw = FxDealFrame.ReadRaw(FxDealGenerator.LabelledFrame(FxTestModel.Deals.Evaluation));
            var before = new FxDecision[raw.Length];
            var after = new FxDecision[raw.Length];
            FxTestModel.Scorer.Decide(raw, before);
            scorer.Decide(raw, after);
            after.ShouldBe(before);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_modified_tables_file_is_refused_on_load()
    {
        var dir = Directory.CreateTempSubdirectory("vigil-fx-");
        try
        {
            var path = Path.Combine(dir.FullName, "b");
            FxTestModel.Bundle.Save(path);
            var tables = Path.Combine(path, "fx.json");
            File.WriteAllText(tables, File.ReadAllText(tables).Replace("\"CBA\"", "\"CBX\"", StringComparison.Ordinal));
            Should.Throw<BundleException>(() => FxScorer.Load(path)).Message.ShouldContain("fx.json");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Same_seed_gives_byte_identical_bundle_files_and_identical_scores()
    {
        var again = FxTrainer.Train(FxTestModel.Deals.Training, FxTestModel.Training, new FxTestModel.FixedTime());
        var first = FxTestModel.Bundle;
        again.Manifest.Files.ShouldBe(first.Manifest.Files); // name -> SHA-256 and size of every file
        var features = FxDealFrame.Features([.. FxTestModel.Deals.Evaluation.Select(d => d.Deal).Where(d => d.Client == "FISAU")]);
        again.Score(features).ShouldBe(first.Score(features));
    }

    [Fact]
    public void The_fx_kind_is_not_trained_by_the_generic_trainer()
    {
        FxDescriptor.Register();
        var features = FxDealFrame.Features([.. FxTestModel.Deals.Training.Take(50)]);
        Should.Throw<ArgumentException>(() => new BundleTrainer(new TrainSpec { Model = "fx" }).Fit(features))
            .Message.ShouldStartWith("The 'fx' model is trained from deals with `vigil fx train`");
    }

    [Fact]
    public void Training_needs_deals_of_the_client()
    {
        Should.Throw<FxDataException>(() => FxTrainer.Train(FxTestModel.Deals.Training, FxTestModel.Training with { Clients = ["NOPE"] }))
            .Message.ShouldStartWith("no deal of client NOPE in the data");
    }
}
