using BenchmarkDotNet.Attributes;
using Vigil.Detectors;
using Vigil.Fx;

namespace Vigil.Benchmarks;

/// <summary>
/// The FX decision flow on a batch of deals as a server will call it: validate, tenant check, rules, features, one
/// batched autoencoder pass (39 features, layers 39-48-16-48-39) and the threshold checks, decisions into a span. The
/// FISAU bundle is trained on 20,000 generated deals (seed 42, autoencoder seed 0, 25 epochs); the batch is the first
/// 1,000 FISAU deals of the labelled evaluation set (about 12% injected anomalies, so every stage runs).
/// </summary>
[MemoryDiagnoser]
public class FxScoringBenchmarks
{
    private FxScorer _scorer = null!;
    private FxRawDeal[] _raw = null!;
    private FxDeal[] _valid = null!;
    private FxDecision[] _decisions = null!;

    [Params(1_000)]
    public int Deals { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var generated = FxDealGenerator.Generate(new FxGeneratorOptions { Rows = 20_000, EvalRows = 30_000, Seed = 42 });
        var bundle = FxTrainer.Train(generated.Training, new FxTrainOptions
        {
            Clients = ["FISAU"],
            Autoencoder = FxTrainOptions.DefaultAutoencoder with { Epochs = 25 },
        });
        Bundle = bundle;
        _scorer = new FxScorer(bundle);
        var batch = generated.Evaluation.Where(d => d.Deal.Client == "FISAU").Take(Deals).Select(d => d.Deal).ToArray();
        _valid = batch;
        _raw = FxDealFrame.ReadRaw(FxDealFrame.ToFrame(batch));
        _decisions = new FxDecision[Deals];
    }

    /// <summary>
    /// <c>fx-timed</c>: 300 timed batches of each method after 100 warm-up batches, printing the minimum and the median
    /// (the minimum is the cost without other processes' interference on a loaded machine).
    /// </summary>
    public static void RunTimed()
    {
        var b = new FxScoringBenchmarks { Deals = 1_000 };
        b.Setup();
        foreach (var (name, run) in new (string, Action)[] { ("raw (validation included)", b.DecideRawBatch), ("validated", b.DecideValidatedBatch) })
        {
            for (var i = 0; i < 100; i++)
            {
                run();
            }

            var ms = new double[300];
            for (var i = 0; i < ms.Length; i++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                run();
                ms[i] = sw.Elapsed.TotalMilliseconds;
            }

            Array.Sort(ms);
            Console.WriteLine($"fx batch of 1,000 deals, {name}: min {ms[0]:F2} ms, median {ms[ms.Length / 2]:F2} ms, p90 {ms[(int)(ms.Length * 0.9)]:F2} ms");
        }
    }

    /// <summary>The trained bundle (after <see cref="Setup"/>).</summary>
    internal ModelBundle Bundle { get; private set; } = null!;

    /// <summary>The batch as raw deals (after <see cref="Setup"/>).</summary>
    internal FxRawDeal[] Raw => _raw;

    /// <summary>Raw deals: validation included.</summary>
    [Benchmark]
    public void DecideRawBatch() => _scorer.Decide(_raw, _decisions);

    /// <summary>Already validated deals.</summary>
    [Benchmark]
    public void DecideValidatedBatch() => _scorer.Decide(_valid, _decisions);
}
