namespace Vigil.Detectors.Tests.Forest;

public sealed class IsolationForestReasonsTests
{
    private const int Columns = 5;

    private static readonly FeatureMatrix Blob = TestData.Gaussian(21, 1000, Columns);

    private static readonly IsolationForestModel Model = new IsolationForest(new IsolationForestOptions { Seed = 3 }).Fit(Blob);

    private static double[] Contributions(IsolationForestModel model, ReadOnlySpan<float> row)
    {
        var result = new double[model.FeatureCount];
        model.Contributions(row, result);
        return result;
    }

    private static double Score(IsolationForestModel model, float[] row) =>
        model.Score(new FeatureMatrix(row, 1, TestData.Names(row.Length)))[0];

    [Theory]
    [InlineData(100, 256, 1000)] // the default: groups of eight trees, then four
    [InlineData(7, 64, 1000)] // groups of four, then a pair and a single tree
    [InlineData(6, 3000, 4000)] // trees of different depths side by side
    [InlineData(23, 3000, 2000)] // groups of eight, four, a pair and a single tree of different depths
    [InlineData(1, 16, 200)]
    public void Scoring_while_explaining_gives_the_batch_score_and_the_contributions_to_the_bit(int trees, int samples, int rows)
    {
        var data = TestData.Gaussian(31, rows, Columns);
        var model = new IsolationForest(new IsolationForestOptions { Seed = 9, Estimators = trees, MaxSamples = MaxSamples.Count(samples) }).Fit(data);
        Assert.True(model.ScoresWhileExplaining);
        var batch = model.Score(data); // groups of eight rows walk tree by tree: another path to the same sums
        var contributions = new double[Columns];
        for (var r = 0; r < rows; r++)
        {
            Assert.True(model.TryScoreWithContributions(data.Row(r), contributions, out var score));
            Assert.Equal(BitConverter.DoubleToInt64Bits(batch[r]), BitConverter.DoubleToInt64Bits(score));
            Assert.Equal(Contributions(model, data.Row(r)), contributions);
        }
    }

    [Fact]
    public void Trees_too_deep_for_the_perfect_layout_score_and_explain_separately()
    {
        var data = TestData.Gaussian(32, 9000, Columns);
        var model = new IsolationForest(new IsolationForestOptions { Seed = 9, Estimators = 3, MaxSamples = MaxSamples.Count(9000) }).Fit(data);
        Assert.False(model.ScoresWhileExplaining);
        Assert.False(model.TryScoreWithContributions(data.Row(0), new double[Columns], out _));
    }

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    public void Feature_extreme_in_an_otherwise_typical_row_is_the_top_reason(int feature)
    {
        var row = Blob.Row(10).ToArray();
        row[feature] = 50f;
        var contributions = Contributions(Model, row);

        ArgMax(contributions).ShouldBe(feature);
        contributions[feature].ShouldBeGreaterThan(0);
        for (var f = 0; f < Columns; f++)
        {
            if (f != feature)
            {
                Math.Abs(contributions[f]).ShouldBeLessThan(contributions[feature] / 2);
            }
        }
    }

    [Fact]
    public void Contributions_add_up_to_one_plus_log2_of_the_score()
    {
        Model.ContributionBaseline.ShouldBe(1.0, 1e-12);
        var outlier = Blob.Row(0).ToArray();
        outlier[2] = -40f;
        Contributions(Model, outlier).Sum().ShouldBe(1 + Math.Log2(Score(Model, outlier)), 1e-9);
        Score(Model, outlier).ShouldBeGreaterThan(0.5);

        var scores = Model.Score(Blob);
        for (var r = 0; r < Blob.Rows; r += 37)
        {
            Contributions(Model, Blob.Row(r)).Sum().ShouldBe(1 + Math.Log2(scores[r]), 1e-9);
        }
    }

    [Fact]
    public void A_typical_row_has_net_negative_contributions()
    {
        // The blob centre is isolated more slowly than average: score below 0.5, so the reasons point towards normal.
        var centre = new float[Columns];
        Score(Model, centre).ShouldBeLessThan(0.5);
        Contributions(Model, centre).Sum().ShouldBeLessThan(0);
    }

    [Fact]
    public void With_bootstrap_contributions_add_up_to_the_baseline_plus_log2_of_the_score()
    {
        var model = new IsolationForest(new IsolationForestOptions { Seed = 5, Estimators = 30, Bootstrap = true }).Fit(Blob);
        var baseline = 0.0;
        foreach (var tree in model.Trees)
        {
            baseline += PathLength.Average(tree.Samples[0]);
        }

        baseline /= model.TreeCount * PathLength.Average(model.MaxSamples);
        model.ContributionBaseline.ShouldBe(baseline, 1e-12);
        model.ContributionBaseline.ShouldBeLessThan(1.0);
        var scores = model.Score(Blob);
        for (var r = 0; r < 50; r++)
        {
            Contributions(model, Blob.Row(r)).Sum().ShouldBe(baseline + Math.Log2(scores[r]), 1e-9);
        }
    }

    [Theory]
    [InlineData(256, 600, false)]   // depth 8: complete-tree layout, trees walked in pairs plus an odd one
    [InlineData(256, 600, true)]    // few distinct rows: trees of different depths
    [InlineData(5000, 6000, false)] // depth 13: linked-node layout
    public void Each_split_credits_its_feature_with_the_shortening_of_the_expected_path(int maxSamples, int rows, bool coarse)
    {
        var x = TestData.Gaussian(22, rows, 3);
        if (coarse)
        {
            var values = x.Values.ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = i % 3 == 0 ? MathF.Round(values[i]) : values[i] > 0 ? 1 : 0; // about 28 distinct rows
            }

            x = new FeatureMatrix(values, rows, x.ColumnNames);
        }

        var model = new IsolationForest(new IsolationForestOptions { Seed = 9, Estimators = 9, MaxSamples = MaxSamples.Count(maxSamples) }).Fit(x);
        if (coarse)
        {
            var depths = new HashSet<int>();
            for (var t = 0; t < model.TreeCount; t++)
            {
                depths.Add(model.TreeDepth(t));
            }

            depths.Count.ShouldBeGreaterThan(1);
        }

        var denominator = model.TreeCount * PathLength.Average(model.MaxSamples);
        for (var r = 0; r < rows; r += 53)
        {
            var row = x.Row(r);
            var expected = new double[3];
            foreach (var tree in model.Trees)
            {
                var node = 0;
                while (tree.Feature[node] >= 0)
                {
                    var next = row[tree.Feature[node]] <= tree.Threshold[node] ? tree.Left[node] : tree.Right[node];
                    expected[tree.Feature[node]] += (PathLength.Average(tree.Samples[node]) - PathLength.Average(tree.Samples[next]) - 1) / denominator;
                    node = next;
                }
            }

            var actual = Contributions(model, row);
            for (var f = 0; f < 3; f++)
            {
                actual[f].ShouldBe(expected[f], 1e-12);
            }
        }
    }

    [Fact]
    public void Contributions_are_finite_and_identical_across_calls_and_threads()
    {
        var expected = new double[Blob.Rows][];
        for (var r = 0; r < Blob.Rows; r++)
        {
            expected[r] = Contributions(Model, Blob.Row(r));
            foreach (var c in expected[r])
            {
                double.IsFinite(c).ShouldBeTrue();
            }
        }

        var mismatches = 0;
        Parallel.For(0, Blob.Rows, new ParallelOptions { MaxDegreeOfParallelism = 4 }, r =>
        {
            var again = Contributions(Model, Blob.Row(r));
            for (var f = 0; f < Columns; f++)
            {
                if (BitConverter.DoubleToInt64Bits(again[f]) != BitConverter.DoubleToInt64Bits(expected[r][f]))
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        });
        mismatches.ShouldBe(0);
    }

    [Fact]
    public void Contributions_do_not_allocate()
    {
        var row = Blob.Row(1).ToArray();
        var output = new double[Columns];
        Model.Contributions(row, output); // warm up (JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Model.Contributions(row, output);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Fact]
    public void A_feature_never_split_on_gets_exactly_zero()
    {
        var x = TestData.Gaussian(23, 500, 3);
        var data = x.Values.ToArray();
        for (var r = 0; r < x.Rows; r++)
        {
            data[(r * 3) + 1] = 2.5f; // constant: never a split candidate
        }

        var model = new IsolationForest(new IsolationForestOptions { Seed = 2, Estimators = 20 }).Fit(new FeatureMatrix(data, x.Rows, x.ColumnNames));
        var row = new[] { 9f, 2.5f, -9f };
        var contributions = Contributions(model, row);
        contributions[1].ShouldBe(0.0);
        contributions[0].ShouldBeGreaterThan(0);
        contributions[2].ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Forests_that_cannot_separate_anything_give_zero_contributions()
    {
        var constant = new float[300 * 2];
        Array.Fill(constant, 1f);
        var flat = new IsolationForest(new IsolationForestOptions { Seed = 1, Estimators = 5 }).Fit(new FeatureMatrix(constant, 300, TestData.Names(2)));
        Contributions(flat, [7f, -7f]).ShouldBe([0.0, 0.0]);

        var single = new IsolationForest(new IsolationForestOptions { Seed = 1, Estimators = 5 }).Fit(new FeatureMatrix([1f, 2f], 1, TestData.Names(2)));
        Contributions(single, [7f, -7f]).ShouldBe([0.0, 0.0]);
    }

    [Fact]
    public void Wrong_row_width_short_output_or_non_finite_value_is_refused()
    {
        var nan = new float[Columns];
        nan[2] = float.NaN;
        Should.Throw<ArgumentException>(() => Model.Contributions(nan, new double[Columns])).Message.ShouldContain("NaN at feature 2");
        Should.Throw<ArgumentException>(() => Model.Contributions(new float[Columns - 1], new double[Columns])).Message.ShouldContain("5 features");
        Should.Throw<ArgumentException>(() => Model.Contributions(new float[Columns], new double[Columns - 1])).Message.ShouldContain("5 contributions");
    }
}
