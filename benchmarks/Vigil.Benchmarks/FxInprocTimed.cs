using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Fx;
using Vigil.Serving;

namespace Vigil.Benchmarks;

/// <summary>
/// <c>fx-inproc --bundle B --deals CSV [--client C] [--batch N] [--rounds R] [--per-round K] [--body OUT.json]
/// [--python PY --peer fx_python.py --scales all_scales.pkl --year-gap year_gap_data.pkl --model model.pt]</c>:
/// the FX decision flow in one process on both sides, like for like. The batch is one JSON body (the same bytes for
/// Vigil and Python, written to <c>--body</c>); one Vigil batch is the server's own code minus HTTP: the request reader
/// (<see cref="FxRequestReader"/>), the decision flow (<see cref="FxScorer"/>: validation, tenant, rules, features, one
/// batched autoencoder run, checks, reasons) and the answer written by <see cref="FxApi.Write"/> with a
/// <see cref="Utf8JsonWriter"/>. Python is <c>fx_python.py bench-worker</c> (json.loads, pandas, scikit-learn, torch
/// with inference_mode, json.dumps), one thread each side. Rounds alternate: K Vigil batches, then one Python batch, so
/// both sides run under the same machine load; the line printed gives the medians over the rounds, the median of the
/// per-round ratios, the process CPU time per batch on each side (Vigil: <see cref="Environment.CpuUsage"/>, Python:
/// <c>time.process_time</c>; less sensitive to the machine's load than wall time), a stage breakdown of Vigil's batch,
/// and whether both sides gave every deal the same decision.
/// </summary>
internal static class FxInprocTimed
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name) => BenchArgs.Value(args, name);
        int Int(string name, int fallback) => Arg(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
        var client = Arg("--client") ?? "FISAU";
        var batchSize = Int("--batch", 1000);
        var rounds = Int("--rounds", 40);
        var perRound = Int("--per-round", 20);
        FxDescriptor.Register();
        var bundlePath = Arg("--bundle") ?? throw new ArgumentException("fx-inproc needs --bundle B");
        var csv = Arg("--deals") ?? throw new ArgumentException("fx-inproc needs --deals CSV");
        var scorer = new FxScorer(ModelBundle.Load(bundlePath));
        FxRawDeal[] deals = [.. FxDealFrame.ReadRaw(FrameFile.Read(csv, FxDealFrame.CsvOptions)).Where(d => d.Client == client).Take(batchSize)];
        var body = Encoding.UTF8.GetBytes(new JsonArray([.. deals.Select(FxHttpTimed.ToJson)]).ToJsonString());
        var bodyPath = Arg("--body") ?? Path.Combine(Path.GetTempPath(), $"vigil-fx-batch-{Environment.ProcessId}.json");
        await File.WriteAllBytesAsync(bodyPath, body);

        var vigil = new VigilSide(scorer, body);
        using var python = Arg("--python") is { } py ? await PythonSide.StartAsync(py, Arg, bodyPath) : null;
        var agreement = python is null ? null : Agreement(vigil.Decisions(), await python.DecisionsAsync());
        var warmup = await WarmUpAsync(vigil, python, perRound, Arg("--warmup-batches") is { } fixedWarmup ? int.Parse(fixedWarmup, CultureInfo.InvariantCulture) : null);

        var vigilRounds = new double[rounds];
        var pythonRounds = new double[rounds];
        var ratios = new double[rounds];
        var all = new List<double>(rounds * perRound);
        var stages = new List<(double Parse, double Decide, double Autoencoder, double Write)>(rounds * perRound);
        var times = new double[perRound];
        var byPosition = new double[perRound][]; // [k][r]: the k-th batch of each round (k = 0 follows the Python batch)
        for (var k = 0; k < perRound; k++)
        {
            byPosition[k] = new double[rounds];
        }

        var cpu = new double[perRound];
        var vigilCpuRounds = new double[rounds];
        var allocated = 0L;
        var gen0 = GC.CollectionCount(0);
        var pythonCpuRounds = new double[rounds];
        var jitMethods = JitInfo.GetCompiledMethodCount();
        var jitTime = JitInfo.GetCompilationTime();
        for (var r = 0; r < rounds; r++)
        {
            for (var k = 0; k < perRound; k++)
            {
                var c0 = Environment.CpuUsage.TotalTime;
                var a0 = GC.GetAllocatedBytesForCurrentThread();
                var s = vigil.Run();
                allocated += GC.GetAllocatedBytesForCurrentThread() - a0;
                cpu[k] = (Environment.CpuUsage.TotalTime - c0).TotalMilliseconds;
                times[k] = s.Parse + s.Decide + s.Write;
                byPosition[k][r] = times[k];
                all.Add(times[k]);
                stages.Add(s);
            }

            vigilRounds[r] = Median(times);
            vigilCpuRounds[r] = cpu.Average();
            if (python is not null)
            {
                (pythonRounds[r], pythonCpuRounds[r]) = await python.RunAsync();
                ratios[r] = pythonRounds[r] / vigilRounds[r];
            }
        }

        jitMethods = JitInfo.GetCompiledMethodCount() - jitMethods;
        jitTime = JitInfo.GetCompilationTime() - jitTime;

        // Both autoencoder paths side by side on the same batches (alternating), when the model runs natively.
        JsonObject? autoencoders = null;
        if (scorer.Model.Onnx is { IsNative: true })
        {
            var native = new List<double>();
            var runtime = new List<double>();
            for (var i = 0; i < 2 * rounds * 5; i++)
            {
                FxOnnxAutoencoder.ForceOnnxRuntime = i % 2 == 1;
                var s = vigil.Run();
                (i % 2 == 1 ? runtime : native).Add(s.Autoencoder);
            }

            FxOnnxAutoencoder.ForceOnnxRuntime = false;
            autoencoders = new JsonObject
            {
                ["batches_each"] = native.Count,
                ["native_median_ms"] = Round(Median([.. native])),
                ["onnxruntime_median_ms"] = Round(Median([.. runtime])),
            };
        }

        all.Sort();
        var line = new JsonObject
        {
            ["mode"] = "in-process on both sides (no HTTP): the same JSON body parsed, decided and the answer serialized",
            ["batch"] = deals.Length,
            ["request_bytes"] = body.Length,
            ["rounds"] = rounds,
            ["vigil_batches_per_round"] = perRound,
            ["python_batches_per_round"] = python is null ? 0 : 1,
            ["threads"] = "one each: Vigil on one thread (ONNX Runtime, when used, intra-op 1), torch.set_num_threads(1)",
            ["vigil_autoencoder"] = scorer.Model.Onnx is { IsNative: true } ? "native dense forward pass (FxDenseForward)" : "ONNX Runtime",
            ["load_average"] = File.ReadAllText("/proc/loadavg").Split(' ')[0] + " on " + Environment.ProcessorCount + " cores",
            ["vigil_warmup"] = warmup,
            ["vigil_jit_during_rounds"] = new JsonObject { ["methods"] = jitMethods, ["ms"] = Round(jitTime.TotalMilliseconds) },
            ["vigil_median_ms"] = Round(Median(vigilRounds)),
            ["vigil_min_ms"] = Round(all[0]),
            ["vigil_p99_ms"] = Round(all[(int)Math.Min(all.Count - 1, Math.Ceiling(all.Count * 0.99) - 1)]),
            ["vigil_median_ms_by_position_in_round"] = new JsonArray([.. byPosition.Select(p => (JsonNode)Round(Median(p)))]),
            ["vigil_cpu_ms_per_batch"] = Round(vigilCpuRounds.Average()),
            ["vigil_allocated_kb_per_batch"] = Math.Round(allocated / 1024.0 / (rounds * perRound), 1),
            ["vigil_gen0_collections_per_100_batches"] = Math.Round((GC.CollectionCount(0) - gen0) * 100.0 / (rounds * perRound), 1),
            ["vigil_stages_median_ms"] = new JsonObject
            {
                ["parse"] = Round(Median([.. stages.Select(s => s.Parse)])),
                ["decide"] = Round(Median([.. stages.Select(s => s.Decide)])),
                ["of_which_autoencoder"] = Round(Median([.. stages.Select(s => s.Autoencoder)])),
                ["write"] = Round(Median([.. stages.Select(s => s.Write)])),
            },
            ["autoencoder_paths_alternating"] = autoencoders,
        };
        if (python is not null)
        {
            line["python"] = python.Info;
            line["python_median_ms"] = Round(Median(pythonRounds));
            line["python_min_ms"] = Round(pythonRounds.Min());
            line["python_cpu_ms_per_batch"] = Round(pythonCpuRounds.Average());
            line["ratio_of_cpu_time"] = Math.Round(pythonCpuRounds.Average() / vigilCpuRounds.Average(), 1);
            line["ratio_of_medians"] = Math.Round(Median(pythonRounds) / Median(vigilRounds), 1);
            line["ratio_median_of_rounds"] = Math.Round(Median(ratios), 1);
            line["same_decisions"] = agreement;
            await python.QuitAsync();
        }

        Console.WriteLine(line.ToJsonString());
        return 0;
    }

    private static double Round(double ms) => Math.Round(ms, 3);

    /// <summary>
    /// Runs untimed rounds (the timed rounds' K Vigil batches, then the Python batch) until the JIT has settled: tiered
    /// compilation promotes methods (tier 0, instrumented, tier 1 with dynamic PGO) on a background thread after a
    /// call-counting delay, and a fixed 200 Vigil batches (0.15 s, without the Python side's I/O path) did not outlast it:
    /// the timed rounds ran partly unoptimised code while the JIT took CPU (hundreds of methods, 0.4-1.2 s of JIT).
    /// At least 200 Vigil batches and 1 s, then until 10 rounds in a row compile no method (at most 20 s); what it took is
    /// reported. <paramref name="fixedBatches"/> (<c>--warmup-batches N</c>) runs N Vigil batches alone instead (the old
    /// warm-up, to compare).
    /// </summary>
    private static async Task<JsonObject> WarmUpAsync(VigilSide vigil, PythonSide? python, int perRound, int? fixedBatches)
    {
        var start = Stopwatch.GetTimestamp();
        if (fixedBatches is { } n)
        {
            for (var i = 0; i < n; i++)
            {
                vigil.Run();
            }

            return new JsonObject { ["batches"] = n, ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(start).TotalSeconds, 2), ["jit_settled"] = false };
        }

        var rounds = 0;
        var quiet = 0;
        var compiled = JitInfo.GetCompiledMethodCount();
        while (Stopwatch.GetElapsedTime(start).TotalSeconds < 20)
        {
            for (var k = 0; k < perRound; k++)
            {
                vigil.Run();
            }

            if (python is not null)
            {
                await python.RunAsync();
            }

            rounds++;
            var now = JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
            if (rounds * perRound >= 200 && quiet >= 10 && Stopwatch.GetElapsedTime(start).TotalSeconds >= 1)
            {
                break;
            }
        }

        return new JsonObject
        {
            ["rounds"] = rounds,
            ["batches"] = rounds * perRound,
            ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(start).TotalSeconds, 2),
            ["jit_settled"] = quiet >= 10,
        };
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var n = sorted.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Compares Anomaly (and status) per deal, in order.</summary>
    private static JsonObject Agreement(List<(string? Id, int Status, string Anomaly)> vigil, JsonArray python)
    {
        var same = 0;
        var firstDiff = (string?)null;
        for (var i = 0; i < Math.Min(vigil.Count, python.Count); i++)
        {
            var p = python[i]!.AsArray();
            var v = vigil[i];
            if (p[0]?.ToString() == v.Id && p[1]!.GetValue<int>() == v.Status && (p[2]?.ToString() ?? "") == v.Anomaly)
            {
                same++;
            }
            else
            {
                firstDiff ??= $"{v.Id}: vigil {v.Status} {v.Anomaly}, python {p[1]} {p[2]} {p[3]}";
            }
        }

        return new JsonObject { ["deals"] = vigil.Count, ["same"] = same, ["all_same"] = same == vigil.Count && vigil.Count == python.Count, ["first_difference"] = firstDiff };
    }

    /// <summary>One Vigil batch: the server's reader, decision flow and writer, timed per stage.</summary>
    private sealed class VigilSide(FxScorer scorer, byte[] body)
    {
        private readonly ArrayBufferWriter<byte> _out = new(256 * 1024);
        private FxRawDeal[] _deals = [];
        private FxDecision[] _decisions = [];

        public (double Parse, double Decide, double Autoencoder, double Write) Run()
        {
            var t0 = Stopwatch.GetTimestamp();
            var read = FxRequestReader.Read(new ReadOnlySequence<byte>(body));
            var t1 = Stopwatch.GetTimestamp();
            _deals = read.Deals;
            _decisions = new FxDecision[_deals.Length];
            var ae = FxApi.DecideWith(scorer, read, _decisions);
            var t2 = Stopwatch.GetTimestamp();
            _out.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_out, ScoringExchange.WriterOptions))
            {
                FxApi.Write(writer, _deals, _decisions, wrap: false);
            }

            var t3 = Stopwatch.GetTimestamp();
            return (Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds, Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds,
                ae.AutoencoderEnd == 0 ? 0 : Stopwatch.GetElapsedTime(ae.AutoencoderStart, ae.AutoencoderEnd).TotalMilliseconds, Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
        }

        public List<(string? Id, int Status, string Anomaly)> Decisions()
        {
            Run();
            var result = new List<(string?, int, string)>(_deals.Length);
            for (var i = 0; i < _deals.Length; i++)
            {
                result.Add((_deals[i].UniqueId, _decisions[i].StatusCode, _decisions[i].StatusCode == 200 ? _decisions[i].AnomalyText : ""));
            }

            return result;
        }
    }

    /// <summary><c>fx_python.py bench-worker</c> on a line protocol: "run" answers the milliseconds of one batch.</summary>
    private sealed class PythonSide : IDisposable
    {
        private readonly Process _process;

        private PythonSide(Process process, JsonNode info)
        {
            _process = process;
            Info = info;
        }

        public JsonNode Info { get; }

        public static async Task<PythonSide> StartAsync(string python, Func<string, string?> arg, string bodyPath)
        {
            var start = new ProcessStartInfo(python)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
                UseShellExecute = false,
            };
            start.Environment["OMP_NUM_THREADS"] = "1";
            start.Environment["MKL_NUM_THREADS"] = "1";
            start.Environment["OPENBLAS_NUM_THREADS"] = "1";
            start.ArgumentList.Add(arg("--peer") ?? throw new ArgumentException("--python needs --peer fx_python.py"));
            start.ArgumentList.Add("bench-worker");
            foreach (var name in new[] { "--scales", "--year-gap", "--model", "--client" })
            {
                if (arg(name) is { } value)
                {
                    start.ArgumentList.Add(name);
                    start.ArgumentList.Add(value);
                }
            }

            start.ArgumentList.Add("--body");
            start.ArgumentList.Add(bodyPath);
            start.ArgumentList.Add("--threads");
            start.ArgumentList.Add("1");
            var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {python}");
            var ready = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the Python bench worker exited before it was ready");
            return new PythonSide(process, JsonNode.Parse(ready)!);
        }

        public async Task<JsonArray> DecisionsAsync()
        {
            await _process.StandardInput.WriteLineAsync("decisions");
            await _process.StandardInput.FlushAsync();
            return JsonNode.Parse(await _process.StandardOutput.ReadLineAsync() ?? "[]")!.AsArray();
        }

        /// <summary>One batch: its wall milliseconds and the Python process's CPU milliseconds.</summary>
        public async Task<(double Wall, double Cpu)> RunAsync()
        {
            await _process.StandardInput.WriteLineAsync("run");
            await _process.StandardInput.FlushAsync();
            var answer = await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the Python bench worker exited");
            var parts = answer.Split(' ');
            return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        public async Task QuitAsync()
        {
            await _process.StandardInput.WriteLineAsync("quit");
            await _process.StandardInput.FlushAsync();
            await _process.WaitForExitAsync();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }
}
