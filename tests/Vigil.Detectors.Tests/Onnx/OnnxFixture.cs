using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors.Tests.Onnx;

/// <summary>The checked-in fixtures built by eng/make-onnx-fixture.sh (PyTorch exports and torch's own outputs).</summary>
internal static class OnnxFixture
{
    public static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Onnx", "Fixtures");

    public static string ModelPath(string name) => Path.Combine(Dir, name + ".onnx");

    public static string SchemaPath(string name) => Path.Combine(Dir, name + ".schema.json");

    public static string InputPath => Path.Combine(Dir, "onnx-input.csv");

    public static OnnxSchema Schema(string name) => OnnxSchema.Load(SchemaPath(name));

    public static OnnxModel Load(string name) => OnnxModel.Load(ModelPath(name), Schema(name), SchemaPath(name));

    public static Frame Input() => FrameFile.Read(InputPath);

    /// <summary>Torch's float32 outputs, in input row order.</summary>
    public static double[] Expected(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(Dir, name + ".expected.csv"));
        var values = new double[lines.Length - 1];
        for (var i = 1; i < lines.Length; i++)
        {
            var parts = lines[i].Split(',');
            parts[0].ShouldBe(string.Create(CultureInfo.InvariantCulture, $"t{i - 1:D4}"));
            values[i - 1] = double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return values;
    }

    /// <summary>The largest |actual - expected|.</summary>
    public static double MaxError(double[] actual, double[] expected)
    {
        actual.Length.ShouldBe(expected.Length);
        var max = 0.0;
        for (var i = 0; i < actual.Length; i++)
        {
            max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        }

        return max;
    }
}
