namespace Vigil.Detectors.Tests.Boosting;

public sealed class LightGbmTests
{
    private static readonly LightGbmOptions Options = new() { Iterations = 30, Threads = 1, Seed = 3 };

    /// <summary>Three features; label 1 when a noisy combination of the first two is high (about 10 % positives).</summary>
    private static (FeatureMatrix X, int[] Labels) Labelled(ulong seed, int rows)
    {
        var z = TestData.Normal(seed, rows * 4);
        var data = new float[rows * 3];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            data[r * 3] = (float)z[4 * r];
            data[(r * 3) + 1] = (float)z[(4 * r) + 1];
            data[(r * 3) + 2] = (float)z[(4 * r) + 2];
            labels[r] = z[4 * r] + (0.5 * z[(4 * r) + 1]) + (0.3 * z[(4 * r) + 3]) > 1.6 ? 1 : 0;
        }

        return (new FeatureMatrix(data, rows, ["a", "b", "noise"]), labels);
    }

    [Fact]
    public void Own_scoring_equals_ml_net_probabilities_within_1e_6()
    {
        var (x, labels) = Labelled(1, 2000);
        var (test, _) = Labelled(2, 500);
        var model = new LightGbmClassifier(Options).Fit(x, labels, test, out var expected);
        var scores = model.Score(test);
        expected!.Length.ShouldBe(500);
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i].ShouldBe(expected[i], 1e-6);
        }

        model.TreeCount.ShouldBe(30);
    }

    [Fact]
    public void Ranks_positives_above_negatives_on_new_rows()
    {
        var (x, labels) = Labelled(3, 3000);
        var (test, testLabels) = Labelled(4, 1000);
        var model = new LightGbmClassifier(Options with { Unbalanced = true }).Fit(x, labels);
        TestData.AucRoc(model.Score(test), testLabels).ShouldBeGreaterThan(0.95);
    }

    [Fact]
    public void Contributions_sum_to_the_raw_score_minus_its_expectation_and_favour_the_signal()
    {
        var (x, labels) = Labelled(5, 2000);
        var model = new LightGbmClassifier(Options).Fit(x, labels);
        var total = new double[3];
        var contributions = new double[3];
        for (var r = 0; r < 200; r++)
        {
            var row = x.Row(r);
            model.Contributions(row, contributions);
            contributions.Sum().ShouldBe(model.RawScore(row) - model.ExpectedRawScore, 1e-9);
            for (var f = 0; f < 3; f++)
            {
                total[f] += Math.Abs(contributions[f]);
            }
        }

        total[0].ShouldBeGreaterThan(total[2]);
        total[1].ShouldBeGreaterThan(total[2]);
    }

    [Fact]
    public void Labels_of_one_class_are_refused()
    {
        var (x, _) = Labelled(6, 100);
        Should.Throw<ArgumentException>(() => new LightGbmClassifier(Options).Fit(x, new int[100])).Message.ShouldContain("both classes");
    }

    [Fact]
    public void Binary_form_round_trips_and_refuses_damage()
    {
        var (x, labels) = Labelled(7, 1000);
        var model = new LightGbmClassifier(Options).Fit(x, labels);
        var bytes = model.ToBytes();
        LightGbmModel.Read(bytes).Score(x).ShouldBe(model.Score(x));
        Should.Throw<InvalidDataException>(() => LightGbmModel.Read(bytes.AsSpan(0, bytes.Length - 1))).Message.ShouldContain("truncated");
        Should.Throw<InvalidDataException>(() => LightGbmModel.Read([.. bytes, 0])).Message.ShouldContain("trailing");
    }
}
