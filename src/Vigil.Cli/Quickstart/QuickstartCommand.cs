using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil quickstart [--out D]</c>: generate → out-of-time split → train three detectors → compare out of time → gated promotion → score, end to end.</summary>
internal static class QuickstartCommand
{
    /// <summary>The generated columns the quickstart model learns from (identifiers and the fraud pattern are left out).</summary>
    internal static readonly string[] Features =
    [
        "amount", "hour_of_day", "avg_monthly_spend", "customer_tenure_days", "num_prev_tx_24h",
        "tx_count_7d", "tx_count_30d", "tx_count_same_merchant_1d", "amount_sum_1d", "amount_sum_7d", "amount_sum_30d", "merchant_category",
    ];

    public static Command Build()
    {
        var dir = new Option<string>("--out", "-o") { Description = "Folder for the generated files.", DefaultValueFactory = _ => "vigil-quickstart" };
        var rows = new Option<long>("--rows") { Description = "Transactions to generate.", DefaultValueFactory = _ => 200_000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed for data and model.", DefaultValueFactory = _ => 42 };
        var json = CliOutput.JsonOption("Print the result as JSON (steps and tables go to stderr): out, store, rows, seed, candidates (kind, version, train_rows, fit_seconds, metrics), best, promotion, champion, files, flow, seconds; with --fx: out, models (model, version, scored, kinds, false_positive_rate), serve (status, decisions), seconds.");
        var fx = new Option<bool>("--fx") { Description = "Run the FX deal story instead: generate deals, train, register and evaluate fx-FISAU and fx-FISNZ, serve them and score the example deal." };
        var cmd = new Command("quickstart", "Generate transactions, split out of time, train an isolation forest, an autoencoder and LightGBM, compare them out of time, promote the best through a gate and score the test period.")
        {
            dir, rows, seed, fx, json,
        };
        Deprecated.Option(cmd, "--dir", "--out");
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var rowCount = OptionParsing.Positive("--rows", parse.GetValue(rows));
            await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, withStore: true, ct).ConfigureAwait(false);
            if (parse.GetValue(fx))
            {
                return await FxQuickstart.RunAsync(parse.GetRequiredValue(dir), parse.GetValue(seed), parse.GetValue(storeArgs.Store), lifecycle.Operations, parse.GetValue(json), ct).ConfigureAwait(false);
            }

            return await RunAsync(parse.GetRequiredValue(dir), rowCount, parse.GetValue(seed), lifecycle.Operations, parse.GetValue(json), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>The registry name the quickstart models are registered under.</summary>
    internal const string ModelName = "quickstart-fraud";

    /// <summary>The gate the best quickstart model must pass against the current champion.</summary>
    internal const string Gate = "auc_pr>=champion,recall_at_fpr_0.05>=champion-0.02";

    /// <summary>The prefix of the out-of-time metrics stored with each quickstart model.</summary>
    private const string OotPrefix = "oot_";

    /// <summary>Training rows of the autoencoder and LightGBM (a seeded stratified sample of the training period).</summary>
    private const int SampleRows = 20_000;

    private static async Task<int> RunAsync(string dir, long rows, ulong seed, ModelLifecycle lifecycle, bool json, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        var dataPath = Path.Combine(dir, "transactions.parquet");
        var trainPath = Path.Combine(dir, "train.parquet");
        var testPath = Path.Combine(dir, "test.parquet");
        var modelPath = Path.Combine(dir, "model");
        var scoresPath = Path.Combine(dir, "scores.csv");
        const int days = 90;
        const int trainDays = 60;
        var gap = TimeSpan.FromDays(7);

        // Reuse or fresh, said up front: a second quickstart on the same store adds versions that compete with the champion.
        var existing = (await lifecycle.Store!.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == ModelName);
        Step(existing is null
            ? $"fresh start: no model {ModelName} in {lifecycle.Store.Location} yet"
            : $"reusing {lifecycle.Store.Location}: {ModelName} has versions 1-{existing.LatestVersion.ToString(CultureInfo.InvariantCulture)}" +
              (existing.Aliases.TryGetValue(ModelLifecycle.ChampionAlias, out var was) ? $", champion version {was.ToString(CultureInfo.InvariantCulture)}" : ", no champion") +
              "; this run adds three versions and the best must beat that champion");
        Step($"1/7 generating {rows:N0} card transactions over {days} days (seed {seed})");
        var options = new TransactionGeneratorOptions { Rows = rows, Seed = seed, Days = days, FraudRate = 0.01 };
        var frame = TransactionGenerator.GenerateFrame(options);
        FrameFile.Write(frame, dataPath);

        Step($"2/7 out-of-time split: train on days 1-{trainDays}, skip a {gap.TotalDays:0}-day label-delay gap, test on the rest");
        var trainEnd = options.Start.AddDays(trainDays);
        var split = Splits.OutOfTime(((TimestampColumn)frame["timestamp"]).UnixMicros, trainEnd, gap);
        var train = frame.Take(split.Train);
        var test = frame.Take(split.Test);
        FrameFile.Write(train, trainPath);
        FrameFile.Write(test, testPath);

        // Three detectors on the same training period. The autoencoder and LightGBM learn from a seeded sample of
        // it so the quickstart stays a few seconds; the isolation forest sees every row (it samples per tree anyway).
        var sample = train.RowCount <= SampleRows ? train : train.Take(Splits.StratifiedRandom(train, "label", (double)SampleRows / train.RowCount, seed).Train);
        var candidates = new (string Kind, Frame Rows, TrainSpec Spec)[]
        {
            ("iforest", train, new TrainSpec { Model = "iforest", Label = "label", Features = Features, Forest = new IsolationForestOptions { Seed = seed, Contamination = 0.01 } }),
            ("autoencoder", sample, new TrainSpec
            {
                Model = "autoencoder", Label = "label", Features = Features,
                Autoencoder = new AutoencoderOptions { Seed = seed, Epochs = 10, BatchSize = 128, Patience = 3, Contamination = 0.01 },
            }),
            ("lightgbm", sample, new TrainSpec
            {
                Model = "lightgbm", Label = "label", Features = Features,
                LightGbm = new LightGbmOptions { Seed = (int)(seed % int.MaxValue), Iterations = 100, Unbalanced = true, Threads = 1 },
            }),
        };
        var labels = Labels.From(test, "label");
        var results = new List<(string Kind, ModelBundle Bundle, ModelVersion Version, IReadOnlyDictionary<string, double> Metrics, double Seconds, int Rows)>();
        foreach (var (kind, rowsOf, spec) in candidates)
        {
            Step($"3/7 training {kind} on {rowsOf.RowCount:N0} rows x {Features.Length} features");
            var trained = await lifecycle.TrainAsync(new TrainOptions
            {
                Data = DataSource.FromFrame(rowsOf, Path.GetFileName(trainPath), trainPath),
                Spec = spec,
                Experiment = "quickstart",
                RegisterAs = ModelName,
                MetricsData = DataSource.FromFrame(test, Path.GetFileName(testPath), testPath),
                MetricPrefix = OotPrefix,
                Parameters = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["rows"] = rows.ToString(CultureInfo.InvariantCulture),
                    ["train_rows"] = rowsOf.RowCount.ToString(CultureInfo.InvariantCulture),
                },
            }, null, cancellationToken).ConfigureAwait(false);
            var metrics = trained.Metrics!.ToDictionary(kv => kv.Key[OotPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
            results.Add((kind, trained.Bundle, trained.Run!.Version!, metrics, trained.FitTime.TotalSeconds, rowsOf.RowCount));
        }

        Step($"4/7 comparing the three on the {test.RowCount:N0} out-of-time rows");
        static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
        var best = results.OrderByDescending(r => r.Metrics[MetricSet.AucPr]).ThenBy(r => r.Version.Version).First();
        // One column per model and one row per metric: the metric names stay whole at 80 columns.
        var compare = new Table().Border(TableBorder.Rounded).Title($"quickstart: out-of-time test ({test.RowCount:N0} rows, {labels.Count(l => l == 1):N0} fraud)");
        compare.AddColumn(new TableColumn("").NoWrap());
        foreach (var r in results)
        {
            compare.AddColumn(new TableColumn(r.Kind == best.Kind ? $"[bold]{r.Kind}[/] (best)" : r.Kind).RightAligned());
        }

        compare.AddRow(["version", .. results.Select(r => r.Version.Version.ToString(CultureInfo.InvariantCulture))]);
        compare.AddRow(["train rows", .. results.Select(r => r.Rows.ToString("N0", CultureInfo.InvariantCulture))]);
        compare.AddRow(["fit s", .. results.Select(r => r.Seconds.ToString("F2", CultureInfo.InvariantCulture))]);
        foreach (var m in MetricSet.StandardNames)
        {
            compare.AddRow([m, .. results.Select(r => F(r.Metrics[m]))]);
        }

        if (!json)
        {
            CliOutput.Write(compare);
        }

        Step($"5/7 promoting {best.Kind} (version {best.Version.Version.ToString(CultureInfo.InvariantCulture)}) through the gate '{Gate}'");
        // On a fresh store the unsupervised baseline becomes the first champion, so the gate has something to beat.
        var baseline = results[0];
        if (!(await lifecycle.Store!.GetRegisteredModelAsync(ModelName, cancellationToken).ConfigureAwait(false)).Aliases.ContainsKey(ModelLifecycle.ChampionAlias) &&
            best.Kind != baseline.Kind)
        {
            await lifecycle.MoveAliasAsync(ModelName, ModelLifecycle.ChampionAlias, baseline.Version.Version,
                "quickstart: first champion (isolation forest baseline)", cancellationToken: cancellationToken).ConfigureAwait(false);
            Step($"   {baseline.Kind} (version {baseline.Version.Version.ToString(CultureInfo.InvariantCulture)}) is the first champion: the baseline to beat");
        }

        var promotion = await lifecycle.PromoteAsync(new PromoteOptions
        {
            ModelName = ModelName,
            Candidate = best.Version.Version,
            Gate = PromotionGate.Parse(Gate),
            Data = DataSource.FromFrame(test, Path.GetFileName(testPath), testPath),
            Label = "label",
            Experiment = "quickstart",
        }, null, cancellationToken).ConfigureAwait(false);

        var championUri = ModelUri.ForAlias(ModelName, "champion").ToString();
        Say(json, promotion.Moved
            ? $"promoted {best.Kind} ({ModelName} version {best.Version.Version.ToString(CultureInfo.InvariantCulture)}) to {championUri}: {promotion.Gate.Reason}"
            : $"{championUri} stays version {promotion.Champion!.Version.ToString(CultureInfo.InvariantCulture)}: {promotion.Gate.Reason}");

        // What is really champion now (this run's best, or an earlier version that this run did not beat).
        var championVersion = (await lifecycle.Store!.GetRegisteredModelAsync(ModelName, cancellationToken).ConfigureAwait(false)).Aliases[ModelLifecycle.ChampionAlias];
        var championKind = results.FirstOrDefault(r => r.Version.Version == championVersion).Kind ?? "an earlier quickstart's model";
        best.Bundle.Save(modelPath, overwrite: true); // replaces an earlier quickstart's bundle, never anything else
        Step($"6/7 scoring the test period with {best.Kind}");
        var scores = best.Bundle.Score(test);
        FrameFile.Write(new Frame([test["transaction_id"], new Float64Column("score", scores), test["label"]]), scoresPath);
        var flow = await RunRetrainFlowAsync(lifecycle.Store!, testPath, seed, json, cancellationToken).ConfigureAwait(false);
        total.Stop();
        if (json)
        {
            // The flow may have moved the champion: report what is champion now.
            var championNow = (await lifecycle.Store!.GetRegisteredModelAsync(ModelName, cancellationToken).ConfigureAwait(false)).Aliases[ModelLifecycle.ChampionAlias];
            var trainedJson = new System.Text.Json.Nodes.JsonArray();
            foreach (var r in results)
            {
                trainedJson.Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["kind"] = r.Kind,
                    ["version"] = r.Version.Version,
                    ["train_rows"] = r.Rows,
                    ["fit_seconds"] = Math.Round(r.Seconds, 3),
                    ["metrics"] = TrackingFormat.Map(r.Metrics),
                });
            }

            TrackingFormat.WriteJson(new System.Text.Json.Nodes.JsonObject
            {
                ["out"] = Path.GetFullPath(dir),
                ["store"] = lifecycle.Store!.Location,
                ["rows"] = rows,
                ["seed"] = seed,
                ["test_rows"] = test.RowCount,
                ["candidates"] = trainedJson,
                ["best"] = new System.Text.Json.Nodes.JsonObject { ["kind"] = best.Kind, ["version"] = best.Version.Version },
                ["promotion"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["candidate"] = best.Version.Version,
                    ["moved"] = promotion.Moved,
                    ["reason"] = promotion.Gate.Reason,
                    ["champion_before"] = promotion.Champion?.Version,
                },
                ["champion"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["version"] = championNow,
                    ["kind"] = championNow == championVersion ? championKind : null,
                    ["uri"] = championUri,
                },
                ["files"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["transactions"] = Path.GetFullPath(dataPath),
                    ["train"] = Path.GetFullPath(trainPath),
                    ["test"] = Path.GetFullPath(testPath),
                    ["model"] = Path.GetFullPath(modelPath),
                    ["scores"] = Path.GetFullPath(scoresPath),
                },
                ["flow"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["run_id"] = flow.RunId,
                    ["status"] = flow.Status,
                    ["succeeded"] = flow.Succeeded,
                    ["steps"] = flow.Steps.Count,
                    ["error"] = flow.Error,
                },
                ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 3),
            });
            if (!flow.Succeeded)
            {
                Terminal.Error($"the retrain flow run {flow.RunId} failed: {flow.Error} (vigil flow show {flow.RunId})");
                return FlowCommand.FlowFailed;
            }

            return CliApp.Ok;
        }

        var files = new Table().Border(TableBorder.Rounded).Title($"files in {Markup.Escape(Path.GetFullPath(dir))}");
        files.AddColumn("file");
        files.AddColumn("what");
        files.AddRow(Markup.Escape(dataPath), "all generated transactions (with label and fraud_pattern)");
        files.AddRow(Markup.Escape(trainPath), $"training period (days 1-{trainDays})");
        files.AddRow(Markup.Escape(testPath), "out-of-time test period");
        files.AddRow(Markup.Escape(modelPath), $"{best.Kind} model bundle, this run's best (version {best.Version.Version.ToString(CultureInfo.InvariantCulture)}; bundle.json + weights, SHA-256 verified on load)");
        files.AddRow(Markup.Escape(scoresPath), $"transaction_id, score, label for the test period ({best.Kind})");
        files.AddRow(Markup.Escape(championUri),
            $"the registered champion: version {championVersion.ToString(CultureInfo.InvariantCulture)} ({Markup.Escape(championKind)}); this run registered {string.Join(", ", results.Select(r => $"{r.Version.Version.ToString(CultureInfo.InvariantCulture)} {r.Kind}"))}");
        files.AddRow($"vigil flow show {flow.RunId}", $"the retrain flow run ({flow.Status}): {flow.Steps.Count} steps, each a child run with its outputs");
        CliOutput.Write(files);
        Terminal.Out.MarkupLine($"done in {total.Elapsed.TotalSeconds:F1} s. Next: [bold]./vigil evaluate --model {Markup.Escape(championUri)} --data {Markup.Escape(testPath)} --label label[/], " +
            $"[bold]./vigil models history {ModelName}[/]");
        if (!flow.Succeeded)
        {
            Terminal.Error($"the retrain flow run {flow.RunId} failed: {flow.Error} (vigil flow show {flow.RunId})");
            return FlowCommand.FlowFailed;
        }

        return CliApp.Ok;
    }

    /// <summary>The quickstart's candidates for the retrain flow: small, so the step takes seconds.</summary>
    internal const string RetrainCandidates = "[{model: iforest, estimators: 100}, {model: lightgbm, iterations: 50, unbalanced: true}]";

    /// <summary>
    /// Step 7: the built-in retrain flow once, on the test period as the "new data": validated against the champion's
    /// reference profile, drift, two candidates in parallel, out-of-time evaluation, leaderboard, gated promotion.
    /// </summary>
    private static async Task<Vigil.Pipelines.FlowResult> RunRetrainFlowAsync(ITrackingStore store, string newData, ulong seed, bool json, CancellationToken cancellationToken)
    {
        var registry = Vigil.Pipelines.StepRegistry.CreateDefault();
        var definition = Vigil.Pipelines.FlowCatalog.Load("retrain", registry);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["data"] = Path.GetFullPath(newData),
            ["register"] = ModelName,
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["candidates"] = RetrainCandidates,
            ["gate"] = Gate,
        };
        var runner = new Vigil.Pipelines.FlowRunner(store, registry);
        var result = await runner.RunAsync(definition, parameters, new FlowNotes(), cancellationToken).ConfigureAwait(false);
        var promote = result.Steps.FirstOrDefault(st => st.Name == "promote");
        Say(json, result.Succeeded
            ? $"retrain flow run {result.RunId}: finished, {result.Steps.Count} steps{(promote?.Metrics.TryGetValue("moved", out var moved) == true ? moved == 1 ? "; the candidate became the champion" : "; the champion stayed (gate failed)" : "")}"
            : $"retrain flow run {result.RunId}: {result.Status}: {result.Error}");
        return result;
    }

    /// <summary>One note per step of the flow (not every log line).</summary>
    private sealed class FlowNotes : IProgress<Vigil.Pipelines.FlowEvent>
    {
        public void Report(Vigil.Pipelines.FlowEvent value)
        {
            if (value.Kind == Vigil.Pipelines.FlowEventKind.FlowStarted)
            {
                Step($"7/7 running the retrain flow on the test period (new data): {value.Message}");
            }
            else if (value.Kind is Vigil.Pipelines.FlowEventKind.StepFinished or Vigil.Pipelines.FlowEventKind.StepFailed or Vigil.Pipelines.FlowEventKind.StepReused
                     && value.Step is { } name && !name.Contains('[', StringComparison.Ordinal))
            {
                Step("   " + value.Message);
            }
        }
    }

    private static void Step(string text) => Terminal.Note(text);

    /// <summary>A result line: on stdout, or on stderr when stdout carries the <c>--json</c> document.</summary>
    private static void Say(bool json, string text)
    {
        if (json)
        {
            Terminal.Note(text);
        }
        else
        {
            Terminal.OutWriter.WriteLine(text);
        }
    }
}
