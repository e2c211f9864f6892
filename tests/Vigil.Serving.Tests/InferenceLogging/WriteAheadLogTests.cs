using Vigil.Tracking;
using static Vigil.Serving.Tests.InferenceLogging.LogTestSupport;

namespace Vigil.Serving.Tests.InferenceLogging;

/// <summary>The write-ahead file: record format, torn tails, group commit, cap.</summary>
public sealed class WriteAheadLogTests
{
    [Fact]
    public void A_record_round_trips_with_its_items_and_payloads()
    {
        var row = Row(7, error: "bad");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        InferenceRecordCodec.Encode(row, buffer);
        var back = InferenceRecordCodec.Decode(buffer.WrittenSpan);
        back.LogId.ShouldBe(row.LogId);
        back.RequestId.ShouldBe("req-7");
        back.StartUs.ShouldBe(row.StartUs);
        back.Error.ShouldBe("bad");
        back.Version.ShouldBe(1);
        back.RequestPayload.ShouldBe("{\"model\":\"fraud\"}");
        back.ResponsePayload.ShouldBe("{\"predictions\":[]}");
        back.Items.ShouldNotBeNull().Features[1].Texts.ShouldBe(["grocery", null]);
        back.Items.Label.ShouldBe([(sbyte)0, (sbyte)1]);
        Should.Throw<InvalidDataException>(() => InferenceRecordCodec.Decode(buffer.WrittenSpan[..^3])).Message.ShouldContain("truncated");
    }

    [Fact]
    public async Task Replay_reads_every_whole_record_and_ignores_a_torn_tail()
    {
        var folder = NewHome();
        var wal = new InferenceWriteAheadLog(folder, 1 << 30);
        for (var i = 0; i < 10; i++)
        {
            await wal.AppendAsync(Row(i));
        }

        await wal.DisposeAsync();
        var segment = Directory.GetFiles(folder, "wal-*.seg").ShouldHaveSingleItem();
        var whole = InferenceWriteAheadLog.ReadSegment(segment);
        whole.Records.Count.ShouldBe(10);
        whole.IgnoredBytes.ShouldBe(0);

        // a crash mid-write: the last record is cut short
        var bytes = File.ReadAllBytes(segment);
        File.WriteAllBytes(segment, bytes[..^5]);
        var torn = InferenceWriteAheadLog.ReadSegment(segment);
        torn.Records.Select(r => r.RequestId).ShouldBe(Enumerable.Range(0, 9).Select(i => "req-" + i));
        torn.IgnoredBytes.ShouldBeGreaterThan(0);
        torn.Problem.ShouldBe("a record is cut short");

        // a tail whose bytes are there but wrong (the length landed, the payload did not)
        var garbage = bytes.ToList();
        garbage.AddRange([16, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        File.WriteAllBytes(segment, [.. garbage]);
        var bad = InferenceWriteAheadLog.ReadSegment(segment);
        bad.Records.Count.ShouldBe(10);
        bad.Problem.ShouldNotBeNull().ShouldContain("fails its CRC");

        // the next open replays the segment
        var reopened = new InferenceWriteAheadLog(folder, 1 << 30);
        reopened.ReplaySegments.ShouldBe(1);
        reopened.SealedSegments.ShouldBe(1);
        await reopened.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Group_commit_covers_many_concurrent_appends_with_far_fewer_fsyncs_than_rows()
    {
        var folder = NewHome();
        var wal = new InferenceWriteAheadLog(folder, 1 << 30);
        const int Writers = 64, PerWriter = 40;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await wal.AppendAsync(Row((w * 1000) + i));
            }
        })));
        var fsyncs = wal.Fsyncs;
        await wal.DisposeAsync();

        fsyncs.ShouldBeLessThan(Writers * PerWriter / 4, "64 concurrent writers should share fsyncs");
        var records = Directory.GetFiles(folder, "wal-*.seg").SelectMany(f => InferenceWriteAheadLog.ReadSegment(f).Records).ToList();
        records.Count.ShouldBe(Writers * PerWriter);
        records.Select(r => r.LogId).Distinct().Count().ShouldBe(Writers * PerWriter);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_segment_is_sealed_at_its_size_and_released_segments_free_the_cap()
    {
        var folder = NewHome();
        var wal = new InferenceWriteAheadLog(folder, 1 << 30, segmentBytes: 4096);
        for (var i = 0; i < 100; i++)
        {
            await wal.AppendAsync(Row(i));
        }

        var before = wal.Bytes;
        wal.SealedSegments.ShouldBeGreaterThan(3);
        var first = (await wal.NextSegmentAsync(TimeSpan.FromMilliseconds(1), TestContext.Current.CancellationToken)).ShouldNotBeNull();
        var size = new FileInfo(first).Length;
        wal.Release(first);
        File.Exists(first).ShouldBeFalse();
        wal.Bytes.ShouldBe(before - size);
        await wal.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }
}
