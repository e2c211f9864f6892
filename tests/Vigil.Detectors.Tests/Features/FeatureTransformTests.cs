using Vigil.Data;

namespace Vigil.Detectors.Tests.Features;

public sealed class FeatureTransformTests
{
    private static readonly FeatureTransformOptions Defaults = new();

    [Fact]
    public void Min_max_scaling_matches_sklearn_including_values_outside_the_training_range()
    {
        var train = new Frame([new Float64Column("a", [1, 3, 5]), new Float32Column("b", [-2f, 0f, 2f])]);
        var t = FeatureTransform.Fit(train, Defaults);
        t.Transform(train).Values.ToArray().ShouldBe([0f, 0f, 0.5f, 0.5f, 1f, 1f]);

        var fresh = new Frame([new Float64Column("a", [7, -1]), new Float32Column("b", [4f, 1f])]);
        t.Transform(fresh).Values.ToArray().ShouldBe([1.5f, 1.5f, -0.5f, 0.75f]);
    }

    [Fact]
    public void Scaling_is_x_times_scale_plus_offset_computed_in_double()
    {
        // sklearn: scale_ = 1 / (max - min), min_ = -min * scale_, X * scale_ + min_, then the float cast.
        double[] values = [0.1, 0.7, 0.35];
        var t = FeatureTransform.Fit(new Frame([new Float64Column("a", values)]), Defaults);
        var scale = 1.0 / (0.7 - 0.1);
        var offset = 0.0 - (0.1 * scale);
        t.Transform(new Frame([new Float64Column("a", [0.35])])).Values[0].ShouldBe((float)((0.35 * scale) + offset));
    }

    [Fact]
    public void Constant_column_gets_scale_one_like_sklearn()
    {
        var t = FeatureTransform.Fit(new Frame([new Float64Column("c", [4, 4, 4])]), Defaults);
        t.Transform(new Frame([new Float64Column("c", [4, 6, 3.5])])).Values.ToArray().ShouldBe([0f, 2f, -0.5f]);
    }

    [Fact]
    public void Missing_values_get_the_training_median_before_scaling()
    {
        // median of 1, 3, 10 is 3; scaled (3 - 1) / 9.
        var t = FeatureTransform.Fit(new Frame([new Float64Column("a", [1, double.NaN, 3, 10])]), Defaults);
        var x = t.Transform(new Frame([new Float64Column("a", [double.NaN, 10])]));
        x.Values.ToArray().ShouldBe([(float)(2.0 / 9.0), 1f]);

        // Even count: the mean of the two middle values, as numpy.median.
        var even = FeatureTransform.Fit(new Frame([new Float32Column("b", [0f, 2f, float.NaN, 6f, 8f])]), Defaults);
        even.Transform(new Frame([new Float32Column("b", [float.NaN])])).Values[0].ShouldBe(0.5f); // median 4 of [0, 8]
    }

    [Fact]
    public void Zero_policy_imputes_zero_and_fits_the_scaler_on_imputed_data()
    {
        var options = new FeatureTransformOptions { MissingPolicy = MissingPolicy.Zero };
        var t = FeatureTransform.Fit(new Frame([new Float64Column("a", [double.NaN, 5, 10])]), options);
        t.Transform(new Frame([new Float64Column("a", [double.NaN, 5])])).Values.ToArray().ShouldBe([0f, 0.5f]);
    }

    [Fact]
    public void Error_policy_throws_naming_column_and_row()
    {
        var options = new FeatureTransformOptions { MissingPolicy = MissingPolicy.Error };
        var fit = Should.Throw<FeatureDataException>(() => FeatureTransform.Fit(new Frame([new Float64Column("amount", [1, double.NaN])]), options));
        fit.Column.ShouldBe("amount");
        fit.Row.ShouldBe(1);
        fit.Message.ShouldContain("'amount', row 1");

        var t = FeatureTransform.Fit(new Frame([new Float64Column("amount", [1, 2])]), options);
        var e = Should.Throw<FeatureDataException>(() => t.Transform(new Frame([new Float64Column("amount", [1, 2, double.NaN])])));
        e.Row.ShouldBe(2);
    }

    [Fact]
    public void Infinite_value_is_refused_naming_column_and_row()
    {
        var e = Should.Throw<FeatureDataException>(() =>
            FeatureTransform.Fit(new Frame([new Float64Column("a", [1, double.PositiveInfinity])]), Defaults));
        e.Message.ShouldContain("'a', row 1");
    }

    [Fact]
    public void All_missing_column_cannot_be_median_imputed()
    {
        Should.Throw<ArgumentException>(() => FeatureTransform.Fit(new Frame([new Float64Column("empty", [double.NaN, double.NaN])]), Defaults))
            .Message.ShouldContain("'empty'");
    }

    [Fact]
    public void One_hot_keeps_the_most_frequent_categories_and_an_other_slot()
    {
        var train = new Frame([CategoricalColumn.FromValues("c", ["b", "a", "a", "c", "b", "a", "d"])]);
        var t = FeatureTransform.Fit(train, new FeatureTransformOptions { MaxCategories = 2 });
        t.OutputColumns.ShouldBe(["c=a", "c=b", "c=<other>"]);

        // A scoring frame has its own dictionary order; unseen "z" and rare "c" go to other; missing is all zeros.
        var score = new Frame([CategoricalColumn.FromValues("c", ["z", "b", null, "a", "c"])]);
        t.Transform(score).Values.ToArray().ShouldBe(
        [
            0f, 0f, 1f,
            0f, 1f, 0f,
            0f, 0f, 0f,
            1f, 0f, 0f,
            0f, 0f, 1f,
        ]);
    }

    [Fact]
    public void One_hot_ties_are_broken_by_ordinal_value()
    {
        var train = new Frame([CategoricalColumn.FromValues("c", ["y", "x", "z"])]);
        FeatureTransform.Fit(train, new FeatureTransformOptions { MaxCategories = 2 }).OutputColumns.ShouldBe(["c=x", "c=y", "c=<other>"]);
    }

    [Fact]
    public void Default_features_are_numeric_and_categorical_columns_not_excluded()
    {
        var frame = TestData.Transactions(1, 20);
        var t = FeatureTransform.Fit(frame, new FeatureTransformOptions { Exclude = new HashSet<string> { "label", "id", "fraud_pattern" } });
        t.InputSchema.ShouldBe(
        [
            new ColumnSchema("amount", ColumnKind.Float64),
            new ColumnSchema("hour", ColumnKind.Float32),
            new ColumnSchema("country", ColumnKind.Categorical),
        ]);
        t.OutputColumns.ShouldBe(["amount", "hour", "country=DE", "country=FR", "country=GB", "country=JP", "country=US", "country=<other>"]);
    }

    [Fact]
    public void Timestamp_and_string_columns_are_never_features()
    {
        var frame = TestData.Transactions(1, 20);
        Should.Throw<ArgumentException>(() => FeatureTransform.Fit(frame, new FeatureTransformOptions { Features = ["amount", "ts"] }))
            .Message.ShouldContain("'ts' is Timestamp");
        Should.Throw<ArgumentException>(() => FeatureTransform.Fit(frame, new FeatureTransformOptions { Features = ["note"] }))
            .Message.ShouldContain("'note' is String");
    }

    [Fact]
    public void Explicit_features_keep_their_order_and_refuse_excluded_or_unknown_columns()
    {
        var frame = TestData.Transactions(1, 20);
        FeatureTransform.Fit(frame, new FeatureTransformOptions { Features = ["hour", "amount"] }).OutputColumns.ShouldBe(["hour", "amount"]);
        Should.Throw<ArgumentException>(() => FeatureTransform.Fit(frame, new FeatureTransformOptions
        {
            Features = ["amount", "label"],
            Exclude = new HashSet<string> { "label" },
        })).Message.ShouldContain("'label'");
        Should.Throw<ArgumentException>(() => FeatureTransform.Fit(frame, new FeatureTransformOptions { Features = ["amout"] }))
            .Message.ShouldContain("'amout' is not in the data");
    }

    [Fact]
    public void Missing_column_at_transform_time_throws_schema_mismatch_naming_it()
    {
        var t = FeatureTransform.Fit(new Frame([new Float64Column("a", [1, 2]), new Float64Column("b", [3, 4])]), Defaults);
        var e = Should.Throw<SchemaMismatchException>(() => t.Transform(new Frame([new Float64Column("a", [1])])));
        e.Column.ShouldBe("b");
        e.ExpectedKind.ShouldBe(ColumnKind.Float64);
        e.ActualKind.ShouldBeNull();
        e.Message.ShouldBe("Column 'b' is missing; the model was trained on it as Float64.");
    }

    [Fact]
    public void Column_of_another_kind_throws_schema_mismatch_naming_both_kinds()
    {
        var t = FeatureTransform.Fit(new Frame([new Float64Column("a", [1, 2])]), Defaults);
        var e = Should.Throw<SchemaMismatchException>(() => t.Transform(new Frame([new Float32Column("a", [1f])])));
        e.Message.ShouldBe("Column 'a' is Float32 but the model was trained on it as Float64.");
    }

    [Fact]
    public void Span_overload_writes_the_same_values_as_the_matrix_overload()
    {
        var frame = TestData.Transactions(3, 50);
        var t = FeatureTransform.Fit(frame, new FeatureTransformOptions { Exclude = new HashSet<string> { "label", "id", "fraud_pattern" } });
        var expected = t.Transform(frame).Values.ToArray();
        var buffer = new float[expected.Length + 5];
        t.Transform(frame, buffer);
        buffer.AsSpan(0, expected.Length).ToArray().ShouldBe(expected);
        Should.Throw<ArgumentException>(() => t.Transform(frame, new float[expected.Length - 1]));
    }

    [Fact]
    public void Document_round_trip_preserves_the_transform()
    {
        var frame = TestData.Transactions(4, 60);
        var t = FeatureTransform.Fit(frame, new FeatureTransformOptions { Exclude = new HashSet<string> { "label", "id", "fraud_pattern" }, MaxCategories = 3 });
        var copy = FeatureTransform.FromDocument(t.ToDocument());
        copy.OutputColumns.ShouldBe(t.OutputColumns);
        copy.Transform(frame).Values.ToArray().ShouldBe(t.Transform(frame).Values.ToArray());
    }

    [Fact]
    public void Options_validation_names_max_categories()
    {
        Should.Throw<ArgumentException>(() => new FeatureTransformOptions { MaxCategories = 0 }.Validate()).Message.ShouldContain("max-categories");
    }
}
