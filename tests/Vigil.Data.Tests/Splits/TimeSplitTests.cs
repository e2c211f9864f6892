namespace Vigil.Data.Tests;

public sealed class TimeSplitTests
{
    private static readonly DateTimeOffset Day0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Default_split_is_60_20_20_of_rows_in_time_order()
    {
        var ts = ShuffledHours(100, seed: 1);
        var split = Splits.ByTime(ts);

        split.Reference.Length.ShouldBe(60);
        split.Validation.Length.ShouldBe(20);
        split.Untouched.Length.ShouldBe(20);
        split.Reference.Max(i => ts[i]).ShouldBeLessThan(split.Validation.Min(i => ts[i]));
        split.Validation.Max(i => ts[i]).ShouldBeLessThan(split.Untouched.Min(i => ts[i]));
        split.ValidationStartMicros.ShouldBe(split.Validation.Min(i => ts[i]));
        split.UntouchedStartMicros.ShouldBe(split.Untouched.Min(i => ts[i]));
    }

    [Fact]
    public void Periods_are_sorted_disjoint_and_cover_every_row()
    {
        var ts = ShuffledHours(257, seed: 2);
        var split = Splits.ByTime(ts, new TimeSplitOptions { ReferenceFraction = 0.5, ValidationFraction = 0.3 });

        int[] all = [.. split.Reference, .. split.Validation, .. split.Untouched];
        all.Order().ShouldBe(Enumerable.Range(0, ts.Length));
        split.Reference.ShouldBe(split.Reference.Order());
        split.Validation.ShouldBe(split.Validation.Order());
        split.Untouched.ShouldBe(split.Untouched.Order());
        split.Reference.Length.ShouldBe(128);
        split.Validation.Length.ShouldBe(205 - 128);
    }

    [Fact]
    public void Rows_sharing_the_cut_timestamp_move_together_to_the_later_period()
    {
        long[] ts = [1, 2, 3, 5, 5, 5, 5, 8, 9, 10];
        var split = Splits.ByTime(ts, new TimeSplitOptions { ReferenceFraction = 0.4, ValidationFraction = 0.3 });

        split.Reference.ShouldBe([0, 1, 2]);
        split.Validation.ShouldBe([3, 4, 5, 6]);
        split.Untouched.ShouldBe([7, 8, 9]);
    }

    [Fact]
    public void Time_basis_cuts_the_time_range_whatever_the_row_counts()
    {
        // 90 rows in the first 10 hours, 10 rows spread over the next 90 hours.
        var ts = new long[100];
        for (var i = 0; i < 90; i++)
        {
            ts[i] = Hour(i / 9.0);
        }

        for (var i = 0; i < 10; i++)
        {
            ts[90 + i] = Hour(10 + (i * 9) + 4.5);
        }

        var split = Splits.ByTime(ts, new TimeSplitOptions { Basis = TimeSplitBasis.Time, ReferenceFraction = 0.5, ValidationFraction = 0.25 });
        var span = ts.Max() - ts.Min() + 1;

        split.ValidationStartMicros.ShouldBe(ts.Min() + (long)Math.Floor(0.5 * span));
        split.Reference.Length.ShouldBe(90 + 4);
        split.Reference.ShouldAllBe(i => ts[i] < split.ValidationStartMicros);
        split.Untouched.ShouldAllBe(i => ts[i] >= split.UntouchedStartMicros);
    }

    [Fact]
    public void Batches_cover_the_untouched_period_in_order_with_equal_time_spans()
    {
        var ts = ShuffledHours(1000, seed: 3);
        var split = Splits.ByTime(ts, new TimeSplitOptions { BatchCount = 7 });

        split.Batches.Count.ShouldBe(7);
        split.Batches[0].StartMicros.ShouldBe(split.UntouchedStartMicros);
        split.Batches[^1].EndMicros.ShouldBe(ts.Max() + 1);
        split.Batches.SelectMany(b => b.Rows).Order().ShouldBe(split.Untouched);

        var widths = split.Batches.Select(b => b.EndMicros - b.StartMicros).ToArray();
        (widths.Max() - widths.Min()).ShouldBeLessThanOrEqualTo(1);
        for (var b = 0; b < split.Batches.Count; b++)
        {
            var batch = split.Batches[b];
            batch.Index.ShouldBe(b);
            batch.Rows.ShouldAllBe(i => ts[i] >= batch.StartMicros && ts[i] < batch.EndMicros);
            batch.Rows.ShouldBe(batch.Rows.Order());
            if (b > 0)
            {
                batch.StartMicros.ShouldBe(split.Batches[b - 1].EndMicros);
            }
        }

        split.Batches[0].Start.ShouldBe(TimestampColumn.FromMicros(split.UntouchedStartMicros));
    }

    [Fact]
    public void Batches_can_cover_everything_after_the_reference_and_may_be_empty()
    {
        // Validation rows at hours 6..7, untouched at 8..9; a quiet stretch leaves a middle batch empty.
        long[] ts = [Hour(0), Hour(1), Hour(2), Hour(3), Hour(4), Hour(5), Hour(6), Hour(6.5), Hour(9), Hour(9.5)];
        var split = Splits.ByTime(ts, new TimeSplitOptions { BatchCount = 4, BatchSource = TimeBatchSource.AfterReference });

        split.Batches.SelectMany(b => b.Rows).Order().ShouldBe([.. split.Validation, .. split.Untouched]);
        split.Batches.ShouldContain(b => b.Rows.Length == 0);
        split.Batches[0].Rows.ShouldBe([6, 7]);
        split.Batches[^1].Rows.ShouldBe([8, 9]);
    }

    [Fact]
    public void Zero_validation_fraction_gives_an_empty_validation_period()
    {
        var ts = ShuffledHours(10, seed: 4);
        var split = Splits.ByTime(ts, new TimeSplitOptions { ReferenceFraction = 0.8, ValidationFraction = 0, BatchCount = 1 });

        split.Reference.Length.ShouldBe(8);
        split.Validation.ShouldBeEmpty();
        split.Untouched.Length.ShouldBe(2);
        split.Batches.Single().Rows.ShouldBe(split.Untouched);
    }

    [Fact]
    public void Time_split_rejects_bad_options_missing_timestamps_and_empty_periods()
    {
        long[] ts = [1, 2, 3, 4, 5];
        Should.Throw<ArgumentOutOfRangeException>(() => Splits.ByTime(ts, new TimeSplitOptions { ReferenceFraction = 0 }));
        Should.Throw<ArgumentOutOfRangeException>(() => Splits.ByTime(ts, new TimeSplitOptions { ReferenceFraction = 0.7, ValidationFraction = 0.3 }))
            .Message.ShouldContain("untouched");
        Should.Throw<ArgumentOutOfRangeException>(() => Splits.ByTime(ts, new TimeSplitOptions { BatchCount = 0 }));
        Should.Throw<ArgumentException>(() => Splits.ByTime([])).Message.ShouldContain("empty");
        Should.Throw<ArgumentException>(() => Splits.ByTime([1, TimestampColumn.Missing, 3])).Message.ShouldContain("index 1");
        Should.Throw<ArgumentException>(() => Splits.ByTime([7, 7, 7, 7, 7])).Message.ShouldContain("reference period");
        Should.Throw<ArgumentException>(() => Splits.ByTime([1, 9, 9, 9, 9])).Message.ShouldContain("validation period");
    }

    [Fact]
    public void Out_of_time_split_leaves_the_label_delay_gap_out_and_counts_it()
    {
        long[] ts = [Hour(30), Hour(1), Hour(24), Hour(23), Hour(47), Hour(48), Hour(60), Hour(100), Hour(12)];
        var split = Splits.OutOfTime(ts, Day0.AddHours(24), TimeSpan.FromHours(24), testEnd: Day0.AddHours(72));

        split.Train.ShouldBe([1, 3, 8]);
        split.Test.ShouldBe([5, 6]);
        split.GapRows.ShouldBe(3);
        split.AfterTestEndRows.ShouldBe(1);
        split.TestStart.ShouldBe(Day0.AddHours(48));
        (split.Train.Length + split.Test.Length + split.GapRows + split.AfterTestEndRows).ShouldBe(ts.Length);
        split.Train.Max(i => ts[i]).ShouldBeLessThan(TimestampColumn.ToMicros(split.TrainEnd));
        split.Test.Min(i => ts[i]).ShouldBeGreaterThanOrEqualTo(TimestampColumn.ToMicros(split.TrainEnd + TimeSpan.FromHours(24)));
    }

    [Fact]
    public void Out_of_time_bounds_between_microseconds_round_the_right_way()
    {
        long[] ts = [5, 6, 7];
        var half = TimestampColumn.FromMicros(5).AddTicks(5); // 5.5 microseconds
        var split = Splits.OutOfTime(ts, half, TimeSpan.Zero);

        split.Train.ShouldBe([0]);
        split.Test.ShouldBe([1, 2]);
        split.GapRows.ShouldBe(0);
    }

    [Fact]
    public void Out_of_time_by_fraction_trains_on_the_earliest_rows()
    {
        var ts = ShuffledHours(100, seed: 5);
        var split = Splits.OutOfTimeByFraction(ts, 0.7, TimeSpan.FromHours(5));

        split.Train.Length.ShouldBe(70);
        split.GapRows.ShouldBe(5);
        split.Test.Length.ShouldBe(25);
        split.TrainEnd.ShouldBe(Day0.AddHours(70));
    }

    [Fact]
    public void Out_of_time_split_rejects_bad_windows_with_the_data_range()
    {
        long[] ts = [Hour(1), Hour(2), Hour(3)];
        Should.Throw<ArgumentOutOfRangeException>(() => Splits.OutOfTime(ts, Day0.AddHours(2), TimeSpan.FromHours(-1)));
        Should.Throw<ArgumentException>(() => Splits.OutOfTime(ts, Day0.AddHours(2), TimeSpan.FromHours(1), Day0.AddHours(3)))
            .Message.ShouldContain("must be after the test start");
        Should.Throw<ArgumentException>(() => Splits.OutOfTime(ts, Day0, TimeSpan.Zero))
            .Message.ShouldContain("No row is before the train end 2024-01-01T00:00:00");
        Should.Throw<ArgumentException>(() => Splits.OutOfTime(ts, Day0.AddHours(2), TimeSpan.FromDays(1)))
            .Message.ShouldContain("No row falls in the test window");
        Should.Throw<ArgumentException>(() => Splits.OutOfTime([], Day0, TimeSpan.Zero));
        Should.Throw<ArgumentOutOfRangeException>(() => Splits.OutOfTimeByFraction(ts, 1.5, TimeSpan.Zero));
    }

    [Fact]
    public void Frame_time_splits_read_the_timestamp_column_and_materialise_frames()
    {
        var ts = ShuffledHours(20, seed: 6);
        var frame = new Frame([
            new TimestampColumn("at", ts),
            new Float64Column("amount", Array.ConvertAll(ts, t => (double)t)),
        ]);

        var (reference, validation, untouched) = frame.Split(Splits.ByTime(frame, "at"));
        reference.RowCount.ShouldBe(12);
        validation.RowCount.ShouldBe(4);
        untouched.RowCount.ShouldBe(4);

        var (train, test) = frame.Split(Splits.OutOfTime(frame, "at", Day0.AddHours(10), TimeSpan.FromHours(2)));
        ((TimestampColumn)train["at"]).UnixMicros.ToArray().ShouldAllBe(t => t < Hour(10));
        ((TimestampColumn)test["at"]).UnixMicros.ToArray().ShouldAllBe(t => t >= Hour(12));
        test.RowCount.ShouldBe(8);

        Should.Throw<ArgumentException>(() => Splits.ByTime(frame, "amount")).Message.ShouldContain("not Timestamp");
    }

    private static long Hour(double hours) => TimestampColumn.ToMicros(Day0) + (long)(hours * 3_600_000_000L);

    private static long[] ShuffledHours(int count, ulong seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new VigilRandom(seed).Shuffle(order);
        return Array.ConvertAll(order, h => Hour(h));
    }
}
