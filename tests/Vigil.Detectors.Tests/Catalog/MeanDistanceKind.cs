using System.Buffers.Binary;
using System.Globalization;

namespace Vigil.Detectors.Tests.Catalog;

/// <summary>
/// A test-only detector kind, defined outside Vigil.Detectors to prove that a kind is one descriptor plus one
/// <see cref="DetectorCatalog.Register"/> call: the score of a row is the root mean square of its per-feature z-scores
/// against the training mean and standard deviation; rows scoring above <c>cutoff</c> are anomalies.
/// (This file is also compiled into Vigil.Cli.Tests, which checks that the kind appears in <c>vigil train --help</c>.)
/// </summary>
internal sealed class MeanDistanceDescriptor : DetectorDescriptor
{
    public const string Kind = "meandistance";
    public const string WeightsFile = "meandistance.bin";

    public static readonly MeanDistanceDescriptor Instance = new();

    private static readonly TrainParameter[] Settings =
    [
        TrainParameter.Setting(Kind, "cutoff", "a number > 0", "3",
            v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 && double.IsFinite(d)),
    ];

    public override string Name => Kind;

    public override string Description => "test-only root-mean-square z-score against the training mean";

    public override IReadOnlyList<TrainParameter> Parameters => Settings;

    public override IReadOnlyList<string> WeightFiles { get; } = [WeightsFile];

    /// <summary>Registers the kind (idempotent: every test may call it).</summary>
    public static void Register() => DetectorCatalog.Register(Instance);

    public override IDetectorModel Fit(DetectorFitContext context)
    {
        var x = context.Features;
        var mean = new double[x.Columns];
        var std = new double[x.Columns];
        for (var c = 0; c < x.Columns; c++)
        {
            double sum = 0, sq = 0;
            for (var r = 0; r < x.Rows; r++)
            {
                sum += x[r, c];
            }

            mean[c] = sum / x.Rows;
            for (var r = 0; r < x.Rows; r++)
            {
                var d = x[r, c] - mean[c];
                sq += d * d;
            }

            std[c] = Math.Max(Math.Sqrt(sq / x.Rows), 1e-9);
        }

        var cutoff = double.Parse(Settings[0].Format(context.Spec), CultureInfo.InvariantCulture);
        context.Resolved["meanOfMeans"] = mean.Average().ToString("R", CultureInfo.InvariantCulture);
        return new MeanDistanceModel(mean, std, cutoff);
    }

    public override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => files[WeightsFile] = Expect<MeanDistanceModel>(detector).ToBytes();

    public override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => MeanDistanceModel.Read(files[WeightsFile]);

    public override IDetectorModel WithThreshold(IDetectorModel detector, double threshold)
    {
        var model = Expect<MeanDistanceModel>(detector);
        return new MeanDistanceModel(model.Mean, model.Std, threshold);
    }
}

/// <summary>The fitted test-only model: per-feature mean and standard deviation.</summary>
internal sealed class MeanDistanceModel(double[] mean, double[] std, double threshold) : IExplainableDetector
{
    public double[] Mean { get; } = mean;

    public double[] Std { get; } = std;

    public string Kind => MeanDistanceDescriptor.Kind;

    public int FeatureCount => Mean.Length;

    public double Threshold { get; } = threshold;

    public void Score(FeatureMatrix x, Span<double> scores)
    {
        for (var r = 0; r < x.Rows; r++)
        {
            var sum = 0.0;
            for (var c = 0; c < x.Columns; c++)
            {
                var z = (x[r, c] - Mean[c]) / Std[c];
                sum += z * z;
            }

            scores[r] = Math.Sqrt(sum / x.Columns);
        }
    }

    public void Contributions(ReadOnlySpan<float> row, Span<double> contributions)
    {
        for (var c = 0; c < row.Length; c++)
        {
            var z = (row[c] - Mean[c]) / Std[c];
            contributions[c] = z * z / row.Length;
        }
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[4 + (8 * ((2 * Mean.Length) + 1))];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, Mean.Length);
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(4), Threshold);
        for (var c = 0; c < Mean.Length; c++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(12 + (16 * c)), Mean[c]);
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(20 + (16 * c)), Std[c]);
        }

        return bytes;
    }

    public static MeanDistanceModel Read(ReadOnlySpan<byte> bytes)
    {
        var n = bytes.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : -1;
        if (n < 1 || bytes.Length != 4 + (8 * ((2 * n) + 1)))
        {
            throw new InvalidDataException("is not a meandistance weights file");
        }

        var mean = new double[n];
        var std = new double[n];
        for (var c = 0; c < n; c++)
        {
            mean[c] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(12 + (16 * c))..]);
            std[c] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(20 + (16 * c))..]);
        }

        return new MeanDistanceModel(mean, std, BinaryPrimitives.ReadDoubleLittleEndian(bytes[4..]));
    }
}
