namespace Vigil.Detectors.Tests;

public sealed class FeatureMatrixTests
{
    [Fact]
    public void Rows_are_row_major_slices_of_the_data()
    {
        var m = new FeatureMatrix([1f, 2f, 3f, 4f, 5f, 6f, 99f], 3, ["a", "b"]);
        m.Columns.ShouldBe(2);
        m.Row(1).ToArray().ShouldBe([3f, 4f]);
        m[2, 1].ShouldBe(6f);
        m.Values.Length.ShouldBe(6);
    }

    [Fact]
    public void Too_little_data_is_refused()
    {
        Should.Throw<ArgumentException>(() => new FeatureMatrix([1f, 2f, 3f], 2, ["a", "b"])).Message.ShouldContain("2 rows x 2 columns");
    }

    [Fact]
    public void Row_index_out_of_range_is_refused()
    {
        var m = new FeatureMatrix([1f, 2f], 1, ["a", "b"]);
        Should.Throw<ArgumentOutOfRangeException>(() => m.Row(1).ToArray());
    }
}
