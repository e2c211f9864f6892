using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary><c>vigil train --data F [--label COL] --kind iforest|autoencoder|lightgbm|onnx [--seed S] --out BUNDLE [--json]</c>.</summary>
internal static class TrainCommand
{
    public static Command Build()
    {
        var data = new Option<string>("--data", "-d") { Description = "Training data: .csv, .csv.gz or .parquet.", Required = true };
        var label = new Option<string?>("--label") { Description = "Label column (1 = fraud/anomaly); never used as a feature. With it, training metrics are stored in the bundle." };
        // Kinds and their settings come from the detector catalog: a registered kind shows up here with its parameters.
        var model = new Option<string>("--kind", "-k") { Description = KindsHelp(), DefaultValueFactory = _ => "iforest" };
        model.AcceptOnlyFromAmong([.. DetectorCatalog.Kinds]);
        var settings = new Option<string[]>("--param", "-p")
        {
            Description = ParametersHelp(),
            AllowMultipleArgumentsPerToken = false,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var onnxFile = new Option<string?>("--onnx") { Description = "onnx: the .onnx model file (see 'vigil import onnx')." };
        var onnxSchema = new Option<string?>("--onnx-schema") { Description = "onnx: the model's schema JSON (features, input, output, ...), as for 'vigil import onnx --onnx-schema'." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed and data give the same model.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file (optional with --register)." };
        var experiment = new Option<string?>("--experiment") { Description = "Log the run (params, dataset fingerprint, metrics, bundle) to this experiment in the tracking store." };
        var register = new Option<string?>("--register") { Description = "Register the trained bundle as a new version of this model (experiment 'default' unless --experiment)." };
        var id = new Option<string?>("--id") { Description = "Identifier column to exclude from the features." };
        var include = new Option<string?>("--include") { Description = "Comma-separated id-like columns to keep as features (by default columns named id or *_id, and text columns unique per row, are left out, with a line saying so)." };
        var json = CliOutput.JsonOption("Print the result as JSON: run_id, experiment, model (name, version, uri), bundle, kind, rows, features, excluded_id_columns, threshold, metrics, read_seconds, fit_seconds.");
        var features = new Option<string?>("--features") { Description = "Comma-separated feature columns (default: every numeric and categorical column but label and id)." };
        var exclude = new Option<string?>("--exclude") { Description = "Comma-separated columns never to use as features." };
        var validation = new Option<string?>("--validation") { HelpName = "FILE", Description = "Labelled rows held out from fitting (same columns): a supervised model's scores are calibrated on them (isotonic) and the calibrator stored in the bundle, so performance can be estimated before labels arrive (CBPE)." };
        var calibrationFraction = new Option<double>("--calibration-fraction") { Description = "Without --validation: the share of the training rows (stratified, seeded) held out for the calibrator of a supervised model; 0 = none.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int?>("--threads") { Description = "autoencoder and lightgbm: training threads (default: all cores); autoencoder weights do not depend on it." };
        var kindOptions = KindOptions();
        var schema = new Option<string?>("--schema") { Description = "Explicit column kinds for CSV input, e.g. 'merchant_id:categorical,amount:float64'." };
        var onBadValue = CliData.BadValueOption();
        var force = CliData.ForceOption();

        var cmd = new Command("train", "Train a detector and save it as a model bundle.")
        {
            data, label, model, seed, output, force, validation, calibrationFraction, id, include, features, exclude, schema, onBadValue, threads, experiment, register, onnxFile, onnxSchema, settings, json,
        };
        Deprecated.Option(cmd, "--model", "--kind");
        Deprecated.Option(cmd, "-m", "--kind");
        Deprecated.Option(cmd, "--iterations", "--estimators");
        foreach (var option in kindOptions.Values)
        {
            cmd.Options.Add(option);
        }

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
            var kind = parse.GetRequiredValue(model);
            var labelName = parse.GetValue(label);
            var descriptor = DetectorCatalog.Get(kind);
            if (descriptor.Supervised && labelName is null)
            {
                throw new CliUsageException($"--kind {kind} is supervised: give the 0/1 label column with --label");
            }

            var onnxPath = parse.GetValue(onnxFile);
            var onnxSchemaPath = parse.GetValue(onnxSchema);
            if ((kind == "onnx") != (onnxPath is not null) || (kind == "onnx") != (onnxSchemaPath is not null))
            {
                throw new CliUsageException("--kind onnx needs both --onnx MODEL.onnx and --onnx-schema SCHEMA.json, and they go with --kind onnx only");
            }

            if (kind == "onnx" && parse.GetValue(features) is not null)
            {
                throw new CliUsageException("--features: with --kind onnx the features are the ones listed in --onnx-schema");
            }

            var onnx = kind == "onnx" ? OnnxImport.Load("--onnx", onnxPath!, "--onnx-schema", onnxSchemaPath!) : null;
            var spec = new TrainSpec
            {
                Model = kind,
                Label = labelName,
                IdColumn = parse.GetValue(id),
                Features = OptionParsing.List(parse.GetValue(features)),
                Exclude = OptionParsing.List(parse.GetValue(exclude))?.ToHashSet(StringComparer.Ordinal),
                Onnx = onnx is null ? null : new OnnxOptions { Model = onnx, Contamination = ParseContamination(parse.GetValue((Option<string?>)kindOptions["--contamination"]) ?? "auto") },
            };

            // The kind's settings: its command-line options, then --param NAME=VALUE, then the run seed and thread count.
            spec = ApplyKindOptions(spec, descriptor, kindOptions, parse);
            spec = ApplySettings(spec, parse.GetValue(settings));
            spec = TrainParameters.WithSeed(spec, parse.GetValue(seed));
            var threadCount = parse.GetValue(threads);
            spec = spec with
            {
                Autoencoder = spec.Autoencoder with { MaxDegreeOfParallelism = threadCount },
                LightGbm = spec.LightGbm with { Threads = threadCount },
            };

            Dictionary<string, string>? onnxParameters = null;
            if (onnx is not null)
            {
                onnxParameters = new Dictionary<string, string>(StringComparer.Ordinal);
                OnnxImport.AddParameters(onnxParameters, onnxPath!, onnxSchemaPath!, onnx);
            }

            var options = new TrainOptions
            {
                Data = DataSource.FromFile(dataPath, Schema(parse.GetValue(schema)), parse.GetValue(onBadValue)),
                Spec = spec,
                Output = outPath,
                Overwrite = parse.GetValue(force),
                Experiment = experimentName,
                RegisterAs = registerName,
                Parameters = onnxParameters,
                Include = OptionParsing.List(parse.GetValue(include)),
                Validation = parse.GetValue(validation) is { } validationPath
                    ? DataSource.FromFile(OptionParsing.ExistingFile("--validation", validationPath), Schema(parse.GetValue(schema)), parse.GetValue(onBadValue))
                    : null,
                CalibrationFraction = parse.GetValue(calibrationFraction) is var cf && cf == 0 ? 0 : OptionParsing.Fraction("--calibration-fraction", cf, allowOne: false),
                CalibrationSeed = parse.GetValue(seed),
            };
            await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, experimentName is not null || registerName is not null, cancellationToken)
                .ConfigureAwait(false);
            var result = await CliSteps.RunAsync($"reading {Path.GetFileName(dataPath)}",
                progress => lifecycle.Operations.TrainAsync(options, progress, cancellationToken),
                p => p.Stage switch
                {
                    LifecycleStages.Read => $"read {p.Done:N0} rows",
                    LifecycleStages.Fit when p.Done == 0 => $"fitting {kind}",
                    LifecycleStages.Fit => "measuring and saving",
                    LifecycleStages.Track => "logging the run",
                    _ => null,
                }).ConfigureAwait(false);
            var bundle = result.Bundle;
            var m = bundle.Manifest;
            CliData.NoteSkipped(options.Data);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(result, outPath));
                return CliApp.Ok;
            }

            Terminal.MarkupLine(
                $"trained [bold]{Markup.Escape(m.DetectorKind)}[/] on {result.Rows:N0} rows x {m.FeatureSchema.Count} features " +
                $"(read {result.ReadTime.TotalSeconds:F2} s, fit {result.FitTime.TotalSeconds:F2} s); threshold {m.Threshold.ToString("G6", CultureInfo.InvariantCulture)}");
            if (bundle.Detector is AutoencoderModel { Training: { } t })
            {
                var mean = t.EpochSeconds.Count > 0 ? t.EpochSeconds.Average() : 0;
                Terminal.Out.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"autoencoder: {t.EpochsRun} epochs, mean epoch {mean:F3} s, best epoch {t.BestEpoch}, layers {string.Join("-", ((AutoencoderModel)bundle.Detector).LayerSizes)}"));
                Terminal.Out.MarkupLine("epoch seconds: " + string.Join(" ", t.EpochSeconds.Select(e => e.ToString("F3", CultureInfo.InvariantCulture))));
            }

            Terminal.TextLine("features: " + string.Join(", ", m.FeatureSchema.Select(c => c.Name)));
            if (result.Metrics is { } metrics)
            {
                Terminal.MarkupLine("training metrics: " + string.Join(", ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("F4", CultureInfo.InvariantCulture)}")));
            }

            Terminal.TextLine(CalibrationText(bundle));
            if (outPath is not null)
            {
                Terminal.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
            }

            RenderRun(result.Run);
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// Records <paramref name="bundle"/> as a run in the store (and registers it when <paramref name="registerAs"/> is
    /// given), then prints the run: what an import or a domain trainer does after writing its bundle.
    /// </summary>
    /// <remarks>With <paramref name="json"/> the run's fields (run_id, experiment, model) are added to it and it is printed instead.</remarks>
    internal static async Task<int> RecordAndRenderAsync(StoreArgs storeArgs, ParseResult parse, ModelBundle bundle, string? experiment, string? registerAs,
        IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken, System.Text.Json.Nodes.JsonObject? json = null)
    {
        await using var lifecycle = await CliLifecycle.OpenAsync(storeArgs, parse, withStore: true, cancellationToken).ConfigureAwait(false);
        var run = await lifecycle.Operations.RecordBundleAsync(new RecordBundleOptions
        {
            Bundle = bundle,
            Experiment = experiment ?? "default",
            RegisterAs = registerAs,
            Parameters = parameters,
        }, cancellationToken).ConfigureAwait(false);
        if (json is not null)
        {
            AddRun(json, run);
            TrackingFormat.WriteJson(json);
            return CliApp.Ok;
        }

        RenderRun(run);
        return CliApp.Ok;
    }

    /// <summary>Adds run_id, experiment and model (name, version, uri; null when not registered) to a <c>--json</c> document.</summary>
    internal static System.Text.Json.Nodes.JsonObject AddRun(System.Text.Json.Nodes.JsonObject json, RecordedRun? run)
    {
        var version = run?.Version;
        json["run_id"] = run?.RunId;
        json["experiment"] = run?.Experiment;
        json["model"] = version is null ? null : new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = version.ModelName,
            ["version"] = version.Version,
            ["uri"] = version.Uri.ToString(),
        };
        return json;
    }

    /// <summary>The <c>--json</c> document of a training.</summary>
    internal static System.Text.Json.Nodes.JsonObject ToJson(TrainResult result, string? outPath)
    {
        var m = result.Bundle.Manifest;
        var version = result.Run?.Version;
        return new System.Text.Json.Nodes.JsonObject
        {
            ["run_id"] = result.Run?.RunId,
            ["experiment"] = result.Run?.Experiment,
            ["model"] = version is null ? null : new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = version.ModelName,
                ["version"] = version.Version,
                ["uri"] = version.Uri.ToString(),
            },
            ["bundle"] = outPath is null ? null : Path.GetFullPath(outPath),
            ["kind"] = m.DetectorKind,
            ["rows"] = result.Rows,
            ["features"] = new System.Text.Json.Nodes.JsonArray([.. m.FeatureSchema.Select(c => (System.Text.Json.Nodes.JsonNode?)c.Name)]),
            ["excluded_id_columns"] = new System.Text.Json.Nodes.JsonArray([.. result.ExcludedIdColumns.Select(c => (System.Text.Json.Nodes.JsonNode?)c)]),
            ["threshold"] = double.IsFinite(m.Threshold) ? m.Threshold : null,
            ["metrics"] = result.Metrics is null ? new System.Text.Json.Nodes.JsonObject() : TrackingFormat.Map(result.Metrics),
            ["read_seconds"] = Math.Round(result.ReadTime.TotalSeconds, 3),
            ["fit_seconds"] = Math.Round(result.FitTime.TotalSeconds, 3),
            ["calibration"] = result.Bundle.Calibrator is { } c
                ? new System.Text.Json.Nodes.JsonObject { ["method"] = IsotonicCalibrator.Method, ["rows"] = c.Rows, ["positives"] = c.Positives, ["knots"] = c.X.Count }
                : null,
        };
    }

    /// <summary>One line on the bundle's score calibrator (what CBPE estimates from), or why it has none.</summary>
    internal static string CalibrationText(ModelBundle bundle) => bundle.Calibrator is { } c
        ? string.Create(CultureInfo.InvariantCulture, $"calibration: isotonic on {c.Rows:N0} validation rows ({c.Positives:N0} positive), {c.X.Count} knots: performance can be estimated before labels arrive (CBPE)")
        : bundle.Descriptor.Supervised
            ? "calibration: none (give --validation FILE or --calibration-fraction F for performance estimates before labels arrive)"
            : "calibration: none (unsupervised kind: no performance estimate before labels arrive)";

    /// <summary>Prints the run and the registered version of a tracked training or import.</summary>
    internal static void RenderRun(RecordedRun? run)
    {
        if (run is null)
        {
            return;
        }

        Terminal.MarkupLine($"run: [bold]{run.RunId}[/] (experiment {Markup.Escape(run.Experiment)})");
        if (run.Version is { } version)
        {
            Terminal.MarkupLine($"registered [bold]{Markup.Escape(version.ModelName)}[/] version {version.Version.ToString(CultureInfo.InvariantCulture)} ({Markup.Escape(version.Uri.ToString())})");
        }
    }

    /// <summary>The <c>--schema</c> option's column kinds, or null.</summary>
    internal static FrameSchema? Schema(string? schema) => schema is null ? null : FrameSchema.Parse(schema);

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

        return "A detector setting NAME=VALUE under the names of bundle.json, run params and search grids (repeatable; applied after the per-kind "
            + "options below). " + string.Join(". ", kinds) + ".";
    }

    /// <summary>
    /// One option per command-line option the registered kinds' settings name (<see cref="TrainParameter.CommandLineOption"/>;
    /// kinds may share one, e.g. --estimators is iforest's estimators and lightgbm's iterations), described from the catalog.
    /// </summary>
    private static Dictionary<string, Option> KindOptions()
    {
        var options = new Dictionary<string, Option>(StringComparer.Ordinal);
        var help = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var d in DetectorCatalog.All)
        {
            foreach (var p in d.Parameters)
            {
                if (p.CommandLineOption is not { } name)
                {
                    continue;
                }

                if (!options.ContainsKey(name))
                {
                    options[name] = p.IsSwitch ? new Option<bool>(name) : new Option<string?>(name);
                    help[name] = [];
                }

                help[name].Add($"{d.Name}: {p.Help} ({p.Name}; {p.Expects}; default {p.DefaultValue})");
            }
        }

        foreach (var (name, option) in options)
        {
            option.Description = string.Join("; ", help[name]) + ".";
        }

        return options;
    }

    /// <summary>Applies the given command-line options of the kind's settings (the other kinds' options are ignored).</summary>
    private static TrainSpec ApplyKindOptions(TrainSpec spec, DetectorDescriptor descriptor, Dictionary<string, Option> options, ParseResult parse)
    {
        foreach (var p in descriptor.Parameters)
        {
            if (p.CommandLineOption is not { } name || parse.GetResult(options[name]) is not { Implicit: false })
            {
                continue;
            }

            var value = options[name] is Option<bool> flag ? (parse.GetValue(flag) ? "true" : "false") : parse.GetValue((Option<string?>)options[name]) ?? string.Empty;
            try
            {
                spec = p.Apply(spec, value);
            }
            catch (TrainParameterException e)
            {
                throw new CliUsageException($"{name}: {e.Message}");
            }
        }

        try
        {
            TrainParameters.Validate(spec);
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message);
        }

        return spec;
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

            var name = value[..eq].Trim();
            if (TrainParameters.Renamed.TryGetValue(name, out var renamed))
            {
                Terminal.Note($"vigil: warning: --param {name} is deprecated and will be removed; use {renamed}");
            }

            pairs.Add(new(name, value[(eq + 1)..]));
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
