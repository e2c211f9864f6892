using System.Text;
using Vigil.Data;

namespace Vigil.Detectors.Tests.Onnx;

public sealed class OnnxModelTests : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-onnx-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("scorer")]
    [InlineData("classifier")]
    public void Scores_equal_the_torch_outputs_within_1e5(string name)
    {
        using var bundle = new Owned(ModelBundle.FromOnnx(OnnxFixture.Load(name)));
        var scores = bundle.Value.Score(OnnxFixture.Input());

        OnnxFixture.MaxError(scores, OnnxFixture.Expected(name)).ShouldBeLessThanOrEqualTo(Tolerance);
    }

    [Fact]
    public void Classifier_score_is_the_fraud_probability_column_and_flags_the_frauds()
    {
        using var bundle = new Owned(ModelBundle.FromOnnx(OnnxFixture.Load("classifier")));
        var frame = OnnxFixture.Input();
        var scores = bundle.Value.Score(frame);
        var labels = ((Float64Column)frame["label"]).Values;

        bundle.Value.Threshold.ShouldBe(0.5);
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i].ShouldBeInRange(0.0, 1.0);
            bundle.Value.IsAnomaly(scores[i]).ShouldBe(labels[i] == 1, $"row {i}");
        }
    }

    [Fact]
    public void Higher_is_anomalous_false_negates_the_output()
    {
        var schema = OnnxFixture.Schema("classifier") with { OutputColumn = 0, HigherIsAnomalous = false, Threshold = -0.5 };
        using var model = OnnxModel.Load(OnnxFixture.ModelPath("classifier"), schema);
        using var bundle = new Owned(ModelBundle.FromOnnx(model));
        var scores = bundle.Value.Score(OnnxFixture.Input());
        var expected = OnnxFixture.Expected("classifier"); // P(fraud) = 1 - P(normal)

        for (var i = 0; i < scores.Length; i++)
        {
            scores[i].ShouldBe(expected[i] - 1.0, 1e-5);
        }
    }

    [Fact]
    public void Features_are_taken_by_name_whatever_the_column_order_of_the_data()
    {
        var frame = OnnxFixture.Input();
        var reordered = new Frame(frame.Columns.Reverse());
        using var bundle = new Owned(ModelBundle.FromOnnx(OnnxFixture.Load("scorer")));

        bundle.Value.Score(reordered).ShouldBe(bundle.Value.Score(frame));
        bundle.Value.Transform.OutputColumns.ShouldBe(OnnxFixture.Schema("scorer").Features);
        bundle.Value.Transform.Scaling.ShouldBe(Scaling.None);
    }

    [Fact]
    public void One_row_at_a_time_gives_the_batch_scores_to_float32_rounding_and_concurrent_calls_agree()
    {
        using var model = OnnxFixture.Load("scorer");
        using var bundle = new Owned(ModelBundle.FromOnnx(model));
        var x = bundle.Value.Transform.Transform(OnnxFixture.Input());
        var batch = model.Score(x);

        var single = new double[x.Rows];
        Parallel.For(0, x.Rows, new ParallelOptions { MaxDegreeOfParallelism = 4 }, r =>
        {
            var row = new FeatureMatrix(x.Row(r).ToArray(), 1, x.ColumnNames);
            model.Score(row, single.AsSpan(r, 1));
        });

        // ONNX Runtime's kernels may round the last float32 bit differently for a 1-row and a 256-row batch.
        OnnxFixture.MaxError(single, batch).ShouldBeLessThanOrEqualTo(1e-6);
        OnnxFixture.MaxError(single, OnnxFixture.Expected("scorer")).ShouldBeLessThanOrEqualTo(Tolerance);
        OnnxFixture.MaxError(batch, OnnxFixture.Expected("scorer")).ShouldBeLessThanOrEqualTo(Tolerance);
    }

    [Fact]
    public void Frames_larger_than_one_onnx_batch_are_scored_in_chunks_with_the_same_values()
    {
        var frame = OnnxFixture.Input();
        var n = frame.RowCount;
        var copies = (OnnxModel.MaxBatchRows * 2 / n) + 2; // > 2 ONNX batches and several parallel chunks
        var rows = new int[n * copies];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = i % n;
        }

        var big = frame.Take(rows);
        using var model = OnnxFixture.Load("scorer");
        using var bundle = new Owned(ModelBundle.FromOnnx(model));
        var expected = OnnxFixture.Expected("scorer");
        var x = bundle.Value.Transform.Transform(big);

        var viaBundle = bundle.Value.Score(big);
        var viaModel = model.Score(x);

        for (var i = 0; i < rows.Length; i++)
        {
            Math.Abs(viaBundle[i] - expected[i % n]).ShouldBeLessThanOrEqualTo(Tolerance, $"row {i}");
        }

        viaModel.ShouldBe(viaBundle);
    }

    [Fact]
    public void Missing_value_is_an_error_naming_the_column_unless_the_schema_gives_a_default()
    {
        var frame = WithMissingHour(OnnxFixture.Input(), row: 3);
        using (var bundle = new Owned(ModelBundle.FromOnnx(OnnxFixture.Load("scorer"))))
        {
            var e = Should.Throw<FeatureDataException>(() => bundle.Value.Score(frame));
            e.Column.ShouldBe("hour");
            e.Row.ShouldBe(3);
            e.Message.ShouldContain("no default");
        }

        var schema = OnnxFixture.Schema("scorer") with { Defaults = new Dictionary<string, double> { ["hour"] = 7 } };
        using var model = OnnxModel.Load(OnnxFixture.ModelPath("scorer"), schema);
        using var withDefault = new Owned(ModelBundle.FromOnnx(model));
        var filled = WithHour(OnnxFixture.Input(), row: 3, value: 7);

        withDefault.Value.Score(frame).ShouldBe(withDefault.Value.Score(filled));
    }

    [Fact]
    public void Data_without_a_feature_column_is_a_schema_mismatch_naming_it()
    {
        var frame = OnnxFixture.Input();
        var without = new Frame(frame.Columns.Where(c => c.Name != "velocity_1h"));
        using var bundle = new Owned(ModelBundle.FromOnnx(OnnxFixture.Load("scorer")));

        Should.Throw<SchemaMismatchException>(() => bundle.Value.Score(without)).Message.ShouldContain("velocity_1h");
    }

    [Fact]
    public void Schema_file_round_trips_through_json_and_ignores_unknown_keys()
    {
        var schema = OnnxFixture.Schema("classifier"); // has an extra "exported_by" key
        schema.OutputColumn.ShouldBe(1);
        schema.HigherIsAnomalous.ShouldBeTrue();
        schema.Threshold.ShouldBe(0.5);
        schema.Features.ShouldBe(["amount", "hour", "merchant_risk", "velocity_1h", "distance_km", "account_age_days"]);

        var withDefaults = schema with { Defaults = new Dictionary<string, double> { ["hour"] = 12.5 } };
        var again = OnnxSchema.Parse(withDefaults.ToJson(), "again");
        again.Features.ShouldBe(schema.Features);
        again.Input.ShouldBe("features");
        again.Output.ShouldBe("probabilities");
        again.OutputColumn.ShouldBe(1);
        again.Threshold.ShouldBe(0.5);
        again.Defaults.ShouldBe(withDefaults.Defaults);
    }

    [Fact]
    public void Schema_may_carry_comments_like_the_readme_example()
    {
        var json = """
            {"features": ["amount", "hour", "merchant_risk"],   // input-column order
             "input": "features", "output": "probabilities",
             "output_column": 1,                                  // for an [N, K] output: which column is the score
             "higher_is_anomalous": true, "threshold": 0.5,       // optional (threshold default 0.5)
             "defaults": {"hour": 12}}                            // optional: value for a missing input
            """;
        var schema = OnnxSchema.Parse(Encoding.UTF8.GetBytes(json), "schema.json");

        schema.Features.ShouldBe(["amount", "hour", "merchant_risk"]);
        schema.OutputColumn.ShouldBe(1);
        schema.Defaults["hour"].ShouldBe(12);
    }

    public static TheoryData<string, string, string> BadSchemas => new()
    {
        { """{"input": "features", "output": "score"}""", "features", "is missing" },
        { """{"features": [], "input": "features", "output": "score"}""", "features", "non-empty array" },
        { """{"features": ["a", "a"], "input": "features", "output": "score"}""", "features", "twice" },
        { """{"features": ["a"], "output": "score"}""", "input", "is missing" },
        { """{"features": ["a"], "input": 3, "output": "score"}""", "input", "tensor name" },
        { """{"features": ["a"], "input": "features"}""", "output", "is missing" },
        { """{"features": ["a"], "input": "x", "output": "y", "output_column": -1}""", "output_column", "non-negative integer" },
        { """{"features": ["a"], "input": "x", "output": "y", "higher_is_anomalous": "yes"}""", "higher_is_anomalous", "true or false" },
        { """{"features": ["a"], "input": "x", "output": "y", "threshold": "high"}""", "threshold", "finite number" },
        { """{"features": ["a"], "input": "x", "output": "y", "defaults": {"b": 1}}""", "defaults", "'b'" },
    };

    [Theory]
    [MemberData(nameof(BadSchemas))]
    public void Bad_schema_json_names_the_file_and_key(string json, string key, string problem)
    {
        var e = Should.Throw<OnnxModelException>(() => OnnxSchema.Parse(Encoding.UTF8.GetBytes(json), "s.json"));
        e.Key.ShouldBe(key);
        e.FilePath.ShouldBe("s.json");
        e.Message.ShouldStartWith($"s.json: \"{key}\"");
        e.Message.ShouldContain(problem);
    }

    [Fact]
    public void Schema_that_is_not_json_names_the_file()
    {
        var path = Path.Combine(_dir, "broken.json");
        File.WriteAllText(path, "{\"features\": [");
        var e = Should.Throw<OnnxModelException>(() => OnnxSchema.Load(path));
        e.Message.ShouldStartWith($"{path}: is not valid JSON");
        Should.Throw<OnnxModelException>(() => OnnxSchema.Load(Path.Combine(_dir, "absent.json"))).Message.ShouldEndWith("file not found");
    }

    public static TheoryData<string, OnnxSchema, string, string> Mismatches => new()
    {
        { "scorer", Base("scorer") with { Input = "x" }, "input", "names 'x', which is not an input of" },
        { "scorer", Base("scorer") with { Features = ["a", "b", "c"] }, "features", "lists 3 feature(s) but input 'features' has shape [batch, 6]" },
        { "scorer", Base("scorer") with { Output = "probabilities" }, "output", "its outputs: 'score' float32 [batch]" },
        { "scorer", Base("scorer") with { OutputColumn = 1 }, "output_column", "one value per row" },
        { "classifier", Base("classifier") with { OutputColumn = null }, "output_column", "is missing: output 'probabilities' has shape [batch, 2]" },
        { "classifier", Base("classifier") with { OutputColumn = 2 }, "output_column", "i.e. 2 columns" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Schema_that_does_not_fit_the_model_is_refused_naming_the_key(string model, OnnxSchema schema, string key, string problem)
    {
        var e = Should.Throw<OnnxModelException>(() => OnnxModel.Load(OnnxFixture.ModelPath(model), schema, "my-schema.json"));
        e.Key.ShouldBe(key);
        e.Message.ShouldStartWith($"my-schema.json: \"{key}\"");
        e.Message.ShouldContain(problem);
    }

    [Fact]
    public void File_that_is_not_onnx_or_is_missing_is_refused_naming_it()
    {
        var path = Path.Combine(_dir, "junk.onnx");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("this is not a protobuf model"));

        var e = Should.Throw<OnnxModelException>(() => OnnxModel.Load(path, Base("scorer")));
        e.Message.ShouldStartWith($"{path}: is not a valid ONNX model");
        e.Key.ShouldBeNull();
        Should.Throw<OnnxModelException>(() => OnnxModel.Load(Path.Combine(_dir, "absent.onnx"), Base("scorer")))
            .Message.ShouldBe($"{Path.Combine(_dir, "absent.onnx")}: file not found");
    }

    private static OnnxSchema Base(string name) => OnnxFixture.Schema(name);

    private static Frame WithMissingHour(Frame frame, int row) => WithHour(frame, row, double.NaN);

    private static Frame WithHour(Frame frame, int row, double value)
    {
        var hours = ((Float64Column)frame["hour"]).Values.ToArray();
        hours[row] = value;
        return new Frame(frame.Columns.Select(c => c.Name == "hour" ? new Float64Column("hour", hours) : c));
    }

    /// <summary>Disposes the ONNX session of a bundle's detector at the end of a test.</summary>
    private sealed class Owned(ModelBundle value) : IDisposable
    {
        public ModelBundle Value { get; } = value;

        public void Dispose() => (Value.Detector as IDisposable)?.Dispose();
    }
}
