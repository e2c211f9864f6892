using Vigil.Tracking;

namespace Vigil.Monitoring.Tests.Profiles;

/// <summary>
/// The server's online window: counts that slide out must leave no trace, so a window always reports exactly what a
/// fresh <see cref="ProfileDrift"/> over its last <see cref="SlidingProfileDrift.Window"/> items reports.
/// </summary>
public sealed class SlidingProfileDriftTests
{
    private static readonly string[] Inputs = ["amount", "stable", "channel"];

    [Fact]
    public void A_full_window_reports_exactly_its_last_items()
    {
        var bundle = Reports.ModelCache.Bundle;
        var window = new SlidingProfileDrift(bundle.Profile!, bundle.Threshold, Inputs, 1000);
        var old = ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(1000, shift: 0, seed: 8));
        var shifted = ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(1300, shift: 60, seed: 9));
        window.Add(new ChunkItems(old, 0, 1000));
        window.Report().DriftShare.ShouldBe(0);
        for (var start = 0; start < 1300; start += 325)
        {
            window.Add(new ChunkItems(shifted, start, 325)); // uneven against the window: the ring wraps mid-request
        }

        var expected = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        expected.Add(ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(1300, shift: 60, seed: 9).Take(Enumerable.Range(300, 1000).ToArray())));
        window.Report().ShouldBe(expected.Report(), new ProfileDriftTests.ReportComparer());
        window.Count.ShouldBe(1000);
        window.Seen.ShouldBe(2300);
        window.Report().Features[0].Drift.ShouldBeTrue();
    }

    [Fact]
    public void A_window_not_yet_full_reports_every_decided_item_and_skips_the_rest()
    {
        var bundle = Reports.ModelCache.Bundle;
        var window = new SlidingProfileDrift(bundle.Profile!, bundle.Threshold, Inputs, 5000);
        var chunk = ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(600, shift: 10, seed: 10));
        for (var i = 0; i < 100; i++)
        {
            chunk.Status[i] = 400; // rejected items are not part of the traffic compared
        }

        window.Add(new ChunkItems(chunk, 0, 600));
        var expected = new ProfileDrift(bundle.Profile!, bundle.Threshold);
        expected.Add(chunk);
        window.Report().ShouldBe(expected.Report(), new ProfileDriftTests.ReportComparer());
        window.Count.ShouldBe(500);
    }

    [Fact]
    public void A_feature_the_requests_do_not_carry_counts_as_missing()
    {
        var bundle = Reports.ModelCache.Bundle;
        var window = new SlidingProfileDrift(bundle.Profile!, bundle.Threshold, ["amount", "channel"], 100);
        var chunk = ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(50, shift: 0, seed: 11));
        window.Add(new ChunkItems(chunk, 0, 50, inputs: ["amount", "channel"]));
        var report = window.Report();
        report.Features.Select(f => f.Name).ShouldBe(Inputs);
        report.Features[1].MissingShareCurrent.ShouldBe(1);
        report.Features[2].MissingShareCurrent.ShouldBe(0);
    }

    /// <summary>Items <paramref name="start"/>..+<paramref name="count"/> of a logged chunk, inputs by index into <c>inputs</c>.</summary>
    private sealed class ChunkItems(InferenceItemChunk chunk, int start, int count, string[]? inputs = null) : IDriftItems
    {
        private readonly InferenceFeatureColumn[] _columns = [.. (inputs ?? Inputs).Select(n => chunk.Features.First(f => f.Name == n))];

        public int DriftItemCount => count;

        public bool IsDecided(int item) => chunk.Status[start + item] == 200;

        public double ScoreOf(int item) => chunk.Score[start + item];

        public double NumberOf(int input, int item) => _columns[input].Numbers![start + item];

        public string? TextOf(int input, int item) => _columns[input].Texts![start + item];
    }
}
