namespace Vigil.Data.Tests.Frames;

public sealed class HugePagesTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(262_144)] // exactly 2 MiB
    [InlineData(510_064)] // a 500,000-row file's column as ReadAll sizes it
    [InlineData(3_000_000)]
    public void New_arrays_are_zeroed_and_usable_whatever_their_size(int length)
    {
        var array = HugePages.NewArray(length);

        array.Length.ShouldBe(length);
        array.ShouldAllBe(v => v == 0);
        for (var i = 0; i < length; i++)
        {
            array[i] = i;
        }

        array[^1].ShouldBe(length - 1);
    }
}
