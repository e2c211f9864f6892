using System.Globalization;
using Vigil.Data;
using Vigil.Evaluation;

namespace Vigil.Lifecycle.Tests;

public sealed class EvaluateScoreTests
{
    [Fact]
    public async Task Evaluate_a_registered_version_on_its_training_data_gives_its_training_metrics()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var version = await fx.RegisterAsync("fraud", good: true);
        var progress = new RecordingProgress();

        var result = await fx.Lifecycle.EvaluateAsync(new EvaluateOptions { Model = "models:/fraud/1", Data = fx.Data, Label = "label", K = 20 }, progress, ct);

        result.Model.Version!.Version.ShouldBe(1);
        result.Report.Rows.ShouldBe(LifecycleFixture.Rows);
        result.Report.Positives.ShouldBe(LifecycleFixture.Positives);
        result.Report.Metrics[MetricSet.AucRoc].ShouldBe(version.Metrics["train_auc_roc"]);
        result.Report.Metrics[MetricSet.AucPr].ShouldBe(version.Metrics["train_auc_pr"]);
        var cm = result.Report.AtThreshold;
        (cm.TruePositives + cm.FalseNegatives).ShouldBe(LifecycleFixture.Positives);
        progress.Events[0].Stage.ShouldBe(LifecycleStages.Model);
        progress.Events[0].Message.ShouldStartWith("models:/fraud/1 -> models:/fraud/1 (");
    }

    [Fact]
    public async Task Evaluate_refuses_data_with_one_class()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        await fx.RegisterAsync("fraud", good: true);
        var normal = fx.Frame.Take(Enumerable.Range(0, 7).ToArray());

        var error = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.EvaluateAsync(
            new EvaluateOptions { Model = "models:/fraud/1", Data = DataSource.FromFrame(normal, "normal"), Label = "label" }, null, TestContext.Current.CancellationToken));

        error.Option.ShouldBe("Label");
        error.Detail.ShouldContain("holds only one class");
    }

    [Fact]
    public async Task Registry_uri_without_a_store_is_a_clear_error()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var error = await Should.ThrowAsync<LifecycleException>(() => new ModelLifecycle().LoadModelAsync("models:/fraud/1", null, TestContext.Current.CancellationToken));
        error.Message.ShouldBe("models:/fraud/1: needs a tracking store, and this lifecycle has none");
    }

    [Fact]
    public async Task Score_file_streams_chunks_and_flags_rows_over_the_threshold()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var trained = await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), Output = fx.File("model") }, null, ct);
        var progress = new RecordingProgress();

        var result = await fx.Lifecycle.ScoreFileAsync(new ScoreFileOptions
        {
            Model = fx.File("model"),
            Data = fx.DataPath,
            Output = fx.File("scores.csv"),
            Keep = ["label"],
            ChunkRows = 300,
        }, progress, ct);

        result.Rows.ShouldBe(LifecycleFixture.Rows);
        progress.Events.Select(e => e.Done).ShouldBe([300L, 600L, 900L, 1000L]);
        var lines = File.ReadAllLines(fx.File("scores.csv"));
        lines[0].ShouldBe("id,label,score,is_anomaly");
        lines.Length.ShouldBe(LifecycleFixture.Rows + 1);
        var expected = trained.Bundle.Score(fx.Frame);
        var flagged = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var cells = lines[i + 1].Split(',');
            cells[0].ShouldBe((i + 1).ToString(CultureInfo.InvariantCulture));
            double.Parse(cells[2], CultureInfo.InvariantCulture).ShouldBe(expected[i], 1e-12);
            var isAnomaly = expected[i] > trained.Bundle.Threshold;
            cells[3].ShouldBe(isAnomaly ? "1" : "0");
            flagged += isAnomaly ? 1 : 0;
        }

        result.Flagged.ShouldBe(flagged);
    }

    [Fact]
    public async Task Score_file_with_an_unknown_kept_column_writes_nothing()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), Output = fx.File("model") }, null, ct);

        var error = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.ScoreFileAsync(
            new ScoreFileOptions { Model = fx.File("model"), Data = fx.DataPath, Output = fx.File("s.csv"), Keep = ["nope"] }, null, ct));

        error.Option.ShouldBe("Keep");
        File.Exists(fx.File("s.csv")).ShouldBeFalse();
        Directory.GetFiles(fx.Dir, ".vigil-*").ShouldBeEmpty();
    }

    [Fact]
    public async Task Score_file_stops_when_cancelled_and_leaves_no_output()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await fx.Lifecycle.TrainAsync(new TrainOptions { Data = fx.Data, Spec = LifecycleFixture.Spec(), Output = fx.File("model") }, null, ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = new RecordingProgress(e => cts.Cancel());

        await Should.ThrowAsync<OperationCanceledException>(() => fx.Lifecycle.ScoreFileAsync(
            new ScoreFileOptions { Model = fx.File("model"), Data = fx.DataPath, Output = fx.File("s.csv"), ChunkRows = 100 }, progress, cts.Token));

        progress.Events.Count.ShouldBe(1, "the first chunk's report cancels; the second chunk is never scored");
        File.Exists(fx.File("s.csv")).ShouldBeFalse();
    }
}
