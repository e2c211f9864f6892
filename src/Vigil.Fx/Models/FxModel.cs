using System.Buffers;
using Vigil.Detectors;

namespace Vigil.Fx;

/// <summary>
/// The detector of an <c>fx</c> bundle: the rule tables, the thresholds and the clients served (<c>fx.json</c>) with
/// Vigil's multi-input autoencoder (<c>autoencoder.bin</c>, the autoencoder kind's own weight format). As an
/// <see cref="IDetectorModel"/> it scores the transformed features with the autoencoder, so generic bundle code
/// (profiles, <c>vigil models</c>) works on it; FX decisions go through <see cref="FxScorer"/>.
/// </summary>
public sealed class FxModel : IDetectorModel
{
    /// <summary>The detector kind stored in bundles.</summary>
    public const string DetectorKind = "fx";

    /// <summary>The detector kind of a bundle imported from Python artifacts (<c>vigil fx import</c>): the same tables with an ONNX autoencoder.</summary>
    public const string ImportedKind = "fx-onnx";

    private readonly double[] _groupThresholds;

    internal FxModel(FxTablesDocument document, AutoencoderModel autoencoder)
        : this(document, autoencoder.GroupNames, autoencoder.FeatureCount)
    {
        Autoencoder = autoencoder;
    }

    internal FxModel(FxTablesDocument document, FxOnnxAutoencoder onnx, int featureCount)
        : this(document, onnx.GroupNames, featureCount)
    {
        Onnx = onnx;
    }

    private FxModel(FxTablesDocument document, IReadOnlyList<string> groupNames, int featureCount)
    {
        Tables = new FxTables(document);
        GroupNames = groupNames;
        _featureCount = featureCount;
        _groupThresholds = new double[groupNames.Count];
        for (var g = 0; g < _groupThresholds.Length; g++)
        {
            var name = groupNames[g];
            var entry = Array.Find(document.Reconstruction, r => r.Group == name)
                ?? throw new InvalidDataException($"has no reconstruction threshold for the autoencoder's input group '{name}'");
            if (!(entry.Threshold >= 0))
            {
                throw new InvalidDataException($"has the reconstruction threshold {entry.Threshold} for '{name}'; it must be >= 0");
            }

            _groupThresholds[g] = entry.Threshold;
        }
    }

    private readonly int _featureCount;

    /// <inheritdoc />
    public string Kind => Onnx is null ? DetectorKind : ImportedKind;

    /// <inheritdoc />
    public int FeatureCount => _featureCount;

    /// <inheritdoc />
    public double Threshold => Autoencoder?.Threshold ?? 1.0;

    /// <summary>The autoencoder's input groups, in its order (the reconstruction thresholds follow it).</summary>
    public IReadOnlyList<string> GroupNames { get; }

    /// <summary>The clients (tenants) this model serves.</summary>
    public IReadOnlyList<string> Clients => Tables.Clients;

    /// <summary>Vigil's autoencoder over the one-hot categoricals and the min-max FaceValue and TDays; null in an imported (<c>fx-onnx</c>) bundle.</summary>
    public AutoencoderModel? Autoencoder { get; }

    /// <summary>The imported ONNX autoencoder, or null.</summary>
    internal FxOnnxAutoencoder? Onnx { get; }

    /// <summary>The system prompt of the optional LLM explanation stored in the bundle, or null.</summary>
    public string? ExplanationPrompt => Tables.Document.ExplanationPrompt;

    /// <summary>The quantiles the thresholds were fitted at.</summary>
    public FxQuantiles Quantiles => Tables.Document.Quantiles;

    /// <summary>The reconstruction-error threshold of each autoencoder input group, in <see cref="AutoencoderModel.GroupNames"/> order.</summary>
    public IReadOnlyList<double> GroupThresholds => _groupThresholds;

    /// <summary>How many (BUnit, Cpty, BuyCurr, SellCurr) keys the year-gap table holds.</summary>
    public int PairKeyCount => Tables.Document.YearGap.Length;

    /// <summary>How many (BUnit, Cpty, PrimaryCurr) FaceValue ranges were fitted.</summary>
    public int AmountRangeCount => Tables.Document.FaceValue.Length;

    internal FxTables Tables { get; }

    internal ReadOnlySpan<double> GroupThresholdSpan => _groupThresholds;

    /// <inheritdoc />
    /// <remarks>Vigil's autoencoder scores as its own kind; an imported one scores the largest group error over its threshold.</remarks>
    public void Score(FeatureMatrix x, Span<double> scores)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Autoencoder is not null)
        {
            Autoencoder.Score(x, scores);
            return;
        }

        var groups = GroupNames.Count;
        var errors = new double[x.Rows * groups];
        GroupErrors(x, errors);
        for (var r = 0; r < x.Rows; r++)
        {
            var worst = 0.0;
            for (var g = 0; g < groups; g++)
            {
                var t = _groupThresholds[g];
                var q = t > 0 ? errors[(r * groups) + g] / t : (errors[(r * groups) + g] > 0 ? double.PositiveInfinity : 0);
                worst = Math.Max(worst, q);
            }

            scores[r] = worst;
        }
    }

    /// <summary>The per-group reconstruction errors (rows × groups) of whichever autoencoder the model has.</summary>
    internal void GroupErrors(FeatureMatrix x, Span<double> errors)
    {
        if (Autoencoder is not null)
        {
            GroupErrors(Autoencoder, x, errors);
        }
        else
        {
            Onnx!.GroupErrors(x, errors);
        }
    }

    /// <summary>
    /// The unweighted mean squared (standardised) reconstruction error of every input group for every row of
    /// <paramref name="x"/>, row-major (<c>Rows × groups</c>), as <see cref="AutoencoderModel.GroupErrors"/> gives for
    /// one row, but from one batched reconstruction.
    /// </summary>
    internal static void GroupErrors(AutoencoderModel autoencoder, FeatureMatrix x, Span<double> errors)
    {
        var d = x.Columns;
        var groups = autoencoder.GroupNames.Count;
        var groupOf = autoencoder.FeatureGroups;
        var scale = autoencoder.InverseScale;
        var size = ArrayPool<int>.Shared.Rent(groups);
        try
        {
            size.AsSpan(0, groups).Clear();
            for (var f = 0; f < d; f++)
            {
                size[groupOf[f]]++;
            }

            var reconstruction = autoencoder.Reconstruct(x);
            for (var r = 0; r < x.Rows; r++)
            {
                var row = x.Row(r);
                var e = errors.Slice(r * groups, groups);
                e.Clear();
                for (var f = 0; f < d; f++)
                {
                    var diff = ((double)reconstruction[(r * d) + f] - row[f]) * scale[f];
                    e[groupOf[f]] += diff * diff;
                }

                for (var g = 0; g < groups; g++)
                {
                    e[g] = size[g] > 0 ? e[g] / size[g] : 0;
                }
            }

        }
        finally
        {
            ArrayPool<int>.Shared.Return(size);
        }
    }
}
