using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Lifecycle;
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
            estimators: {min: 50, max: 300}
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
        var model = new Option<string>("--kind", "-k") { Description = $"Detector kind: {string.Join(", ", searchable)}.", Required = true };
        model.AcceptOnlyFromAmong(searchable);
        var data = new Option<string>("--data", "-d") { Description = "Labelled data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string>("--label") { Description = "Label column (1 = fraud/anomaly): scores the validation split; never a feature.", Required = true };
        var grid = new Option<string?>("--grid") { Description = "YAML file mapping parameter names to value lists (every combination) or ranges {min, max, log} (with --trials)." };
        var trials = new Option<int?>("--trials") { Description = "Number of seeded random candidates from --grid, or from the model's default space without it." };
        var metric = new Option<string>("--metric") { Description = "Leaderboard metric on the validation split (higher is better).", DefaultValueFactory = _ => MetricSet.AucPr };
        metric.AcceptOnlyFromAmong([.. MetricSet.StandardNames]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the split, the trials and every candidate's training.", DefaultValueFactory = _ => 0 };
        var parallel = new Option<int>("--threads") { Description = "Candidates trained at once (default: the number of cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of rows held out for validation (stratified by label, or the latest rows with --time-column).", DefaultValueFactory = _ => 0.2 };
        var timeColumn = new Option<string?>("--time-column") { Description = "Validate on the latest rows by this timestamp column (out of time) instead of a stratified random split." };
        var experiment = new Option<string>("--experiment") { Description = "Experiment of the search run and its candidate runs.", DefaultValueFactory = _ => "search" };
        var register = new Option<string?>("--register") { Description = "Register the best candidates as new versions of this model." };
        var top = new Option<int>("--top") { Description = "How many of the best candidates --register registers.", DefaultValueFactory = _ => 1 };
        var id = new Option<string?>("--id") { Description = "Identifier column to exclude from the features." };
        var features = new Option<string?>("--features") { Description = "Comma-separated feature columns (default: every numeric and categorical column but label and id)." };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated columns never to use as features." };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input." };
        var onBadValue = CliData.BadValueOption();
        var json = new Option<bool>("--json") { Description = "Print the leaderboard as JSON." };
        var cmd = new Command("search", "Hyper-parameter search: train candidates in parallel, log each as a child run, print a validation leaderboard.")
        {
            model, data, label, grid, trials, metric, seed, parallel, validation, timeColumn, experiment, register, top, id, features, exclude, schema, onBadValue, json,
        };
        Deprecated.Option(cmd, "--model", "--kind");
        Deprecated.Option(cmd, "-m", "--kind");
        Deprecated.Option(cmd, "--parallel", "--threads");
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
                throw new CliUsageException($"--kind {kind} has no default search space: give --grid grid.yaml");
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

            var workers = (int)OptionParsing.Positive("--threads", parse.GetValue(parallel));
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
                    throw new CliUsageException($"candidate {(i + 1).ToString(CultureInfo.InvariantCulture)} ({ModelLifecycle.Describe(combos[i])}): {e.Message}");
                }
            }

            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var experimentName = parse.GetRequiredValue(experiment);
            var options = new SearchOptions
            {
                Data = DataSource.FromFile(dataPath, TrainCommand.Schema(parse.GetValue(schema)), parse.GetValue(onBadValue)),
                Label = labelName,
                Candidates = [.. specs.Select((spec, i) => new SearchCandidateSpec(spec, combos[i]))],
                Metric = metricName,
                Seed = seedValue,
                Parallel = workers,
                ValidationFraction = fraction,
                TimeColumn = parse.GetValue(timeColumn),
                Experiment = experimentName,
                RegisterAs = parse.GetValue(register),
                Top = topCount,
                Parameters = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["space"] = gridPath is null ? "default" : Path.GetFileName(gridPath),
                    ["mode"] = trialCount is { } t ? $"trials {t.ToString(CultureInfo.InvariantCulture)}" : "grid",
                },
            };
            await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, withStore: true, ct).ConfigureAwait(false);
            var started = (LifecycleProgress p) => Terminal.Note(
                $"search: {specs.Length.ToString(CultureInfo.InvariantCulture)} {kind} candidates, {workers.ToString(CultureInfo.InvariantCulture)} at a time " +
                $"({inner.ToString(CultureInfo.InvariantCulture)} threads each); {p.Message}; run {p.RunId}");
            SearchResult result;
            if (Terminal.Interactive)
            {
                result = await Terminal.Err.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        ProgressTask? task = null;
                        return await lifecycle.Operations.SearchAsync(options, new CliProgress(p =>
                        {
                            if (p.Stage == LifecycleStages.Search)
                            {
                                started(p);
                                task = ctx.AddTask($"training {specs.Length.ToString(CultureInfo.InvariantCulture)} candidates", maxValue: specs.Length);
                            }
                            else if (p.Stage == LifecycleStages.Candidate && task is not null)
                            {
                                task.Increment(1);
                                task.Description = Progress(p);
                            }
                        }), ct).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            else
            {
                result = await lifecycle.Operations.SearchAsync(options, new CliProgress(p =>
                {
                    if (p.Stage == LifecycleStages.Search)
                    {
                        started(p);
                    }
                    else if (p.Stage == LifecycleStages.Candidate)
                    {
                        Terminal.Note(Progress(p));
                    }
                }), ct).ConfigureAwait(false);
            }

            Print(result, parse.GetValue(json));
            CliData.NoteSkipped(options.Data);

            // Failed candidates are listed with their reason and the others ranked; the exit code says some failed.
            return result.Leaderboard.Any(c => c.Error is not null) ? CliApp.PartialFailure : CliApp.Ok;
        });
        return cmd;
    }

    /// <summary><c>[n/N] trial-001 auc_pr=0.1234 (0.12 s)</c>.</summary>
    private static string Progress(LifecycleProgress p) =>
        $"[{p.Done.ToString(CultureInfo.InvariantCulture)}/{p.Total.GetValueOrDefault().ToString(CultureInfo.InvariantCulture)}] {p.Message}";

    private static void Print(SearchResult result, bool json)
    {
        var ranked = result.Leaderboard;
        var metric = result.Metric;
        var registered = result.Registered;
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
                    ["run_id"] = c.RunId,
                    ["params"] = TrackingFormat.Map(c.Parameters),
                    ["metrics"] = TrackingFormat.Map(c.Metrics),
                    ["fit_seconds"] = c.FitSeconds,
                    ["error"] = c.Error,
                });
            }

            TrackingFormat.WriteJson(new JsonObject
            {
                ["search_run_id"] = result.RunId,
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

        var table = new Table().Border(TableBorder.Rounded).Title($"leaderboard by {Markup.Escape(metric)} (validation), search run {Markup.Escape(result.RunId)}");
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
                Markup.Escape(ModelLifecycle.Describe(c.Parameters)),
            };
            foreach (var m in shown)
            {
                cells.Add(c.Error is not null ? (m == metric ? "[red]failed[/]" : "") : F(c.Metrics.TryGetValue(m, out var v) ? v : double.NaN));
            }

            cells.Add(c.FitSeconds.ToString("F2", CultureInfo.InvariantCulture));
            cells.Add(Markup.Escape(c.RunId));
            table.AddRow([.. cells]);
        }

        CliOutput.Write(table);
        foreach (var c in ranked.Where(c => c.Error is not null))
        {
            Terminal.Out.WriteLine($"candidate {c.Candidate.ToString(CultureInfo.InvariantCulture)} failed: {c.Error}");
        }

        foreach (var v in registered)
        {
            Terminal.Out.MarkupLine($"registered [bold]{Markup.Escape(v.ModelName)}[/] version {v.Version.ToString(CultureInfo.InvariantCulture)} ({Markup.Escape(v.Uri.ToString())}) from run {Markup.Escape(v.SourceRunId ?? "")}");
        }
    }
}
