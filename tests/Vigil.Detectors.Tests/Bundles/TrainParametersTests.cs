namespace Vigil.Detectors.Tests.Bundles;

public sealed class TrainParametersTests
{
    [Theory]
    [InlineData("iforest")]
    [InlineData("autoencoder")]
    [InlineData("lightgbm")]
    public void Describe_then_apply_gives_back_the_same_settings(string kind)
    {
        var spec = new TrainSpec { Model = kind, Label = "label" };
        var described = TrainParameters.Describe(spec);
        described.Keys.ShouldBe(TrainParameters.For(kind).Select(p => p.Name));
        var again = TrainParameters.Apply(new TrainSpec { Model = kind, Label = "label" }, described);
        TrainParameters.Describe(again).ShouldBe(described);
    }

    [Fact]
    public void Apply_parses_values_into_the_options_of_the_kind()
    {
        var spec = TrainParameters.Apply(new TrainSpec(), new Dictionary<string, string>
        {
            ["estimators"] = "25",
            ["maxSamples"] = "0.5",
            ["contamination"] = "0.02",
            ["bootstrap"] = "true",
            ["seed"] = "9",
        });
        spec.Forest.Estimators.ShouldBe(25);
        spec.Forest.MaxSamples.ShouldBe(MaxSamples.Fraction(0.5));
        spec.Forest.Contamination.ShouldBe(0.02);
        spec.Forest.Bootstrap.ShouldBeTrue();
        spec.Forest.Seed.ShouldBe(9UL);

        var ae = TrainParameters.Apply(new TrainSpec { Model = "autoencoder" }, [new("hiddenLayers", "16,4,16"), new("hiddenActivation", "relu"), new("trimFraction", "0")]);
        ae.Autoencoder.HiddenLayers.ShouldBe([16, 4, 16]);
        ae.Autoencoder.HiddenActivation.ShouldBe(Activation.Relu);
        ae.Autoencoder.TrimFraction.ShouldBe(0);
    }

    [Fact]
    public void An_unknown_name_is_refused_with_the_valid_names()
    {
        var e = Should.Throw<TrainParameterException>(() => TrainParameters.Apply(new TrainSpec { Model = "lightgbm" }, [new("max_depth", "6")]));
        e.Parameter.ShouldBe("max_depth");
        e.Message.ShouldBe("unknown lightgbm parameter 'max_depth'; valid parameters: estimators, leaves, learningRate, minRowsPerLeaf, " +
            "minHessianPerLeaf, l2, maxBins, unbalanced, scalePositiveWeight, seed");
    }

    [Fact]
    public void A_value_that_does_not_parse_names_the_parameter_and_what_it_expects()
    {
        var e = Should.Throw<TrainParameterException>(() => TrainParameters.Apply(new TrainSpec(), [new("estimators", "many")]));
        e.Message.ShouldBe("iforest parameter 'estimators' = 'many': expected a whole number >= 1");
        Should.Throw<ArgumentException>(() => TrainParameters.Apply(new TrainSpec(), [new("estimators", "0")])).Message.ShouldContain("Estimators");
    }

    [Fact]
    public void The_manifest_records_the_same_names_and_values()
    {
        var spec = TrainParameters.Apply(new TrainSpec { Label = "label" }, [new("estimators", "20"), new("maxSamples", "64")]);
        var bundle = ModelBundle.Train(TestData.Transactions(3, 300), spec);
        foreach (var (name, value) in TrainParameters.Describe(spec))
        {
            bundle.Manifest.Parameters[name].ShouldBe(value, name);
        }

        bundle.Manifest.Parameters["maxSamplesResolved"].ShouldBe("64");
    }
}
