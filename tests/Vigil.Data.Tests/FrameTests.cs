namespace Vigil.Data.Tests;

public sealed class FrameTests
{
    [Fact]
    public void Take_keeps_rows_in_the_given_order()
    {
        var frame = new Frame([
            new Float64Column("x", [1.0, 2.0, 3.0]),
            CategoricalColumn.FromValues("c", ["a", null, "b"]),
        ]);

        var taken = frame.Take([2, 0]);

        taken.RowCount.ShouldBe(2);
        ((Float64Column)taken["x"]).Values.ToArray().ShouldBe([3.0, 1.0]);
        ((CategoricalColumn)taken["c"])[0].ShouldBe("b");
    }

    [Fact]
    public void Columns_of_different_lengths_are_refused_with_both_names()
    {
        var ex = Should.Throw<ArgumentException>(() => new Frame([
            new Float64Column("x", [1.0, 2.0]),
            new Float64Column("y", [1.0]),
        ]));
        ex.Message.ShouldContain("'y'");
        ex.Message.ShouldContain("'x'");
    }

    [Fact]
    public void Concat_merges_categorical_dictionaries()
    {
        var a = new Frame([CategoricalColumn.FromValues("c", ["x", "y"])]);
        var b = new Frame([CategoricalColumn.FromValues("c", ["z", "x", null])]);

        var all = (CategoricalColumn)Frame.Concat([a, b])["c"];

        Enumerable.Range(0, all.Length).Select(i => all[i]).ShouldBe(["x", "y", "z", "x", null]);
        all.Dictionary.Count.ShouldBe(3);
    }
}
