using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Fx;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil fx generate | train | score | evaluate</c>: FX deal anomaly detection over Vigil.Fx. Building the command
/// registers the <c>fx</c> detector kind, so every command (<c>models</c>, <c>score</c>, registry URIs) reads fx bundles.
/// </summary>
internal static class FxCommand
{
    public static Command Build()
    {
        FxDescriptor.Register();
        var fx = new Command("fx", "FX deal anomaly detection: rules, thresholds and a multi-input autoencoder per client.");
        fx.Subcommands.Add(BuildGenerate());
        fx.Subcommands.Add(BuildTrain());
        fx.Subcommands.Add(BuildScore());
        fx.Subcommands.Add(BuildEvaluate());
        fx.Subcommands.Add(BuildImport());
        return fx;
    }

    private static Command BuildImport()
    {
        var tables = new Option<string>("--tables") { Description = "JSON tables written by eng/peers/fx_export_tables.py from all_scales.pkl and year_gap_data.pkl.", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "The multi-input autoencoder exported to ONNX (one input and one reconstruction output per group).", Required = true };
        var client = new Option<string>("--client") { Description = "The client whose tables to take; the bundle serves it.", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file (optional with --register)." };
        var register = new Option<string?>("--register") { Description = "Register the bundle as a new version of this model, e.g. fx-FISAU." };
        var json = CliOutput.JsonOption("Print the result as JSON: kind, clients, features, pair_keys, amount_ranges, input_groups, bundle, run_id, experiment, model (name, version, uri).");
        var cmd = new Command("import", "Build an FX bundle (kind fx-onnx) from Python artifacts: the exported tables and an ONNX autoencoder. No pickle or Python at serving time.")
        {
            tables, onnx, client, output, register, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var outPath = parse.GetValue(output);
            var registerName = parse.GetValue(register);
            if (outPath is null && registerName is null)
            {
                throw new CliUsageException("give --out BUNDLE to write the model, or --register NAME to store it in the registry");
            }

            var tablesPath = parse.GetRequiredValue(tables);
            var onnxPath = parse.GetRequiredValue(onnx);
            var bundle = FxImporter.Import(tablesPath, onnxPath, parse.GetRequiredValue(client));
            var model = (FxModel)bundle.Detector;
            if (outPath is not null)
            {
                bundle.Save(outPath);
            }

            var parameters = new Dictionary<string, string>(bundle.Manifest.Parameters, StringComparer.Ordinal) { ["tables"] = tablesPath, ["onnx"] = onnxPath };
            if (parse.GetValue(json))
            {
                var document = BundleJson(bundle, model, outPath, null);
                return registerName is null
                    ? WriteJson(TrainCommand.AddRun(document, null))
                    : await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, "fx-import", registerName, parameters, cancellationToken, document).ConfigureAwait(false);
            }

            Terminal.Out.MarkupLine(
                $"imported [bold]fx-onnx[/] for {Markup.Escape(string.Join(", ", model.Clients))}: {bundle.Transform.OutputCount} features, " +
                $"{model.PairKeyCount} pair keys, {model.AmountRangeCount} amount ranges, {model.GroupThresholds.Count} input groups");
            if (outPath is not null)
            {
                Terminal.Out.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
            }

            if (registerName is null)
            {
                return CliApp.Ok;
            }

            return await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, "fx-import", registerName, parameters, cancellationToken).ConfigureAwait(false);
        });
        return cmd;
    }

    private static Command BuildGenerate()
    {
        var rows = new Option<int>("--rows") { Description = "Normal training deals (over every client).", DefaultValueFactory = _ => 50_000 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed gives the same files.", DefaultValueFactory = _ => 42 };
        var output = new Option<string>("--out", "-o") { Description = "Training deals: .csv, .csv.gz or .parquet.", Required = true };
        var evalOut = new Option<string?>("--eval-out") { Description = "Also write labelled evaluation deals (is_anomaly, anomaly_kind) after the training months." };
        var evalRows = new Option<int>("--eval-rows") { Description = "Deals in the evaluation set (default max(2000, rows/4)).", DefaultValueFactory = _ => 0 };
        var anomalyRate = new Option<double>("--anomaly-rate") { Description = "Share of injected anomalies in the evaluation set, even over the 6 kinds.", DefaultValueFactory = _ => 0.12 };
        var json = CliOutput.JsonOption("Print the result as JSON: output, deals, eval_output, eval_deals, eval_anomalies, seed, seconds.");
        var cmd = new Command("generate", "Deterministic synthetic FX deals for clients FISAU, FISNZ and FISUK (24 months), and a labelled evaluation set (3 months after).")
        {
            rows, seed, output, evalOut, evalRows, anomalyRate, json,
        };
        cmd.SetAction(parse =>
        {
            var options = new FxGeneratorOptions
            {
                Rows = (int)OptionParsing.Positive("--rows", parse.GetValue(rows)),
                Seed = parse.GetValue(seed),
                EvalRows = parse.GetValue(evalRows),
                AnomalyRate = parse.GetValue(anomalyRate),
            };
            Validate(options.Validate);
            var path = parse.GetRequiredValue(output);
            var evalPath = parse.GetValue(evalOut);
            FrameFile.FormatOf(path);
            if (evalPath is not null)
            {
                FrameFile.FormatOf(evalPath);
            }

            var sw = Stopwatch.StartNew();
            var deals = FxDealGenerator.WriteTo(options, path, evalPath);
            if (parse.GetValue(json))
            {
                return WriteJson(new JsonObject
                {
                    ["output"] = Path.GetFullPath(path),
                    ["deals"] = deals.Training.Count,
                    ["eval_output"] = evalPath is null ? null : Path.GetFullPath(evalPath),
                    ["eval_deals"] = evalPath is null ? null : deals.Evaluation.Count,
                    ["eval_anomalies"] = evalPath is null ? null : deals.Evaluation.Count(d => d.Kind != FxAnomalyKinds.None),
                    ["seed"] = options.Seed,
                    ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3),
                });
            }

            Terminal.Out.MarkupLine($"wrote [bold]{deals.Training.Count:N0}[/] deals to [bold]{Markup.Escape(path)}[/] in {sw.Elapsed.TotalSeconds:F2} s");
            if (evalPath is not null)
            {
                var anomalies = deals.Evaluation.Count(d => d.Kind != FxAnomalyKinds.None);
                Terminal.Out.MarkupLine($"wrote [bold]{deals.Evaluation.Count:N0}[/] labelled deals ({anomalies:N0} anomalies) to [bold]{Markup.Escape(evalPath)}[/]");
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildTrain()
    {
        var data = new Option<string>("--data") { Description = "Training deals (.csv, .csv.gz or .parquet).", Required = true };
        var client = new Option<string[]>("--client") { Description = "Client(s) the bundle serves (repeat for several); only their deals are used.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file (optional with --register)." };
        var register = new Option<string?>("--register") { Description = "Register the bundle as a new version of this model, e.g. fx-FISAU." };
        var experiment = new Option<string?>("--experiment") { Description = "Log the training as a run in this experiment of the tracking store." };
        var seed = new Option<ulong>("--seed") { Description = "Autoencoder seed; the same seed and data give the same bundle files.", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int?>("--epochs") { Description = "Maximum autoencoder epochs (default 40)." };
        var quantile = new Option<double?>("--reconstruction-quantile") { Description = "Training quantile of each input group's reconstruction error used as its threshold (default 0.9995)." };
        var amountQ = new Option<double?>("--amount-quantile") { Description = "Upper FaceValue quantile per (BUnit, Cpty, PrimaryCurr); the lower is 1 minus it (default 0.9995)." };
        var tenorQ = new Option<double?>("--tenor-quantile") { Description = "Upper TDays quantile per instrument type; the lower is 1 minus it (default 0.9995)." };
        var json = CliOutput.JsonOption("Print the result as JSON: kind, clients, rows, features, pair_keys, amount_ranges, input_groups, bundle, seconds, run_id, experiment, model (name, version, uri).");
        var cmd = new Command("train", "Train one client's FX bundle: rule tables, FaceValue/TDays ranges, feature transform and the multi-input autoencoder.")
        {
            data, client, output, register, experiment, seed, epochs, quantile, amountQ, tenorQ, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var outPath = parse.GetValue(output);
            var registerName = parse.GetValue(register);
            var experimentName = parse.GetValue(experiment);
            if (outPath is null && registerName is null)
            {
                throw new CliUsageException("give --out BUNDLE to write the model, or --register NAME to store it in the registry");
            }

            var quantiles = new FxQuantiles();
            if (parse.GetValue(quantile) is { } q)
            {
                Quantile("--reconstruction-quantile", q, 0);
                quantiles = quantiles with { Reconstruction = q };
            }

            if (parse.GetValue(amountQ) is { } a)
            {
                Quantile("--amount-quantile", a, 0.5);
                quantiles = quantiles with { FaceValueUpper = a, FaceValueLower = 1 - a };
            }

            if (parse.GetValue(tenorQ) is { } t)
            {
                Quantile("--tenor-quantile", t, 0.5);
                quantiles = quantiles with { TenorUpper = t, TenorLower = 1 - t };
            }

            var options = new FxTrainOptions { Clients = parse.GetRequiredValue(client), Seed = parse.GetValue(seed), Quantiles = quantiles };
            if (parse.GetValue(epochs) is { } e)
            {
                options = options with { Autoencoder = options.Autoencoder with { Epochs = e } };
            }

            Validate(options.Validate);
            var path = parse.GetRequiredValue(data);
            var (deals, errors) = FxDealFrame.Read(FrameFile.Read(path, FxDealFrame.CsvOptions));
            var valid = deals.OfType<FxDeal>().ToList();
            var clients = new HashSet<string>(options.Clients, StringComparer.Ordinal);
            var mine = valid.Count(d => clients.Contains(d.Client));
            if (mine == 0)
            {
                throw new FxDataException($"no deal of client {string.Join(", ", options.Clients)} in the data ({valid.Count:N0} valid deals of other clients in {path})");
            }

            var invalid = errors.Count(x => x is not null);
            if (invalid > 0)
            {
                var first = Array.FindIndex(errors, x => x is not null);
                Terminal.Note($"skipped {invalid:N0} invalid deals (first: row {first + 1}: {errors[first]})");
            }

            Terminal.Note($"fitting tables, thresholds and the autoencoder for {string.Join(", ", options.Clients)} on {mine:N0} deals");
            var sw = Stopwatch.StartNew();
            var bundle = await Task.Run(() => FxTrainer.Train(valid, options), cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
            sw.Stop();
            var model = (FxModel)bundle.Detector;
            if (outPath is not null)
            {
                bundle.Save(outPath);
            }

            var trained = bundle.Manifest.Parameters.TryGetValue("trainRows", out var n) ? n : "?";
            if (parse.GetValue(json))
            {
                var document = BundleJson(bundle, model, outPath, sw.Elapsed);
                document["rows"] = long.TryParse(trained, NumberStyles.Integer, CultureInfo.InvariantCulture, out var rowCount) ? rowCount : null;
                if (experimentName is null && registerName is null)
                {
                    return WriteJson(TrainCommand.AddRun(document, null));
                }

                var runParameters = new Dictionary<string, string>(bundle.Manifest.Parameters, StringComparer.Ordinal) { ["data"] = path };
                return await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, experimentName, registerName, runParameters, cancellationToken, document).ConfigureAwait(false);
            }

            Terminal.Out.MarkupLine(
                $"trained [bold]fx[/] for {Markup.Escape(string.Join(", ", model.Clients))} on {trained} deals x {bundle.Transform.OutputCount} features " +
                $"in {sw.Elapsed.TotalSeconds:F1} s ({model.PairKeyCount} pair keys, {model.AmountRangeCount} amount ranges, " +
                $"{model.GroupThresholds.Count} input groups)");
            if (outPath is not null)
            {
                Terminal.Out.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
            }

            if (experimentName is null && registerName is null)
            {
                return CliApp.Ok;
            }

            var parameters = new Dictionary<string, string>(bundle.Manifest.Parameters, StringComparer.Ordinal) { ["data"] = path };
            return await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, experimentName, registerName, parameters, cancellationToken).ConfigureAwait(false);
        });
        return cmd;
    }

    private static Command BuildScore()
    {
        var modelArg = new Option<string>("--model", "-m") { Description = "Bundle path or registry URI (models:/fx-FISAU@champion).", Required = true };
        var data = new Option<string>("--data") { Description = "Deals to decide (.csv, .csv.gz or .parquet).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Decisions: Client, UniqueId, ContLeg, Anomaly, Reason, status_code, error, check, score.", Required = true };
        var json = CliOutput.JsonOption("Print the result as JSON: model, clients, output, deals, decided, anomalies, refused, decide_ms.");
        var cmd = new Command("score", "Decide every deal of a file: Anomaly Yes/No with its reason; deals of other clients get status 400.") { modelArg, data, output, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var scorer = await LoadAsync(storeArgs, parse, parse.GetRequiredValue(modelArg), cancellationToken).ConfigureAwait(false);
            var outPath = parse.GetRequiredValue(output);
            FrameFile.FormatOf(outPath);
            var raw = FxDealFrame.ReadRaw(FrameFile.Read(parse.GetRequiredValue(data), FxDealFrame.CsvOptions));
            var decisions = new FxDecision[raw.Length];
            var sw = Stopwatch.StartNew();
            scorer.Decide(raw, decisions);
            sw.Stop();
            FrameFile.Write(DecisionFrame(raw, decisions), outPath);
            var yes = decisions.Count(d => d.StatusCode == 200 && d.Anomaly);
            var decided = decisions.Count(d => d.StatusCode == 200);
            if (parse.GetValue(json))
            {
                return WriteJson(new JsonObject
                {
                    ["model"] = parse.GetRequiredValue(modelArg),
                    ["clients"] = new JsonArray([.. scorer.Clients.Select(c => (JsonNode)c)]),
                    ["output"] = Path.GetFullPath(outPath),
                    ["deals"] = raw.Length,
                    ["decided"] = decided,
                    ["anomalies"] = yes,
                    ["refused"] = raw.Length - decided,
                    ["decide_ms"] = Math.Round(sw.Elapsed.TotalMilliseconds, 3),
                });
            }

            Terminal.Out.MarkupLine(
                $"decided [bold]{decided:N0}[/] of {raw.Length:N0} deals in {sw.Elapsed.TotalMilliseconds:F1} ms: {yes:N0} anomalies; " +
                $"{raw.Length - decided:N0} refused (invalid or other clients); wrote {Markup.Escape(outPath)}");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildEvaluate()
    {
        var modelArg = new Option<string>("--model", "-m") { Description = "Bundle path or registry URI.", Required = true };
        var data = new Option<string>("--data") { Description = "Labelled deals with anomaly_kind (from `vigil fx generate --eval-out`).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print JSON: kinds (count, recall), false_positive_rate, confusion." };
        var cmd = new Command("evaluate", "Measure an FX bundle on labelled deals of its own client(s): recall per anomaly kind and false positives on normal deals.") { modelArg, data, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var scorer = await LoadAsync(storeArgs, parse, parse.GetRequiredValue(modelArg), cancellationToken).ConfigureAwait(false);
            var r = FxEvaluation.Evaluate(scorer, FrameFile.Read(parse.GetRequiredValue(data), FxDealFrame.CsvOptions));
            if (parse.GetValue(json))
            {
                var kinds = new JsonObject();
                foreach (var (kind, k) in r.Kinds)
                {
                    kinds[kind] = new JsonObject { ["count"] = k.Count, ["recall"] = k.Recall, ["right_check"] = k.RightCheck };
                }

                TrackingFormat.WriteJson(new JsonObject
                {
                    ["clients"] = new JsonArray([.. scorer.Clients.Select(c => (JsonNode)c)]),
                    ["kinds"] = kinds,
                    ["false_positive_rate"] = r.FalsePositiveRate,
                    ["normal"] = r.Normal,
                    ["confusion"] = new JsonObject { ["tp"] = r.TruePositives, ["fp"] = r.FalsePositives, ["tn"] = r.TrueNegatives, ["fn"] = r.FalseNegatives },
                    ["scored"] = r.Scored,
                    ["skipped_other_clients"] = r.SkippedOtherClients,
                    ["invalid"] = r.Invalid,
                    ["decide_ms"] = Math.Round(r.DecideTime.TotalMilliseconds, 3),
                });
                return CliApp.Ok;
            }

            Terminal.Out.MarkupLine($"scored {r.Scored:N0} deals of {Markup.Escape(string.Join(", ", scorer.Clients))}; skipped {r.SkippedOtherClients:N0} deals of other clients; {r.Invalid:N0} invalid");
            var table = new Table().AddColumns("kind", "count", "recall", "by its own check");
            foreach (var (kind, k) in r.Kinds)
            {
                table.AddRow(kind, I(k.Count), k.Recall.ToString("F4", CultureInfo.InvariantCulture), I(k.RightCheck));
            }

            CliOutput.Write(table);
            Terminal.Out.MarkupLine(
                $"false positive rate on {r.Normal:N0} normal deals: [bold]{r.FalsePositiveRate.ToString("F4", CultureInfo.InvariantCulture)}[/] " +
                $"(tp {I(r.TruePositives)}, fp {I(r.FalsePositives)}, tn {I(r.TrueNegatives)}, fn {I(r.FalseNegatives)})");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static async Task<FxScorer> LoadAsync(StoreArgs storeArgs, ParseResult parse, string reference, CancellationToken cancellationToken)
    {
        await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, CliLifecycle.IsRegistryUri(reference), cancellationToken).ConfigureAwait(false);
        var loaded = await lifecycle.Operations.LoadModelAsync(reference, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
        return new FxScorer(loaded.Bundle);
    }

    private static Frame DecisionFrame(FxRawDeal[] raw, FxDecision[] decisions)
    {
        var n = raw.Length;
        string?[] S(Func<int, string?> f)
        {
            var a = new string?[n];
            for (var i = 0; i < n; i++)
            {
                a[i] = f(i);
            }

            return a;
        }

        double[] D(Func<int, double> f)
        {
            var a = new double[n];
            for (var i = 0; i < n; i++)
            {
                a[i] = f(i);
            }

            return a;
        }

        return new Frame(
        [
            new StringColumn(FxFields.Client, S(i => raw[i].Client)),
            new StringColumn(FxFields.UniqueId, S(i => raw[i].UniqueId)),
            new Float64Column(FxFields.ContLeg, D(i => raw[i].ContLeg ?? double.NaN)),
            new StringColumn("Anomaly", S(i => decisions[i].StatusCode == 200 ? decisions[i].AnomalyText : null)),
            new StringColumn("Reason", S(i => decisions[i].Reason)),
            new Float64Column("status_code", D(i => decisions[i].StatusCode)),
            new StringColumn("error", S(i => decisions[i].Error)),
            new StringColumn("check", S(i => decisions[i].Check)),
            new Float64Column("score", D(i => decisions[i].Score)),
        ]);
    }

    /// <summary>Refuses a quantile option outside [<paramref name="min"/>, 1], naming the option (not the setting behind it).</summary>
    private static void Quantile(string option, double value, double min)
    {
        if (!(value >= min && value <= 1))
        {
            throw new CliUsageException(string.Create(CultureInfo.InvariantCulture,
                $"{option} must be in [{min}, 1] (was {value}){(min > 0 ? "; the lower quantile is 1 minus it" : "")}"));
        }
    }

    private static int WriteJson(JsonObject document)
    {
        TrackingFormat.WriteJson(document);
        return CliApp.Ok;
    }

    /// <summary>The bundle part of the <c>fx train</c> and <c>fx import</c> JSON.</summary>
    private static JsonObject BundleJson(ModelBundle bundle, FxModel model, string? outPath, TimeSpan? took) => new()
    {
        ["kind"] = bundle.Manifest.DetectorKind,
        ["clients"] = new JsonArray([.. model.Clients.Select(c => (JsonNode)c)]),
        ["features"] = bundle.Transform.OutputCount,
        ["pair_keys"] = model.PairKeyCount,
        ["amount_ranges"] = model.AmountRangeCount,
        ["input_groups"] = model.GroupThresholds.Count,
        ["bundle"] = outPath is null ? null : Path.GetFullPath(outPath),
        ["seconds"] = took is { } t ? Math.Round(t.TotalSeconds, 3) : null,
    };

    private static void Validate(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private static string I(int v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
