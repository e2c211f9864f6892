using System.Globalization;

namespace Vigil.Data;

/// <summary>
/// Deterministic train/test and time-based splits of row indices. Random splits use an explicit
/// xoshiro256** generator seeded with the given seed, so the same seed gives the same split on every
/// machine and .NET version. Returned index arrays are sorted ascending.
/// </summary>
public static class Splits
{
    /// <summary>
    /// A uniformly random train/test split of <paramref name="rows"/> rows. As sklearn
    /// <c>train_test_split(train_size=f)</c>: the train set gets floor(f × rows) rows, the test set the rest.
    /// </summary>
    /// <param name="rows">The number of rows, at least 2.</param>
    /// <param name="trainFraction">The share of rows for training, in (0, 1).</param>
    /// <param name="seed">The generator seed.</param>
    /// <exception cref="ArgumentException">A set would be empty, or the fraction is outside (0, 1).</exception>
    public static SplitIndices Random(int rows, double trainFraction, ulong seed)
    {
        if (rows < 2)
        {
            throw new ArgumentException($"A train/test split needs at least 2 rows but got {rows}.", nameof(rows));
        }

        CheckFraction(trainFraction, nameof(trainFraction));
        var (nTrain, nTest) = TrainTestSizes(rows, trainFraction);
        var order = new int[rows];
        for (var i = 0; i < rows; i++)
        {
            order[i] = i;
        }

        new VigilRandom(seed).Shuffle(order);
        var inTrain = new bool[rows];
        for (var i = 0; i < nTrain; i++)
        {
            inTrain[order[i]] = true;
        }

        return Collect(inTrain, nTrain, nTest);
    }

    /// <summary>
    /// A stratified random train/test split with sklearn's counts: the train set gets floor(f × rows) rows
    /// (test the rest), allocated to the classes as sklearn's <c>StratifiedShuffleSplit</c> does
    /// (<c>_approximate_mode</c>: floor(class share × train rows) per class, the leftover rows going to the
    /// classes with the largest fractional remainders). Where sklearn breaks an exact remainder tie at random,
    /// this uses its own generator, so only those counts may differ from sklearn's. Within each class
    /// (classes in ascending label order) the rows are shuffled with Fisher–Yates and the first ones go to train.
    /// As in sklearn, a small class can end up entirely in the train set.
    /// </summary>
    /// <param name="labels">The class of each row; any distinct value is a class (frames store labels as Float64).</param>
    /// <param name="trainFraction">The share of rows for training, in (0, 1).</param>
    /// <param name="seed">The generator seed.</param>
    /// <exception cref="ArgumentException">No rows, a NaN label, a class with fewer than 2 rows, a set too small to
    /// hold one row per class, or the fraction outside (0, 1).</exception>
    public static SplitIndices StratifiedRandom(ReadOnlySpan<double> labels, double trainFraction, ulong seed)
    {
        var n = labels.Length;
        if (n == 0)
        {
            throw new ArgumentException("Cannot split an empty label column.", nameof(labels));
        }

        CheckFraction(trainFraction, nameof(trainFraction));
        var (classes, codes, counts) = Classes(labels);
        for (var c = 0; c < classes.Length; c++)
        {
            if (counts[c] < 2)
            {
                throw new ArgumentException(
                    $"Class {Format(classes[c])} has only {counts[c]} row; stratified splitting needs at least 2 rows per class.",
                    nameof(labels));
            }
        }

        var (nTrain, nTest) = TrainTestSizes(n, trainFraction);
        if (nTrain < classes.Length || nTest < classes.Length)
        {
            throw new ArgumentException(
                $"With {n} rows and train fraction {Format(trainFraction)} the train set gets {nTrain} and the test set {nTest} rows, " +
                $"but each must hold at least one row of each of the {classes.Length} classes.",
                nameof(trainFraction));
        }

        var rng = new VigilRandom(seed);
        var trainPerClass = ApproximateMode(counts, nTrain, rng);

        // Rows grouped by class, each group in row order, then shuffled in place.
        var offsets = new int[classes.Length + 1];
        for (var c = 0; c < classes.Length; c++)
        {
            offsets[c + 1] = offsets[c] + counts[c];
        }

        var byClass = new int[n];
        var cursor = offsets.AsSpan(0, classes.Length).ToArray();
        for (var i = 0; i < n; i++)
        {
            byClass[cursor[codes[i]]++] = i;
        }

        var inTrain = new bool[n];
        for (var c = 0; c < classes.Length; c++)
        {
            var group = byClass.AsSpan(offsets[c], counts[c]);
            rng.Shuffle(group);
            for (var j = 0; j < trainPerClass[c]; j++)
            {
                inTrain[group[j]] = true;
            }
        }

        return Collect(inTrain, nTrain, nTest);
    }

    /// <summary>Stratified split on a label column of <paramref name="frame"/> (any column with numeric values: Float64,
    /// Float32 or categorical codes).</summary>
    /// <inheritdoc cref="StratifiedRandom(ReadOnlySpan{double}, double, ulong)"/>
    public static SplitIndices StratifiedRandom(Frame frame, string labelColumn, double trainFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var column = frame[labelColumn];
        if (column is Float64Column f64)
        {
            return StratifiedRandom(f64.Values, trainFraction, seed);
        }

        var values = new double[column.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = column.GetDouble(i);
        }

        return StratifiedRandom(values, trainFraction, seed);
    }

    /// <summary>
    /// Splits rows by time into reference, validation and untouched periods (defaults 60% / 20% / 20% of the
    /// rows in time order, see <see cref="TimeSplitOptions"/>) and cuts the untouched period (or everything after
    /// the reference) into <see cref="TimeSplitOptions.BatchCount"/> sequential batches of equal time span,
    /// for drift and delayed-label monitoring. Rows sharing a timestamp always land in the same period; a cut
    /// that falls inside a run of equal timestamps moves the whole run to the later period. Timestamps need
    /// not be sorted.
    /// </summary>
    /// <param name="timestampsMicros">Microseconds since the Unix epoch, one per row; none missing.</param>
    /// <param name="options">Fractions, basis and batching; null for the defaults.</param>
    /// <exception cref="ArgumentException">No rows, a missing timestamp, bad options, or a period that comes out empty.</exception>
    public static TimeSplit ByTime(ReadOnlySpan<long> timestampsMicros, TimeSplitOptions? options = null)
    {
        options ??= new TimeSplitOptions();
        CheckOptions(options);
        var n = timestampsMicros.Length;
        if (n == 0)
        {
            throw new ArgumentException("Cannot split an empty timestamp column.", nameof(timestampsMicros));
        }

        var (min, max) = Range(timestampsMicros);
        long validationStart, untouchedStart;
        var upTo = options.ReferenceFraction + options.ValidationFraction;
        if (options.Basis == TimeSplitBasis.Rows)
        {
            var sorted = timestampsMicros.ToArray();
            Array.Sort(sorted);
            validationStart = sorted[RowCut(options.ReferenceFraction, n)];
            untouchedStart = sorted[RowCut(upTo, n)];
        }
        else
        {
            var span = (double)((Int128)max - min + 1);
            validationStart = min + (long)Math.Floor(options.ReferenceFraction * span);
            untouchedStart = min + (long)Math.Floor(upTo * span);
        }

        int referenceCount = 0, validationCount = 0;
        for (var i = 0; i < n; i++)
        {
            var t = timestampsMicros[i];
            if (t < validationStart)
            {
                referenceCount++;
            }
            else if (t < untouchedStart)
            {
                validationCount++;
            }
        }

        var untouchedCount = n - referenceCount - validationCount;
        CheckPeriod("reference", referenceCount, options.ReferenceFraction, min, max);
        CheckPeriod("validation", validationCount, options.ValidationFraction, min, max);
        CheckPeriod("untouched", untouchedCount, 1.0 - upTo, min, max);

        var reference = new int[referenceCount];
        var validation = new int[validationCount];
        var untouched = new int[untouchedCount];
        int r = 0, v = 0, u = 0;
        for (var i = 0; i < n; i++)
        {
            var t = timestampsMicros[i];
            if (t < validationStart)
            {
                reference[r++] = i;
            }
            else if (t < untouchedStart)
            {
                validation[v++] = i;
            }
            else
            {
                untouched[u++] = i;
            }
        }

        var batchStart = options.BatchSource == TimeBatchSource.Untouched ? untouchedStart : validationStart;
        var batches = Batches(timestampsMicros, batchStart, max, options.BatchCount);
        return new TimeSplit(reference, validation, untouched, batches, validationStart, untouchedStart);
    }

    /// <summary>Time split on a timestamp column of <paramref name="frame"/>.</summary>
    /// <inheritdoc cref="ByTime(ReadOnlySpan{long}, TimeSplitOptions?)"/>
    public static TimeSplit ByTime(Frame frame, string timestampColumn, TimeSplitOptions? options = null) =>
        ByTime(Timestamps(frame, timestampColumn), options);

    /// <summary>
    /// An out-of-time split with a label-delay gap: train = rows before <paramref name="trainEnd"/>; test =
    /// rows from <paramref name="trainEnd"/> + <paramref name="labelDelayGap"/> on (and before
    /// <paramref name="testEnd"/> when given). Rows in the gap or after the test end are in neither set;
    /// the result counts them.
    /// </summary>
    /// <param name="timestampsMicros">Microseconds since the Unix epoch, one per row; none missing; any order.</param>
    /// <param name="trainEnd">Exclusive end of training.</param>
    /// <param name="labelDelayGap">Time left out between train and test (labels not yet known when training); zero or more.</param>
    /// <param name="testEnd">Exclusive end of the test window; null for no end.</param>
    /// <exception cref="ArgumentException">No rows, a missing timestamp, a negative gap, a test end not after the test
    /// start, or an empty train or test set.</exception>
    public static OutOfTimeSplit OutOfTime(ReadOnlySpan<long> timestampsMicros, DateTimeOffset trainEnd, TimeSpan labelDelayGap, DateTimeOffset? testEnd = null)
    {
        var n = timestampsMicros.Length;
        if (n == 0)
        {
            throw new ArgumentException("Cannot split an empty timestamp column.", nameof(timestampsMicros));
        }

        if (labelDelayGap < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(labelDelayGap), labelDelayGap, "The label-delay gap cannot be negative.");
        }

        var testStart = trainEnd + labelDelayGap;
        if (testEnd is { } end && end <= testStart)
        {
            throw new ArgumentException(
                $"The test end {Format(end)} must be after the test start {Format(testStart)} (train end plus gap).", nameof(testEnd));
        }

        var (min, max) = Range(timestampsMicros);

        // Timestamps are whole microseconds, so "t < x" is "t < ceil(x)" and "t >= x" is "t >= ceil(x)".
        var trainEndMicros = CeilingMicros(trainEnd);
        var testStartMicros = CeilingMicros(testStart);
        var testEndMicros = testEnd is { } te ? CeilingMicros(te) : long.MaxValue;
        var hasEnd = testEnd.HasValue;

        int trainCount = 0, testCount = 0, gapCount = 0;
        for (var i = 0; i < n; i++)
        {
            var t = timestampsMicros[i];
            if (t < trainEndMicros)
            {
                trainCount++;
            }
            else if (t < testStartMicros)
            {
                gapCount++;
            }
            else if (!hasEnd || t < testEndMicros)
            {
                testCount++;
            }
        }

        if (trainCount == 0)
        {
            throw new ArgumentException(
                $"No row is before the train end {Format(trainEnd)}; timestamps run from {FormatMicros(min)} to {FormatMicros(max)}.", nameof(trainEnd));
        }

        if (testCount == 0)
        {
            throw new ArgumentException(
                $"No row falls in the test window from {Format(testStart)}{(hasEnd ? " to " + Format(testEnd!.Value) : string.Empty)}; " +
                $"timestamps run from {FormatMicros(min)} to {FormatMicros(max)}.", nameof(labelDelayGap));
        }

        var train = new int[trainCount];
        var test = new int[testCount];
        int a = 0, b = 0;
        for (var i = 0; i < n; i++)
        {
            var t = timestampsMicros[i];
            if (t < trainEndMicros)
            {
                train[a++] = i;
            }
            else if (t >= testStartMicros && (!hasEnd || t < testEndMicros))
            {
                test[b++] = i;
            }
        }

        return new OutOfTimeSplit(train, test, gapCount, n - trainCount - gapCount - testCount, trainEnd, testStart, testEnd);
    }

    /// <summary>Out-of-time split on a timestamp column of <paramref name="frame"/>.</summary>
    /// <inheritdoc cref="OutOfTime(ReadOnlySpan{long}, DateTimeOffset, TimeSpan, DateTimeOffset?)"/>
    public static OutOfTimeSplit OutOfTime(Frame frame, string timestampColumn, DateTimeOffset trainEnd, TimeSpan labelDelayGap, DateTimeOffset? testEnd = null) =>
        OutOfTime(Timestamps(frame, timestampColumn), trainEnd, labelDelayGap, testEnd);

    /// <summary>
    /// <see cref="OutOfTime(ReadOnlySpan{long}, DateTimeOffset, TimeSpan, DateTimeOffset?)"/> with the train end picked so
    /// that the earliest floor(<paramref name="trainFraction"/> × rows) rows train: the train end is the timestamp of the
    /// first row in time order after them (rows sharing that timestamp fall after the train end too).
    /// </summary>
    /// <param name="timestampsMicros">Microseconds since the Unix epoch, one per row.</param>
    /// <param name="trainFraction">The share of rows (in time order) before the train end, in (0, 1).</param>
    /// <param name="labelDelayGap">Time left out between train and test; zero or more.</param>
    public static OutOfTimeSplit OutOfTimeByFraction(ReadOnlySpan<long> timestampsMicros, double trainFraction, TimeSpan labelDelayGap)
    {
        CheckFraction(trainFraction, nameof(trainFraction));
        if (timestampsMicros.IsEmpty)
        {
            throw new ArgumentException("Cannot split an empty timestamp column.", nameof(timestampsMicros));
        }

        Range(timestampsMicros);
        var sorted = timestampsMicros.ToArray();
        Array.Sort(sorted);
        var trainEnd = TimestampColumn.FromMicros(sorted[RowCut(trainFraction, sorted.Length)]);
        return OutOfTime(timestampsMicros, trainEnd, labelDelayGap);
    }

    private static (double[] Classes, int[] Codes, int[] Counts) Classes(ReadOnlySpan<double> labels)
    {
        var codes = new int[labels.Length];
        var lookup = new Dictionary<double, int>();
        var seen = new List<double>();
        for (var i = 0; i < labels.Length; i++)
        {
            var v = labels[i];
            if (double.IsNaN(v))
            {
                throw new ArgumentException($"Label at index {i} is missing (NaN); stratified splitting needs a label on every row.", nameof(labels));
            }

            if (!lookup.TryGetValue(v, out var code))
            {
                code = seen.Count;
                lookup.Add(v, code);
                seen.Add(v);
            }

            codes[i] = code;
        }

        // Classes in ascending order (as numpy.unique), so the split does not depend on which class appears first.
        var classes = seen.ToArray();
        var firstSeenOrder = new int[classes.Length];
        for (var c = 0; c < classes.Length; c++)
        {
            firstSeenOrder[c] = c;
        }

        Array.Sort(classes, firstSeenOrder);
        var rank = new int[classes.Length];
        for (var c = 0; c < classes.Length; c++)
        {
            rank[firstSeenOrder[c]] = c;
        }

        var counts = new int[classes.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = rank[codes[i]];
            counts[codes[i]]++;
        }

        return (classes, codes, counts);
    }

    /// <summary>sklearn's <c>_approximate_mode</c>: per-class draws summing to <paramref name="draws"/>.</summary>
    internal static int[] ApproximateMode(int[] counts, int draws, VigilRandom rng)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }

        var result = new int[counts.Length];
        var remainder = new double[counts.Length];
        long floored = 0;
        for (var c = 0; c < counts.Length; c++)
        {
            var continuous = counts[c] / (double)total * draws;
            var f = Math.Floor(continuous);
            result[c] = (int)f;
            remainder[c] = continuous - f;
            floored += result[c];
        }

        var need = (int)(draws - floored);
        var tied = new List<int>();
        while (need > 0)
        {
            var largest = -1.0;
            foreach (var r in remainder)
            {
                largest = Math.Max(largest, r);
            }

            if (largest < 0)
            {
                break;
            }

            tied.Clear();
            for (var c = 0; c < remainder.Length; c++)
            {
                if (remainder[c] == largest)
                {
                    tied.Add(c);
                    remainder[c] = -1; // handled
                }
            }

            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tied);
            if (span.Length > need)
            {
                rng.Shuffle(span); // sklearn: rng.choice(inds, need, replace=False)
            }

            var take = Math.Min(need, span.Length);
            for (var j = 0; j < take; j++)
            {
                result[span[j]]++;
            }

            need -= take;
        }

        return result;
    }

    private static (int Train, int Test) TrainTestSizes(int rows, double trainFraction)
    {
        var train = (int)Math.Floor(trainFraction * rows);
        var test = rows - train;
        if (train == 0 || test == 0)
        {
            throw new ArgumentException(
                $"With {rows} rows and train fraction {Format(trainFraction)} the {(train == 0 ? "train" : "test")} set would be empty.",
                nameof(trainFraction));
        }

        return (train, test);
    }

    private static SplitIndices Collect(bool[] inTrain, int nTrain, int nTest)
    {
        var train = new int[nTrain];
        var test = new int[nTest];
        int a = 0, b = 0;
        for (var i = 0; i < inTrain.Length; i++)
        {
            if (inTrain[i])
            {
                train[a++] = i;
            }
            else
            {
                test[b++] = i;
            }
        }

        return new SplitIndices(train, test);
    }

    private static TimeBatch[] Batches(ReadOnlySpan<long> timestamps, long start, long max, int count)
    {
        // Batch b spans [start + ceil(span * b / count), start + ceil(span * (b + 1) / count)), span = max + 1 - start,
        // so row t belongs to batch floor((t - start) * count / span).
        var span = (Int128)max + 1 - start;
        var sizes = new int[count];
        for (var i = 0; i < timestamps.Length; i++)
        {
            var t = timestamps[i];
            if (t >= start)
            {
                sizes[BatchOf(t, start, span, count)]++;
            }
        }

        var rows = new int[count][];
        for (var b = 0; b < count; b++)
        {
            rows[b] = new int[sizes[b]];
            sizes[b] = 0;
        }

        for (var i = 0; i < timestamps.Length; i++)
        {
            var t = timestamps[i];
            if (t >= start)
            {
                var b = BatchOf(t, start, span, count);
                rows[b][sizes[b]++] = i;
            }
        }

        var batches = new TimeBatch[count];
        for (var b = 0; b < count; b++)
        {
            batches[b] = new TimeBatch(b, Boundary(start, span, b, count), Boundary(start, span, b + 1, count), rows[b]);
        }

        return batches;
    }

    private static int BatchOf(long t, long start, Int128 span, int count) => (int)(((Int128)t - start) * count / span);

    private static long Boundary(long start, Int128 span, int b, int count) => (long)(start + (((span * b) + count - 1) / count));

    private static int RowCut(double fraction, int rows) => Math.Min((int)Math.Floor(fraction * rows), rows - 1);

    private static (long Min, long Max) Range(ReadOnlySpan<long> timestamps)
    {
        long min = long.MaxValue, max = long.MinValue;
        for (var i = 0; i < timestamps.Length; i++)
        {
            var t = timestamps[i];
            if (t == TimestampColumn.Missing)
            {
                throw new ArgumentException($"Timestamp at index {i} is missing; time splits need a timestamp on every row.", "timestampsMicros");
            }

            min = Math.Min(min, t);
            max = Math.Max(max, t);
        }

        return (min, max);
    }

    private static ReadOnlySpan<long> Timestamps(Frame frame, string column)
    {
        ArgumentNullException.ThrowIfNull(frame);
        return frame[column] is TimestampColumn ts
            ? ts.UnixMicros
            : throw new ArgumentException($"Column '{column}' is {frame[column].Kind}, not Timestamp.", nameof(column));
    }

    private static void CheckPeriod(string name, int rows, double fraction, long min, long max)
    {
        if (rows == 0 && fraction > 0)
        {
            throw new ArgumentException(
                $"The {name} period of the time split is empty: the timestamps (from {FormatMicros(min)} to {FormatMicros(max)}) " +
                "are too few or too tied to cut at the requested fractions.",
                "options");
        }
    }

    private static void CheckOptions(TimeSplitOptions options)
    {
        CheckFraction(options.ReferenceFraction, nameof(options) + "." + nameof(TimeSplitOptions.ReferenceFraction));
        if (!(options.ValidationFraction >= 0 && options.ValidationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationFraction,
                "the validation fraction must be in [0, 1)");
        }

        if (!(options.ReferenceFraction + options.ValidationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ReferenceFraction + options.ValidationFraction,
                "the reference fraction plus the validation fraction must be below 1 to leave an untouched period");
        }

        if (options.BatchCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchCount, "the batch count must be at least 1");
        }
    }

    private static void CheckFraction(double fraction, string name)
    {
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(name, fraction, "The fraction must be strictly between 0 and 1.");
        }
    }

    private static long CeilingMicros(DateTimeOffset instant)
    {
        var ticks = instant.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var micros = ticks / TimeSpan.TicksPerMicrosecond;
        return ticks % TimeSpan.TicksPerMicrosecond > 0 ? micros + 1 : micros;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(DateTimeOffset instant) => instant.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static string FormatMicros(long micros) => Format(TimestampColumn.FromMicros(micros));
}
