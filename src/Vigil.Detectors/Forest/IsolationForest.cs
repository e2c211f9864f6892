using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// Isolation forest (Liu, Ting and Zhou 2008) with scikit-learn's <c>IsolationForest</c> semantics:
/// same options, sampling, depth limit, split rule, path-length normalisation and threshold. Only the
/// random stream differs (Xoshiro256** instead of numpy's), so forests agree in distribution, not bit
/// for bit. Trees are built in parallel; each tree has its own generator derived from
/// <see cref="IsolationForestOptions.Seed"/> and its index, so the result never depends on the thread count.
/// </summary>
public sealed class IsolationForest
{
    /// <summary>Creates a trainer; the options are validated immediately.</summary>
    public IsolationForest(IsolationForestOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The training options.</summary>
    public IsolationForestOptions Options { get; }

    /// <summary>
    /// Fits a forest on every row of <paramref name="x"/>. Values must be finite (scikit-learn rejects
    /// NaN and infinity too); a <see cref="FeatureTransform"/> imputes missing values beforehand.
    /// </summary>
    public IsolationForestModel Fit(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rows < 1 || x.Columns < 1)
        {
            throw new ArgumentException($"Cannot fit an isolation forest on {x.Rows} rows x {x.Columns} columns.", nameof(x));
        }

        IsolationForestModel.EnsureFinite(x, "training");
        var n = x.Rows;
        var d = x.Columns;
        var maxSamples = Options.MaxSamples.Resolve(n);
        var maxFeatures = Options.ResolveMaxFeatures(d);
        var depthLimit = PathLength.DepthLimit(maxSamples);
        var trees = new IsolationTree[Options.Estimators];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism ?? -1 };
        Parallel.For(0, trees.Length, parallel, t =>
        {
            var rng = VigilRandom.ForStream(Options.Seed, (ulong)t);
            var features = DrawFeatures(rng, d, maxFeatures);
            var rows = Options.Bootstrap ? DrawWithReplacement(rng, n, maxSamples) : DrawWithoutReplacement(rng, n, maxSamples);
            trees[t] = TreeBuilder.Build(x, rows, features, depthLimit, rng);
        });

        var model = new IsolationForestModel(d, maxSamples, trees, threshold: 0.5, Options.MaxDegreeOfParallelism);
        if (Options.Contamination is not { } contamination)
        {
            return model;
        }

        var scores = model.Score(x);
        return model.WithThreshold(ThresholdForContamination(scores, contamination));
    }

    /// <summary>
    /// The threshold that flags a share <paramref name="contamination"/> of <paramref name="trainingScores"/>:
    /// scikit-learn's <c>-np.percentile(score_samples(X), 100 * contamination)</c> (linear interpolation,
    /// numpy's <c>_lerp</c>), where <c>score_samples = -score</c>.
    /// </summary>
    internal static double ThresholdForContamination(ReadOnlySpan<double> trainingScores, double contamination)
    {
        var values = new double[trainingScores.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = -trainingScores[i];
        }

        Array.Sort(values);
        var q = 100.0 * contamination / 100.0;
        var virtualIndex = (values.Length - 1) * q;
        var previous = (int)Math.Floor(virtualIndex);
        var next = Math.Min(previous + 1, values.Length - 1);
        var gamma = virtualIndex - previous;
        var a = values[previous];
        var b = values[next];
        var diff = b - a;
        var offset = gamma >= 0.5 ? b - (diff * (1 - gamma)) : a + (diff * gamma);
        return -offset;
    }

    private static int[] DrawFeatures(VigilRandom rng, int d, int count)
    {
        var all = new int[d];
        for (var i = 0; i < d; i++)
        {
            all[i] = i;
        }

        if (count == d)
        {
            return all;
        }

        for (var i = 0; i < count; i++)
        {
            var j = i + rng.Next(d - i);
            (all[i], all[j]) = (all[j], all[i]);
        }

        return all[..count];
    }

    /// <summary>Distinct rows, sorted. scikit-learn fits bootstrap trees with sample weights, so a row drawn twice is one sample.</summary>
    private static int[] DrawWithReplacement(VigilRandom rng, int n, int count)
    {
        var drawn = new int[count];
        for (var i = 0; i < count; i++)
        {
            drawn[i] = rng.Next(n);
        }

        Array.Sort(drawn);
        var unique = 0;
        for (var i = 0; i < drawn.Length; i++)
        {
            if (i == 0 || drawn[i] != drawn[unique - 1])
            {
                drawn[unique++] = drawn[i];
            }
        }

        return drawn[..unique];
    }

    private static int[] DrawWithoutReplacement(VigilRandom rng, int n, int count)
    {
        int[] rows;
        if (count == n)
        {
            rows = new int[n];
            for (var i = 0; i < n; i++)
            {
                rows[i] = i;
            }

            return rows;
        }

        if ((long)count * 4 < n)
        {
            // Floyd's algorithm: count distinct values in O(count) memory.
            var chosen = new HashSet<int>(count);
            for (var j = n - count; j < n; j++)
            {
                var t = rng.Next(j + 1);
                if (!chosen.Add(t))
                {
                    chosen.Add(j);
                }
            }

            rows = [.. chosen];
        }
        else
        {
            var all = new int[n];
            for (var i = 0; i < n; i++)
            {
                all[i] = i;
            }

            for (var i = 0; i < count; i++)
            {
                var j = i + rng.Next(n - i);
                (all[i], all[j]) = (all[j], all[i]);
            }

            rows = all[..count];
        }

        Array.Sort(rows);
        return rows;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"IsolationForest(estimators={Options.Estimators}, maxSamples={Options.MaxSamples}, maxFeatures={Options.MaxFeatures}, bootstrap={Options.Bootstrap}, seed={Options.Seed})");
}
