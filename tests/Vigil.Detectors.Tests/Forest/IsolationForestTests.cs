using Vigil.Data;

namespace Vigil.Detectors.Tests.Forest;

public sealed class IsolationForestTests
{
    private static IsolationForestModel Fit(FeatureMatrix x, IsolationForestOptions? options = null) =>
        new IsolationForest(options ?? new IsolationForestOptions { Seed = 7 }).Fit(x);

    [Fact]
    public void Same_seed_gives_identical_scores()
    {
        var x = TestData.Gaussian(1, 600, 4);
        var a = Fit(x, new() { Seed = 42 }).Score(x);
        var b = Fit(x, new() { Seed = 42 }).Score(x);
        a.ShouldBe(b);
    }

    [Fact]
    public void Different_seed_gives_different_scores()
    {
        var x = TestData.Gaussian(1, 600, 4);
        var a = Fit(x, new() { Seed = 42 }).Score(x);
        var b = Fit(x, new() { Seed = 43 }).Score(x);
        var differing = 0;
        for (var i = 0; i < a.Length; i++)
        {
            differing += a[i] != b[i] ? 1 : 0;
        }

        differing.ShouldBeGreaterThan(a.Length * 9 / 10);
    }

    [Fact]
    public void Scores_do_not_depend_on_degree_of_parallelism()
    {
        // 9000 rows so that scoring also takes the parallel path (chunks of 4096 rows).
        var x = TestData.Gaussian(2, 9000, 3);
        var one = Fit(x, new() { Seed = 5, Estimators = 40, MaxDegreeOfParallelism = 1 });
        var two = Fit(x, new() { Seed = 5, Estimators = 40, MaxDegreeOfParallelism = 2 });
        var all = Fit(x, new() { Seed = 5, Estimators = 40 });
        var expected = one.Score(x);
        two.Score(x).ShouldBe(expected);
        all.Score(x).ShouldBe(expected);

        // Row-by-row scoring agrees with block scoring bit for bit.
        var single = new double[1];
        for (var i = 0; i < 50; i++)
        {
            var row = new FeatureMatrix(x.Row(i).ToArray(), 1, x.ColumnNames);
            all.Score(row, single);
            single[0].ShouldBe(expected[i]);
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(100)]
    public void Small_batches_and_tree_counts_not_divisible_by_four_score_the_same_bits_as_one_big_batch(int trees)
    {
        // A batch of fewer than eight rows (and the rows after the last group of eight) walks four trees at a time;
        // a tree count that is not a multiple of four leaves a tail of trees walked alone.
        var x = TestData.Gaussian(3, 700, 5);
        var model = Fit(x, new() { Seed = 11, Estimators = trees });
        var expected = model.Score(x);
        foreach (var size in new[] { 1, 3, 7, 13 })
        {
            var scores = new double[size];
            for (var start = 0; start + size <= 120; start += size)
            {
                model.Score(new FeatureMatrix(x.Values.Slice(start * 5, size * 5).ToArray(), size, x.ColumnNames), scores);
                for (var i = 0; i < size; i++)
                {
                    scores[i].ShouldBe(expected[start + i]);
                }
            }
        }
    }

    [Fact]
    public void Score_is_higher_for_isolated_point_than_for_every_inlier()
    {
        var inliers = TestData.Gaussian(3, 500, 2);
        var data = new float[(inliers.Rows + 1) * 2];
        inliers.Values.CopyTo(data);
        data[^2] = 8f;
        data[^1] = -8f;
        var x = new FeatureMatrix(data, inliers.Rows + 1, inliers.ColumnNames);
        var scores = Fit(x).Score(x);
        var outlier = scores[^1];
        for (var i = 0; i < inliers.Rows; i++)
        {
            scores[i].ShouldBeLessThan(outlier);
        }

        outlier.ShouldBeGreaterThan(0.5);
    }

    [Fact]
    public void Scores_lie_in_zero_exclusive_one_inclusive()
    {
        var x = TestData.Gaussian(4, 1000, 5);
        foreach (var s in Fit(x).Score(x))
        {
            s.ShouldBeGreaterThan(0.0);
            s.ShouldBeLessThanOrEqualTo(1.0);
        }
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.0)]
    [InlineData(2, 1.0)]
    [InlineData(3, 1.2073923575896231)] // 2 (ln 2 + γ) - 4/3
    [InlineData(256, 10.244770920119917)] // 2 (ln 255 + γ) - 510/256
    public void Average_path_length_matches_the_formula(int n, double expected) =>
        PathLength.Average(n).ShouldBe(expected, 1e-12);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(256, 8)]
    [InlineData(257, 9)]
    [InlineData(1000, 10)]
    public void Depth_limit_is_ceil_log2_of_max_samples(int maxSamples, int expected) =>
        PathLength.DepthLimit(maxSamples).ShouldBe(expected);

    [Fact]
    public void Trees_never_grow_beyond_the_depth_limit()
    {
        var x = TestData.Gaussian(5, 2000, 3);
        var model = Fit(x, new() { Seed = 1, Estimators = 30, MaxSamples = MaxSamples.Count(100) });
        model.DepthLimit.ShouldBe(7);
        var deepest = 0;
        for (var t = 0; t < model.TreeCount; t++)
        {
            model.TreeDepth(t).ShouldBeLessThanOrEqualTo(7);
            deepest = Math.Max(deepest, model.TreeDepth(t));
        }

        deepest.ShouldBe(7);
    }

    [Fact]
    public void Auto_contamination_sets_threshold_one_half()
    {
        var x = TestData.Gaussian(6, 300, 2);
        Fit(x).Threshold.ShouldBe(0.5);
    }

    [Fact]
    public void Contamination_fraction_flags_that_share_of_training_rows()
    {
        var x = TestData.Gaussian(7, 1000, 3);
        var model = Fit(x, new() { Seed = 3, Contamination = 0.1 });
        var flagged = 0;
        foreach (var s in model.Score(x))
        {
            flagged += s > model.Threshold ? 1 : 0;
        }

        flagged.ShouldBeInRange(98, 102);
    }

    [Fact]
    public void Contamination_threshold_is_numpy_percentile_of_negated_scores()
    {
        double[] scores = [0.3, 0.1, 0.5, 0.2, 0.4];
        // numpy.percentile([-0.5, -0.4, -0.3, -0.2, -0.1], 10) == -0.46; 25 -> -0.4; 50 -> -0.3
        IsolationForest.ThresholdForContamination(scores, 0.1).ShouldBe(0.46, 1e-15);
        IsolationForest.ThresholdForContamination(scores, 0.25).ShouldBe(0.4, 1e-15);
        IsolationForest.ThresholdForContamination(scores, 0.5).ShouldBe(0.3, 1e-15);
    }

    [Theory]
    [InlineData(100, "auto", 100)]
    [InlineData(1000, "auto", 256)]
    [InlineData(1000, "50", 50)]
    [InlineData(1000, "5000", 1000)]
    [InlineData(1000, "0.5", 500)]
    [InlineData(1000, "1.0", 1000)]
    public void Max_samples_resolves_like_scikit_learn(int rows, string setting, int expected)
    {
        var x = TestData.Gaussian(8, rows, 2);
        var model = Fit(x, new() { Estimators = 5, MaxSamples = MaxSamples.Parse(setting) });
        model.MaxSamples.ShouldBe(expected);
        foreach (var tree in model.Trees)
        {
            tree.Samples[0].ShouldBe(expected); // without bootstrap the root holds max_samples distinct rows
        }
    }

    [Fact]
    public void Max_features_restricts_each_tree_to_a_random_subset()
    {
        var x = TestData.Gaussian(9, 500, 6);
        var model = Fit(x, new() { Seed = 2, Estimators = 40, MaxFeatures = 0.5 });
        var subsets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tree in model.Trees)
        {
            var used = new SortedSet<int>();
            foreach (var f in tree.Feature)
            {
                if (f >= 0)
                {
                    used.Add(f);
                }
            }

            used.Count.ShouldBeLessThanOrEqualTo(3);
            subsets.Add(string.Join(',', used));
        }

        subsets.Count.ShouldBeGreaterThan(5);

        var counted = Fit(x, new() { Seed = 2, Estimators = 10, MaxFeatures = 2 });
        foreach (var tree in counted.Trees)
        {
            new HashSet<int>(tree.Feature.Where(f => f >= 0)).Count.ShouldBeLessThanOrEqualTo(2);
        }
    }

    [Fact]
    public void Max_features_count_above_column_count_is_refused()
    {
        var x = TestData.Gaussian(9, 50, 3);
        var e = Should.Throw<ArgumentException>(() => Fit(x, new() { MaxFeatures = 4 }));
        e.Message.ShouldContain("MaxFeatures");
    }

    [Fact]
    public void Bootstrap_draws_with_replacement_and_keeps_distinct_rows()
    {
        var x = TestData.Gaussian(10, 1000, 2);
        var model = Fit(x, new() { Seed = 4, Estimators = 20, Bootstrap = true });
        model.MaxSamples.ShouldBe(256);
        foreach (var tree in model.Trees)
        {
            // Expected distinct rows: 1000 (1 - (1 - 1/1000)^256) ~ 226.
            tree.Samples[0].ShouldBeInRange(200, 250);
        }

        var plain = Fit(x, new() { Seed = 4, Estimators = 20 }).Score(x);
        Fit(x, new() { Seed = 4, Estimators = 20, Bootstrap = true }).Score(x).ShouldNotBe(plain);
    }

    [Fact]
    public void All_constant_data_scores_exactly_one_half()
    {
        // Every root is a leaf holding max_samples rows: E[h] = c(256), so s = 2^(-c/c) = 0.5.
        var data = new float[400 * 3];
        Array.Fill(data, 3.25f);
        var x = new FeatureMatrix(data, 400, TestData.Names(3));
        var model = Fit(x);
        model.NodeCount.ShouldBe(model.TreeCount);
        foreach (var s in model.Score(x))
        {
            // 100 additions of c(256) round in the last bits, as in scikit-learn.
            s.ShouldBe(0.5, 1e-14);
        }

        Fit(x, new() { Estimators = 1 }).Score(x).ShouldAllBe(s => s == 0.5);
    }

    [Fact]
    public void Constant_feature_is_never_split_on()
    {
        var x = TestData.Gaussian(11, 300, 3);
        var data = x.Values.ToArray();
        for (var r = 0; r < x.Rows; r++)
        {
            data[(r * 3) + 1] = 1f;
        }

        var model = Fit(new FeatureMatrix(data, x.Rows, x.ColumnNames));
        foreach (var tree in model.Trees)
        {
            tree.Feature.ShouldNotContain(1);
        }
    }

    [Fact]
    public void Single_training_row_scores_one_half_like_scikit_learn()
    {
        var x = new FeatureMatrix([1f, 2f], 1, ["a", "b"]);
        var model = Fit(x);
        model.MaxSamples.ShouldBe(1);
        model.Score(x).ShouldBe([0.5]);
    }

    [Fact]
    public void Path_length_of_a_leaf_is_its_depth_plus_c_of_its_rows()
    {
        // One tree, a feature that splits 4 rows: values 0, 0, 0, 10 -> any threshold in [0, 10) isolates 10 at depth 1.
        var x = new FeatureMatrix([0f, 0f, 0f, 10f], 4, ["a"]);
        var model = Fit(x, new() { Estimators = 1 });
        var scores = model.Score(x);
        var c4 = PathLength.Average(4);
        scores[3].ShouldBe(Math.Pow(2, -1.0 / c4), 1e-15);                           // depth 1, leaf of 1 row
        scores[0].ShouldBe(Math.Pow(2, -(1 + PathLength.Average(3)) / c4), 1e-15);  // depth 1, constant leaf of 3 rows
    }

    [Fact]
    public void Detects_far_outliers_in_a_gaussian_cloud_with_auc_above_0_95()
    {
        var (x, labels) = TestData.GaussianWithOutliers(2024, 2000, 20);
        var scores = Fit(x, new() { Seed = 0 }).Score(x);
        TestData.AucRoc(scores, labels).ShouldBeGreaterThan(0.95);
    }

    [Fact]
    public void Non_finite_training_value_is_refused_naming_row_and_column()
    {
        var x = new FeatureMatrix([1f, 2f, float.NaN, 4f], 2, ["a", "b"]);
        var e = Should.Throw<ArgumentException>(() => Fit(x));
        e.Message.ShouldContain("row 1");
        e.Message.ShouldContain("'a'");
    }

    [Fact]
    public void Scoring_a_matrix_with_the_wrong_width_is_refused()
    {
        var model = Fit(TestData.Gaussian(12, 100, 3));
        Should.Throw<ArgumentException>(() => model.Score(TestData.Gaussian(12, 10, 2))).Message.ShouldContain("expects 3");
    }

    [Theory]
    [InlineData("Estimators")]
    [InlineData("MaxSamples")]
    [InlineData("MaxFeatures")]
    [InlineData("Contamination")]
    [InlineData("MaxDegreeOfParallelism")]
    public void Validate_names_the_bad_option(string option)
    {
        var options = option switch
        {
            "Estimators" => new IsolationForestOptions { Estimators = 0 },
            "MaxSamples" => new IsolationForestOptions { MaxSamples = MaxSamples.Fraction(1.5) },
            "MaxFeatures" => new IsolationForestOptions { MaxFeatures = 2.5 },
            "Contamination" => new IsolationForestOptions { Contamination = 0.6 },
            _ => new IsolationForestOptions { MaxDegreeOfParallelism = 0 },
        };
        var e = Should.Throw<ArgumentException>(options.Validate);
        e.Message.ShouldContain("IsolationForestOptions." + option);
        e.ParamName.ShouldBe(option);
    }

    [Fact]
    public void Max_samples_parses_and_prints_invariantly()
    {
        MaxSamples.Parse("auto").ShouldBe(MaxSamples.Auto);
        MaxSamples.Parse("512").ShouldBe(MaxSamples.Count(512));
        MaxSamples.Parse("0.25").ShouldBe(MaxSamples.Fraction(0.25));
        MaxSamples.Count(512).ToString().ShouldBe("512");
        MaxSamples.Fraction(0.25).ToString().ShouldBe("0.25");
        Should.Throw<FormatException>(() => MaxSamples.Parse("lots"));
    }

    [Fact]
    public void Xoshiro_streams_are_reproducible_and_bounded()
    {
        var a = VigilRandom.ForStream(9, 3);
        var b = VigilRandom.ForStream(9, 3);
        var c = VigilRandom.ForStream(9, 4);
        var same = true;
        for (var i = 0; i < 100; i++)
        {
            var v = a.NextUInt64();
            v.ShouldBe(b.NextUInt64());
            same &= v == c.NextUInt64();
            var k = a.Next(7);
            b.Next(7).ShouldBe(k);
            k.ShouldBeInRange(0, 6);
            var d = a.NextDouble();
            b.NextDouble().ShouldBe(d);
            d.ShouldBeInRange(0.0, 1.0 - 1e-17);
        }

        same.ShouldBeFalse();
    }

    [Theory]
    [InlineData(256, 2000)]   // depth 8: complete-tree layout
    [InlineData(5000, 6000)]  // depth 13: linked-node layout
    public void Fast_scoring_equals_a_plain_walk_of_every_tree(int maxSamples, int rows)
    {
        var x = TestData.Gaussian(13, rows, 3);
        var model = Fit(x, new() { Seed = 8, Estimators = 12, MaxSamples = MaxSamples.Count(maxSamples) });
        var scores = model.Score(x);
        var denominator = model.TreeCount * PathLength.Average(model.MaxSamples);
        for (var r = 0; r < rows; r += 7)
        {
            var row = x.Row(r);
            var sum = 0.0;
            foreach (var tree in model.Trees)
            {
                int node = 0, depth = 0;
                while (tree.Feature[node] >= 0)
                {
                    node = row[tree.Feature[node]] <= tree.Threshold[node] ? tree.Left[node] : tree.Right[node];
                    depth++;
                }

                sum += depth + PathLength.Average(tree.Samples[node]);
            }

            scores[r].ShouldBe(Math.Pow(2.0, -(sum / denominator)));
        }
    }
}
