using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle.Tests;

public sealed class SearchTests
{
    private static IReadOnlyList<SearchCandidateSpec> Candidates()
    {
        var grid = SearchSpace.ParseYaml("estimators: [10, 40]\nmaxFeatures: [0.5, 1.0]\n", "test grid").Grid();
        var baseSpec = LifecycleFixture.Spec() with { Features = ["x", "y", "noise"] };
        return [.. grid.Select(combo => new SearchCandidateSpec(TrainParameters.Apply(baseSpec, combo), combo))];
    }

    [Fact]
    public async Task Same_seed_gives_the_same_leaderboard_and_registers_the_best()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        SearchOptions Options(string experiment) => new()
        {
            Data = fx.Data, Label = "label", Candidates = Candidates(), Seed = 3, Parallel = 2, Experiment = experiment, RegisterAs = "searched", Top = 2,
        };
        var progress = new RecordingProgress();

        var first = await fx.Lifecycle.SearchAsync(Options("s1"), progress, ct);
        var second = await fx.Lifecycle.SearchAsync(Options("s2"), null, ct);

        first.Succeeded.ShouldBeTrue();
        first.Leaderboard.Count.ShouldBe(4);
        first.TrainRows.ShouldBe(800);
        first.ValidationRows.ShouldBe(200);
        first.Validation.ShouldBe("stratified random 0.2");
        second.Leaderboard.Select(e => e.Candidate).ShouldBe(first.Leaderboard.Select(e => e.Candidate));
        second.Leaderboard.Select(e => e.Metrics[MetricSet.AucPr]).ShouldBe(first.Leaderboard.Select(e => e.Metrics[MetricSet.AucPr]));
        first.Leaderboard.Select(e => e.Rank).ShouldBe([1, 2, 3, 4]);
        for (var i = 1; i < 4; i++)
        {
            first.Leaderboard[i].Metrics[MetricSet.AucPr].ShouldBeLessThanOrEqualTo(first.Leaderboard[i - 1].Metrics[MetricSet.AucPr]);
        }

        first.Registered.Select(v => v.SourceRunId).ShouldBe(first.Leaderboard.Take(2).Select(e => e.RunId));
        first.Registered[0].Metrics["val_auc_pr"].ShouldBe(first.Leaderboard[0].Metrics[MetricSet.AucPr]);
        second.Registered.Select(v => v.Version).ShouldBe([3, 4]);

        var parent = await fx.Store.GetRunAsync(first.RunId, ct);
        parent.Status.ShouldBe(RunStatus.Finished);
        parent.Params["candidates"].ShouldBe("4");
        parent.Tags["best_run"].ShouldBe(first.Leaderboard[0].RunId);
        parent.LatestMetrics["best_auc_pr"].Value.ShouldBe(first.Leaderboard[0].Metrics[MetricSet.AucPr]);
        var children = await fx.Store.ListRunsAsync("s1", new RunFilter { ParentRunId = first.RunId }, ct);
        children.Count.ShouldBe(4);
        children.ShouldAllBe(c => c.Status == RunStatus.Finished && c.Artifacts.Count == 1);

        progress.Events[0].Stage.ShouldBe(LifecycleStages.Search);
        progress.Events[0].RunId.ShouldBe(first.RunId);
        progress.Events.Skip(1).Select(e => e.Done).ShouldBe([1L, 2L, 3L, 4L]);
        progress.Events.Skip(1).ShouldAllBe(e => e.Stage == LifecycleStages.Candidate && e.Total == 4 && e.Message!.StartsWith("trial-00", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Supervised_candidates_are_calibrated_on_the_hold_out()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var spec = LifecycleFixture.Spec() with { Model = "lightgbm", LightGbm = new LightGbmOptions { Iterations = 10, MinRowsPerLeaf = 5, Threads = 1 } };
        var result = await fx.Lifecycle.SearchAsync(new SearchOptions
        {
            Data = fx.Data, Label = "label", Candidates = [new SearchCandidateSpec(spec, new Dictionary<string, string>())], Seed = 3, Experiment = "cal", RegisterAs = "calibrated",
        }, null, ct);
        result.Succeeded.ShouldBeTrue();
        var version = result.Registered.ShouldHaveSingleItem();
        var loaded = await fx.Lifecycle.LoadModelAsync(version.Uri.ToString(), null, ct);
        var calibrator = loaded.Bundle.Calibrator.ShouldNotBeNull();
        calibrator.Rows.ShouldBe(result.ValidationRows);
        calibrator.Positives.ShouldBe(4); // 20% of the 20 positives, stratified
    }

    [Fact]
    public async Task A_candidate_that_fails_on_its_options_is_a_leaderboard_row_with_its_error()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var good = LifecycleFixture.Spec();
        var missing = good with { Features = ["x", "no_such_feature"] };
        var result = await fx.Lifecycle.SearchAsync(new SearchOptions
        {
            Data = fx.Data, Label = "label", Parallel = 1, Experiment = "mixed",
            Candidates = [new(missing, new Dictionary<string, string> { ["features"] = "x,no_such_feature" }), new(good, new Dictionary<string, string> { ["features"] = "x,y" })],
        }, null, ct);

        result.Succeeded.ShouldBeTrue();
        result.Leaderboard[0].Candidate.ShouldBe(2);
        result.Leaderboard[1].Error!.ShouldContain("no_such_feature");
        (await fx.Store.GetRunAsync(result.Leaderboard[1].RunId, ct)).Status.ShouldBe(RunStatus.Failed);
        (await fx.Store.GetRunAsync(result.RunId, ct)).Status.ShouldBe(RunStatus.Finished);
    }

    [Fact]
    public async Task Cancelled_search_ends_the_search_run_killed()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new RecordingProgress(e =>
        {
            if (e.Stage == LifecycleStages.Search)
            {
                cts.Cancel();
            }
        });

        await Should.ThrowAsync<OperationCanceledException>(() => fx.Lifecycle.SearchAsync(
            new SearchOptions { Data = fx.Data, Label = "label", Candidates = Candidates(), Parallel = 1, Experiment = "stopped" }, progress, cts.Token));

        var runs = await fx.Store.ListRunsAsync("stopped", cancellationToken: TestContext.Current.CancellationToken);
        runs.ShouldHaveSingleItem().Status.ShouldBe(RunStatus.Killed);
        progress.Events.ShouldNotContain(e => e.Stage == LifecycleStages.Candidate);
    }
}
