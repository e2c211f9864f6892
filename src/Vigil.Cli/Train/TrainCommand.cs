using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;

namespace Vigil.Cli;

/// <summary><c>vigil train --data F [--label COL] --model iforest|autoencoder|lightgbm|onnx [--seed S] --out BUNDLE</c>.</summary>
internal static class TrainCommand
{
    public static Command Build()
    {
        var data = new Option<string>("--data", "-d") { Description = "Training data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string?>("--label") { Description = "Label column (1 = fraud/anomaly); never used as a feature. With it, training metrics are stored in the bundle." };
        // Kinds and their settings come from the detector catalog: a registered kind shows up here with its parameters.
        var model = new Option<string>("--model", "-m") { Description = KindsHelp(), DefaultValueFactory = _ => "iforest" };
        model.AcceptOnlyFromAmong([.. DetectorCatalog.Kinds]);
        var settings = new Option<string[]>("--param", "-p")
        {
            Description = ParametersHelp(),
            AllowMultipleArgumentsPerToken = false,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var onnxFile = new Option<string?>("--onnx") { Description = "onnx: the .onnx model file (see 'vigil import onnx')." };
        var onnxSchema = new Option<string?>("--onnx-schema") { Description = "onnx: the model's schema JSON (features, input, output, ...), as for 'vigil import onnx --schema'." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed and data give the same model.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file (optional with --register)." };
        var experiment = new Option<string?>("--experiment") { Description = "Log the run (params, dataset fingerprint, metrics, bundle) to this experiment in the tracking store." };
        var register = new Option<string?>("--register") { Description = "Register the trained bundle as a new version of this model (experiment 'default' unless --experiment)." };
        var id = new Option<string?>("--id") { Description = "Identifier column to exclude from the features." };
        var features = new Option<string?>("--features") { Description = "Comma-separated feature columns (default: every numeric and categorical column but label and id)." };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated columns never to use as features." };
        var estimators = new Option<int>("--estimators") { Description = "Number of trees (iforest, lightgbm).", DefaultValueFactory = _ => 100 };
        var hidden = new Option<string?>("--hidden") { Description = "autoencoder: comma-separated hidden layer widths (default 64,32,b,32,64 with b = clamp(features/2, 2, 8))." };
        var activation = new Option<string>("--activation") { Description = "autoencoder: hidden activation relu|tanh|sigmoid|linear.", DefaultValueFactory = _ => "tanh" };
        var epochs = new Option<int>("--epochs") { Description = "autoencoder: maximum epochs.", DefaultValueFactory = _ => 100 };
        var batchSize = new Option<int>("--batch-size") { Description = "autoencoder: rows per mini-batch.", DefaultValueFactory = _ => 64 };
        var learningRate = new Option<double?>("--learning-rate") { Description = "autoencoder (default 0.001) and lightgbm (default 0.1) step size." };
        var validation = new Option<double>("--validation-fraction") { Description = "autoencoder: share of rows held out for early stopping (0 = none).", DefaultValueFactory = _ => 0.1 };
        var patience = new Option<int>("--patience") { Description = "autoencoder: epochs without improvement before stopping.", DefaultValueFactory = _ => 10 };
        var trim = new Option<double>("--trim-fraction") { Description = "autoencoder: share of each 32-row shard's worst-reconstructed rows left out of the gradient (trimmed loss).", DefaultValueFactory = _ => 0.45 };
        var threads = new Option<int?>("--threads") { Description = "autoencoder and lightgbm: training threads (default: all cores); autoencoder weights do not depend on it." };
        var leaves = new Option<int>("--leaves") { Description = "lightgbm: leaves per tree.", DefaultValueFactory = _ => 31 };
        var unbalanced = new Option<bool>("--unbalanced") { Description = "lightgbm: is_unbalance (reweight the classes)." };
        var scalePos = new Option<double>("--scale-pos-weight") { Description = "lightgbm: weight of positive rows.", DefaultValueFactory = _ => 1.0 };
        var maxSamples = new Option<string>("--max-samples") { Description = "Rows per tree: 'auto' (min(256, n)), a count, or a fraction in (0, 1].", DefaultValueFactory = _ => "auto" };
        var maxFeatures = new Option<double>("--max-features") { Description = "Fraction of features per tree, in (0, 1].", DefaultValueFactory = _ => 1.0 };
        var bootstrap = new Option<bool>("--bootstrap") { Description = "Sample rows with replacement." };
        var contamination = new Option<string>("--contamination") { Description = "'auto' (threshold 0.5) or the expected anomaly fraction in (0, 0.5], which sets the threshold from training scores.", DefaultValueFactory = _ => "auto" };
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input, e.g. 'merchant_id:categorical,amount:float64'." };

        var cmd = new Command("train", "Train a detector and save it as a model bundle.")
        {
            data, label, model, seed, output, id, features, exclude, estimators, maxSamples, maxFeatures, bootstrap, contamination, schema,
            hidden, activation, epochs, batchSize, learningRate, validation, patience, trim, threads, leaves, unbalanced, scalePos,
            experiment, register, onnxFile, onnxSchema, settings,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var dataPath = OptionParsing.ExistingFile("--data", parse.GetRequiredValue(data));
            var outPath = parse.GetValue(output);
            var experimentName = parse.GetValue(experiment);
            var registerName = parse.GetValue(register);
            if (outPath is null && registerName is null)
            {
                throw new CliUsageException("give --out BUNDLE to write the model, or --register NAME to store it in the registry");
            }
            var forest = new IsolationForestOptions
            {
                Estimators = (int)OptionParsing.Positive("--estimators", parse.GetValue(estimators)),
                MaxSamples = ParseMaxSamples(parse.GetRequiredValue(maxSamples)),
                MaxFeatures = OptionParsing.Fraction("--max-features", parse.GetValue(maxFeatures)),
                Bootstrap = parse.GetValue(bootstrap),
                Contamination = ParseContamination(parse.GetRequiredValue(contamination)),
                Seed = parse.GetValue(seed),
            };
            forest.Validate();
            var kind = parse.GetRequiredValue(model);
            var lr = parse.GetValue(learningRate);
            var autoencoder = new AutoencoderOptions
            {
                HiddenLayers = ParseLayers(parse.GetValue(hidden)),
                HiddenActivation = ParseActivation(parse.GetRequiredValue(activation)),
                Epochs = (int)OptionParsing.Positive("--epochs", parse.GetValue(epochs)),
                BatchSize = (int)OptionParsing.Positive("--batch-size", parse.GetValue(batchSize)),
                LearningRate = lr ?? 0.001,
                ValidationFraction = parse.GetValue(validation),
                Patience = (int)OptionParsing.Positive("--patience", parse.GetValue(patience)),
                TrimFraction = parse.GetValue(trim),
                Seed = parse.GetValue(seed),
                MaxDegreeOfParallelism = parse.GetValue(threads),
            };
            var lightGbm = new LightGbmOptions
            {
                Iterations = (int)OptionParsing.Positive("--estimators", parse.GetValue(estimators)),
                Leaves = parse.GetValue(leaves),
                LearningRate = lr ?? 0.1,
                Unbalanced = parse.GetValue(unbalanced),
                ScalePositiveWeight = parse.GetValue(scalePos),
                Seed = (int)(parse.GetValue(seed) % int.MaxValue),
                Threads = parse.GetValue(threads),
            };
            try
            {
                autoencoder.Validate();
                lightGbm.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliUsageException(e.Message);
            }

            var labelName = parse.GetValue(label);
            var descriptor = DetectorCatalog.Get(kind);
            if (descriptor.Supervised && labelName is null)
            {
                throw new CliUsageException($"--model {kind} is supervised: give the 0/1 label column with --label");
            }

            var onnxPath = parse.GetValue(onnxFile);
            var onnxSchemaPath = parse.GetValue(onnxSchema);
            if ((kind == "onnx") != (onnxPath is not null) || (kind == "onnx") != (onnxSchemaPath is not null))
            {
                throw new CliUsageException("--model onnx needs both --onnx MODEL.onnx and --onnx-schema SCHEMA.json, and they go with --model onnx only");
            }

            if (kind == "onnx" && parse.GetValue(features) is not null)
            {
                throw new CliUsageException("--features: with --model onnx the features are the ones listed in --onnx-schema");
            }

            var onnx = kind == "onnx" ? OnnxImport.Load("--onnx", onnxPath!, "--onnx-schema", onnxSchemaPath!) : null;
            var spec = new TrainSpec
            {
                Model = kind,
                Label = labelName,
                IdColumn = parse.GetValue(id),
                Features = OptionParsing.List(parse.GetValue(features)),
                Exclude = OptionParsing.List(parse.GetValue(exclude))?.ToHashSet(StringComparer.Ordinal),
                Forest = forest,
                Autoencoder = autoencoder,
                LightGbm = lightGbm,
                Onnx = onnx is null ? null : new OnnxOptions { Model = onnx, Contamination = forest.Contamination },
            };
            spec = ApplySettings(spec, parse.GetValue(settings));

            // Run params: the data and feature choices, then the detector settings under the names the bundle
            // manifest and search grids use (TrainParameters).
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["model"] = kind,
                ["data"] = Path.GetFileName(dataPath),
                ["label"] = labelName ?? "",
                ["id"] = parse.GetValue(id) ?? "",
                ["features"] = parse.GetValue(features) ?? "auto",
                ["exclude"] = parse.GetValue(exclude) ?? "",
            };
            if (onnx is not null)
            {
                OnnxImport.AddParameters(parameters, onnxPath!, onnxSchemaPath!, onnx);
            }
            else
            {
                foreach (var (name, value) in TrainParameters.Describe(spec))
                {
                    parameters[name] = value;
                }
            }

            var tracking = experimentName is null && registerName is null
                ? null
                : await TrainTracking.StartAsync(storeArgs.OpenAsync(parse, cancellationToken), experimentName ?? "default", registerName, cancellationToken).ConfigureAwait(false);
            try
            {
                return await RunAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                if (tracking is not null)
                {
                    await tracking.FailAsync(cancelled: e is OperationCanceledException).ConfigureAwait(false);
                }

                throw;
            }
            finally
            {
                if (tracking is not null)
                {
                    await tracking.DisposeAsync().ConfigureAwait(false);
                }
            }

            async Task<int> RunAsync()
            {
                var total = Stopwatch.StartNew();
                var frame = FrameFile.Read(dataPath, CsvOptions(parse.GetValue(schema)));
                var readSeconds = total.Elapsed.TotalSeconds;
                if (labelName is not null && !frame.Contains(labelName))
                {
                    throw new CliUsageException($"--label {labelName}: no such column in {dataPath}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
                }

                var fit = Stopwatch.StartNew();
                var bundle = ModelBundle.Train(frame, spec);
                fit.Stop();

                IReadOnlyDictionary<string, double>? metrics = null;
                if (labelName is not null)
                {
                    var labels = Labels.From(frame, labelName);
                    if (Labels.HasBothClasses(labels))
                    {
                        metrics = MetricSet.Standard(bundle.Score(frame), labels)
                            .ToDictionary(kv => "train_" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
                        bundle = bundle.WithMetrics(metrics);
                    }
                }

                if (outPath is not null)
                {
                    bundle.Save(outPath);
                }

                total.Stop();

                var m = bundle.Manifest;
                Terminal.Out.MarkupLine(
                    $"trained [bold]{Markup.Escape(m.DetectorKind)}[/] on {frame.RowCount:N0} rows x {m.FeatureSchema.Count} features " +
                    $"(read {readSeconds:F2} s, fit {fit.Elapsed.TotalSeconds:F2} s); threshold {m.Threshold.ToString("G6", CultureInfo.InvariantCulture)}");
                if (bundle.Detector is AutoencoderModel { Training: { } t })
                {
                    var mean = t.EpochSeconds.Count > 0 ? t.EpochSeconds.Average() : 0;
                    Terminal.Out.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                        $"autoencoder: {t.EpochsRun} epochs, mean epoch {mean:F3} s, best epoch {t.BestEpoch}, layers {string.Join("-", ((AutoencoderModel)bundle.Detector).LayerSizes)}"));
                    Terminal.Out.MarkupLine("epoch seconds: " + string.Join(" ", t.EpochSeconds.Select(e => e.ToString("F3", CultureInfo.InvariantCulture))));
                }

                if (metrics is not null)
                {
                    Terminal.Out.MarkupLine("training metrics: " + string.Join(", ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("F4", CultureInfo.InvariantCulture)}")));
                }

                if (outPath is not null)
                {
                    Terminal.Out.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
                }

                if (tracking is not null)
                {
                    var version = await tracking.CompleteAsync(parameters, dataPath, frame, bundle, metrics, cancellationToken).ConfigureAwait(false);
                    Terminal.Out.MarkupLine($"run: [bold]{tracking.Run.RunId}[/] (experiment {Markup.Escape(tracking.Run.ExperimentName)})");
                    if (version is not null)
                    {
                        Terminal.Out.MarkupLine($"registered [bold]{Markup.Escape(version.ModelName)}[/] version {version.Version.ToString(CultureInfo.InvariantCulture)} ({Markup.Escape(version.Uri.ToString())})");
                    }
                }

                return CliApp.Ok;
            }
        });
        return cmd;
    }

    /// <summary>The --model help: every registered kind with its one-line description.</summary>
    private static string KindsHelp() =>
        "Detector kind: " + string.Join("; ", DetectorCatalog.All.Select(d => $"{d.Name} = {d.Description}")) + ".";

    /// <summary>The --param help: every registered kind's settings with the values they take and their defaults.</summary>
    private static string ParametersHelp()
    {
        var kinds = new List<string>();
        foreach (var d in DetectorCatalog.All)
        {
            if (d.Parameters.Count > 0)
            {
                kinds.Add($"{d.Name}: " + string.Join(", ", d.Parameters.Select(p => $"{p.Name} ({p.Expects}; default {p.DefaultValue})")));
            }
        }

        return "A detector setting NAME=VALUE under the names of bundle.json, run params and search grids (repeatable; applied after the "
            + "options above). " + string.Join(". ", kinds) + ".";
    }

    /// <summary>Applies --param NAME=VALUE settings through the catalog's parameters of the spec's kind.</summary>
    private static TrainSpec ApplySettings(TrainSpec spec, string[]? values)
    {
        if (values is not { Length: > 0 })
        {
            return spec;
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var value in values)
        {
            var eq = value.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new CliUsageException($"--param must be NAME=VALUE, got '{value}'");
            }

            pairs.Add(new(value[..eq].Trim(), value[(eq + 1)..]));
        }

        try
        {
            return TrainParameters.Apply(spec, pairs);
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("--param: " + e.Message);
        }
    }

    internal static CsvReadOptions? CsvOptions(string? schema) =>
        schema is null ? null : new CsvReadOptions { Schema = FrameSchema.Parse(schema) };

    private static IReadOnlyList<int>? ParseLayers(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var layers = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var width) || width < 1)
            {
                throw new CliUsageException($"--hidden must list positive layer widths like 64,32,8,32,64, got '{text}'");
            }

            layers.Add(width);
        }

        return layers.Count > 0 ? layers : throw new CliUsageException("--hidden lists no layer width");
    }

    private static Activation ParseActivation(string text) => text.ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "linear" => Activation.Linear,
        _ => throw new CliUsageException($"--activation must be relu, tanh, sigmoid or linear, got '{text}'"),
    };

    private static MaxSamples ParseMaxSamples(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return MaxSamples.Auto;
        }

        if (text.Contains('.', StringComparison.Ordinal) &&
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
        {
            return MaxSamples.Fraction(OptionParsing.Fraction("--max-samples", fraction));
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count > 0)
        {
            return MaxSamples.Count(count);
        }

        throw new CliUsageException($"--max-samples must be 'auto', a positive count or a fraction like 0.5, got '{text}'");
    }

    private static double? ParseContamination(string text)
    {
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) && c > 0 && c <= 0.5)
        {
            return c;
        }

        throw new CliUsageException($"--contamination must be 'auto' or a fraction in (0, 0.5], got '{text}'");
    }
}
