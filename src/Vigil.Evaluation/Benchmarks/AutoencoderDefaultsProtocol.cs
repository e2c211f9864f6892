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
/// Each candidate is fitted on the 80%; the 20% gets synthetic anomalies added, as many as 10% of its rows (at least
/// 10), a third of each type: <b>local</b> (a fitting row plus Gaussian noise of half each feature's standard
/// deviation), <b>dependency</b> (every feature taken from a different random fitting row, so the marginals hold and
/// the relationships break) and <b>global</b> (uniform within the fitting rows' range widened by 10% on each side).
/// The candidate's score is the AUC-PR of telling the synthetic rows from the held-out ones (whose own unknown
/// anomalies count as normal: the protocol has no labels). The defaults are the candidate with the best mean over
/// the datasets.
/// </summary>
public static class AutoencoderDefaultsProtocol
{
    /// <summary>Share of the training part the candidates are fitted on; the rest is the validation part.</summary>
    public const double FitFraction = 0.8;

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
        var fit = train.Take(inner.Train);
        var held = train.Take(inner.Test);
        var synthetic = Math.Max(10, held.RowCount / 10);
        var rng = new VigilRandom(seed + 2000);
        var d = fit.Columns.Count;
        var n = fit.RowCount;
        var columns = new List<Column>(d);
        var values = new double[d][];
        for (var f = 0; f < d; f++)
        {
            var v = new double[held.RowCount + synthetic];
            ((Float64Column)held.Columns[f]).Values.CopyTo(v);
            values[f] = v;
        }

        var std = new double[d];
        var min = new double[d];
        var max = new double[d];
        for (var f = 0; f < d; f++)
        {
            var col = ((Float64Column)fit.Columns[f]).Values;
            double sum = 0, squares = 0, lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (var x in col)
            {
                sum += x;
                squares += x * x;
                lo = Math.Min(lo, x);
                hi = Math.Max(hi, x);
            }

            var mean = sum / n;
            std[f] = Math.Sqrt(Math.Max(0, (squares / n) - (mean * mean)));
            min[f] = lo;
            max[f] = hi;
        }

        for (var i = 0; i < synthetic; i++)
        {
            var row = held.RowCount + i;
            var type = i % 3;
            var source = rng.Next(n);
            for (var f = 0; f < d; f++)
            {
                var fitColumn = ((Float64Column)fit.Columns[f]).Values;
                values[f][row] = type switch
                {
                    0 => fitColumn[source] + (0.5 * std[f] * rng.NextGaussian()),
                    1 => fitColumn[rng.Next(n)],
                    _ => rng.NextDouble(min[f] - (0.1 * (max[f] - min[f])), max[f] + (0.1 * (max[f] - min[f]))),
                };
            }
        }

        for (var f = 0; f < d; f++)
        {
            columns.Add(new Float64Column(fit.Columns[f].Name, values[f]));
        }

        var labels = new int[held.RowCount + synthetic];
        labels.AsSpan(held.RowCount).Fill(1);
        return (fit, new Frame(columns), labels);
    }
}
