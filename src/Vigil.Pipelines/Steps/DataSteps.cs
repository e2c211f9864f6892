using System.Globalization;
using Vigil.Data;

namespace Vigil.Pipelines.Steps;

/// <summary><c>generate</c>: synthetic card transactions with injected fraud (the seeded generator), as <c>data</c>.</summary>
internal sealed class GenerateStep : StepKind
{
    public override string Name => "generate";

    public override string Description => "Generate seeded synthetic card transactions with injected fraud patterns.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("rows", "transactions to generate"),
        new("seed", "generator seed", "42"),
        new("fraud-rate", "share of fraudulent transactions", "0.01"),
        new("days", "days the transactions span", "90"),
    ];

    public override IReadOnlyList<StepPort> Outputs => [new("data", "the transactions (Parquet)")];

    public override Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var rows = Generate(context, context.Long("rows", 1), context.OutputPath("data", "transactions.parquet"), cancellationToken);
        context.Metric("rows", rows);
        return Task.CompletedTask;
    }

    internal static long Generate(StepContext context, long rows, string path, CancellationToken cancellationToken)
    {
        var options = new TransactionGeneratorOptions
        {
            Rows = rows,
            Seed = (ulong)context.Long("seed", 0),
            FraudRate = context.Double("fraud-rate"),
            Days = (int)context.Long("days", 1),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var frame = TransactionGenerator.GenerateFrame(options);
        FrameFile.Write(frame, path);
        context.Log($"generated {rows.ToString("N0", CultureInfo.InvariantCulture)} transactions over {options.Days.ToString(CultureInfo.InvariantCulture)} days (seed {options.Seed.ToString(CultureInfo.InvariantCulture)})");
        return rows;
    }
}

/// <summary>
/// <c>ingest</c>: new data into the flow: the <c>source</c> files (CSV, CSV.gz, Parquet; several are stacked) and/or the
/// lake's raw zone partitions named by <c>raw-dates</c>, or, with neither, <c>sample-size</c> generated transactions.
/// Writes one Parquet file, <c>data</c>. The selected lake files are part of the step's key.
/// </summary>
internal sealed class IngestStep : StepKind
{
    public override string Name => "ingest";

    public override string Description => "Read new data (files) into one Parquet file, or generate sample-size transactions when no file is given.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("sample-size", "transactions to generate when no source file is connected", "20000"),
        new("seed", "generator seed", "42"),
        new("fraud-rate", "share of fraudulent transactions when generating", "0.01"),
        new("days", "days the generated transactions span", "90"),
        new("raw-dates", "also read the lake's raw zone: all, latest, YYYY-MM-DD or FROM..TO (empty: not)", ""),
        LakeParams.Lake,
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("source", "data files (.csv, .csv.gz, .parquet); none: generate", Required: false, Many: true)];

    public override IReadOnlyList<StepPort> Outputs => [new("data", "the rows (Parquet)")];

    public override Task<string?> StateAsync(Vigil.Tracking.ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        LakeParams.StateAsync(new Dictionary<string, string>(parameters, StringComparer.Ordinal) { ["zone"] = "raw" }, "zone", "raw-dates", cancellationToken);

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var output = context.OutputPath("data", "data.parquet");
        var frames = new List<Frame>();
        if (LakeParams.Dates(context.Optional("raw-dates"), context.Label, "raw-dates") is { } dates)
        {
            var fromLake = Path.Combine(context.WorkDirectory, "lake-raw.parquet");
            await LakeParams.ReadAsync(context, LakeParams.Open(context), LakeZone.Raw, dates, fromLake, cancellationToken).ConfigureAwait(false);
            frames.Add(FrameFile.Read(fromLake));
        }

        if (!context.HasInput("source") && frames.Count == 0)
        {
            var rows = GenerateStep.Generate(context, context.Long("sample-size", 1), output, cancellationToken);
            context.Metric("rows", rows);
            context.Log("no source file: generated the sample instead");
            return;
        }

        foreach (var path in context.HasInput("source") ? await context.InputPathsAsync("source", cancellationToken).ConfigureAwait(false) : [])
        {
            cancellationToken.ThrowIfCancellationRequested();
            var frame = FrameFile.Read(path);
            context.Log($"read {frame.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows x {frame.Columns.Count.ToString(CultureInfo.InvariantCulture)} columns from {Path.GetFileName(path)}");
            frames.Add(frame);
        }

        Frame all;
        try
        {
            all = frames.Count == 1 ? frames[0] : Frame.Concat(frames);
        }
        catch (ArgumentException e)
        {
            throw new StepFailedException($"step {context.Label}: the source files do not share one schema: {e.Message}");
        }

        FrameFile.Write(all, output);
        context.Metric("rows", all.RowCount);
        context.Metric("columns", all.Columns.Count);
    }
}

/// <summary><c>split</c>: out of time by a timestamp column: the earliest rows to <c>train</c>, the latest to <c>test</c>, with an optional gap.</summary>
internal sealed class SplitStep : StepKind
{
    public override string Name => "split";

    public override string Description => "Split rows out of time: the earliest to train, the latest (test-fraction) to test, skipping a label-delay gap.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("time-column", "the timestamp column", "timestamp"),
        new("test-fraction", "share of the rows (the latest) that go to test", "0.25"),
        new("gap-days", "days after the training period left out (label delay)", "0"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "the rows")];

    public override IReadOnlyList<StepPort> Outputs => [new("train", "the earlier rows (Parquet)"), new("test", "the later rows (Parquet)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var frame = FrameFile.Read(await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false));
        var column = context.String("time-column");
        if (!frame.TryGetColumn(column, out var c) || c is not TimestampColumn ts)
        {
            throw new StepFailedException($"step {context.Label}: time-column '{column}' is not a timestamp column of the data; columns are: {string.Join(", ", frame.Columns.Select(x => x.Name))}");
        }

        var testFraction = context.Double("test-fraction");
        if (testFraction is <= 0 or >= 1)
        {
            throw new StepFailedException($"step {context.Label}: test-fraction must be between 0 and 1, got {testFraction.ToString(CultureInfo.InvariantCulture)}");
        }

        OutOfTimeSplit split;
        try
        {
            split = Splits.OutOfTimeByFraction(ts.UnixMicros, 1 - testFraction, TimeSpan.FromDays(context.Double("gap-days")));
        }
        catch (ArgumentException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        if (split.Train.Length == 0 || split.Test.Length == 0)
        {
            throw new StepFailedException($"step {context.Label}: the split left {split.Train.Length.ToString(CultureInfo.InvariantCulture)} training and {split.Test.Length.ToString(CultureInfo.InvariantCulture)} test rows; use more data or another test-fraction");
        }

        var (train, test) = frame.Split(split);
        FrameFile.Write(train, context.OutputPath("train", "train.parquet"));
        FrameFile.Write(test, context.OutputPath("test", "test.parquet"));
        context.Metric("train_rows", train.RowCount);
        context.Metric("test_rows", test.RowCount);
        context.Log($"train {train.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows before {split.TrainEnd.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}, " +
            $"test {test.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows from {split.TestStart.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}");
    }
}
