using System.Diagnostics;
using Vigil.Tracking;
using static Vigil.Serving.Tests.InferenceLogging.LogTestSupport;

namespace Vigil.Serving.Tests.InferenceLogging;

/// <summary>The log writer keeps its promises when the sink fails: permanent failures are isolated, transient ones retried, a stop is bounded.</summary>
public sealed class InferenceLogWriterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_row_the_sink_refuses_permanently_is_dead_lettered_and_the_2000_rows_after_it_are_written()
    {
        var home = NewHome();
        var sink = new FaultySink { Poison = r => r.Model == "poison" };
        var metrics = new ServingMetrics();
        var writer = Writer(sink, home, metrics: metrics);
        await writer.StartAsync(Ct);
        var bad = Row(-1, model: "poison");
        await writer.EnqueueAsync(bad, Ct);
        for (var i = 0; i < 2000; i++)
        {
            await writer.EnqueueAsync(Row(i), Ct);
        }

        var stop = Stopwatch.StartNew();
        await writer.StoppedAsync(Ct);
        stop.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        await writer.DisposeAsync();

        sink.Rows.Count.ShouldBe(2000);
        sink.Rows.ContainsKey(bad.LogId).ShouldBeFalse();
        var dead = InferenceDeadLetterFile.Read(Path.Combine(home, "inference-log-dead-letter.jsonl"));
        dead.Count.ShouldBe(1);
        dead[0].Record.LogId.ShouldBe(bad.LogId);
        dead[0].Record.Items.ShouldNotBeNull().Score.ShouldBe([0.25, 0.75]);
        dead[0].Reason.ShouldContain("0x00");
        metrics.DeadLetteredRows.ShouldBe(1);

        // halving isolates the row in about 2 log2(batch) writes, not one write per row
        sink.Failures.ShouldBeLessThan(30);
        Directory.Delete(home, recursive: true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rows_reach_a_sink_that_stores_encoded_items_with_their_items_encoded_and_others_with_item_objects(bool encoded)
    {
        // Queued rows live through collections while the writer is busy: as one encoded array their items cost a single
        // copy. A bad row among them is still isolated and dead-lettered with its items.
        var home = NewHome();
        var sink = new FaultySink { StoresEncodedItems = encoded, Poison = r => r.Model == "poison" };
        var writer = Writer(sink, home);
        await writer.StartAsync(Ct);
        writer.WantsEncodedItems.ShouldBe(encoded);
        var bad = Row(-1, model: "poison");
        await writer.EnqueueAsync(bad, Ct);
        for (var i = 0; i < 300; i++)
        {
            await writer.EnqueueAsync(Row(i, items: i % 3 != 0), Ct);
        }

        await writer.DisposeAsync();
        sink.Rows.Count.ShouldBe(300);
        foreach (var row in sink.Rows.Values)
        {
            var hasItems = int.Parse(row.RequestId["req-".Length..], System.Globalization.CultureInfo.InvariantCulture) % 3 != 0;
            row.HasItems.ShouldBe(hasItems);
            (row.ItemsEncoded is not null).ShouldBe(encoded && hasItems);
            if (hasItems)
            {
                var items = row.Items.ShouldNotBeNull();
                items.Score.ShouldBe([0.25, 0.75]);
                items.Rule.ShouldBe([null, "velocity"]);
                items.Features[1].Texts.ShouldBe(["grocery", null]);
            }
        }

        var dead = InferenceDeadLetterFile.Read(Path.Combine(home, "inference-log-dead-letter.jsonl"));
        dead.Single().Record.Items.ShouldNotBeNull().Label.ShouldBe([(sbyte)0, (sbyte)1]);
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task Text_with_a_NUL_or_a_lone_surrogate_is_made_storable_and_flagged_as_altered()
    {
        var home = NewHome();
        var sink = new FaultySink { Poison = r => !InferenceRecordSanitizer.IsClean(r.Model) || !InferenceRecordSanitizer.IsClean(r.Error) || !InferenceRecordSanitizer.IsClean(r.RequestPayload) };
        var metrics = new ServingMetrics();
        var writer = Writer(sink, home, metrics: metrics);
        await writer.StartAsync(Ct);
        var nul = Row(1, model: "a\0b", error: "unknown model 'a\0b'");
        var surrogate = Row(2, model: "x\uD800y");
        var payload = new InferenceRecord { LogId = "p", RequestId = "p", Route = "v1/predict", RequestPayloadUtf8 = [(byte)'{', 0, 0xFF, (byte)'}'] };
        await writer.EnqueueAsync(nul, Ct);
        await writer.EnqueueAsync(surrogate, Ct);
        await writer.EnqueueAsync(payload, Ct);
        await writer.EnqueueAsync(Row(3), Ct);
        await writer.DisposeAsync();

        sink.Rows.Count.ShouldBe(4);
        sink.Rows[nul.LogId].Model.ShouldBe("a\uFFFDb");
        sink.Rows[nul.LogId].Error.ShouldBe("unknown model 'a\uFFFDb'");
        sink.Rows[nul.LogId].Altered.ShouldBeTrue();
        sink.Rows[surrogate.LogId].Model.ShouldBe("x\uFFFDy");
        sink.Rows["p"].RequestPayload.ShouldBe("{\uFFFD\uFFFD}");
        sink.Rows["p"].Altered.ShouldBeTrue();
        sink.Rows.Values.Count(r => r.Altered).ShouldBe(3);
        metrics.AlteredRows.ShouldBe(3);
        metrics.DeadLetteredRows.ShouldBe(0);
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task A_transient_outage_loses_no_row_and_shows_as_retrying_while_it_lasts()
    {
        var home = NewHome();
        var sink = new FaultySink { Down = true };
        var writer = Writer(sink, home);
        await writer.StartAsync(Ct);
        var rows = Enumerable.Range(0, 500).Select(i => Row(i)).ToList();
        foreach (var r in rows)
        {
            await writer.EnqueueAsync(r, Ct);
        }

        await EventuallyAsync(() => sink.Failures >= 3, "three failed attempts");
        writer.Status.State.ShouldBe("retrying");
        writer.Status.LastError.ShouldNotBeNull().ShouldContain("connection refused");
        sink.Down = false;
        await EventuallyAsync(() => sink.Rows.Count == 500, "all rows written after the outage");
        await EventuallyAsync(() => writer.Status.State == "ok", "the state back to ok");
        await writer.DisposeAsync();
        sink.Rows.Keys.Order().ShouldBe(rows.Select(r => r.LogId).Order());
        File.Exists(Path.Combine(home, "inference-log-dead-letter.jsonl")).ShouldBeFalse();
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task A_stop_gives_up_at_its_limit_and_the_next_start_writes_what_it_saved()
    {
        var home = NewHome();
        var down = new FaultySink { Down = true };
        var writer = Writer(down, home, o => o with { InferenceLogShutdownSeconds = 1 });
        await writer.StartAsync(Ct);
        var rows = Enumerable.Range(0, 300).Select(i => Row(i)).ToList();
        foreach (var r in rows)
        {
            await writer.EnqueueAsync(r, Ct);
        }

        var stop = Stopwatch.StartNew();
        await writer.StoppedAsync(Ct);
        stop.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        await writer.DisposeAsync();
        down.Rows.ShouldBeEmpty();
        Directory.GetFiles(Path.Combine(home, "inference-wal"), "wal-*.seg").ShouldNotBeEmpty();

        var up = new FaultySink();
        var next = Writer(up, home);
        next.WriteAheadLog.ShouldNotBeNull().ReplaySegments.ShouldBeGreaterThan(0);
        await next.StartAsync(Ct);
        await EventuallyAsync(() => up.Rows.Count == 300, "the saved rows written by the next start");
        await next.DisposeAsync();
        up.Rows.Keys.Order().ShouldBe(rows.Select(r => r.LogId).Order());
        up.Rows.Values.First().Items.ShouldNotBeNull().Rule.ShouldBe([null, "velocity"]);
        Directory.GetFiles(Path.Combine(home, "inference-wal"), "wal-*.seg").ShouldBeEmpty();
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task In_ack_mode_a_row_is_on_disk_when_EnqueueAsync_completes_and_a_store_outage_costs_only_disk()
    {
        var home = NewHome();
        var sink = new FaultySink { Down = true };
        var writer = Writer(sink, home, o => o with { InferenceLogDurability = InferenceLogDurability.Ack, InferenceLogShutdownSeconds = 1 });
        writer.AcknowledgesBeforeResponse.ShouldBeTrue();
        await writer.StartAsync(Ct);
        var rows = Enumerable.Range(0, 200).Select(i => Row(i)).ToList();
        await Task.WhenAll(rows.Select(r => writer.EnqueueAsync(r, Ct).AsTask()));

        // every acknowledged row can be read from the segments right now (as a restart after kill -9 would)
        var onDisk = Directory.GetFiles(Path.Combine(home, "inference-wal"), "wal-*.seg")
            .SelectMany(f => InferenceWriteAheadLog.ReadSegment(f).Records).Select(r => r.LogId).ToHashSet();
        rows.Where(r => !onDisk.Contains(r.LogId)).ShouldBeEmpty();
        writer.Status.WalBytes.ShouldBeGreaterThan(0);
        await writer.DisposeAsync();

        var up = new FaultySink();
        var next = Writer(up, home, o => o with { InferenceLogDurability = InferenceLogDurability.Ack });
        await next.StartAsync(Ct);
        await EventuallyAsync(() => up.Rows.Count == 200, "the acknowledged rows shipped after the restart");
        await next.DisposeAsync();
        Directory.Delete(home, recursive: true);
    }

    [Fact]
    public async Task In_ack_mode_a_full_write_ahead_folder_refuses_rows_with_a_reason_naming_the_cap()
    {
        var home = NewHome();
        var sink = new FaultySink { Down = true };
        var metrics = new ServingMetrics();
        var writer = Writer(sink, home, o => o with { InferenceLogDurability = InferenceLogDurability.Ack, InferenceLogWalMaxBytes = 64 * 1024, InferenceLogShutdownSeconds = 1 }, metrics);
        await writer.StartAsync(Ct);
        InferenceLogUnavailableException? refused = null;
        var accepted = 0;
        for (var i = 0; i < 10_000 && refused is null; i++)
        {
            try
            {
                await writer.EnqueueAsync(Row(i), Ct);
                accepted++;
            }
            catch (InferenceLogUnavailableException e)
            {
                refused = e;
            }
        }

        refused.ShouldNotBeNull().Message.ShouldContain("VIGIL_INFERENCE_LOG_WAL_MAX_BYTES");
        accepted.ShouldBeGreaterThan(10);
        writer.Status.WalBytes.ShouldBeLessThanOrEqualTo(64 * 1024);

        // the store comes back: the folder drains and rows are accepted again
        sink.Down = false;
        await EventuallyAsync(() => sink.Rows.Count == accepted, "the accepted rows shipped");
        // A shipped segment is deleted (and its bytes given back) just after the sink's write returns, so the sink can
        // hold every row a moment before the folder has room again: wait for the folder to drain, as a client would.
        await EventuallyAsync(() => writer.Status.WalBytes < 32 * 1024, "the write-ahead folder drained");
        await writer.EnqueueAsync(Row(99_999), Ct);
        await writer.DisposeAsync();
        sink.Rows.Count.ShouldBe(accepted + 1);
        Directory.Delete(home, recursive: true);
    }
}
