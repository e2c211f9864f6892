using System.Buffers;
using System.Text;
using static Vigil.Detectors.ModelBinary;

namespace Vigil.Detectors;

/// <summary>
/// A fitted <c>ensemble</c>: an isolation forest and an autoencoder whose scores are each mapped to their rank among
/// the training rows' scores (a piecewise-linear empirical CDF over <see cref="ReferencePoints"/> quantiles, extended
/// smoothly beyond the training range so the most extreme rows keep their order) and averaged. Rank averaging needs no
/// labels and no common scale; it is robust when one member is weak on a data set (the other still ranks).
/// </summary>
public sealed class EnsembleModel : IDetectorModel
{
    /// <summary>The kind name stored in bundles.</summary>
    public const string DetectorKind = "ensemble";

    /// <summary>The number of quantiles of each member's training scores kept in the bundle.</summary>
    public const int ReferencePoints = 1025;

    private const int BinaryVersion = 1;
    private static readonly byte[] Magic = "VGLENSM1"u8.ToArray();

    private readonly double[] _forestReference;
    private readonly double[] _autoencoderReference;

    internal EnsembleModel(IsolationForestModel forest, AutoencoderModel autoencoder, double[] forestReference, double[] autoencoderReference, double threshold)
    {
        if (forest.FeatureCount != autoencoder.FeatureCount)
        {
            throw new InvalidDataException($"has members of different widths (forest {forest.FeatureCount} features, autoencoder {autoencoder.FeatureCount})");
        }

        Forest = forest;
        Autoencoder = autoencoder;
        _forestReference = forestReference;
        _autoencoderReference = autoencoderReference;
        Threshold = threshold;
    }

    /// <inheritdoc />
    public string Kind => DetectorKind;

    /// <inheritdoc />
    public int FeatureCount => Forest.FeatureCount;

    /// <inheritdoc />
    public double Threshold { get; }

    /// <summary>The isolation forest member.</summary>
    public IsolationForestModel Forest { get; }

    /// <summary>The autoencoder member.</summary>
    public AutoencoderModel Autoencoder { get; }

    /// <inheritdoc />
    public void Score(FeatureMatrix x, Span<double> scores)
    {
        ArgumentNullException.ThrowIfNull(x);
        RowBlocks.CheckShape(FeatureCount, x, scores.Length);
        var rows = x.Rows;
        var member = ArrayPool<double>.Shared.Rent(rows);
        try
        {
            var forest = member.AsSpan(0, rows);
            Forest.Score(x, forest);
            Autoencoder.Score(x, scores[..rows]);
            for (var i = 0; i < rows; i++)
            {
                scores[i] = 0.5 * (Rank(_forestReference, forest[i]) + Rank(_autoencoderReference, scores[i]));
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(member);
        }
    }

    /// <summary>
    /// The rank in [0, 1] of <paramref name="score"/> among the reference quantiles <paramref name="q"/> (sorted, at
    /// evenly spaced probabilities): linear between quantiles, the middle of a run of equal quantiles, and beyond the
    /// range <c>1 + log(1 + excess / spread)</c> (and its mirror below), where spread is the distance from the median to
    /// the end, so that rows more extreme than every training row keep their order.
    /// </summary>
    internal static double Rank(ReadOnlySpan<double> q, double score)
    {
        var last = q.Length - 1;
        if (double.IsNaN(score))
        {
            return 1.0;
        }

        if (score > q[last])
        {
            var spread = Math.Max(q[last] - q[last / 2], 1e-12);
            return 1.0 + Math.Log(1.0 + ((score - q[last]) / spread));
        }

        if (score < q[0])
        {
            var spread = Math.Max(q[last / 2] - q[0], 1e-12);
            return -Math.Log(1.0 + ((q[0] - score) / spread));
        }

        // first index with q[i] >= score, and first with q[i] > score
        int lo = 0, hi = last + 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (q[mid] < score)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        var lower = lo;
        hi = last + 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (q[mid] <= score)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        var upper = lo;
        if (upper > lower)
        {
            return 0.5 * (lower + upper - 1) / last; // equal to one or more quantiles
        }

        // q[lower - 1] < score < q[lower]
        var a = q[lower - 1];
        var b = q[lower];
        return (lower - 1 + ((score - a) / (b - a))) / last;
    }

    /// <summary><paramref name="count"/> quantiles (linear interpolation, numpy's default) of <paramref name="values"/> at evenly spaced probabilities.</summary>
    internal static double[] Quantiles(double[] values, int count)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var q = new double[count];
        for (var i = 0; i < count; i++)
        {
            var pos = (double)i / (count - 1) * (sorted.Length - 1);
            var lo = (int)Math.Floor(pos);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            q[i] = sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
        }

        return q;
    }

    internal EnsembleModel WithThreshold(double threshold) => new(Forest, Autoencoder, _forestReference, _autoencoderReference, threshold);

    /// <summary>The ensemble's own file: header, threshold, then both members' reference quantiles (the members' weights are their own files).</summary>
    internal byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(BinaryVersion);
            w.Write(Threshold);
            w.Write(_forestReference.Length);
            foreach (var v in _forestReference)
            {
                w.Write(v);
            }

            foreach (var v in _autoencoderReference)
            {
                w.Write(v);
            }
        }

        return stream.ToArray();
    }

    internal static EnsembleModel Read(ReadOnlySpan<byte> bytes, IsolationForestModel forest, AutoencoderModel autoencoder)
    {
        var p = ReadHeader(bytes, Magic, "ensemble", BinaryVersion);
        var threshold = ReadDouble(bytes, ref p, "threshold");
        var count = ReadInt(bytes, ref p, "reference size");
        if (count < 2 || count > 1 << 20)
        {
            throw new InvalidDataException($"declares {count} reference quantiles; expected 2 to {1 << 20}");
        }

        Need(bytes, p, 16 * count, "reference quantiles");
        var forestReference = new double[count];
        var autoencoderReference = new double[count];
        for (var i = 0; i < count; i++)
        {
            forestReference[i] = ReadDouble(bytes, ref p, "forest reference");
        }

        for (var i = 0; i < count; i++)
        {
            autoencoderReference[i] = ReadDouble(bytes, ref p, "autoencoder reference");
        }

        if (p != bytes.Length)
        {
            throw new InvalidDataException($"has {bytes.Length - p} bytes after the reference quantiles");
        }

        CheckSorted(forestReference, "forest");
        CheckSorted(autoencoderReference, "autoencoder");
        return new EnsembleModel(forest, autoencoder, forestReference, autoencoderReference, threshold);
    }

    private static void CheckSorted(double[] q, string member)
    {
        for (var i = 1; i < q.Length; i++)
        {
            if (!(q[i] >= q[i - 1]))
            {
                throw new InvalidDataException($"has {member} reference quantiles out of order at {i}");
            }
        }
    }
}
