using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Vigil.Evaluation;

/// <summary>Argument validation shared by the metrics; the throwing paths stay out of the loops.</summary>
internal static class MetricInput
{
    public static void CheckLengths(int scores, int labels)
    {
        if (scores != labels)
        {
            throw new ArgumentException($"There are {scores} scores but {labels} labels; they must pair up row by row.", "labels");
        }

        if (scores == 0)
        {
            throw new ArgumentException("Metrics need at least one row; the scores and labels are empty.", "scores");
        }
    }

    public static byte[] ToBytes(ReadOnlySpan<int> labels)
    {
        var result = new byte[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var v = labels[i];
            if ((uint)v > 1)
            {
                ThrowBadLabel(i, v.ToString(CultureInfo.InvariantCulture));
            }

            result[i] = (byte)v;
        }

        return result;
    }

    public static byte[] ToBytes(ReadOnlySpan<double> labels)
    {
        var result = new byte[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var v = labels[i];
            if (v == 1.0)
            {
                result[i] = 1;
            }
            else if (v != 0.0)
            {
                ThrowBadLabel(i, v.ToString("R", CultureInfo.InvariantCulture));
            }
        }

        return result;
    }

    public static void CheckScores(ReadOnlySpan<double> scores)
    {
        for (var i = 0; i < scores.Length; i++)
        {
            if (!double.IsFinite(scores[i]))
            {
                ThrowBadScore(i, scores[i]);
            }
        }
    }

    public static void CheckFpr(double maxFpr)
    {
        if (!(maxFpr >= 0.0 && maxFpr <= 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxFpr), maxFpr, "The false positive rate limit must be between 0 and 1.");
        }
    }

    [DoesNotReturn]
    public static void ThrowBadLabel(int index, string value) =>
        throw new ArgumentException($"Label at index {index} is {value}; labels must be 0 (normal) or 1 (fraud/anomaly).", "labels");

    [DoesNotReturn]
    public static void ThrowBadScore(int index, double value) =>
        throw new ArgumentException(
            $"Score at index {index} is {value.ToString(CultureInfo.InvariantCulture)}; scores must be finite numbers.", "scores");
}
