namespace Vigil.Evaluation.Tests;

/// <summary>Deterministic synthetic scores and labels (SplitMix64), independent of System.Random.</summary>
internal static class TestData
{
    public static (double[] Scores, int[] Labels) Generate(int rows, double positiveRate, ulong seed, int decimals = -1)
    {
        var state = seed;
        var scores = new double[rows];
        var labels = new int[rows];
        for (var i = 0; i < rows; i++)
        {
            labels[i] = Uniform(ref state) < positiveRate ? 1 : 0;
            var s = Uniform(ref state) + (labels[i] * 0.5 * Uniform(ref state));
            scores[i] = decimals >= 0 ? Math.Round(s, decimals) : s;
        }

        // Both classes are needed by the ranking metrics.
        labels[0] = 1;
        labels[^1] = 0;
        return (scores, labels);
    }

    public static double Uniform(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>O(P * N) Mann–Whitney reference: P(score of a positive > score of a negative) + half the ties.</summary>
    public static double BruteForceAuc(double[] scores, int[] labels)
    {
        double wins = 0;
        long pairs = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (labels[i] != 1)
            {
                continue;
            }

            for (var j = 0; j < scores.Length; j++)
            {
                if (labels[j] != 0)
                {
                    continue;
                }

                pairs++;
                wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
            }
        }

        return wins / pairs;
    }
}
