using Vigil.Data;

namespace Vigil.Detectors.Tests.Forest;

/// <summary>Training transforms only the rows the forest and the profile sample; the bundle must not change.</summary>
public sealed class SampledRowsTests
{
    private static Frame Data(int rows, double last = 0.5)
    {
        var rng = new Random(11);
        var a = new double[rows];
        var b = new double[rows];
        var c = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            a[i] = rng.NextDouble() * 100;
            b[i] = i % 97 == 5 ? double.NaN : (rng.NextDouble() - 0.5) * 1e6; // missing values are imputed
            c[i] = rng.Next(5);
        }

        c[^1] = last;
        var kinds = new string?[rows];
        for (var i = 0; i < rows; i++)
        {
            kinds[i] = i % 53 == 7 ? null : ((char)('p' + rng.Next(6))).ToString(); // one-hot slots, missing ones too
        }

        return new Frame([new Float64Column("a", a), new Float64Column("b", b), new Float64Column("c", c), CategoricalColumn.FromValues("kind", kinds)]);
    }

    public static TheoryData<string> Options() => ["default", "bootstrap", "rows", "features", "all"];

    private static IsolationForestOptions OptionsFor(string name) => name switch
    {
        "bootstrap" => new() { Seed = 3, Bootstrap = true },
        "rows" => new() { Seed = 4, MaxSamples = MaxSamples.Parse("1000") },
        "features" => new() { Seed = 5, MaxFeatures = 0.5 },
        "all" => new() { Seed = 6, Estimators = 5, MaxSamples = MaxSamples.Parse("1.0") },
        _ => new() { Seed = 2 },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void The_forest_from_the_sampled_rows_is_the_forest_of_the_whole_matrix(string options)
    {
        var data = Data(20_000);
        var transform = FeatureTransform.Fit(data, new FeatureTransformOptions());
        var whole = new IsolationForest(OptionsFor(options)).Fit(transform.Transform(data));
        var sampled = new IsolationForest(OptionsFor(options)).Fit(new TrainingFeatures(transform, data));
        sampled.ToBytes().ShouldBe(whole.ToBytes());
    }

    [Fact]
    public void The_sampled_rows_are_the_whole_transform_s_rows()
    {
        var data = Data(5_000);
        var transform = FeatureTransform.Fit(data, new FeatureTransformOptions());
        var whole = transform.Transform(data);
        int[] rows = [0, 7, 96, 101, 4_999];
        var taken = new TrainingFeatures(transform, data).Take(rows);
        for (var i = 0; i < rows.Length; i++)
        {
            taken.Row(i).ToArray().ShouldBe(whole.Row(rows[i]).ToArray());
        }
    }

    [Fact]
    public void A_bad_value_in_a_row_that_is_never_sampled_is_still_refused()
    {
        // Unscaled, 1e39 is a finite double that overflows the float features: the whole transform refused it, and
        // training still does although neither the trees nor the profile read the last row.
        var data = Data(20_000, last: 1e39);
        var spec = new TrainSpec { Transform = new FeatureTransformOptions { Scaling = Scaling.None }, Forest = new IsolationForestOptions { Seed = 1 } };
        var error = Should.Throw<FeatureDataException>(() => new BundleTrainer(spec).Fit(data));
        error.Message.ShouldContain("'c'");
        error.Message.ShouldContain("19999");
    }
}
