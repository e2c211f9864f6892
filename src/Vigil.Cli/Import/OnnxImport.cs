using System.Globalization;
using Vigil.Detectors;

namespace Vigil.Cli;

/// <summary>Loading an ONNX model with its schema file, shared by <c>vigil import onnx</c> and <c>vigil train --model onnx</c>.</summary>
internal static class OnnxImport
{
    /// <summary>Reads the schema, then the model, checking one against the other (errors name the file and key).</summary>
    public static OnnxModel Load(string modelOption, string modelPath, string schemaOption, string schemaPath)
    {
        OptionParsing.ExistingFile(modelOption, modelPath);
        OptionParsing.ExistingFile(schemaOption, schemaPath);
        var schema = OnnxSchema.Load(schemaPath);
        return OnnxModel.Load(modelPath, schema, schemaPath);
    }

    /// <summary>The run parameters that describe the imported model.</summary>
    public static void AddParameters(Dictionary<string, string> p, string modelPath, string schemaPath, OnnxModel model)
    {
        var s = model.Schema;
        p["onnx"] = Path.GetFileName(modelPath);
        p["onnx_sha256"] = model.ModelSha256;
        p["onnx_schema"] = Path.GetFileName(schemaPath);
        p["features"] = string.Join(",", s.Features);
        p["input"] = s.Input;
        p["output"] = s.Output;
        p["output_column"] = s.OutputColumn is { } c ? c.ToString(CultureInfo.InvariantCulture) : "";
        p["higher_is_anomalous"] = s.HigherIsAnomalous ? "true" : "false";
    }
}
