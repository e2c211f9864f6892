using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Lifecycle.Tests;

public sealed class PromoteTests
{
    [Fact]
    public async Task Compare_measures_every_model_on_the_same_out_of_time_rows()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        await fx.RegisterAsync("fraud", good: false);
        await fx.RegisterAsync("fraud", good: true);

        var result = await fx.Lifecycle.CompareAsync(new CompareOptions
        {
            Models = ["models:/fraud/1", "models:/fraud/2"],
            Data = DataSource.FromFrame(fx.Frame, "all"),
            Label = "label",
            Window = new OutOfTimeWindow { OotDays = 10 },
        }, null, ct);

        // One row per hour: the last 10 days are the last 240 hours plus the row exactly 10 days before the latest.
        result.Rows.ShouldBe(241);
        result.Window.ShouldBe("timestamp >= 2026-02-01T15:00:00Z");
        result.Models.Select(m => m.Model.Version!.Version).ShouldBe([1, 2]);
        result.Best(MetricSet.AucPr).Model.Version!.Version.ShouldBe(2);
        var window = fx.Frame.Take(Enumerable.Range(LifecycleFixture.Rows - 241, 241).ToArray());
        var good = (await fx.Lifecycle.LoadModelAsync("models:/fraud/2", null, ct)).Bundle;
        result.Models[1].Metrics[MetricSet.AucPr].ShouldBe(MetricSet.Standard(good.Score(window), Labels.From(window, "label"))[MetricSet.AucPr]);
    }

    [Fact]
    public async Task Window_on_a_column_that_is_not_a_timestamp_names_the_option()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        await fx.RegisterAsync("fraud", good: true);
        var error = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.CompareAsync(new CompareOptions
        {
            Models = ["models:/fraud/1"],
            Data = fx.Data,
            Label = "label",
            Window = new OutOfTimeWindow { TimeColumn = "x", OotDays = 3 },
        }, null, TestContext.Current.CancellationToken));
        error.Option.ShouldBe("TimeColumn");
        error.Detail.ShouldBe("x: not a timestamp column");
    }

    [Fact]
    public async Task Passing_gate_moves_champion_with_the_reason_and_failing_gate_leaves_it()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var weak = await fx.RegisterAsync("fraud", good: false);
        var strong = await fx.RegisterAsync("fraud", good: true);
        var weakAgain = await fx.RegisterAsync("fraud", good: false);
        PromoteOptions Promote(int version, string gate) => new()
        {
            ModelName = "fraud", Candidate = version, Gate = PromotionGate.Parse(gate), Data = fx.Data, Label = "label", Actor = "tester",
        };

        var first = await fx.Lifecycle.PromoteAsync(Promote(weak.Version, "auc_pr>=champion"), null, ct);
        first.Moved.ShouldBeTrue("with no champion a relative condition is skipped");
        first.Champion.ShouldBeNull();

        var better = await fx.Lifecycle.PromoteAsync(Promote(strong.Version, "auc_pr>=champion+0.1"), null, ct);
        better.Gate.Passed.ShouldBeTrue();
        better.Moved.ShouldBeTrue();
        better.Champion!.Version.ShouldBe(weak.Version);
        better.CandidateMetrics[MetricSet.AucPr].ShouldBeGreaterThan(better.ChampionMetrics![MetricSet.AucPr] + 0.1);

        var worse = await fx.Lifecycle.PromoteAsync(Promote(weakAgain.Version, "auc_pr>=champion"), null, ct);
        worse.Gate.Passed.ShouldBeFalse();
        worse.Moved.ShouldBeFalse();

        (await fx.Store.GetRegisteredModelAsync("fraud", ct)).Aliases["champion"].ShouldBe(strong.Version);
        var history = await fx.Store.GetHistoryAsync("fraud", "champion", ct);
        history.Count.ShouldBe(2, "the failed gate moved nothing");
        history.ShouldContain(h => h.ToVersion == strong.Version && h.Reason == better.Gate.Reason && h.Actor == "tester");

        var failedRun = await fx.Store.GetRunAsync(worse.RunId!, ct);
        failedRun.Status.ShouldBe(RunStatus.Finished);
        failedRun.Tags["gate"].ShouldBe("failed");
        failedRun.Tags["gate_reason"].ShouldBe(worse.Gate.Reason);
        failedRun.Params["champion"].ShouldBe(strong.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        failedRun.LatestMetrics["candidate.auc_pr"].Value.ShouldBe(worse.CandidateMetrics[MetricSet.AucPr]);
        failedRun.LatestMetrics["champion.auc_pr"].Value.ShouldBe(worse.ChampionMetrics![MetricSet.AucPr]);
    }

    [Fact]
    public async Task Dry_run_logs_no_run_and_moves_nothing()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var v = await fx.RegisterAsync("fraud", good: true);

        var result = await fx.Lifecycle.PromoteAsync(new PromoteOptions
        {
            ModelName = "fraud", Candidate = v.Version, Gate = PromotionGate.Parse("auc_pr>=0.5"), Data = fx.Data, Label = "label", DryRun = true,
        }, null, ct);

        result.Gate.Passed.ShouldBeTrue();
        result.Moved.ShouldBeFalse();
        result.RunId.ShouldBeNull();
        (await fx.Store.GetRegisteredModelAsync("fraud", ct)).Aliases.ShouldBeEmpty();
        (await fx.Store.FindExperimentAsync("promotions", ct)).ShouldBeNull("no run, so not even its experiment");
    }

    [Fact]
    public async Task Promoting_the_champion_again_is_refused()
    {
        await using var fx = await LifecycleFixture.CreateAsync();
        var ct = TestContext.Current.CancellationToken;
        var v = await fx.RegisterAsync("fraud", good: true);
        await fx.Lifecycle.MoveAliasAsync("fraud", ModelLifecycle.ChampionAlias, v.Version, "first", "tester", ct);

        var error = await Should.ThrowAsync<LifecycleException>(() => fx.Lifecycle.PromoteAsync(new PromoteOptions
        {
            ModelName = "fraud", Candidate = v.Version, Gate = PromotionGate.Parse("auc_pr>=champion"), Data = fx.Data, Label = "label",
        }, null, ct));
        error.Message.ShouldBe("fraud version 1 is already the champion; nothing to promote");
    }
}
