using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil search --model M --data F --label COL (--grid grid.yaml | --trials N)</c>: trains candidates in parallel,
/// logs each as a child run of one search run, and prints a leaderboard of validation metrics.
/// </summary>
internal static class SearchCommand
{
    /// <summary>The search spaces of <c>--trials</c> without <c>--grid</c>, in the grid file format.</summary>
    internal static readonly IReadOnlyDictionary<string, string> DefaultSpaces = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["iforest"] = """
            estimators: [50, 100, 200]
            maxSamples: [auto, 128, 512]
            maxFeatures: [0.5, 0.75, 1.0]
            bootstrap: [false, true]
            """,
        ["autoencoder"] = """
            hiddenActivation: [tanh, relu]
            learningRate: {min: 0.0003, max: 0.01, log: true}
            trimFraction: [0, 0.25, 0.45]
            batchSize: [32, 64, 128]
            """,
        ["lightgbm"] = """
            iterations: {min: 50, max: 300}
            leaves: {min: 8, max: 64}
            learningRate: {min: 0.02, max: 0.3, log: true}
            minRowsPerLeaf: [10, 20, 50]
            unbalanced: [false, true]
            """,
    };

    public static Command Build()
    {
        // Every registered kind that learns from data can be searched; grids name its TrainParameters.
        var searchable = DetectorCatalog.All.Where(d => d.LearnsFromData).Select(d => d.Name).ToArray();
        var model = new Option<string>("--model", "-m") { Description = $"Detector kind: {string.Join(", ", searchable)}.", Required = true };
        model.AcceptOnlyFromAmong(searchable);
        var data = new Option<string>("--data", "-d") { Description = "Labelled data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string>("--label") { Description = "Label column (1 = fraud/anomaly): scores the validation split; never a feature.", Required = true };
        var grid = new Option<string?>("--grid") { Description = "YAML file mapping parameter names to value lists (every combination) or ranges {min, max, log} (with --trials)." };
        var trials = new Option<int?>("--trials") { Description = "Number of seeded random candidates from --grid, or from the model's default space without it." };
        var metric = new Option<string>("--metric") { Description = "Leaderboard metric on the validation split (higher is better).", DefaultValueFactory = _ => MetricSet.AucPr };
        metric.AcceptOnlyFromAmong([.. MetricSet.StandardNames]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the split, the trials and every candidate's training.", DefaultValueFactory = _ => 0 };
        var parallel = new Option<int>("--parallel") { Description = "Candidates trained at once (default: the number of cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of rows held out for validation (stratified by label, or the latest rows with --time-column).", DefaultValueFactory = _ => 0.2 };
        var timeColumn = new Option<string?>("--time-column") { Description = "Validate on the latest rows by this timestamp column (out of time) instead of a stratified random split." };
        var experiment = new Option<string>("--experiment") { Description = "Experiment of the search run and its candidate runs.", DefaultValueFactory = _ => "search" };
        var register = new Option<string?>("--register") { Description = "Register the best candidates as new versions of this model." };
        var top = new Option<int>("--top") { Description = "How many of the best candidates --register registers.", DefaultValueFactory = _ => 1 };
        var id = new Option<string?>("--id") { Description = "Identifier column to exclude from the features." };
        var features = new Option<string?>("--features") { Description = "Comma-separated feature columns (default: every numeric and categorical column but label and id)." };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated columns never to use as features." };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input." };
        var json = new Option<bool>("--json") { Description = "Print the leaderboard as JSON." };
        var cmd = new Command("search", "Hyper-parameter search: train candidates in parallel, log each as a child run, print a validation leaderboard.")
        {
            model, data, label, grid, trials, metric, seed, parallel, validation, timeColumn, experiment, register, top, id, features, exclude, schema, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var kind = parse.GetRequiredValue(model);
            var gridPath = parse.GetValue(grid);
            var trialCount = parse.GetValue(trials);
            if (gridPath is null && trialCount is null)
            {
                throw new CliUsageException("give --grid grid.yaml (every combination) or --trials N (random candidates)");
            }

            if (trialCount is < 1)
            {
                throw new CliUsageException($"--trials must be a positive whole number, got {trialCount.Value.ToString(CultureInfo.InvariantCulture)}");
            }

            if (gridPath is null && !DefaultSpaces.ContainsKey(kind))
            {
                throw new CliUsageException($"--model {kind} has no default search space: give --grid grid.yaml");
            }

            var space = gridPath is null
                ? SearchSpace.ParseYaml(DefaultSpaces[kind], $"default {kind} space")
                : SearchSpace.ParseYaml(File.ReadAllText(OptionParsing.ExistingFile("--grid", gridPath)), gridPath);
            var seedValue = parse.GetValue(seed);
            IReadOnlyList<IReadOnlyDictionary<string, string>> combos;
            try
            {
                combos = trialCount is { } n ? space.Sample(n, seedValue) : space.Grid();
            }
            catch (InvalidOperationException e)
            {
                throw new CliUsageException($"{gridPath}: {e.Message}");
            }

            var workers = (int)OptionParsing.Positive("--parallel", parse.GetValue(parallel));
            var fraction = OptionParsing.Fraction("--validation-fraction", parse.GetValue(validation), allowOne: false);
            var topCount = (int)OptionParsing.Positive("--top", parse.GetValue(top));
            var labelName = parse.GetRequiredValue(label);
            var metricName = parse.GetRequiredValue(metric);

            // Every candidate's spec is built and validated before anything trains: a bad name or value stops here.
            var inner = Math.Max(1, Environment.ProcessorCount / Math.Min(workers, combos.Count));
            var baseSpec = new TrainSpec
            {
                Model = kind,
                Label = labelName,
                IdColumn = parse.GetValue(id),
                Features = OptionParsing.List(parse.GetValue(features)),
                Exclude = OptionParsing.List(parse.GetValue(exclude))?.ToHashSet(StringComparer.Ordinal),
            };
            baseSpec = TrainParameters.WithSeed(baseSpec, seedValue);
            var specs = new TrainSpec[combos.Count];
            for (var i = 0; i < specs.Length; i++)
            {
                try
                {
                    var spec = TrainParameters.Apply(baseSpec, combos[i]);
                    // Candidates run side by side: each gets its share of the cores. LightGBM's result depends on its
                    // thread count, so it trains single-threaded and the leaderboard is the same on any machine.
                    specs[i] = spec with
                    {
                        Forest = spec.Forest with { MaxDegreeOfParallelism = inner },
                        Autoencoder = spec.Autoencoder with { MaxDegreeOfParallelism = inner },
                        LightGbm = spec.LightGbm with { Threads = 1 },
                    };
                }
                catch (ArgumentException e)
                {
                    throw new CliUsageException($"candidate {(i + 1).ToString(CultureInfo.InvariantCulture)} ({Describe(combos[i])}): {e.Message}");
                }
            }

            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var frame = FrameFile.Read(dataPath, TrainCommand.CsvOptions(parse.GetValue(schema)));
            if (!frame.Contains(labelName))
            {
                throw new CliUsageException($"--label {labelName}: no such column in {dataPath}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
            }

            var time = parse.GetValue(timeColumn);
            var (train, valid, splitText) = Split(frame, labelName, time, fraction, seedValue);
            var validLabels = Labels.From(valid, labelName);
            if (!Labels.HasBothClasses(validLabels))
            {
                throw new CliUsageException($"the validation split ({valid.RowCount.ToString(CultureInfo.InvariantCulture)} rows, {splitText}) holds only one label class; use more data or a larger --validation-fraction");
            }

            var experimentName = parse.GetRequiredValue(experiment);
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var parent = await store.CreateRunAsync(experimentName, $"search-{kind}", codeVersion: CodeVersion.TryGetGitCommit(Environment.CurrentDirectory), cancellationToken: ct)
                .ConfigureAwait(false);
            var search = new Search(store, parent, experimentName, kind, specs, combos, train, valid, validLabels);
            IReadOnlyList<SearchCandidate> ranked;
            try
            {
                await store.LogParamsAsync(parent.RunId, new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["model"] = kind,
                    ["data"] = Path.GetFileName(dataPath),
                    ["label"] = labelName,
                    ["metric"] = metricName,
                    ["seed"] = seedValue.ToString(CultureInfo.InvariantCulture),
                    ["space"] = gridPath is null ? "default" : Path.GetFileName(gridPath),
                    ["mode"] = trialCount is { } t ? $"trials {t.ToString(CultureInfo.InvariantCulture)}" : "grid",
                    ["candidates"] = specs.Length.ToString(CultureInfo.InvariantCulture),
                    ["validation"] = splitText,
                    ["parallel"] = workers.ToString(CultureInfo.InvariantCulture),
                }, ct).ConfigureAwait(false);
                Terminal.Note($"search: {specs.Length.ToString(CultureInfo.InvariantCulture)} {kind} candidates, {workers.ToString(CultureInfo.InvariantCulture)} at a time " +
                    $"({inner.ToString(CultureInfo.InvariantCulture)} threads each); train {train.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows, " +
                    $"validation {valid.RowCount.ToString("N0", CultureInfo.InvariantCulture)} rows ({splitText}); run {parent.RunId}");
                await search.RunAsync(workers, metricName, ct).ConfigureAwait(false);
                ranked = Leaderboard.Rank(search.Results, metricName);
                var best = ranked[0];
                if (best.Error is null)
                {
                    await store.LogMetricsAsync(parent.RunId, [new MetricPoint("best_" + metricName, best.Metrics[metricName], 0, DateTimeOffset.UtcNow)], ct).ConfigureAwait(false);
                    await store.SetTagsAsync(parent.RunId, new Dictionary<string, string>
                    {
                        ["best_run"] = search.RunIds[best.Candidate - 1],
                        ["best_candidate"] = best.Candidate.ToString(CultureInfo.InvariantCulture),
                    }, ct).ConfigureAwait(false);
                }

                await store.EndRunAsync(parent.RunId, best.Error is null ? RunStatus.Finished : RunStatus.Failed, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await RunEnding.EndAfterErrorAsync(store, parent.RunId, e).ConfigureAwait(false);

                throw;
            }

            var registered = new List<ModelVersion>();
            var registerName = parse.GetValue(register);
            if (registerName is not null)
            {
                foreach (var c in ranked.Where(c => c.Error is null).Take(topCount))
                {
                    var stored = search.Bundles[c.Candidate - 1]!;
                    registered.Add(await store.CreateModelVersionAsync(registerName, new NewModelVersion
                    {
                        BundleSha256 = stored.Sha256,
                        SourceRunId = search.RunIds[c.Candidate - 1],
                        FeatureSchema = stored.FeatureSchema,
                        Metrics = c.Metrics.ToDictionary(kv => "val_" + kv.Key, kv => kv.Value, StringComparer.Ordinal),
                        Description = $"vigil search {parent.RunId}: candidate {c.Candidate.ToString(CultureInfo.InvariantCulture)} ({Describe(c.Parameters)})",
                    }, ct).ConfigureAwait(false));
                }
            }

            Print(ranked, search, metricName, parent, parse.GetValue(json), registered);
            return ranked[0].Error is null ? CliApp.Ok : CliApp.InternalError;
        });
        return cmd;
    }

    private static (Frame Train, Frame Valid, string Text) Split(Frame frame, string label, string? timeColumn, double fraction, ulong seed)
    {
        try
        {
            if (timeColumn is null)
            {
                var s = Splits.StratifiedRandom(frame, label, 1 - fraction, seed);
                return (frame.Take(s.Train), frame.Take(s.Test), $"stratified random {fraction.ToString(CultureInfo.InvariantCulture)}");
            }

            if (!frame.Contains(timeColumn) || frame[timeColumn] is not TimestampColumn ts)
            {
                throw new CliUsageException($"--time-column {timeColumn}: {(frame.Contains(timeColumn) ? "not a timestamp column" : "no such column")}");
            }

            var o = Splits.OutOfTimeByFraction(ts.UnixMicros, 1 - fraction, TimeSpan.Zero);
            return (frame.Take(o.Train), frame.Take(o.Test), $"out of time: {timeColumn} >= {o.TestStart.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}");
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException($"cannot split {frame.RowCount.ToString(CultureInfo.InvariantCulture)} rows for validation: {e.Message}");
        }
    }

    private static string Describe(IReadOnlyDictionary<string, string> values) => string.Join(" ", values.Select(kv => $"{kv.Key}={kv.Value}"));

    private static void Print(IReadOnlyList<SearchCandidate> ranked, Search search, string metric, Run parent, bool json, List<ModelVersion> registered)
    {
        if (json)
        {
            var array = new JsonArray();
            for (var i = 0; i < ranked.Count; i++)
            {
                var c = ranked[i];
                array.Add(new JsonObject
                {
                    ["rank"] = i + 1,
                    ["candidate"] = c.Candidate,
                    ["run_id"] = search.RunIds[c.Candidate - 1],
                    ["params"] = TrackingFormat.Map(c.Parameters),
                    ["metrics"] = TrackingFormat.Map(c.Metrics),
                    ["fit_seconds"] = search.Seconds[c.Candidate - 1],
                    ["error"] = c.Error,
                });
            }

            TrackingFormat.WriteJson(new JsonObject
            {
                ["search_run_id"] = parent.RunId,
                ["metric"] = metric,
                ["leaderboard"] = array,
                ["registered"] = new JsonArray([.. registered.Select(v => (JsonNode?)JsonValue.Create(v.Uri.ToString()))]),
            });
            return;
        }

        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        var shown = new List<string> { metric };
        foreach (var m in new[] { MetricSet.AucPr, MetricSet.AucRoc, MetricSet.RecallAtFpr5 })
        {
            if (!shown.Contains(m))
            {
                shown.Add(m);
            }
        }

        var table = new Table().Border(TableBorder.Rounded).Title($"leaderboard by {Markup.Escape(metric)} (validation), search run {Markup.Escape(parent.RunId)}");
        table.AddColumn(new TableColumn("rank").RightAligned());
        table.AddColumn(new TableColumn("#").RightAligned());
        table.AddColumn("parameters");
        foreach (var m in shown)
        {
            table.AddColumn(new TableColumn(Markup.Escape(m)).RightAligned());
        }

        table.AddColumn(new TableColumn("fit s").RightAligned());
        table.AddColumn("run");
        for (var i = 0; i < ranked.Count; i++)
        {
            var c = ranked[i];
            var cells = new List<string>
            {
                (i + 1).ToString(CultureInfo.InvariantCulture),
                c.Candidate.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(Describe(c.Parameters)),
            };
            foreach (var m in shown)
            {
                cells.Add(c.Error is not null ? (m == metric ? "[red]failed[/]" : "") : F(c.Metrics.TryGetValue(m, out var v) ? v : double.NaN));
            }

            cells.Add(search.Seconds[c.Candidate - 1].ToString("F2", CultureInfo.InvariantCulture));
            cells.Add(Markup.Escape(search.RunIds[c.Candidate - 1]));
            table.AddRow([.. cells]);
        }

        Terminal.Out.Write(table);
        foreach (var c in ranked.Where(c => c.Error is not null))
        {
            Terminal.Out.WriteLine($"candidate {c.Candidate.ToString(CultureInfo.InvariantCulture)} failed: {c.Error}");
        }

        foreach (var v in registered)
        {
            Terminal.Out.MarkupLine($"registered [bold]{Markup.Escape(v.ModelName)}[/] version {v.Version.ToString(CultureInfo.InvariantCulture)} ({Markup.Escape(v.Uri.ToString())}) from run {Markup.Escape(v.SourceRunId ?? "")}");
        }
    }

    /// <summary>The stored bundle of a candidate.</summary>
    private sealed record StoredBundle(string Sha256, string FeatureSchema);

    /// <summary>Trains the candidates, at most K at a time, each in its own child run.</summary>
    private sealed class Search(
        ITrackingStore store, Run parent, string experiment, string kind, TrainSpec[] specs,
        IReadOnlyList<IReadOnlyDictionary<string, string>> combos, Frame train, Frame valid, int[] validLabels)
    {
        private readonly SearchCandidate?[] _results = new SearchCandidate?[specs.Length];

        public string[] RunIds { get; } = new string[specs.Length];

        public double[] Seconds { get; } = new double[specs.Length];

        public StoredBundle?[] Bundles { get; } = new StoredBundle?[specs.Length];

        public IEnumerable<SearchCandidate> Results => _results.Select(r => r!);

        public async Task RunAsync(int workers, string metric, CancellationToken ct)
        {
            var width = specs.Length.ToString(CultureInfo.InvariantCulture).Length;
            var done = 0;
            async Task Work(int i, Action<string> report)
            {
                var name = "trial-" + (i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(Math.Max(3, width), '0');
                await TrainOneAsync(i, name, ct).ConfigureAwait(false);
                var r = _results[i]!;
                var n = Interlocked.Increment(ref done);
                report($"[{n.ToString(CultureInfo.InvariantCulture)}/{specs.Length.ToString(CultureInfo.InvariantCulture)}] {name} " +
                    (r.Error is null ? $"{metric}={r.Metrics[metric].ToString("F4", CultureInfo.InvariantCulture)}" : "failed: " + r.Error) +
                    $" ({Seconds[i].ToString("F2", CultureInfo.InvariantCulture)} s)");
            }

            var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct };
            if (Terminal.Interactive)
            {
                await Terminal.Err.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask($"training {specs.Length.ToString(CultureInfo.InvariantCulture)} candidates", maxValue: specs.Length);
                        await Parallel.ForEachAsync(Enumerable.Range(0, specs.Length), options, async (i, _) =>
                            await Work(i, line =>
                            {
                                task.Increment(1);
                                task.Description = line;
                            }).ConfigureAwait(false)).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            else
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, specs.Length), options, async (i, _) =>
                    await Work(i, Terminal.Note).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }

        private async Task TrainOneAsync(int i, string name, CancellationToken ct)
        {
            var spec = specs[i];
            var run = await store.CreateRunAsync(experiment, name, parentRunId: parent.RunId, cancellationToken: ct).ConfigureAwait(false);
            RunIds[i] = run.RunId;
            var sw = Stopwatch.StartNew();
            try
            {
                var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = kind };
                foreach (var (k, v) in TrainParameters.Describe(spec))
                {
                    parameters[k] = v;
                }

                await store.LogParamsAsync(run.RunId, parameters, ct).ConfigureAwait(false);
                var bundle = await Task.Run(() => ModelBundle.Train(train, spec with { TrainingRunId = run.RunId }), ct).ConfigureAwait(false);
                var metrics = MetricSet.Standard(bundle.Score(valid), validLabels);
                sw.Stop();
                Seconds[i] = sw.Elapsed.TotalSeconds;
                bundle = bundle.WithMetrics(metrics.ToDictionary(kv => "val_" + kv.Key, kv => kv.Value, StringComparer.Ordinal));
                var now = DateTimeOffset.UtcNow;
                await store.LogMetricsAsync(run.RunId, [.. metrics.Select(kv => new MetricPoint("val_" + kv.Key, kv.Value, 0, now))], ct).ConfigureAwait(false);
                var temp = Path.Combine(Path.GetTempPath(), "vigil-bundle-" + Guid.NewGuid().ToString("N") + ".zip");
                try
                {
                    bundle.Save(temp);
                    var stored = await store.Artifacts.PutFileAsync(temp, ct).ConfigureAwait(false);
                    await store.RecordArtifactAsync(run.RunId, TrainTracking.ArtifactName, stored, ct).ConfigureAwait(false);
                    Bundles[i] = new StoredBundle(stored.Sha256, TrackingFormat.FeatureSchema(bundle.Manifest));
                }
                finally
                {
                    File.Delete(temp);
                }

                await store.EndRunAsync(run.RunId, RunStatus.Finished, ct).ConfigureAwait(false);
                _results[i] = new SearchCandidate(i + 1, combos[i], metrics);
            }
            catch (Exception e) when (e is not OperationCanceledException && CliErrors.TryDescribe(e, out var message))
            {
                Seconds[i] = sw.Elapsed.TotalSeconds;
                await store.EndRunAsync(run.RunId, RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
                _results[i] = new SearchCandidate(i + 1, combos[i], new Dictionary<string, double>(), message);
            }
            catch (Exception e)
            {
                await RunEnding.EndAfterErrorAsync(store, run.RunId, e).ConfigureAwait(false);
                throw;
            }
        }
    }
}
