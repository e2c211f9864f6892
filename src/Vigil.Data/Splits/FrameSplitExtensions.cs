namespace Vigil.Data;

/// <summary>Materialises index splits as frames.</summary>
public static class FrameSplitExtensions
{
    /// <summary>The train and test rows of <paramref name="frame"/>, each in original row order.</summary>
    /// <exception cref="ArgumentException">The split refers to a row the frame does not have.</exception>
    public static (Frame Train, Frame Test) Split(this Frame frame, SplitIndices split)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(split);
        return (Rows(frame, split.Train), Rows(frame, split.Test));
    }

    /// <summary>The train and test rows of an out-of-time split (gap rows are in neither).</summary>
    /// <exception cref="ArgumentException">The split refers to a row the frame does not have.</exception>
    public static (Frame Train, Frame Test) Split(this Frame frame, OutOfTimeSplit split)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(split);
        return (Rows(frame, split.Train), Rows(frame, split.Test));
    }

    /// <summary>The reference, validation and untouched rows of a time split.</summary>
    /// <exception cref="ArgumentException">The split refers to a row the frame does not have.</exception>
    public static (Frame Reference, Frame Validation, Frame Untouched) Split(this Frame frame, TimeSplit split)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(split);
        return (Rows(frame, split.Reference), Rows(frame, split.Validation), Rows(frame, split.Untouched));
    }

    private static Frame Rows(Frame frame, int[] rows)
    {
        foreach (var r in rows)
        {
            if ((uint)r >= (uint)frame.RowCount)
            {
                throw new ArgumentException(
                    $"The split refers to row {r} but the frame has {frame.RowCount} rows; was the split made for another frame?", "split");
            }
        }

        return frame.Take(rows);
    }
}
