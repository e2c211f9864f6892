using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle.Tests;

public sealed class TrainTests
{
    [Fact]
    public async Task Train_with_register_records_params_metrics_dataset_bundle_and_version()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var progress = new RecordingProgress();

        var result = await fx.Lifecycle.TrainAsync(new TrainOptions
        {
            Data = fx.Data,
            Spec = LifecycleFixture.Spec(),
            Output = fx.File("model.zip"),
            Experiment = "fraud-exp",
            RegisterAs = "fraud",
        }, progress, ct);

        result.Rows.ShouldBe(LifecycleFixture.Rows);
        File.Exists(fx.File("model.zip")).ShouldBeTrue();
        result.Metrics!["train_auc_roc"].ShouldBeGreaterThan(0.99, "20 anomalies 6 units from a cloud of radius 1");
        result.Bundle.Manifest.Metrics.ShouldBe(result.Metrics);
        result.Run!.Experiment.ShouldBe("fraud-exp");

        var run = await fx.Store.GetRunAsync(result.Run.RunId, ct);
        run.Status.ShouldBe(RunStatus.Finished);
        run.Params["model"].ShouldBe("iforest");
        run.Params["data"].ShouldBe("train.csv");
        run.Params["label"].ShouldBe("label");
        run.Params["features"].ShouldBe("x,y");
        run.Params["estimators"].ShouldBe("50");
        run.Params["seed"].ShouldBe("1");
        run.LatestMetrics["train_auc_pr"].Value.ShouldBe(result.Metrics["train_auc_pr"]);
        run.Datasets.ShouldHaveSingleItem().RowCount.ShouldBe(LifecycleFixture.Rows);
        run.Datasets[0].Sha256.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(fx.DataPath))));
        var artifact = run.Artifacts.ShouldHaveSingleItem();
        artifact.Name.ShouldBe("model.zip");

        var version = result.Run.Version!;
        version.Version.ShouldBe(1);
        version.ModelName.ShouldBe("fraud");
        version.SourceRunId.ShouldBe(run.RunId);
        version.BundleSha256.ShouldBe(artifact.Sha256);
        version.FeatureSchema.ShouldBe("x:float64,y:float64");
        version.Metrics.ShouldBe(result.Metrics);

        progress.Events.Select(e => e.Stage).ShouldBe([LifecycleStages.Read, LifecycleStages.Fit, LifecycleStages.Fit, LifecycleStages.Track, LifecycleStages.Track]);
        progress.Events[^1].RunId.ShouldBe(run.RunId);
    }

    [Fact]
    public async Task Training_on_generated_transactions_never_uses_the_fraud_pattern_column_as_a_feature()
    {
        // fraud_pattern reveals the label (TransactionColumns.LeakColumns); the detectors know nothing of it, the lifecycle excludes it.
        var frame = Vigil.Data.TransactionGenerator.GenerateFrame(new Vigil.Data.TransactionGeneratorOptions { Rows = 2_000, Seed = 3 });
        frame.Contains(Vigil.Data.TransactionColumns.FraudPattern).ShouldBeTrue();
        var lifecycle = new ModelLifecycle(null, null);

        var result = await lifecycle.TrainAsync(new TrainOptions
        {
            Data = DataSource.FromFrame(frame, "generated"),
            Spec = new Vigil.Detectors.TrainSpec { Label = "label", IdColumn = "transaction_id", Forest = new Vigil.Detectors.IsolationForestOptions { Seed = 1, Estimators = 10 } },
        }, null, TestContext.Current.CancellationToken);

        var features = result.Bundle.Manifest.FeatureSchema.Select(c => c.Name).ToArray();
        features.ShouldNotContain(Vigil.Data.TransactionColumns.FraudPattern);
        features.ShouldNotContain("label");
        features.ShouldContain("amount");
    }

    [Fact]
    public async Task Train_without_experiment_or_registry_logs_no_run_and_needs_no_store()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vigil-lifecycle-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            await using var fx = await LifecycleFixture.CreateAsync();
            var result = await new ModelLifecycle().TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), Output = Path.Combine(dir, "m") },
                null, TestContext.Current.CancellationToken);
            result.Run.ShouldBeNull();
            File.Exists(Path.Combine(dir, "m", "bundle.json")).ShouldBeTrue();
            (await fx.Store.ListRunsAsync(cancellationToken: TestContext.Current.CancellationToken)).ShouldBeEmpty();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Supervised_training_with_validation_rows_or_a_calibration_fraction_stores_a_calibrator()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var spec = LifecycleFixture.Spec() with { Model = "lightgbm", LightGbm = new Vigil.Detectors.LightGbmOptions { Iterations = 10, MinRowsPerLeaf = 5, Threads = 1 } };

        var held = await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = spec, CalibrationFraction = 0.25, CalibrationSeed = 2 }, null, ct);
        var calibrator = held.Bundle.Calibrator.ShouldNotBeNull();
        calibrator.Rows.ShouldBe(250); // a stratified quarter held out from fitting
        calibrator.Positives.ShouldBe(5);
        held.Bundle.Manifest.Parameters["trainRows"].ShouldBe("750");

        var given = await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = spec, Validation = fx.Data }, null, ct);
        given.Bundle.Calibrator.ShouldNotBeNull().Rows.ShouldBe(LifecycleFixture.Rows);
        given.Bundle.Manifest.Parameters["trainRows"].ShouldBe("1000");

        (await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = spec }, null, ct)).Bundle.Calibrator.ShouldBeNull();
        (await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), CalibrationFraction = 0.25 }, null, ct)).Bundle.Calibrator.ShouldBeNull(); // unsupervised
        var bad = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = spec, CalibrationFraction = 1 }, null, ct));
        bad.Message.ShouldContain("--calibration-fraction");
    }

    [Fact]
    public async Task Same_seed_and_data_give_the_same_scores()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var a = await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(seed: 5) }, null, ct);
        var b = await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(seed: 5) }, null, ct);
        b.Bundle.Score(fx.Frame).ShouldBe(a.Bundle.Score(fx.Frame));
    }

    [Fact]
    public async Task Cancellation_stops_training_and_ends_the_run_killed()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new RecordingProgress(e =>
        {
            if (e.Stage == LifecycleStages.Read)
            {
                cts.Cancel();
            }
        });

        await Should.ThrowAsync<OperationCanceledException>(() => fx.Lifecycle.TrainAsync(
            new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), Experiment = "cancelled", RegisterAs = "fraud" }, progress, cts.Token));

        var run = (await fx.Store.ListRunsAsync("cancelled", cancellationToken: TestContext.Current.CancellationToken)).ShouldHaveSingleItem();
        run.Status.ShouldBe(RunStatus.Killed);
        progress.Events.ShouldNotContain(e => e.Stage == LifecycleStages.Fit, "cancelled before the fit");
        (await fx.Store.ListRegisteredModelsAsync(TestContext.Current.CancellationToken)).ShouldNotContain(m => m.Name == "fraud" && m.LatestVersion > 0);
    }

    [Fact]
    public async Task Failed_training_ends_the_run_failed_and_names_the_missing_label()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var error = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.TrainAsync(
            new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec() with { Label = "is_fraud" }, Experiment = "bad" }, null, ct));

        error.Option.ShouldBe("Label");
        error.Detail.ShouldStartWith("is_fraud: no such column in " + fx.DataPath);
        (await fx.Store.ListRunsAsync("bad", cancellationToken: ct)).ShouldHaveSingleItem().Status.ShouldBe(RunStatus.Failed);
    }

    [Fact]
    public async Task Metrics_data_measures_the_model_on_other_rows_under_a_prefix()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var test = fx.Frame.Take(Enumerable.Range(500, 500).ToArray());
        var result = await fx.Lifecycle.TrainAsync(new TrainOptions
        {
            Data = DataSource.FromFrame(fx.Frame.Take(Enumerable.Range(0, 500).ToArray()), "first-half"),
            Spec = LifecycleFixture.Spec(),
            MetricsData = DataSource.FromFrame(test, "second-half"),
            MetricPrefix = "oot_",
        }, null, ct);

        var expected = MetricSet.Standard(result.Bundle.Score(test), Labels.From(test, "label"));
        result.Metrics!.Keys.ShouldBe(MetricSet.StandardNames.Select(n => "oot_" + n), ignoreOrder: true);
        result.Metrics["oot_auc_pr"].ShouldBe(expected[MetricSet.AucPr]);
    }
}
