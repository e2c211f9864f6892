namespace Vigil.Evaluation.Tests.Search;

public sealed class SearchSpaceTests
{
    private const string GridYaml = """
        # iforest grid
        estimators: [50, 100]
        maxSamples: [auto, 128, 0.5]
        bootstrap: false
        """;

    [Fact]
    public void A_grid_is_the_cartesian_product_with_the_first_parameter_slowest()
    {
        var space = SearchSpace.ParseYaml(GridYaml, "grid.yaml");
        space.GridSize.ShouldBe(6);
        var grid = space.Grid();
        grid.Select(c => string.Join(" ", c.Select(kv => $"{kv.Key}={kv.Value}"))).ShouldBe(
        [
            "estimators=50 maxSamples=auto bootstrap=false",
            "estimators=50 maxSamples=128 bootstrap=false",
            "estimators=50 maxSamples=0.5 bootstrap=false",
            "estimators=100 maxSamples=auto bootstrap=false",
            "estimators=100 maxSamples=128 bootstrap=false",
            "estimators=100 maxSamples=0.5 bootstrap=false",
        ]);
    }

    [Fact]
    public void Trials_from_a_list_space_are_distinct_grid_points_and_depend_only_on_the_seed()
    {
        var space = SearchSpace.ParseYaml(GridYaml, "grid.yaml");
        var a = space.Sample(4, 7);
        a.Count.ShouldBe(4);
        a.Select(Key).Distinct().Count().ShouldBe(4);
        a.Select(Key).ShouldBe(space.Sample(4, 7).Select(Key));
        a.Select(Key).ShouldBeSubsetOf(space.Grid().Select(Key));
        space.Sample(10, 7).Select(Key).ShouldBe(space.Grid().Select(Key)); // asking for more than the grid gives the grid
        Enumerable.Range(0, 5).Select(s => string.Join("|", space.Sample(3, (ulong)s).Select(Key))).Distinct().Count().ShouldBeGreaterThan(1);
    }

    [Fact]
    public void Ranges_sample_within_bounds_whole_numbers_for_whole_bounds_and_log_scale()
    {
        var space = SearchSpace.ParseYaml("""
            learningRate: {min: 0.001, max: 0.1, log: true}
            leaves: {min: 8, max: 64}
            unbalanced: [true, false]
            """, "space.yaml");
        space.GridSize.ShouldBeNull();
        var trials = space.Sample(200, 3);
        var rates = trials.Select(t => double.Parse(t["learningRate"], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        rates.ShouldAllBe(r => r >= 0.001 && r <= 0.1);
        rates.Count(r => r < 0.01).ShouldBeInRange(70, 130); // log-uniform: half the draws below the geometric midpoint
        trials.Select(t => int.Parse(t["leaves"], System.Globalization.CultureInfo.InvariantCulture)).ShouldAllBe(l => l >= 8 && l <= 64);
        trials.Select(t => t["unbalanced"]).Distinct().Order().ShouldBe(["false", "true"]);
        trials.Select(Key).ShouldBe(space.Sample(200, 3).Select(Key));
        Should.Throw<InvalidOperationException>(space.Grid).Message.ShouldContain("'learningRate' is a range");
    }

    [Theory]
    [InlineData("estimators: [50, 100\n", "grid.yaml line 2: not valid YAML")]
    [InlineData("- 1\n- 2\n", "grid.yaml: expected a mapping")]
    [InlineData("estimators: []\n", "grid.yaml line 1: 'estimators' lists no value")]
    [InlineData("a: 1\nlr: {min: 0.1}\n", "grid.yaml line 2: 'lr': a range needs numeric min and max")]
    [InlineData("lr: {min: 1, max: 0.1}\n", "grid.yaml line 1: 'lr': the range needs min <= max")]
    [InlineData("lr: {min: 0, max: 1, log: true}\n", "and min > 0 for log")]
    [InlineData("lr: {low: 0, max: 1}\n", "unknown range key 'low'")]
    [InlineData("a: [1]\nb: [[1, 2]]\n", "grid.yaml line 2: the values of 'b' must be plain values")]
    public void Bad_files_name_the_line(string yaml, string message)
    {
        Should.Throw<SearchSpaceException>(() => SearchSpace.ParseYaml(yaml, "grid.yaml")).Message.ShouldContain(message);
    }

    [Fact]
    public void The_leaderboard_is_best_first_with_ties_and_failures_in_candidate_order()
    {
        static SearchCandidate C(int n, double? aucPr, string? error = null) =>
            new(n, new Dictionary<string, string>(), aucPr is { } v ? new Dictionary<string, double> { ["auc_pr"] = v } : new Dictionary<string, double>(), error);
        var ranked = Leaderboard.Rank([C(1, 0.5), C(2, 0.7), C(3, null, "boom"), C(4, 0.7), C(5, double.NaN), C(6, 0.9)], "auc_pr");
        ranked.Select(c => c.Candidate).ShouldBe([6, 2, 4, 1, 3, 5]);
    }

    private static string Key(IReadOnlyDictionary<string, string> c) => string.Join(",", c.Select(kv => kv.Key + "=" + kv.Value));
}
