namespace Vigil.Tracking.Tests;

/// <summary>The inference log as a folder of Parquet files.</summary>
public sealed class ParquetInferenceLogTests : InferenceLogContractTests
{
    private static readonly DateTimeOffset Clock = new(2026, 11, 23, 10, 15, 0, 123, TimeSpan.Zero);
    private readonly ManualTime _time = new(Clock);

    private string Folder => Path.Combine(Home, "inference");

    protected override Task<IInferenceLogSink> OpenSinkAsync()
    {
        _time.Advance(TimeSpan.FromMilliseconds(1));
        return Task.FromResult<IInferenceLogSink>(new ParquetInferenceLogSink(Folder, _time));
    }

    protected override Task<IInferenceLogReader> OpenReaderAsync() => Task.FromResult<IInferenceLogReader>(new ParquetInferenceLogReader(Folder));

    private string[] Files() => [.. Directory.GetFiles(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public async Task Each_batch_is_one_file_named_by_write_time_and_sequence()
    {
        var sink = new ParquetInferenceLogSink(Folder, _time);
        await sink.WriteAsync([Record(0), Record(1)], Ct);
        _time.Advance(TimeSpan.FromSeconds(61));
        await sink.WriteAsync([Record(2)], Ct);
        await sink.WriteAsync([], Ct); // no file for an empty batch
        var files = Files();
        files.Length.ShouldBe(2);
        files[0].ShouldMatch(@"^inference-20261123T101500123-000001-[0-9a-f]{8}\.parquet$");
        files[1].ShouldMatch(@"^inference-20261123T101601123-000002-[0-9a-f]{8}\.parquet$");
        sink.Description.ShouldBe("parquet " + Folder);
    }

    [Fact]
    public async Task A_failed_batch_leaves_no_file_behind()
    {
        var sink = new ParquetInferenceLogSink(Folder, _time);
        var error = await Should.ThrowAsync<ArgumentException>(() => sink.WriteAsync([Record(1), Record(2, requestId: null)], Ct));
        error.Message.ShouldStartWith("inference log batch row 1 has no request id");
        Directory.GetFiles(Folder).ShouldBeEmpty();
    }

    [Fact]
    public async Task Cancelling_a_write_leaves_no_file_behind()
    {
        var sink = new ParquetInferenceLogSink(Folder, _time);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => sink.WriteAsync([Record(1)], cancelled.Token));
        Directory.GetFiles(Folder).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_reader_ignores_unfinished_temporary_files()
    {
        await new ParquetInferenceLogSink(Folder, _time).WriteAsync([Record(0)], Ct);
        await File.WriteAllTextAsync(Path.Combine(Folder, ".inference-20261123T101500999-000009-abcdef01.parquet.tmp"), "partial", Ct);
        (await new ParquetInferenceLogReader(Folder).CountAsync(cancellationToken: Ct)).ShouldBe(1);
    }

    [Fact]
    public async Task Two_sinks_on_one_folder_never_overwrite_each_other()
    {
        // same clock, same sequence numbers: the per-sink token keeps the names apart
        await new ParquetInferenceLogSink(Folder, _time).WriteAsync([Record(0)], Ct);
        await new ParquetInferenceLogSink(Folder, _time).WriteAsync([Record(1)], Ct);
        Files().Length.ShouldBe(2);
        (await new ParquetInferenceLogReader(Folder).CountAsync(cancellationToken: Ct)).ShouldBe(2);
    }

    [Fact]
    public async Task A_file_that_is_not_an_inference_log_is_named_in_the_error()
    {
        await new ParquetInferenceLogSink(Folder, _time).WriteAsync([Record(0)], Ct);
        var bad = Path.Combine(Folder, "inference-20300101T000000000-000001-deadbeef.parquet");
        await File.WriteAllTextAsync(bad, "not parquet at all", Ct);
        var error = await Should.ThrowAsync<InvalidDataException>(() => new ParquetInferenceLogReader(Folder).CountAsync(cancellationToken: Ct));
        error.Message.ShouldStartWith(bad + ": ");
    }

    [Fact]
    public void A_missing_folder_is_reported_by_the_reader()
    {
        var missing = Path.Combine(Home, "nope");
        Should.Throw<TrackingException>(() => new ParquetInferenceLogReader(missing)).Message.ShouldBe($"inference log folder {missing} not found");
    }

    [Fact]
    public async Task Items_go_to_one_file_per_model_and_feature_set_beside_the_batch_file()
    {
        var sink = new ParquetInferenceLogSink(Folder, _time);
        var v4 = new InferenceItems
        {
            Count = 1, Status = [200], Score = [0.75], Label = [1], Rule = [null], Features = [new InferenceFeatureColumn("hour", [7], null)],
        };
        var r2 = Record(2, "aml");
        await sink.WriteAsync(
        [
            WithItems(Record(0), Items3()), WithItems(Record(1), Items3()), WithItems(r2, v4), Record(3),
            new InferenceRecord { LogId = "x", RequestId = "r", Route = "v1/predict", Status = 200, Items = Items3() }, // no model: not stored
        ], Ct);
        var files = Files();
        files.Length.ShouldBe(3);
        files[0].ShouldMatch(@"^inference-20261123T101500\d{3}-000001-[0-9a-f]{8}\.parquet$");
        var stem = files[0]["inference-".Length..^".parquet".Length];
        files[1].ShouldBe($"inference_items-{stem}-0.parquet");
        files[2].ShouldBe($"inference_items-{stem}-1.parquet");
        (await new ParquetInferenceLogReader(Folder).CountAsync(cancellationToken: Ct)).ShouldBe(5); // request rows only

        // Vigil.Data's Parquet reader (not the sink's code) sees one row per item with prefixed feature columns
        var fraud = Vigil.Data.ParquetFile.Read(Path.Combine(Folder, files[1]));
        fraud.Columns.Select(c => c.Name).ShouldBe(
            ["log_id", "request_id", "item", "start_us", "model", "version", "status", "score", "label", "rule", "feature:amount", "feature:länd"]);
        fraud.RowCount.ShouldBe(6);
        Enumerable.Range(0, 6).Select(i => fraud["log_id"].FormatValue(i)).ShouldBe(["log00000000", "log00000000", "log00000000", "log00000001", "log00000001", "log00000001"]);
        fraud["score"].IsMissing(1).ShouldBeTrue();
        fraud["rule"].FormatValue(1).ShouldBe("blocked_country_✓");
        fraud["feature:länd"].FormatValue(2).ShouldBe("日本");
        var aml = Vigil.Data.ParquetFile.Read(Path.Combine(Folder, files[2]));
        aml.RowCount.ShouldBe(1);
        aml["feature:hour"].GetDouble(0).ShouldBe(7);
    }

    [Fact]
    public async Task A_failed_batch_with_items_leaves_no_items_file_behind()
    {
        var sink = new ParquetInferenceLogSink(Folder, _time);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => sink.WriteAsync([WithItems(Record(1), Items3())], cancelled.Token));
        Directory.GetFiles(Folder).ShouldBeEmpty();
    }
}
