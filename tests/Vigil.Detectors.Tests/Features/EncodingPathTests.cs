using Vigil.Data;

namespace Vigil.Detectors.Tests.Features;

/// <summary>Batch scoring (a frame) and online scoring (one value at a time, as the server does) share one encoding core.</summary>
public sealed class EncodingPathTests
{
    private static readonly ModelBundle Bundle = ModelBundle.Train(TestData.Transactions(12, 300),
        new TrainSpec { Label = "label", IdColumn = "id", Forest = new IsolationForestOptions { Seed = 1, Estimators = 10 } });

    private static Frame WithAmount(int row, double value)
    {
        var frame = TestData.Transactions(13, 50);
        var amount = ((Float64Column)frame["amount"]).Values.ToArray();
        amount[row] = value;
        return new Frame(frame.Columns.Select(c => c.Name == "amount" ? new Float64Column("amount", amount) : c));
    }

    [Theory]
    [InlineData(1e300)]   // finite double, overflows float32 after min-max scaling
    [InlineData(-1e300)]
    [InlineData(double.PositiveInfinity)]
    public void Batch_scoring_refuses_a_value_the_online_path_refuses_naming_column_row_and_the_same_problem(double value)
    {
        var input = Bundle.Transform.InputIndexOf("amount");
        var online = Bundle.Transform.TryEncodeNumeric(input, value, new float[Bundle.Transform.OutputCount]);
        online.ShouldNotBeNull();

        var batch = Should.Throw<FeatureDataException>(() => Bundle.Score(WithAmount(7, value)));
        batch.Column.ShouldBe("amount");
        batch.Row.ShouldBe(7);
        batch.Message.ShouldBe($"Column 'amount', row 7: {online}.");
    }

    [Fact]
    public void A_float32_overflow_used_to_become_infinity_in_batch_and_now_says_too_large()
    {
        // Before one core, TransformRows let 1e300 through as +Inf while TryEncodeNumeric answered "too large".
        Should.Throw<FeatureDataException>(() => Bundle.Score(WithAmount(3, 1e300))).Message.ShouldContain("too large");
    }

    [Fact]
    public void Batch_and_online_encode_every_accepted_value_to_the_same_features()
    {
        var frame = WithAmount(0, double.NaN); // a missing value: imputed by the median in both paths
        var batch = Bundle.Transform.Transform(frame);
        var row = new float[Bundle.Transform.OutputCount];
        for (var r = 0; r < frame.RowCount; r++)
        {
            Array.Clear(row);
            for (var i = 0; i < Bundle.Transform.InputSchema.Count; i++)
            {
                var column = frame[Bundle.Transform.InputSchema[i].Name];
                var problem = column switch
                {
                    Float64Column f => Bundle.Transform.TryEncodeNumeric(i, f.Values[r], row),
                    Float32Column f => Bundle.Transform.TryEncodeNumeric(i, f.Values[r], row),
                    CategoricalColumn c => c[r] is { } s ? Bundle.Transform.TryEncodeCategory(i, s, row) : Bundle.Transform.TryEncodeMissing(i, row),
                    _ => "unexpected column",
                };
                problem.ShouldBeNull();
            }

            row.ShouldBe(batch.Row(r).ToArray(), $"row {r}");
        }

        Bundle.ExplainFeatures(row, 2).Count.ShouldBe(2);
    }
}
