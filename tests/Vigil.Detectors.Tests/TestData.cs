using Vigil.Data;

namespace Vigil.Detectors.Tests;

/// <summary>Deterministic synthetic data for the tests.</summary>
internal static class TestData
{
    /// <summary>Standard normal values from a seeded Xoshiro256** via Box-Muller.</summary>
    public static double[] Normal(ulong seed, int count)
    {
        var rng = new VigilRandom(seed);
        var values = new double[count];
        for (var i = 0; i < count; i += 2)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            var r = Math.Sqrt(-2.0 * Math.Log(u1));
            values[i] = r * Math.Cos(2 * Math.PI * u2);
            if (i + 1 < count)
            {
                values[i + 1] = r * Math.Sin(2 * Math.PI * u2);
            }
        }

        return values;
    }

    /// <summary>A row-major matrix of <paramref name="rows"/> x <paramref name="columns"/> standard normal values.</summary>
    public static FeatureMatrix Gaussian(ulong seed, int rows, int columns)
    {
        var values = Normal(seed, rows * columns);
        var data = new float[values.Length];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)values[i];
        }

        return new FeatureMatrix(data, rows, Names(columns));
    }

    public static string[] Names(int columns)
    {
        var names = new string[columns];
        for (var i = 0; i < columns; i++)
        {
            names[i] = $"f{i}";
        }

        return names;
    }

    /// <summary>2-D Gaussian inliers followed by <paramref name="outliers"/> points far away; labels 1 for outliers.</summary>
    public static (FeatureMatrix X, int[] Labels) GaussianWithOutliers(ulong seed, int inliers, int outliers)
    {
        var rows = inliers + outliers;
        var data = new float[rows * 2];
        var normal = Normal(seed, inliers * 2);
        for (var i = 0; i < inliers * 2; i++)
        {
            data[i] = (float)normal[i];
        }

        var rng = new VigilRandom(seed + 1);
        var labels = new int[rows];
        for (var k = 0; k < outliers; k++)
        {
            var angle = 2 * Math.PI * rng.NextDouble();
            var radius = 6 + (4 * rng.NextDouble());
            var row = inliers + k;
            data[row * 2] = (float)(radius * Math.Cos(angle));
            data[(row * 2) + 1] = (float)(radius * Math.Sin(angle));
            labels[row] = 1;
        }

        return (new FeatureMatrix(data, rows, ["x", "y"]), labels);
    }

    /// <summary>AUC-ROC by the rank formula (average ranks for ties).</summary>
    public static double AucRoc(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var s = scores.ToArray();
        Array.Sort(order, (a, b) => s[a].CompareTo(s[b]));
        var ranks = new double[s.Length];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && s[order[j + 1]] == s[order[i]])
            {
                j++;
            }

            var rank = ((i + j) / 2.0) + 1;
            for (var k = i; k <= j; k++)
            {
                ranks[order[k]] = rank;
            }

            i = j + 1;
        }

        double positives = 0, sum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] == 1)
            {
                positives++;
                sum += ranks[i];
            }
        }

        var negatives = labels.Length - positives;
        return (sum - (positives * (positives + 1) / 2)) / (positives * negatives);
    }

    /// <summary>A small mixed frame: two numeric features, a categorical, a timestamp, a string, label and id.</summary>
    public static Frame Transactions(ulong seed, int rows)
    {
        var normal = Normal(seed, rows * 2);
        var amount = new double[rows];
        var hour = new float[rows];
        var country = new string?[rows];
        var ts = new long[rows];
        var note = new string?[rows];
        var label = new double[rows];
        var id = new double[rows];
        string[] countries = ["FR", "DE", "US", "GB", "JP"];
        for (var i = 0; i < rows; i++)
        {
            amount[i] = 100 + (20 * normal[2 * i]);
            hour[i] = (float)(12 + (3 * normal[(2 * i) + 1]));
            country[i] = countries[i % countries.Length];
            ts[i] = 1_700_000_000_000_000L + (i * 1_000_000L);
            note[i] = "n" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            label[i] = i % 50 == 0 ? 1 : 0;
            id[i] = i;
        }

        return new Frame(
        [
            new Float64Column("amount", amount),
            new Float32Column("hour", hour),
            CategoricalColumn.FromValues("country", country),
            new TimestampColumn("ts", ts),
            new StringColumn("note", note),
            new Float64Column("label", label),
            new Float64Column("id", id),
        ]);
    }
}
