using Vigil.Data;

namespace Vigil.Detectors.Tests.Profiles;

public sealed class ReferenceProfileTests : IDisposable
{
    [Fact]
    public void Histogram_counting_puts_every_value_in_the_bin_BinOf_gives_it()
    {
        var rng = new Random(11);
        foreach (var (min, max) in new[] { (0.0, 1.0), (-3.7, 12.25), (1e-9, 3e-9), (-1e6, -999_999.5), (0.1, 0.7) })
        {
            Histogram.Empty(min, max, out var edges, out var counts, 0);
            var values = new List<double>(edges!);
            for (var k = 0; k < 20_000; k++)
            {
                values.Add(min + ((max - min) * rng.NextDouble()));
            }

            foreach (var e in edges!)
            {
                values.Add(Math.BitDecrement(e));
                values.Add(Math.BitIncrement(e));
            }

            values.RemoveAll(v => v < min || v > max);
            var expected = new long[counts!.Length];
            foreach (var v in values)
            {
                expected[Histogram.BinOf(edges, v)]++;
            }

            Histogram.Count(values.ToArray(), edges, counts);
            Assert.Equal(expected, counts);
        }
    }

    [Fact]
    public void Float32_parts_profile_as_their_exact_double_values_also_next_to_float64_parts()
    {
        var rng = new Random(3);
        var f32 = new float[30_000];
        for (var i = 0; i < f32.Length; i++)
        {
            f32[i] = i % 17 == 0 ? float.NaN : (float)((rng.NextDouble() - 0.3) * 1e3);
        }

        var widened = Array.ConvertAll(f32, v => (double)v);
        var f64 = Array.ConvertAll(widened, v => v * 2);
        var sample = Enumerable.Range(0, 60_000).Where(i => i % 5 == 0).ToArray();

        var expected = NumericProfile.Compute("v", [new Float64Column("v", widened), new Float64Column("v", f64)], 60_000, sample, out var expectedMissing);
        var actual = NumericProfile.Compute("v", [new Float32Column("v", f32), new Float64Column("v", f64)], 60_000, sample, out var actualMissing);

        actual.ShouldNotBeNull();
        actualMissing.ShouldBe(expectedMissing);
        actual.Quantiles.ShouldBe(expected!.Quantiles);
        actual.Mean.ShouldBe(expected.Mean);
        actual.Histogram.Edges.ShouldBe(expected.Histogram.Edges);
        actual.Histogram.Counts.ShouldBe(expected.Histogram.Counts);
    }

    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-profile-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainSpec Spec = new() { Forest = new IsolationForestOptions { Seed = 5, Estimators = 20, Contamination = 0.1 } };

    /// <summary>v = 1..100 with every 10th row missing (90 present values), and a category a (50), b (30), c (10), missing (10).</summary>
    private static Frame Known()
    {
        var v = new double[100];
        var cat = new string?[100];
        for (var i = 0; i < 100; i++)
        {
            v[i] = i % 10 == 9 ? double.NaN : i + 1;
            cat[i] = i < 50 ? "a" : i < 80 ? "b" : i < 90 ? "c" : null;
        }

        return new Frame([new Float64Column("v", v), CategoricalColumn.FromValues("cat", cat)]);
    }

    [Fact]
    public void Profile_has_counts_missing_rates_quantiles_histograms_and_category_frequencies()
    {
        var data = Known();
        var bundle = ModelBundle.Train(data, Spec);
        var profile = bundle.Profile.ShouldNotBeNull();

        profile.TrainingRows.ShouldBe(100);
        profile.ValidationRows.ShouldBe(0);
        profile.Features.Select(f => f.Name).ShouldBe(["v", "cat"]);

        var v = profile.Feature("v").ShouldNotBeNull();
        v.Count.ShouldBe(100);
        v.MissingCount.ShouldBe(10);
        v.MissingRate.ShouldBe(0.1);
        v.Categorical.ShouldBeNull();
        var numeric = v.Numeric.ShouldNotBeNull();
        // Reference: numpy.quantile(x, q) (default linear method: x[lo] + (x[lo+1] - x[lo]) * frac at q * (n - 1)) of
        // x = [i for i in range(1, 101) if i % 10] and q = [0, .01, .05, .1, .25, .5, .75, .9, .95, .99, 1], evaluated by hand.
        numeric.Quantiles.ShouldBe([1, 1.89, 5.45, 10.8, 25.25, 50, 74.75, 89.2, 94.55, 98.11, 99], tolerance: 1e-12);
        numeric.Mean.ShouldBe(50); // (sum 1..100 - sum 10..100 step 10) / 90 = (5050 - 550) / 90
        numeric.Histogram.Edges.Count.ShouldBe(ReferenceProfile.HistogramBins + 1);
        numeric.Histogram.Edges[0].ShouldBe(1);
        numeric.Histogram.Edges[^1].ShouldBe(99);
        numeric.Histogram.Counts.Sum().ShouldBe(90);
        numeric.Histogram.Counts[0].ShouldBe(5); // [1, 5.9): 1..5
        numeric.Histogram.BinOf(99).ShouldBe(ReferenceProfile.HistogramBins - 1); // the last bin includes its upper edge
        numeric.Histogram.BinOf(0.5).ShouldBe(-1);
        numeric.Histogram.BinOf(100).ShouldBe(ReferenceProfile.HistogramBins);

        var cat = profile.Feature("cat").ShouldNotBeNull();
        cat.MissingCount.ShouldBe(10);
        cat.Numeric.ShouldBeNull();
        var categories = cat.Categorical.ShouldNotBeNull();
        categories.Top.ShouldBe([new CategoryFrequency("a", 50, 50 / 90.0), new CategoryFrequency("b", 30, 30 / 90.0), new CategoryFrequency("c", 10, 10 / 90.0)]);
        categories.OtherCount.ShouldBe(0);
        categories.DistinctCount.ShouldBe(3);

        // The score distribution is the training rows' scores; the alert rate uses the bundle's own comparison.
        var scores = bundle.Score(data);
        profile.Scores.Count.ShouldBe(100);
        profile.Scores.Threshold.ShouldBe(bundle.Threshold);
        profile.Scores.Alerts.ShouldBe(scores.Count(bundle.IsAnomaly));
        profile.Scores.AlertRate.ShouldBe(scores.Count(bundle.IsAnomaly) / 100.0);
        profile.Scores.Quantiles[0].ShouldBe(scores.Min());
        profile.Scores.Quantiles[^1].ShouldBe(scores.Max());
        profile.Scores.Histogram.Counts.Sum().ShouldBe(100);
    }

    [Fact]
    public void Above_the_sample_size_counts_means_extremes_and_histograms_stay_exact_and_quantiles_come_from_a_sample()
    {
        // 200,000 rows of a skewed column (every 7th missing): more than MaxSampleRows present values.
        const int rows = 200_000;
        var random = new VigilRandom(11);
        var v = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            v[i] = i % 7 == 0 ? double.NaN : Math.Exp(random.NextGaussian());
        }

        var data = new Frame([new Float64Column("v", v)]);
        var profile = ModelBundle.Train(data, Spec).Profile.ShouldNotBeNull();
        var again = ModelBundle.Train(data, Spec).Profile.ShouldNotBeNull();

        var present = v.Where(x => !double.IsNaN(x)).ToArray();
        var sorted = present.Order().ToArray();
        var f = profile.Feature("v").ShouldNotBeNull();
        f.Count.ShouldBe(rows);
        f.MissingCount.ShouldBe(rows - present.Length);
        var numeric = f.Numeric.ShouldNotBeNull();
        numeric.Mean.ShouldBe(present.Average(), tolerance: 1e-12);
        numeric.Quantiles[0].ShouldBe(sorted[0]);
        numeric.Quantiles[^1].ShouldBe(sorted[^1]);
        numeric.Histogram.Counts.Sum().ShouldBe(present.Length);
        for (var b = 0; b < numeric.Histogram.Counts.Count; b++)
        {
            // Every value counted in the bin BinOf gives it, over all present values (not the sample).
            numeric.Histogram.Counts[b].ShouldBe(present.Count(x => numeric.Histogram.BinOf(x) == b));
        }

        // Inner quantiles from the present values of a 16,384-row uniform sample: within a few standard errors in rank of the exact ones.
        var levels = ReferenceProfile.QuantileLevels;
        for (var q = 1; q < levels.Count - 1; q++)
        {
            var rank = Array.BinarySearch(sorted, numeric.Quantiles[q]);
            rank = rank < 0 ? ~rank : rank;
            var error = Math.Abs(((double)rank / (sorted.Length - 1)) - levels[q]);
            error.ShouldBeLessThan(5 * Math.Sqrt(levels[q] * (1 - levels[q]) / (ReferenceProfile.MaxSampleRows * 6.0 / 7)) + 1e-4, $"level {levels[q]}");
        }

        // Scores: a sample of MaxSampleRows rows; the same data give the same profile.
        profile.Scores.Count.ShouldBe(ReferenceProfile.MaxSampleRows);
        again.ToJson().ShouldBe(profile.ToJson());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(33)]
    [InlineData(1000)]
    [InlineData(5001)]
    public void Quantiles_by_selection_equal_numpys_linear_quantiles_of_the_sorted_values(int n)
    {
        // Many ties (values 0..9) and distinct values mixed, so the three-way partition meets both.
        var random = new VigilRandom((ulong)n);
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = i % 3 == 0 ? random.Next(10) : random.NextDouble() * 100;
        }

        var sorted = values.Order().ToArray();
        var expected = ReferenceProfile.QuantileLevels.Select(level =>
        {
            // numpy.quantile's default ("linear"): sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac at h = level * (n - 1).
            var h = level * (n - 1);
            var lo = (int)Math.Floor(h);
            var hi = Math.Min(lo + 1, n - 1);
            return h == lo ? sorted[lo] : sorted[lo] + ((sorted[hi] - sorted[lo]) * (h - lo));
        }).ToArray();

        OrderSelection.Quantiles(values, ReferenceProfile.QuantileLevels).ShouldBe(expected);
    }

    [Fact]
    public void Categories_beyond_the_top_ones_are_counted_together()
    {
        var cat = new string?[300];
        for (var i = 0; i < cat.Length; i++)
        {
            cat[i] = "c" + (i % 30).ToString("D2", System.Globalization.CultureInfo.InvariantCulture); // 30 categories, 10 rows each
        }

        var data = new Frame([new Float64Column("x", [.. Enumerable.Range(0, 300).Select(i => (double)i)]), CategoricalColumn.FromValues("cat", cat)]);
        var profile = ModelBundle.Train(data, Spec).Profile.ShouldNotBeNull().Feature("cat")!.Categorical.ShouldNotBeNull();

        profile.Top.Count.ShouldBe(ReferenceProfile.TopCategories);
        profile.Top[0].ShouldBe(new CategoryFrequency("c00", 10, 10 / 300.0)); // equal counts: by name
        profile.Top[^1].Category.ShouldBe("c19");
        profile.OtherCount.ShouldBe(100);
        profile.DistinctCount.ShouldBe(30);
    }

    [Fact]
    public void Validation_rows_are_profiled_with_the_training_rows_but_not_fitted_on()
    {
        var train = TestData.Transactions(8, 400);
        var validation = TestData.Transactions(9, 100);
        var spec = Spec with { Label = "label", IdColumn = "id" };

        var with = new BundleTrainer(spec).Fit(train, validation);
        var without = new BundleTrainer(spec).Fit(train);

        with.Profile!.TrainingRows.ShouldBe(400);
        with.Profile.ValidationRows.ShouldBe(100);
        with.Profile.Feature("amount")!.Count.ShouldBe(500);
        with.Profile.Scores.Count.ShouldBe(500);
        without.Profile!.Scores.Count.ShouldBe(400);
        // Not fitted on: the same weights either way.
        with.Manifest.Files["forest.bin"].ShouldBe(without.Manifest.Files["forest.bin"]);
    }

    [Fact]
    public void A_v2_profile_round_trips_exactly_through_save_and_load()
    {
        var data = TestData.Transactions(4, 700);
        var bundle = new BundleTrainer(Spec with { Label = "label", IdColumn = "id" }).Fit(data, TestData.Transactions(5, 50));
        bundle.Save(Path.Combine(_dir, "m.zip"));
        var loaded = ModelBundle.Load(Path.Combine(_dir, "m.zip"));

        loaded.Manifest.FormatVersion.ShouldBe(2);
        ShouldBeIdentical(loaded.Profile.ShouldNotBeNull(), bundle.Profile.ShouldNotBeNull());
        loaded.Profile.ToJson().ShouldBe(bundle.Profile.ToJson());
    }

    [Fact]
    public void The_same_data_and_seed_give_a_byte_identical_profile_json()
    {
        var a = Path.Combine(_dir, "a");
        var b = Path.Combine(_dir, "b");
        new BundleTrainer(Spec with { Label = "label", IdColumn = "id" }, new FixedClock()).Fit(TestData.Transactions(6, 5000)).Save(a);
        new BundleTrainer(Spec with { Label = "label", IdColumn = "id" }, new FixedClock()).Fit(TestData.Transactions(6, 5000)).Save(b);

        File.ReadAllBytes(Path.Combine(a, "profile.json")).ShouldBe(File.ReadAllBytes(Path.Combine(b, "profile.json")));
        File.ReadAllBytes(Path.Combine(a, "bundle.json")).ShouldBe(File.ReadAllBytes(Path.Combine(b, "bundle.json")));
    }

    [Fact]
    public void The_profile_of_100_features_is_at_most_200_KB()
    {
        // 100 numeric columns of 2,000 distinct values each: every quantile, edge and count is a long number.
        var columns = new List<Column>();
        for (var c = 0; c < 100; c++)
        {
            columns.Add(new Float64Column("feature_with_a_long_name_" + c.ToString(System.Globalization.CultureInfo.InvariantCulture), TestData.Normal((ulong)c + 1, 2000)));
        }

        var bundle = ModelBundle.Train(new Frame(columns), Spec);
        var size = bundle.Manifest.Files["profile.json"].Size;

        bundle.Profile!.Features.Count.ShouldBe(100);
        size.ShouldBeLessThanOrEqualTo(200 * 1024);
        size.ShouldBeGreaterThan(50 * 1024); // sanity: the numbers are really in it
    }

    [Fact]
    public void The_profile_file_is_listed_with_its_sha256_and_a_modified_one_is_refused()
    {
        var path = Path.Combine(_dir, "m");
        ModelBundle.Train(Known(), Spec).Save(path);
        var file = Path.Combine(path, "profile.json");
        var bytes = File.ReadAllBytes(file);
        bytes[^2] = (byte)(bytes[^2] == (byte)'1' ? '2' : '1');
        File.WriteAllBytes(file, bytes);

        Should.Throw<BundleException>(() => ModelBundle.Load(path)).Message.ShouldContain("profile.json SHA-256 mismatch");
    }

    private static void ShouldBeIdentical(ReferenceProfile actual, ReferenceProfile expected)
    {
        actual.FormatVersion.ShouldBe(expected.FormatVersion);
        actual.TrainingRows.ShouldBe(expected.TrainingRows);
        actual.ValidationRows.ShouldBe(expected.ValidationRows);
        actual.Features.Count.ShouldBe(expected.Features.Count);
        for (var i = 0; i < expected.Features.Count; i++)
        {
            var (a, e) = (actual.Features[i], expected.Features[i]);
            a.Name.ShouldBe(e.Name);
            a.Kind.ShouldBe(e.Kind);
            a.Count.ShouldBe(e.Count);
            a.MissingCount.ShouldBe(e.MissingCount);
            Bits(a.MissingRate).ShouldBe(Bits(e.MissingRate));
            (a.Numeric is null).ShouldBe(e.Numeric is null);
            if (e.Numeric is { } n)
            {
                a.Numeric!.Quantiles.Select(Bits).ShouldBe(n.Quantiles.Select(Bits));
                Bits(a.Numeric.Mean).ShouldBe(Bits(n.Mean));
                ShouldBeIdentical(a.Numeric.Histogram, n.Histogram);
            }

            (a.Categorical is null).ShouldBe(e.Categorical is null);
            if (e.Categorical is { } c)
            {
                a.Categorical!.Top.Count.ShouldBe(c.Top.Count);
                for (var k = 0; k < c.Top.Count; k++)
                {
                    a.Categorical.Top[k].Category.ShouldBe(c.Top[k].Category);
                    a.Categorical.Top[k].Count.ShouldBe(c.Top[k].Count);
                    Bits(a.Categorical.Top[k].Frequency).ShouldBe(Bits(c.Top[k].Frequency));
                }

                a.Categorical.OtherCount.ShouldBe(c.OtherCount);
                a.Categorical.DistinctCount.ShouldBe(c.DistinctCount);
            }
        }

        var (s, t) = (actual.Scores, expected.Scores);
        s.Count.ShouldBe(t.Count);
        s.Quantiles.Select(Bits).ShouldBe(t.Quantiles.Select(Bits));
        Bits(s.Mean).ShouldBe(Bits(t.Mean));
        ShouldBeIdentical(s.Histogram, t.Histogram);
        Bits(s.Threshold).ShouldBe(Bits(t.Threshold));
        s.Alerts.ShouldBe(t.Alerts);
        Bits(s.AlertRate).ShouldBe(Bits(t.AlertRate));
    }

    private static void ShouldBeIdentical(Histogram actual, Histogram expected)
    {
        actual.Edges.Select(Bits).ShouldBe(expected.Edges.Select(Bits));
        actual.Counts.ShouldBe(expected.Counts);
    }

    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    }
}
