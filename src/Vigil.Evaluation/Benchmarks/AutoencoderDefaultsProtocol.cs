using System.Globalization;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Evaluation;

/// <summary>One autoencoder configuration tried by <see cref="AutoencoderDefaultsProtocol"/>.</summary>
/// <param name="Name">Short name, e.g. <c>trim0.45-default</c>.</param>
/// <param name="TrimFraction">The trimmed-loss share.</param>
/// <param name="Compact">True: hidden layers <c>[32, b, 32]</c>; false: the default <c>[64, 32, b, 32, 64]</c> (b = clamp(d/2, 2, 8)).</param>
public sealed record AutoencoderCandidate(string Name, double TrimFraction, bool Compact)
{
    /// <summary>The options of this candidate for <paramref name="features"/> inputs and <paramref name="seed"/>.</summary>
    public AutoencoderOptions Options(int features, ulong seed)
    {
        var b = Math.Clamp(features / 2, 2, 8);
        return new AutoencoderOptions { TrimFraction = TrimFraction, HiddenLayers = Compact ? [32, b, 32] : null, Seed = seed };
    }
}

/// <summary>The validation AUC-PR of one candidate on one dataset (mean over seeds).</summary>
public sealed record AutoencoderDefaultsResult(string Dataset, string Candidate, int Seeds, double ValidationAucPr)
{
    /// <summary>Why the dataset was skipped, or null.</summary>
    public string? Skipped { get; init; }
}

/// <summary>
/// Chooses the autoencoder's defaults without looking at test data or at any label. For each dataset and seed it takes
/// exactly the ADBench protocol's training part (the same subsample and 70/30 stratified split as
/// <see cref="AdBenchProtocol"/>; the 30% test part is never read), ignores its labels, and splits it 80/20 at random.
/// Synthetic anomalies of four types, a quarter each, are added to both parts (5% of the 80%, which makes the unlabelled
/// fitting rows contaminated as real ones are; 10% of the 20%): <b>local</b> (a fitting row plus Gaussian noise of half
/// each feature's standard deviation), <b>dependency</b> (every feature from a different random fitting row: marginals
/// kept, relationships broken), <b>global</b> (uniform within the range widened by 10% on each side) and <b>cluster</b>
/// (around one of two centres shared by both parts, each a fitting row moved 2 to 4 standard deviations on half of the
/// features: anomalies that recur). Each candidate is fitted on the contaminated 80%; its score is the AUC-PR of telling
/// the synthetic rows of the 20% from the held-out ones (whose own unknown anomalies count as normal: the protocol has
/// no labels). The defaults are the candidate with the best mean over the datasets.
/// </summary>
public static class AutoencoderDefaultsProtocol
{
    /// <summary>Share of the training part the candidates are fitted on; the rest is the validation part.</summary>
    public const double FitFraction = 0.8;

    /// <summary>Synthetic anomalies added to the fitting rows, as a share of them (unlabelled training data is contaminated).</summary>
    public const double Contamination = 0.05;

    /// <summary>The candidates, in a fixed order: trim fraction 0, 0.1, 0.25, 0.45 × the default or a compact network.</summary>
    public static IReadOnlyList<AutoencoderCandidate> Candidates { get; } =
    [
        .. new[] { 0.0, 0.1, 0.25, 0.45 }.SelectMany(t => new[]
        {
            new AutoencoderCandidate(string.Create(CultureInfo.InvariantCulture, $"trim{t}-default"), t, false),
            new AutoencoderCandidate(string.Create(CultureInfo.InvariantCulture, $"trim{t}-compact"), t, true),
        }),
    ];

    /// <summary>Runs every candidate on one ADBench-format file (numeric features and a 0/1 <c>label</c>); a dataset that cannot be run is returned as skipped.</summary>
    public static IReadOnlyList<AutoencoderDefaultsResult> RunFile(string path, int seeds = 1, IProgress<string>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        var dataset = AdBenchProtocol.DatasetName(path);
        try
        {
            var frame = FrameFile.Read(path);
            var sums = new double[Candidates.Count];
            for (var s = 0; s < seeds; s++)
            {
                var seed = (ulong)s;
                var (fit, validation, isSynthetic) = ValidationSet(frame, seed);
                for (var c = 0; c < Candidates.Count; c++)
                {
                    progress?.Report($"{dataset} seed {s}: {Candidates[c].Name}");
                    var bundle = ModelBundle.Train(fit, new TrainSpec
                    {
                        Model = AutoencoderModel.DetectorKind,
                        Autoencoder = Candidates[c].Options(fit.Columns.Count, seed),
                    });
                    sums[c] += Metrics.AveragePrecision(bundle.Score(validation), isSynthetic);
                }
            }

            return [.. Candidates.Select((c, i) => new AutoencoderDefaultsResult(dataset, c.Name, seeds, sums[i] / seeds))];
        }
        catch (Exception e) when (e is VigilException or ArgumentException or InvalidDataException or IOException or InvalidOperationException)
        {
            return [.. Candidates.Select(c => new AutoencoderDefaultsResult(dataset, c.Name, seeds, double.NaN) { Skipped = e.Message })];
        }
    }

    /// <summary>
    /// The fitting rows (labels dropped) and the validation rows (held-out training rows followed by the synthetic
    /// anomalies, label 1 = synthetic) of one seed.
    /// </summary>
    public static (Frame Fit, Frame Validation, int[] IsSynthetic) ValidationSet(Frame frame, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var data = AdBenchProtocol.Subsample(frame, AdBenchProtocol.MaxRows, seed);
        var split = Splits.StratifiedRandom(((Float64Column)data["label"]).Values, AdBenchProtocol.TrainFraction, seed);
        var train = data.Take(split.Train).Drop("label");
        foreach (var column in train.Columns)
        {
            if (column is not Float64Column)
            {
                throw new InvalidDataException($"column '{column.Name}' is not numeric; the protocol takes numeric features only");
            }
        }

        var inner = Splits.Random(train.RowCount, FitFraction, seed + 1000);
        var clean = train.Take(inner.Train);
        var held = train.Take(inner.Test);
        var d = clean.Columns.Count;
        var n = clean.RowCount;
        var source = new double[d][];
        var std = new double[d];
        var mean = new double[d];
        var min = new double[d];
        var max = new double[d];
        for (var f = 0; f < d; f++)
        {
            source[f] = ((Float64Column)clean.Columns[f]).Values.ToArray();
            double sum = 0, squares = 0, lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (var x in source[f])
            {
                sum += x;
                squares += x * x;
                lo = Math.Min(lo, x);
                hi = Math.Max(hi, x);
            }

            mean[f] = sum / n;
            std[f] = Math.Sqrt(Math.Max(0, (squares / n) - (mean[f] * mean[f])));
            min[f] = lo;
            max[f] = hi;
        }

        // Two clusters of anomalies shared by the fitting and the validation rows (anomalies that recur, as fraud
        // patterns do): each a fitting row moved by 2 to 4 standard deviations on a random half of the features.
        var rng = new VigilRandom(seed + 2000);
        var centers = new double[2][];
        for (var c = 0; c < centers.Length; c++)
        {
            var row = rng.Next(n);
            centers[c] = new double[d];
            for (var f = 0; f < d; f++)
            {
                var shift = rng.NextBool(0.5) ? (rng.NextBool(0.5) ? 1 : -1) * rng.NextDouble(2, 4) * std[f] : 0;
                centers[c][f] = source[f][row] + shift;
            }
        }

        double[] Anomaly(int i)
        {
            var v = new double[d];
            var row = rng.Next(n);
            for (var f = 0; f < d; f++)
            {
                v[f] = (i % 4) switch
                {
                    0 => source[f][row] + (0.5 * std[f] * rng.NextGaussian()),
                    1 => source[f][rng.Next(n)],
                    2 => rng.NextDouble(min[f] - (0.1 * (max[f] - min[f])), max[f] + (0.1 * (max[f] - min[f]))),
                    _ => centers[i / 4 % 2][f] + (0.25 * std[f] * rng.NextGaussian()),
                };
            }

            return v;
        }

        Frame Append(Frame rows, int count)
        {
            var columns = new List<Column>(d);
            var values = new double[d][];
            for (var f = 0; f < d; f++)
            {
                values[f] = new double[rows.RowCount + count];
                ((Float64Column)rows.Columns[f]).Values.CopyTo(values[f]);
            }

            for (var i = 0; i < count; i++)
            {
                var v = Anomaly(i);
                for (var f = 0; f < d; f++)
                {
                    values[f][rows.RowCount + i] = v[f];
                }
            }

            for (var f = 0; f < d; f++)
            {
                columns.Add(new Float64Column(rows.Columns[f].Name, values[f]));
            }

            return new Frame(columns);
        }

        var fit = Append(clean, Math.Max(4, (int)Math.Round(Contamination * n)));
        var synthetic = Math.Max(12, held.RowCount / 10);
        var validation = Append(held, synthetic);
        var labels = new int[held.RowCount + synthetic];
        labels.AsSpan(held.RowCount).Fill(1);
        return (fit, validation, labels);
    }
}
