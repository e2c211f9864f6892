using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vigil.Detectors;
using Vigil.Lifecycle;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil import onnx MODEL.onnx --onnx-schema SCHEMA.json [--out BUNDLE] [--register NAME] [--experiment EXP]</c>: wraps a
/// model trained elsewhere as a Vigil bundle, usable like any other (score, registry, serving).
/// </summary>
internal static class ImportCommand
{
    public static Command Build()
    {
        var cmd = new Command("import", "Import a model trained elsewhere as a Vigil model bundle.");
        cmd.Subcommands.Add(BuildOnnx());
        return cmd;
    }

    private static Command BuildOnnx()
    {
        var modelFile = new Argument<string>("MODEL") { Description = "The .onnx file (e.g. exported by torch.onnx.export or skl2onnx)." };
        var schema = new Option<string>("--onnx-schema") { Description = "JSON: {\"features\": [names in input-column order], \"input\": \"tensor\", \"output\": \"tensor\"}, optionally \"output_column\", \"higher_is_anomalous\", \"threshold\", \"defaults\".", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "Bundle to write: a directory, or a .zip file (optional with --register)." };
        var experiment = new Option<string?>("--experiment") { Description = "Log the import as a run (params, bundle) in this experiment of the tracking store." };
        var register = new Option<string?>("--register") { Description = "Register the bundle as a new version of this model (experiment 'default' unless --experiment)." };
        var force = CliData.ForceOption();
        var json = CliOutput.JsonOption("Print the result as JSON: kind, source, features, output, threshold, bundle, run_id, experiment, model (name, version, uri).");
        var cmd = new Command("onnx", "Wrap an ONNX model as a Vigil detector: named features feed its float32 input [N, features] unscaled; one output is the score.")
        {
            modelFile, schema, output, force, experiment, register, json,
        };
        Deprecated.Option(cmd, "--schema", "--onnx-schema");
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var modelPath = parse.GetRequiredValue(modelFile);
            var schemaPath = parse.GetRequiredValue(schema);
            var outPath = parse.GetValue(output);
            var registerName = parse.GetValue(register);
            var experimentName = parse.GetValue(experiment);
            if (outPath is null && registerName is null)
            {
                throw new CliUsageException("give --out BUNDLE to write the model, or --register NAME to store it in the registry");
            }

            if (outPath is not null)
            {
                ModelBundle.CheckSaveTarget(outPath, parse.GetValue(force));
            }

            var model = OnnxImport.Load("MODEL", modelPath, "--onnx-schema", schemaPath);
            var bundle = ModelBundle.FromOnnx(model);
            try
            {
                var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = OnnxModel.DetectorKind };
                OnnxImport.AddParameters(parameters, modelPath, schemaPath, model);
                parameters["threshold"] = bundle.Threshold.ToString("R", CultureInfo.InvariantCulture);
                if (outPath is not null)
                {
                    bundle.Save(outPath, parse.GetValue(force));
                }

                var m = bundle.Manifest;
                if (parse.GetValue(json))
                {
                    var document = new System.Text.Json.Nodes.JsonObject
                    {
                        ["kind"] = m.DetectorKind,
                        ["source"] = Path.GetFullPath(modelPath),
                        ["features"] = new System.Text.Json.Nodes.JsonArray([.. m.FeatureSchema.Select(c => (System.Text.Json.Nodes.JsonNode?)c.Name)]),
                        ["output"] = model.Schema.ToString(),
                        ["threshold"] = double.IsFinite(m.Threshold) ? m.Threshold : null,
                        ["bundle"] = outPath is null ? null : Path.GetFullPath(outPath),
                    };
                    if (experimentName is null && registerName is null)
                    {
                        TrackingFormat.WriteJson(TrainCommand.AddRun(document, null));
                        return CliApp.Ok;
                    }

                    return await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, experimentName, registerName, parameters, cancellationToken, document).ConfigureAwait(false);
                }

                Terminal.Out.MarkupLine(
                    $"imported [bold]onnx[/] {Markup.Escape(Path.GetFileName(modelPath))}: {m.FeatureSchema.Count} features -> {Markup.Escape(model.Schema.ToString())}; " +
                    $"threshold {m.Threshold.ToString("G6", CultureInfo.InvariantCulture)}");
                if (outPath is not null)
                {
                    Terminal.Out.MarkupLine($"bundle: [bold]{Markup.Escape(outPath)}[/]");
                }

                if (experimentName is null && registerName is null)
                {
                    return CliApp.Ok;
                }

                return await TrainCommand.RecordAndRenderAsync(storeArgs, parse, bundle, experimentName, registerName, parameters, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                model.Dispose();
            }
        });
        return cmd;
    }
}
