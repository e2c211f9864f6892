namespace Vigil.Tracking.Tests;

/// <summary>The SQL stores' encoding of a request's items (<see cref="InferenceItemsCodec"/>).</summary>
public sealed class InferenceItemsCodecTests
{
    private static byte[] Encode(InferenceItems items) => new InferenceItemsCodec.Encoder().Encode(items).ToArray();

    [Fact]
    public void Ten_scored_items_with_three_numeric_inputs_take_under_330_bytes()
    {
        // 1 version + 1 count + 1 feature count + 3 × (kind, length, name) + 2 statuses + 80 scores + 10 labels + 1 rules + 240 values
        var n = 10;
        var items = new InferenceItems
        {
            Count = n,
            Status = Enumerable.Repeat(200, n).ToArray(),
            Score = Enumerable.Range(0, n).Select(i => i / 10.0).ToArray(),
            Label = new sbyte[n],
            Rule = new string?[n],
            Features = new[] { "a", "b", "c" }.Select(name => new InferenceFeatureColumn(name, new double[n], null)).ToArray(),
        };
        Encode(items).Length.ShouldBe(1 + 1 + 1 + (3 * 3) + 1 + 2 + 80 + 10 + 1 + 240);
    }

    [Fact]
    public void Arrays_longer_than_the_count_are_cut_to_it()
    {
        var items = new InferenceItems
        {
            Count = 1,
            Status = [200, 500],
            Score = [0.5, 0.7],
            Label = [1, 0],
            Rule = [null, "r"],
            Features = [new InferenceFeatureColumn("x", null, ["a", "b"])],
        };
        var back = InferenceItemsCodec.Decode(Encode(items));
        back.Count.ShouldBe(1);
        back.Status.ShouldBe([200]);
        back.Score.ShouldBe([0.5]);
        back.Rule.ShouldBe([null]);
        back.Features.ShouldHaveSingleItem().Texts.ShouldBe(["a"]);
    }

    [Fact]
    public void One_encoder_switching_feature_sets_encodes_each_request_with_its_own_names()
    {
        // the encoder keeps the previous request's feature header; a new set (names, kinds, none) must replace it
        var encoder = new InferenceItemsCodec.Encoder();
        InferenceItems With(params InferenceFeatureColumn[] features) => new()
        {
            Count = 1, Status = [200], Score = [0.5], Label = [0], Rule = [null], Features = features,
        };
        InferenceItems[] sequence =
        [
            With(new InferenceFeatureColumn("amount", [1], null), new InferenceFeatureColumn("country", null, ["DE"])),
            With(new InferenceFeatureColumn("amount", [2], null), new InferenceFeatureColumn("country", null, ["FR"])),
            With(new InferenceFeatureColumn("amount", [3], null)),
            With(new InferenceFeatureColumn("amount", null, ["x"])),
            With(),
            With(new InferenceFeatureColumn("amount", [4], null), new InferenceFeatureColumn("country", null, ["IT"])),
        ];
        foreach (var items in sequence)
        {
            var back = InferenceItemsCodec.Decode(encoder.Encode(items).Span);
            back.Features.Select(f => (f.Name, f.IsText)).ShouldBe(items.Features.Select(f => (f.Name, f.IsText)));
            back.Features.Select(f => f.Numbers?[0]).ShouldBe(items.Features.Select(f => f.Numbers?[0]));
            back.Features.Select(f => f.Texts?[0]).ShouldBe(items.Features.Select(f => f.Texts?[0]));
        }
    }

    [Fact]
    public void A_run_reads_back_each_request_with_its_identity_and_rejects_truncation()
    {
        var encoder = new InferenceItemsCodec.RunEncoder();
        encoder.Begin();
        var a = InferenceLogContractTests.WithItems(InferenceLogContractTests.Record(1, requestId: "rq-ä"), InferenceLogContractTests.Items3(1));
        var b = InferenceLogContractTests.WithItems(InferenceLogContractTests.Record(2, model: "fraud"), InferenceLogContractTests.Items3(2));
        var bv = new InferenceRecord { LogId = b.LogId, RequestId = b.RequestId, StartUs = b.StartUs, EndUs = b.EndUs, Route = b.Route, Model = "fraud", Version = null, Status = 200, Items = b.Items };
        encoder.Add(a);
        encoder.Add(bv);
        var bytes = encoder.Finish().ToArray();
        var reader = new InferenceItemsCodec.RowReader(bytes, "ignored", "ignored", 0, 9);
        reader.Count.ShouldBe(2);
        reader.Next(out var first).ShouldBeTrue();
        (first.LogId, first.RequestId, first.StartUs, first.Version).ShouldBe((a.LogId, "rq-ä", a.StartUs, (int?)3));
        InferenceItemsCodec.Decode(first.Items).Features[0].Numbers![0].ShouldBe(1);
        reader.Next(out var second).ShouldBeTrue();
        (second.LogId, second.Version).ShouldBe((b.LogId, (int?)null));
        InferenceItemsCodec.Decode(second.Items).Features[0].Numbers![0].ShouldBe(2);
        reader.Next(out _).ShouldBeFalse();
        Should.Throw<InvalidDataException>(() =>
        {
            var cut = new InferenceItemsCodec.RowReader(bytes.AsSpan(0, bytes.Length - 1), "", "", 0, null);
            while (cut.Next(out _))
            {
            }
        }).Message.ShouldBe("inference log items: the encoding is truncated");
    }

    [Fact]
    public void Runs_stay_off_the_large_object_heap()
    {
        // 2,000 requests of 10 items with 10 features each in one second: cut by size, never 85,000 bytes or more
        var batch = Enumerable.Range(0, 2_000).Select(i => InferenceLogContractTests.WithItems(InferenceLogContractTests.Record(i, startUs: InferenceLogContractTests.T0 + i), new InferenceItems
        {
            Count = 10,
            Status = Enumerable.Repeat(200, 10).ToArray(),
            Score = new double[10],
            Label = new sbyte[10],
            Rule = new string?[10],
            Features = Enumerable.Range(0, 10).Select(f => new InferenceFeatureColumn("feature_" + f, new double[10], null)).ToArray(),
        })).ToArray();
        var runs = InferenceItemRuns.Build(batch);
        runs.ShouldAllBe(r => r.Items.Length < 85_000);
        runs.Count.ShouldBeGreaterThan(1);
        runs.Sum(r => new InferenceItemsCodec.RowReader(r.Items, "", "", 0, null).Count).ShouldBe(2_000);
    }

    [Fact]
    public void Truncated_or_foreign_bytes_are_rejected()
    {
        var bytes = Encode(InferenceLogContractTests.Items3());
        InferenceItemsCodec.Decode(bytes).Count.ShouldBe(3);
        Should.Throw<InvalidDataException>(() => InferenceItemsCodec.Decode(bytes.AsSpan(0, bytes.Length - 1)))
            .Message.ShouldBe("inference log items: the encoding is truncated");
        Should.Throw<InvalidDataException>(() => InferenceItemsCodec.Decode([.. bytes, 0]))
            .Message.ShouldBe("inference log items: trailing bytes after the last column");
        bytes[0] = 2;
        Should.Throw<InvalidDataException>(() => InferenceItemsCodec.Decode(bytes))
            .Message.ShouldBe("inference log items: unknown encoding version 2");
    }

    [Fact]
    public void A_feature_with_both_numbers_and_texts_is_refused()
    {
        var items = new InferenceItems
        {
            Count = 1, Status = [200], Score = [1], Label = [1], Rule = [null], Features = [new InferenceFeatureColumn("x", [1], ["a"])],
        };
        Should.Throw<ArgumentException>(() => Encode(items)).Message.ShouldStartWith("inference log items: feature 'x' with both or neither of numbers and texts");
    }

    [Fact]
    public void A_record_with_encoded_items_holds_them_in_one_array_that_decodes_to_the_same_items_and_survives_the_record_codec()
    {
        var items = InferenceLogContractTests.Items3();
        var record = InferenceLogContractTests.WithItems(InferenceLogContractTests.Record(0), items);
        var compact = record.WithEncodedItems();
        compact.ItemsEncoded.ShouldNotBeNull().ToArray().ShouldBe(Encode(items));
        compact.HasItems.ShouldBeTrue();
        compact.ItemCount.ShouldBe(3);
        compact.LogId.ShouldBe(record.LogId);
        compact.ScoreUs.ShouldBe(record.ScoreUs);
        Encode(compact.Items.ShouldNotBeNull()).ShouldBe(Encode(items)); // decoded on first use, the same items
        compact.WithEncodedItems().ShouldBeSameAs(compact);

        // the write-ahead log's record encoding keeps the items encoded, byte for byte
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        InferenceRecordCodec.Encode(compact, buffer);
        var back = InferenceRecordCodec.Decode(buffer.WrittenSpan);
        back.ItemsEncoded.ShouldNotBeNull().ToArray().ShouldBe(Encode(items));
        var again = new System.Buffers.ArrayBufferWriter<byte>();
        InferenceRecordCodec.Encode(record, again);
        again.WrittenSpan.ToArray().ShouldBe(buffer.WrittenSpan.ToArray());

        // no items, or items that cannot be encoded: the record itself (the writer reports those as before)
        var none = InferenceLogContractTests.Record(1);
        none.WithEncodedItems().ShouldBeSameAs(none);
        none.HasItems.ShouldBeFalse();
        none.ItemCount.ShouldBe(0);
        var broken = InferenceLogContractTests.WithItems(none, new InferenceItems { Count = 2, Status = [200], Score = [0.1], Label = [0], Rule = [null], Features = [] });
        broken.WithEncodedItems().ShouldBeSameAs(broken);
    }
}
