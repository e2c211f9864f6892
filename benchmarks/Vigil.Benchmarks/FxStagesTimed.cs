using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Vigil.Detectors;
using Vigil.Fx;
using Vigil.Serving;

namespace Vigil.Benchmarks;

/// <summary>
/// <c>fx-stages BUNDLE BODY.json [--reps R] [--batches N]</c>: each stage of one in-process FX batch timed on its own, over
/// the same body (<c>fx-inproc --body</c> writes one): the reader, the validator alone, the scorer on every deal and on the
/// deals it finds normal (no reason text), and the writer; with two floors for the reader (one pass over the body's bytes,
/// and a <see cref="Utf8JsonReader"/> pass that extracts nothing). Per stage, R repetitions of N batches: the median and the
/// minimum, and the bytes allocated per batch. Minimums compare builds under a shared machine's load better than medians
/// (a preempted batch only gets slower), so A/B runs of two builds read the minimums.
/// </summary>
internal static class FxStagesTimed
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: fx-stages BUNDLE BODY.json [--reps R] [--batches N]");
            return 2;
        }

        var reps = BenchArgs.Value(args, "--reps") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : 5;
        var batches = BenchArgs.Value(args, "--batches") is { } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 400;
        FxDescriptor.Register();
        var scorer = new FxScorer(ModelBundle.Load(args[1]));
        var body = File.ReadAllBytes(args[2]);
        var read = FxRequestReader.Read(new ReadOnlySequence<byte>(body));
        var deals = read.Deals;
        var decisions = new FxDecision[deals.Length];
        FxApi.DecideWith(scorer, read, decisions);
        var normal = deals.Where((_, i) => decisions[i] is { StatusCode: 200, Anomaly: false }).ToArray();
        var normalDecisions = new FxDecision[normal.Length];
        Console.WriteLine($"{deals.Length} deals: {string.Join(", ", decisions.GroupBy(d => d.Check ?? (d.StatusCode == 200 ? "normal" : d.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture))).Select(g => $"{g.Key} {g.Count()}"))}");
        var output = new ArrayBufferWriter<byte>(1 << 20);
        var checksum = 0;
        var stages = new (string Name, Action Run)[]
        {
            ("floor: bytes", () =>
            {
                foreach (var b in body)
                {
                    checksum += b == (byte)'"' ? 1 : 0;
                }
            }),
            ("floor: reader", () =>
            {
                var reader = new Utf8JsonReader(body);
                while (reader.Read())
                {
                    checksum++;
                }
            }),
            ("parse", () => FxRequestReader.Read(new ReadOnlySequence<byte>(body))),
            ("validate", () =>
            {
                foreach (var deal in deals)
                {
                    checksum += FxDealValidator.TryValidateValue(deal, out _, out _) ? 1 : 0;
                }
            }),
            ("decide", () => scorer.Decide(deals, decisions)),
            ("decide normal", () => scorer.Decide(normal, normalDecisions)),
            ("write", () =>
            {
                output.ResetWrittenCount();
                using var writer = new Utf8JsonWriter(output, ScoringExchange.WriterOptions);
                FxApi.Write(writer, deals, decisions, wrap: false);
            }),
        };
        foreach (var (_, run) in stages)
        {
            for (var i = 0; i < 300; i++)
            {
                run(); // past tiering
            }
        }

        var times = new double[batches];
        for (var rep = 0; rep < reps; rep++)
        {
            foreach (var (name, run) in stages)
            {
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < batches; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    run();
                    times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                var kb = (GC.GetAllocatedBytesForCurrentThread() - allocated) / 1024.0 / batches;
                Array.Sort(times);
                Console.WriteLine($"{name,-14} median {times[batches / 2]:F4} ms  min {times[0]:F4} ms  {kb:F1} KB");
            }
        }

        return checksum == int.MinValue ? 1 : 0; // (keeps the floors' work)
    }
}
