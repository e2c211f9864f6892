using System.Diagnostics;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Evaluation;

/// <summary>One dataset's result under the ADBench protocol, averaged over seeds.</summary>
/// <param name="Dataset">Dataset name (file name without extension).</param>
/// <param name="Model">Detector kind.</param>
/// <param name="Seeds">Seeds run.</param>
/// <param name="Rows">Rows after subsampling.</param>
/// <param name="Features">Feature count.</param>
/// <param name="AucRoc">Mean test AUC-ROC.</param>
/// <param name="AucRocStd">Sample standard deviation of AUC-ROC over seeds (0 for one seed).</param>
/// <param name="AucPr">Mean test average precision.</param>
/// <param name="FitSeconds">Mean fit wall time.</param>
/// <param name="ScoreSeconds">Mean test scoring wall time.</param>
/// <param name="PublishedAucRoc">ADBench's published AUC-ROC for this dataset and model, when known.</param>
/// <remarks>A dataset the protocol could not run on has <see cref="Skipped"/> set and NaN metrics (see <see cref="AdBenchProtocol.RunFile"/>).</remarks>
public sealed record AdBenchResult(
    string Dataset,
    string Model,
    int Seeds,
    int Rows,
    int Features,
    double AucRoc,
    double AucRocStd,
    double AucPr,
    double FitSeconds,
    double ScoreSeconds,
    double? PublishedAucRoc)
{
    /// <summary>Why the dataset was skipped for this model (unreadable, cannot be split, ...), or null when it ran.</summary>
    public string? Skipped { get; init; }

    /// <summary>The result of a dataset skipped for <paramref name="reason"/>: no metrics (NaN), the reason kept.</summary>
    public static AdBenchResult SkippedDataset(string dataset, string model, int seeds, string reason) =>
        new(dataset, model, seeds, 0, 0, double.NaN, double.NaN, double.NaN, 0, 0, null) { Skipped = reason };
}

/// <summary>
/// The ADBench protocol (Han et al., NeurIPS 2022) on a labelled CSV whose last column is <c>label</c>:
/// for each seed s = 0..n-1, data over 10,000 rows is subsampled uniformly to 10,000 rows without replacement,
/// split 70/30 stratified by label, min-max scaled with the training part's range, and a detector is fit on the
/// training part and scored on the test part. Unsupervised detectors (<c>iforest</c>, <c>autoencoder</c>) never see
/// the labels; <c>lightgbm</c> is trained with the training part's labels, as ADBench's fully supervised setting.
/// </summary>
public static class AdBenchProtocol
{
    /// <summary>ADBench's subsampling limit.</summary>
    public const int MaxRows = 10_000;

    /// <summary>ADBench's training fraction.</summary>
    public const double TrainFraction = 0.7;

    private static readonly Dictionary<string, double> PublishedLightGbmAucRoc = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cardio"] = 0.9964,
        ["thyroid"] = 0.9993,
        ["satellite"] = 0.9741,
        ["shuttle"] = 1.0000,
        ["mammography"] = 0.9349,
    };

    private static readonly Dictionary<string, double> PublishedIForestAucRoc = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cardio"] = 0.9319,
        ["thyroid"] = 0.9830,
        ["satellite"] = 0.7043,
        ["shuttle"] = 0.9956,
        ["mammography"] = 0.8639,
    };

    /// <summary>
    /// The data files of <paramref name="folder"/> (.csv or .csv.gz) whose last column is named <c>label</c>, sorted by
    /// name, and those whose header cannot be read at all (so that <see cref="RunFile"/> reports them as skipped, with
    /// the reason, rather than leaving them out unseen).
    /// </summary>
    public static IReadOnlyList<string> FindDatasets(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{folder}: folder not found");
        }

        static bool Labelled(string file)
        {
            try
            {
                return CsvFile.InferSchema(file, new CsvReadOptions { InferenceRows = 1 }).Columns[^1].Name == "label";
            }
            catch (Exception e) when (IsDatasetError(e))
            {
                return true; // unreadable: reported as skipped by RunFile
            }
        }

        var files = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase))
            .Where(Labelled)
            .Order(StringComparer.Ordinal)
            .ToList();
        return files;
    }

    /// <summary>
    /// Runs the protocol on one file for each of <paramref name="models"/>, never throwing for the dataset's own
    /// problems: a file that cannot be read, or a model the dataset cannot be run with (a class with a single row left
    /// after subsampling cannot be split, one class only, ...), gives a result with <see cref="AdBenchResult.Skipped"/>
    /// set to the reason, so a batch over a folder finishes the other datasets.
    /// </summary>
    public static IReadOnlyList<AdBenchResult> RunFile(string path, IReadOnlyList<string> models, int seeds = 3)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        var dataset = DatasetName(path);
        Frame frame;
        try
        {
            frame = FrameFile.Read(path);
            if (!frame.Contains("label"))
            {
                throw new InvalidDataException($"{path}: no 'label' column");
            }
        }
        catch (Exception e) when (IsDatasetError(e))
        {
            return [.. models.Select(m => AdBenchResult.SkippedDataset(dataset, m, seeds, e.Message))];
        }

        var results = new List<AdBenchResult>(models.Count);
        foreach (var model in models)
        {
            try
            {
                results.Add(Run(frame, dataset, model, seeds));
            }
            catch (Exception e) when (IsDatasetError(e) && ModelBundle.KnownKinds.Contains(model, StringComparer.Ordinal))
            {
                results.Add(AdBenchResult.SkippedDataset(dataset, model, seeds, e.Message));
            }
        }

        return results;
    }

    /// <summary>An error that is the dataset's (unreadable, degenerate for the protocol), not a bug or a cancellation.</summary>
    private static bool IsDatasetError(Exception e) =>
        e is VigilException or ArgumentException or InvalidDataException or FormatException or IOException or UnauthorizedAccessException
            or InvalidOperationException;

    /// <summary>The dataset name of a file: its name without .csv/.csv.gz.</summary>
    public static string DatasetName(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var ext in new[] { ".csv.gz", ".csv" })
        {
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
            {
                return name[..^ext.Length];
            }
        }

        return name;
    }

    /// <summary>Runs the protocol with the isolation forest (ADBench/PyOD defaults: 100 trees, 256 samples) for seeds 0..<paramref name="seeds"/>-1.</summary>
    public static AdBenchResult RunIsolationForest(string path, int seeds = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        var frame = FrameFile.Read(path);
        return RunIsolationForest(frame, DatasetName(path), seeds);
    }

    /// <summary>Runs the protocol on an in-memory frame with a <c>label</c> column.</summary>
    public static AdBenchResult RunIsolationForest(Frame frame, string dataset, int seeds = 3) =>
        Run(frame, dataset, "iforest", seeds);

    /// <summary>Runs the protocol on a file with detector <paramref name="model"/> (<c>iforest</c>, <c>autoencoder</c> or <c>lightgbm</c>).</summary>
    public static AdBenchResult Run(string path, string model, int seeds = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        return Run(FrameFile.Read(path), DatasetName(path), model, seeds);
    }

    /// <summary>
    /// Runs the protocol on an in-memory frame with a <c>label</c> column and detector <paramref name="model"/>, with
    /// its default settings and the seed as its seed: isolation forest (100 trees, 256 samples), autoencoder,
    /// LightGBM (100 trees, 31 leaves, learning rate 0.1, trained with the training part's labels).
    /// </summary>
    public static AdBenchResult Run(Frame frame, string dataset, string model, int seeds = 3)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        if (!ModelBundle.KnownKinds.Contains(model, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown model '{model}'; known models: {string.Join(", ", ModelBundle.KnownKinds)}.", nameof(model));
        }

        var aucs = new double[seeds];
        var aps = new double[seeds];
        double fit = 0, score = 0;
        var rows = 0;
        var features = 0;
        for (var s = 0; s < seeds; s++)
        {
            var seed = (ulong)s;
            var data = Subsample(frame, MaxRows, seed);
            rows = data.RowCount;
            var labelsD = ((Float64Column)data["label"]).Values;
            SplitIndices split;
            try
            {
                split = Splits.StratifiedRandom(labelsD, TrainFraction, seed);
            }
            catch (ArgumentException e)
            {
                // Name the step: the subsample (of seed s) is what left a class too small.
                var detail = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
                throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"seed {s}: the 70/30 stratified split of {rows} rows{(frame.RowCount > MaxRows ? $" (subsampled from {frame.RowCount})" : "")} failed: {detail}"), e);
            }

            var train = data.Take(split.Train);
            var test = data.Take(split.Test);

            var sw = Stopwatch.StartNew();
            var bundle = ModelBundle.Train(train, new TrainSpec
            {
                Model = model,
                Label = "label",
                Forest = new IsolationForestOptions { Seed = seed },
                Autoencoder = new AutoencoderOptions { Seed = seed },
                Ensemble = new EnsembleOptions { Seed = seed },
                LightGbm = new LightGbmOptions { Seed = s, Threads = 1 },
            });
            fit += sw.Elapsed.TotalSeconds;
            features = bundle.Manifest.FeatureSchema.Count;

            sw.Restart();
            var scores = bundle.Score(test);
            score += sw.Elapsed.TotalSeconds;

            var labels = Labels.From(test, "label");
            aucs[s] = Metrics.AucRoc(scores, labels);
            aps[s] = Metrics.AveragePrecision(scores, labels);
        }

        var mean = aucs.Average();
        var std = seeds > 1 ? Math.Sqrt(aucs.Sum(a => (a - mean) * (a - mean)) / (seeds - 1)) : 0;
        var published = model switch
        {
            "iforest" => PublishedIForestAucRoc,
            "lightgbm" => PublishedLightGbmAucRoc,
            _ => null,
        };
        return new AdBenchResult(dataset, model, seeds, rows, features, mean, std, aps.Average(), fit / seeds, score / seeds,
            published is not null && published.TryGetValue(dataset, out var p) ? p : null);
    }

    /// <summary>A uniform subsample of <paramref name="maxRows"/> rows without replacement (row order kept), or the frame itself when smaller.</summary>
    public static Frame Subsample(Frame frame, int maxRows, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.RowCount <= maxRows)
        {
            return frame;
        }

        var rng = new VigilRandom(seed ^ 0x5AD_BE4C4UL);
        var idx = new int[frame.RowCount];
        for (var i = 0; i < idx.Length; i++)
        {
            idx[i] = i;
        }

        for (var i = 0; i < maxRows; i++)
        {
            var j = i + rng.Next(idx.Length - i);
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }

        var chosen = idx[..maxRows];
        Array.Sort(chosen);
        return frame.Take(chosen);
    }
}
