namespace Vigil.Data.Tests;

public sealed class GeneratedTransactions
{
    public GeneratedTransactions()
    {
        Options = new TransactionGeneratorOptions { Rows = 200_000, Seed = 11, FraudRate = 0.01, Days = 90 };
        Frame = TransactionGenerator.GenerateFrame(Options);
    }

    public TransactionGeneratorOptions Options { get; }

    public Frame Frame { get; }
}

public sealed class TransactionGeneratorTests(GeneratedTransactions data) : IClassFixture<GeneratedTransactions>, IDisposable
{
    private const long Day = 86_400_000_000L;
    private const long Hour = 3_600_000_000L;
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-gen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Frame F => data.Frame;

    private ReadOnlySpan<double> Num(string name) => ((Float64Column)F[name]).Values;

    private CategoricalColumn Cat(string name) => (CategoricalColumn)F[name];

    private ReadOnlySpan<long> Times => ((TimestampColumn)F[TransactionColumns.Timestamp]).UnixMicros;

    private int PatternCode(string pattern) => Cat(TransactionColumns.FraudPattern).Dictionary.ToList().IndexOf(pattern);

    private static void ShouldBeIdentical(Frame a, Frame b)
    {
        a.RowCount.ShouldBe(b.RowCount);
        a.Schema.ToString().ShouldBe(b.Schema.ToString());
        for (var c = 0; c < a.Columns.Count; c++)
        {
            switch (a.Columns[c])
            {
                case Float64Column x:
                    var y = ((Float64Column)b.Columns[c]).Values;
                    for (var i = 0; i < x.Length; i++)
                    {
                        BitConverter.DoubleToInt64Bits(x[i]).ShouldBe(BitConverter.DoubleToInt64Bits(y[i]));
                    }

                    break;
                case CategoricalColumn x:
                    var cy = (CategoricalColumn)b.Columns[c];
                    x.Codes.SequenceEqual(cy.Codes).ShouldBeTrue(x.Name);
                    x.Dictionary.ShouldBe(cy.Dictionary);
                    break;
                case StringColumn x:
                    x.Values.SequenceEqual(((StringColumn)b.Columns[c]).Values).ShouldBeTrue(x.Name);
                    break;
                case TimestampColumn x:
                    x.UnixMicros.SequenceEqual(((TimestampColumn)b.Columns[c]).UnixMicros).ShouldBeTrue(x.Name);
                    break;
                default:
                    throw new InvalidOperationException(a.Columns[c].Name);
            }
        }
    }

    [Fact]
    public void Frames_have_the_documented_schema_and_exact_row_count()
    {
        F.Schema.ToString().ShouldBe(TransactionGenerator.Schema.ToString());
        F.RowCount.ShouldBe(200_000);
        ((StringColumn)F[TransactionColumns.TransactionId])[0].ShouldBe("t000000001");
        ((StringColumn)F[TransactionColumns.TransactionId])[199_999].ShouldBe("t000200000");
        Cat(TransactionColumns.MerchantCategory).Dictionary.ShouldBe(TransactionGenerator.MerchantCategories);
        TransactionColumns.LabelColumns.ShouldBe(["label", "fraud_pattern"]);
    }

    [Fact]
    public void Same_options_give_identical_chunks_and_another_seed_differs()
    {
        var options = new TransactionGeneratorOptions { Rows = 30_000, Seed = 5, Days = 20 };

        var first = Frame.Concat([.. TransactionGenerator.Generate(options, chunkRows: 7_000)]);
        var second = Frame.Concat([.. TransactionGenerator.Generate(options, chunkRows: 7_000)]);
        var otherSeed = TransactionGenerator.GenerateFrame(options with { Seed = 6 });

        ShouldBeIdentical(first, second);
        ShouldBeIdentical(TransactionGenerator.GenerateFrame(options), first);
        ((Float64Column)otherSeed[TransactionColumns.Amount]).Values.SequenceEqual(((Float64Column)first[TransactionColumns.Amount]).Values).ShouldBeFalse();
    }

    [Fact]
    public void Parquet_output_is_byte_identical_for_the_same_options_and_reads_back_as_generated()
    {
        var options = new TransactionGeneratorOptions { Rows = 25_000, Seed = 3, Days = 10 };
        var a = Path.Combine(_dir, "a.parquet");
        var b = Path.Combine(_dir, "b.parquet");
        var reported = new List<long>();

        TransactionGenerator.WriteTo(options, a, new SyncProgress(reported)).ShouldBe(25_000);
        TransactionGenerator.WriteTo(options, b);

        reported.ShouldBe([25_000]);
        File.ReadAllBytes(a).SequenceEqual(File.ReadAllBytes(b)).ShouldBeTrue();
        var back = ParquetFile.Read(a);
        var expected = TransactionGenerator.GenerateFrame(options);
        back.Schema.ToString().ShouldBe(expected.Schema.ToString());
        for (var c = 0; c < expected.Columns.Count; c++)
        {
            for (var r = 0; r < expected.RowCount; r += 97)
            {
                back.Columns[c].FormatValue(r).ShouldBe(expected.Columns[c].FormatValue(r));
            }
        }
    }

    [Fact]
    public void Recycled_buffer_sets_write_the_same_rows_as_fresh_chunks()
    {
        // 10 chunks through 3 circulating buffer sets: ids are rewritten in place from the 4th chunk on.
        var options = new TransactionGeneratorOptions { Rows = 20_000, Seed = 5, Days = 10 };
        var path = Path.Combine(_dir, "recycled.parquet");
        var reported = new List<long>();

        TransactionGenerator.WriteTo(options, path, new SyncProgress(reported), chunkRows: 2_000).ShouldBe(20_000);

        reported.Count.ShouldBe(10);
        var back = ParquetFile.Read(path);
        var expected = TransactionGenerator.GenerateFrame(options);
        back.RowCount.ShouldBe(expected.RowCount);
        for (var c = 0; c < expected.Columns.Count; c++)
        {
            for (var r = 0; r < expected.RowCount; r++)
            {
                back.Columns[c].FormatValue(r).ShouldBe(expected.Columns[c].FormatValue(r), $"{expected.Columns[c].Name} row {r}");
            }
        }

        ((StringColumn)back[TransactionColumns.TransactionId]).Values.ToArray().Distinct().Count().ShouldBe(20_000);
    }

    [Fact]
    public void Csv_gz_output_reads_back_as_the_generated_values()
    {
        var options = new TransactionGeneratorOptions { Rows = 3_000, Seed = 5 };
        var path = Path.Combine(_dir, "x.csv.gz");
        TransactionGenerator.WriteTo(options, path).ShouldBe(3_000);

        var expected = TransactionGenerator.GenerateFrame(options);
        var back = CsvFile.Read(path);
        back.RowCount.ShouldBe(expected.RowCount);
        back.Columns.Select(c => c.Name).ShouldBe(expected.Columns.Select(c => c.Name));
        foreach (var name in new[] { TransactionColumns.TransactionId, TransactionColumns.Amount, TransactionColumns.Timestamp, TransactionColumns.Label })
        {
            for (var r = 0; r < expected.RowCount; r += 37)
            {
                back[name].FormatValue(r).ShouldBe(expected[name].FormatValue(r));
            }
        }
    }

    [Fact]
    public void Chunks_are_bounded_and_timestamps_strictly_increase_across_them()
    {
        var chunks = TransactionGenerator.Generate(new TransactionGeneratorOptions { Rows = 5_500, Days = 3 }, chunkRows: 1_000).ToList();

        chunks.Select(c => c.RowCount).ShouldBe([1_000, 1_000, 1_000, 1_000, 1_000, 500]);
        var last = long.MinValue;
        foreach (var chunk in chunks)
        {
            foreach (var t in ((TimestampColumn)chunk[TransactionColumns.Timestamp]).UnixMicros)
            {
                t.ShouldBeGreaterThan(last);
                last = t;
            }
        }
    }

    [Fact]
    public void Timestamps_stay_within_the_period_and_hour_of_day_is_the_timestamp_hour()
    {
        var start = TimestampColumn.ToMicros(data.Options.Start);
        var times = Times;
        var hours = Num(TransactionColumns.HourOfDay);
        times[0].ShouldBeGreaterThanOrEqualTo(start);
        times[^1].ShouldBeLessThan(start + (90 * Day));
        for (var i = 0; i < times.Length; i++)
        {
            hours[i].ShouldBe(TimestampColumn.FromMicros(times[i]).UtcDateTime.Hour);
        }
    }

    [Fact]
    public void Fraud_rows_number_exactly_the_requested_rate_and_label_matches_pattern()
    {
        var labels = Num(TransactionColumns.Label);
        var patterns = Cat(TransactionColumns.FraudPattern);
        var none = PatternCode("none");
        var fraud = 0;
        var perPattern = new int[4];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i].ShouldBe(patterns.Codes[i] == none ? 0.0 : 1.0);
            fraud += (int)labels[i];
            perPattern[patterns.Codes[i]]++;
        }

        fraud.ShouldBe(2_000);
        foreach (var count in perPattern)
        {
            count.ShouldBeGreaterThan(200, "every pattern is well represented");
        }

        var zero = TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 5_000, FraudRate = 0 });
        ((Float64Column)zero[TransactionColumns.Label]).Values.ToArray().Sum().ShouldBe(0.0);
    }

    [Fact]
    public void Card_testing_rows_are_small_amounts_in_bursts_on_one_card_at_online_merchants()
    {
        var code = PatternCode("card_testing");
        var patterns = Cat(TransactionColumns.FraudPattern).Codes;
        var customers = Cat(TransactionColumns.CustomerId).Codes.ToArray();
        var categories = Cat(TransactionColumns.MerchantCategory);
        var amounts = Num(TransactionColumns.Amount);
        var times = Times.ToArray();
        var rows = new List<int>();
        for (var i = 0; i < patterns.Length; i++)
        {
            if (patterns[i] == code)
            {
                rows.Add(i);
            }
        }

        var inBurst = 0;
        foreach (var i in rows)
        {
            amounts[i].ShouldBeInRange(0.5, 4.99);
            categories[i].ShouldBeOneOf("online_retail", "gaming");
            var neighbours = rows.Count(j => j != i && customers[j] == customers[i] && Math.Abs(times[j] - times[i]) <= 30 * 60_000_000L);
            if (neighbours >= 2)
            {
                inBurst++;
            }
        }

        inBurst.ShouldBeGreaterThanOrEqualTo(rows.Count - 2, "all but a budget-truncated last episode sit in a burst of at least three");
    }

    [Fact]
    public void Account_takeover_rows_happen_at_night_with_amounts_far_above_normal()
    {
        var code = PatternCode("account_takeover");
        var none = PatternCode("none");
        var patterns = Cat(TransactionColumns.FraudPattern).Codes;
        var categories = Cat(TransactionColumns.MerchantCategory);
        var amounts = Num(TransactionColumns.Amount);
        var hours = Num(TransactionColumns.HourOfDay);
        double takeoverSum = 0, legitSum = 0;
        int takeovers = 0, legit = 0, legitAtNight = 0, legitRows = 0;
        for (var i = 0; i < patterns.Length; i++)
        {
            var highValue = categories[i] is "electronics" or "jewelry" or "travel";
            if (patterns[i] == code)
            {
                hours[i].ShouldBeInRange(1, 4);
                highValue.ShouldBeTrue();
                takeoverSum += amounts[i];
                takeovers++;
            }
            else if (patterns[i] == none)
            {
                legitRows++;
                legitAtNight += hours[i] is >= 1 and <= 4 ? 1 : 0;
                if (highValue)
                {
                    legitSum += amounts[i];
                    legit++;
                }
            }
        }

        ((double)legitAtNight / legitRows).ShouldBeLessThan(0.03, "01:00-04:59 is unusual for legitimate activity");
        (takeoverSum / takeovers).ShouldBeGreaterThan(2.5 * (legitSum / legit));
    }

    [Fact]
    public void Colluding_merchant_rows_concentrate_on_three_merchants()
    {
        var code = PatternCode("colluding_merchant");
        var patterns = Cat(TransactionColumns.FraudPattern).Codes;
        var merchants = Cat(TransactionColumns.MerchantId).Codes;
        var customers = Cat(TransactionColumns.CustomerId).Codes;
        var amounts = Num(TransactionColumns.Amount);
        var colluders = new HashSet<int>();
        var victims = new HashSet<int>();
        var total = 0;
        for (var i = 0; i < patterns.Length; i++)
        {
            if (patterns[i] == code)
            {
                colluders.Add(merchants[i]);
                victims.Add(customers[i]);
                (amounts[i] % 1.0).ShouldBe(0.0, "round-dollar amounts");
                total++;
            }
        }

        colluders.Count.ShouldBe(3);
        victims.Count.ShouldBeGreaterThan(total / 4, "many different card holders");
        var distinctMerchants = new HashSet<int>();
        foreach (var m in merchants)
        {
            distinctMerchants.Add(m);
        }

        distinctMerchants.Count.ShouldBeGreaterThan(150);
    }

    [Fact]
    public void Later_period_differs_measurably_from_the_first()
    {
        var start = TimestampColumn.ToMicros(data.Options.Start);
        var times = Times;
        var amounts = Num(TransactionColumns.Amount);
        var hours = Num(TransactionColumns.HourOfDay);
        var merchants = Cat(TransactionColumns.MerchantId).Codes;
        var patterns = Cat(TransactionColumns.FraudPattern).Codes;
        var none = PatternCode("none");
        double earlySum = 0, lateSum = 0;
        int earlyN = 0, lateN = 0;
        var earlyHours = new double[24];
        var lateHours = new double[24];
        var earlyMerchants = new HashSet<int>();
        var lateMerchants = new HashSet<int>();
        for (var i = 0; i < times.Length; i++)
        {
            if (patterns[i] != none)
            {
                continue;
            }

            var day = (times[i] - start) / Day;
            if (day < 9)
            {
                earlySum += amounts[i];
                earlyN++;
                earlyHours[(int)hours[i]]++;
                earlyMerchants.Add(merchants[i]);
            }
            else if (day >= 81)
            {
                lateSum += amounts[i];
                lateN++;
                lateHours[(int)hours[i]]++;
                lateMerchants.Add(merchants[i]);
            }
        }

        (lateSum / lateN).ShouldBeGreaterThan(1.10 * (earlySum / earlyN), "amounts inflate and shift to dearer categories");
        var totalVariation = 0.0;
        for (var h = 0; h < 24; h++)
        {
            totalVariation += Math.Abs((earlyHours[h] / earlyN) - (lateHours[h] / lateN)) / 2;
        }

        totalVariation.ShouldBeGreaterThan(0.07, "the hour-of-day profile shifts");
        lateMerchants.Except(earlyMerchants).Count().ShouldBeGreaterThanOrEqualTo(10, "new merchants appear later");
    }

    [Fact]
    public void New_merchants_never_trade_before_they_open_and_open_only_in_the_later_part()
    {
        var simulation = new TransactionSimulation(data.Options);
        var start = TimestampColumn.ToMicros(data.Options.Start);
        var merchants = Cat(TransactionColumns.MerchantId);
        merchants.Dictionary.ShouldBe(simulation.MerchantIds);
        var times = Times;
        var openedLater = 0;
        for (var m = 0; m < simulation.MerchantIds.Count; m++)
        {
            var open = simulation.MerchantOpenMicros(m);
            if (open != long.MinValue)
            {
                open.ShouldBeGreaterThanOrEqualTo(start + (27 * Day));
                openedLater++;
            }
        }

        openedLater.ShouldBeGreaterThanOrEqualTo(20);
        for (var i = 0; i < times.Length; i++)
        {
            times[i].ShouldBeGreaterThanOrEqualTo(simulation.MerchantOpenMicros(merchants.Codes[i]));
        }
    }

    [Fact]
    public void Velocity_features_use_only_earlier_transactions_of_the_customer()
    {
        var frame = TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 20_000, Customers = 150, Days = 60, FraudRate = 0.03, Seed = 9 });
        var times = ((TimestampColumn)frame[TransactionColumns.Timestamp]).UnixMicros;
        var customers = ((CategoricalColumn)frame[TransactionColumns.CustomerId]).Codes;
        var merchants = ((CategoricalColumn)frame[TransactionColumns.MerchantId]).Codes;
        var amounts = ((Float64Column)frame[TransactionColumns.Amount]).Values;
        double[] Col(string name) => ((Float64Column)frame[name]).Values.ToArray();
        var same24 = Col(TransactionColumns.TxCountSameMerchant1d);
        var c1 = Col(TransactionColumns.TxCount1d);
        Col(TransactionColumns.NumPrevTx24h).ShouldBe(c1);
        var c7 = Col(TransactionColumns.TxCount7d);
        var c30 = Col(TransactionColumns.TxCount30d);
        var s1 = Col(TransactionColumns.AmountSum1d);
        var s7 = Col(TransactionColumns.AmountSum7d);
        var s30 = Col(TransactionColumns.AmountSum30d);
        var history = new Dictionary<int, List<int>>();
        var nonZero30 = 0;
        for (var j = 0; j < times.Length; j++)
        {
            if (!history.TryGetValue(customers[j], out var earlier))
            {
                history[customers[j]] = earlier = [];
            }

            long n1 = 0, n7 = 0, n30 = 0, cents1 = 0, cents7 = 0, cents30 = 0, sameMerchant = 0;
            foreach (var i in earlier)
            {
                var age = times[j] - times[i];
                var cents = (long)Math.Round(amounts[i] * 100);
                if (age < 30 * Day)
                {
                    n30++;
                    cents30 += cents;
                }

                if (age < 7 * Day)
                {
                    n7++;
                    cents7 += cents;
                }

                if (age < Day)
                {
                    n1++;
                    cents1 += cents;
                    sameMerchant += merchants[i] == merchants[j] ? 1 : 0;
                }
            }

            c1[j].ShouldBe(n1);
            c7[j].ShouldBe(n7);
            c30[j].ShouldBe(n30);
            s1[j].ShouldBe(cents1 / 100.0);
            s7[j].ShouldBe(cents7 / 100.0);
            s30[j].ShouldBe(cents30 / 100.0);
            same24[j].ShouldBe(sameMerchant);
            nonZero30 += n30 > 0 ? 1 : 0;
            earlier.Add(j);
        }

        nonZero30.ShouldBeGreaterThan(19_000, "the windows are exercised, not trivially empty");
    }

    [Fact]
    public void Tenure_and_monthly_spend_are_customer_attributes()
    {
        var tenure = Num(TransactionColumns.CustomerTenureDays);
        var spend = Num(TransactionColumns.AvgMonthlySpend);
        var customers = Cat(TransactionColumns.CustomerId).Codes;
        var spendOf = new Dictionary<int, double>();
        for (var i = 0; i < tenure.Length; i++)
        {
            tenure[i].ShouldBeGreaterThanOrEqualTo(0);
            tenure[i].ShouldBeLessThan(3_650 + 91);
            spend[i].ShouldBeGreaterThan(0);
            if (spendOf.TryGetValue(customers[i], out var known))
            {
                spend[i].ShouldBe(known);
            }
            else
            {
                spendOf[customers[i]] = spend[i];
            }
        }
    }

    [Fact]
    public void Busy_hours_are_cut_into_finer_slices_without_changing_the_guarantees()
    {
        var options = new TransactionGeneratorOptions { Rows = 40_000, Days = 2, FraudRate = 0.05, Seed = 4 };
        var simulation = new TransactionSimulation(options, maxRowsPerSlice: 300);
        simulation.SlicesPerHour.ShouldBe(16);
        var chunks = new List<Frame>();
        while (simulation.TryNextChunk(new TransactionChunkBuffers(10_000), out var chunk))
        {
            chunks.Add(chunk);
        }

        var frame = Frame.Concat(chunks);
        frame.RowCount.ShouldBe(40_000);
        ((Float64Column)frame[TransactionColumns.Label]).Values.ToArray().Sum().ShouldBe(2_000);
        var times = ((TimestampColumn)frame[TransactionColumns.Timestamp]).UnixMicros;
        var hours = ((Float64Column)frame[TransactionColumns.HourOfDay]).Values;
        var patterns = (CategoricalColumn)frame[TransactionColumns.FraudPattern];
        for (var i = 1; i < times.Length; i++)
        {
            times[i].ShouldBeGreaterThan(times[i - 1]);
            if (patterns[i] == "account_takeover")
            {
                hours[i].ShouldBeInRange(1, 4);
            }
        }

        times[^1].ShouldBeLessThan(TimestampColumn.ToMicros(options.Start) + (2 * Day));
    }

    [Theory]
    [InlineData("Rows")]
    [InlineData("FraudRate")]
    [InlineData("Days")]
    [InlineData("Start")]
    [InlineData("Customers")]
    [InlineData("Merchants")]
    public void Invalid_option_is_refused_naming_it(string option)
    {
        var valid = new TransactionGeneratorOptions { Rows = 100 };
        var invalid = option switch
        {
            "Rows" => valid with { Rows = 0 },
            "FraudRate" => valid with { FraudRate = 0.7 },
            "Days" => valid with { Days = 0 },
            "Start" => valid with { Start = new DateTimeOffset(1960, 1, 1, 0, 0, 0, TimeSpan.Zero) },
            "Customers" => valid with { Customers = 3 },
            _ => valid with { Merchants = 5 },
        };

        valid.Validate();
        var ex = Should.Throw<ArgumentException>(invalid.Validate);
        ex.ParamName.ShouldBe(option);
        ex.Message.ShouldContain(option);
        Should.Throw<ArgumentException>(() => TransactionGenerator.Generate(invalid)).ParamName.ShouldBe(option);
    }

    private sealed class SyncProgress(List<long> values) : IProgress<long>
    {
        public void Report(long value) => values.Add(value);
    }
}
