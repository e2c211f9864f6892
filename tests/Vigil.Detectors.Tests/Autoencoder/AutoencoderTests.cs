using Vigil.Data;

namespace Vigil.Detectors.Tests.Autoencoder;

public sealed class AutoencoderTests
{
    private static readonly AutoencoderOptions Small = new()
    {
        HiddenLayers = [16, 4, 16],
        Epochs = 8,
        BatchSize = 64,
        Seed = 5,
    };

    private static FeatureMatrix Correlated(ulong seed, int rows)
    {
        // Four features driven by two latent factors: an autoencoder with a 2+ wide bottleneck can learn them.
        var z = TestData.Normal(seed, rows * 2);
        var data = new float[rows * 4];
        for (var r = 0; r < rows; r++)
        {
            double a = z[2 * r], b = z[(2 * r) + 1];
            data[(r * 4) + 0] = (float)a;
            data[(r * 4) + 1] = (float)(a + b);
            data[(r * 4) + 2] = (float)(a - (0.5 * b));
            data[(r * 4) + 3] = (float)b;
        }

        return new FeatureMatrix(data, rows, TestData.Names(4));
    }

    [Fact]
    public void Same_seed_gives_identical_weights_whatever_the_thread_count()
    {
        var x = Correlated(1, 1500);
        var one = new Vigil.Detectors.Autoencoder(Small with { MaxDegreeOfParallelism = 1, BatchSize = 128 }).Fit(x);
        var two = new Vigil.Detectors.Autoencoder(Small with { MaxDegreeOfParallelism = 2, BatchSize = 128 }).Fit(x);
        var again = new Vigil.Detectors.Autoencoder(Small with { BatchSize = 128 }).Fit(x);
        var other = new Vigil.Detectors.Autoencoder(Small with { BatchSize = 128, Seed = 6 }).Fit(x);

        Bits(two.Parameters).ShouldBe(Bits(one.Parameters));
        Bits(again.Parameters).ShouldBe(Bits(one.Parameters));
        Bits(other.Parameters).ShouldNotBe(Bits(one.Parameters));
        two.Threshold.ShouldBe(one.Threshold);
    }

    [Fact]
    public void Training_lowers_the_reconstruction_error()
    {
        var x = Correlated(2, 2000);
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 20, TrimFraction = 0 }).Fit(x);
        var t = model.Training!;
        t.TrainLosses[^1].ShouldBeLessThan(t.TrainLosses[0] / 3);
        t.EpochSeconds.Count.ShouldBe(t.EpochsRun);
        t.ValidationRows.ShouldBe(200);
        t.TrainRows.ShouldBe(1800);
    }

    [Fact]
    public void Early_stopping_keeps_the_weights_of_the_best_validation_epoch()
    {
        var x = Correlated(3, 600);
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 300, Patience = 2, LearningRate = 0.05 }).Fit(x);
        var t = model.Training!;
        t.EpochsRun.ShouldBeLessThan(300);
        t.EpochsRun.ShouldBe(t.BestEpoch + 2);
        t.BestValidationLoss.ShouldBe(t.ValidationLosses.Min());

        // The kept weights are the best epoch's: rescoring the validation rows gives its loss.
        t.ValidationLosses[t.BestEpoch - 1].ShouldBe(t.BestValidationLoss);
    }

    [Fact]
    public void Score_is_higher_for_rows_off_the_learned_relation()
    {
        var x = Correlated(4, 2000);
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 30 }).Fit(x);
        // Inliers follow the relation; the last 20 rows break it (feature 1 is not a + b).
        var test = Correlated(5, 400);
        var labels = new int[400];
        for (var r = 380; r < 400; r++)
        {
            test.Data[(r * 4) + 1] = -test.Data[(r * 4) + 1] + 3;
            labels[r] = 1;
        }

        TestData.AucRoc(model.Score(test), labels).ShouldBeGreaterThan(0.95);
    }

    [Fact]
    public void Contributions_sum_to_the_score_and_name_the_broken_feature()
    {
        var x = Correlated(6, 2000);
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 30 }).Fit(x);
        float[] row = [0.5f, 4.5f, 0.5f, 0f]; // feature 1 should be about 0.5
        var contributions = new double[4];
        model.Contributions(row, contributions);
        var score = model.Score(new FeatureMatrix(row, 1, TestData.Names(4)))[0];
        contributions.Sum().ShouldBe(score, 1e-9 * Math.Max(1, score));
        Array.IndexOf(contributions, contributions.Max()).ShouldBe(1);
    }

    [Fact]
    public void Group_weights_set_each_groups_share_of_the_score()
    {
        var x = Correlated(7, 800);
        string[] groups = ["numeric", "numeric", "numeric", "c"];
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 3, GroupWeights = new Dictionary<string, double> { ["c"] = 3 } }).Fit(x, groups);
        model.GroupNames.ShouldBe(["numeric", "c"]);
        model.GroupWeights.ShouldBe([1.0, 3.0]);
        model.FeatureGroups.ShouldBe([0, 0, 0, 1]);

        var row = x.Row(10);
        var errors = new double[2];
        model.GroupErrors(row, errors);
        var score = model.Score(new FeatureMatrix(row.ToArray(), 1, TestData.Names(4)))[0];
        score.ShouldBe(((1 * errors[0]) + (3 * errors[1])) / 4, 1e-9);
    }

    [Fact]
    public void Threshold_is_the_contamination_quantile_of_training_scores()
    {
        var x = Correlated(8, 1000);
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 2, Contamination = 0.05 }).Fit(x);
        var above = model.Score(x).Count(s => s > model.Threshold);
        above.ShouldBeInRange(49, 51);
    }

    [Fact]
    public void Gemm_matches_a_plain_triple_loop_for_every_shape()
    {
        var rng = new VigilRandom(9);
        foreach (var (m, k, n) in new[] { (1, 1, 1), (5, 3, 7), (4, 9, 16), (7, 21, 33), (33, 64, 8) })
        {
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var bias = Random(rng, n);
            var c = new float[m * n];
            DenseKernels.Gemm(a, b, c, m, k, n, bias);
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    var expected = bias[j];
                    for (var p = 0; p < k; p++)
                    {
                        expected = MathF.FusedMultiplyAdd(a[(i * k) + p], b[(p * n) + j], expected);
                    }

                    c[(i * n) + j].ShouldBe(expected); // bit-identical: same order, fused
                }
            }
        }
    }

    [Fact]
    public void Binary_form_round_trips_and_refuses_damage()
    {
        var model = new Vigil.Detectors.Autoencoder(Small with { Epochs = 1 }).Fit(Correlated(10, 300));
        var bytes = model.ToBytes();
        var read = AutoencoderModel.Read(bytes);
        Bits(read.Parameters).ShouldBe(Bits(model.Parameters));
        read.Threshold.ShouldBe(model.Threshold);
        read.LayerSizes.ShouldBe(model.LayerSizes);

        Should.Throw<InvalidDataException>(() => AutoencoderModel.Read(bytes.AsSpan(0, bytes.Length - 3))).Message.ShouldContain("bytes of parameters");
        var bad = (byte[])bytes.Clone();
        bad[0] = (byte)'X';
        Should.Throw<InvalidDataException>(() => AutoencoderModel.Read(bad)).Message.ShouldContain("magic");
    }

    [Fact]
    public void Invalid_options_and_data_are_refused_by_name()
    {
        Should.Throw<ArgumentException>(() => new Vigil.Detectors.Autoencoder(new AutoencoderOptions { HiddenLayers = [8, 0] })).Message.ShouldContain("HiddenLayers");
        Should.Throw<ArgumentException>(() => new Vigil.Detectors.Autoencoder(new AutoencoderOptions { TrimFraction = 0.5 })).Message.ShouldContain("TrimFraction");
        var x = new FeatureMatrix([1f, float.NaN], 1, ["a", "b"]);
        Should.Throw<ArgumentException>(() => new Vigil.Detectors.Autoencoder(Small).Fit(x)).Message.ShouldContain("column 'b'");
    }

    private static float[] Random(VigilRandom rng, int count)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return values;
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
