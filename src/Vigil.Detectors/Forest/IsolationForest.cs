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
        var model = Grow(x.Rows, x.Columns, rows => x.Take(rows));
        if (Options.Contamination is not { } contamination)
        {
            return model;
        }

        var scores = model.Score(x);
        return model.WithThreshold(ThresholdForContamination(scores, contamination));
    }

    /// <summary>
    /// Fits on the training rows' features, of which only the rows the trees sample are transformed; with a
    /// contamination every row is scored for the threshold, so every row is transformed. The same forest as
    /// <see cref="Fit(FeatureMatrix)"/> on the whole matrix.
    /// </summary>
    internal IsolationForestModel Fit(TrainingFeatures features)
    {
        if (Options.Contamination is not null || features.Rows < 1 || features.Columns < 1)
        {
            return Fit(features.All);
        }

        // The transform has refused every value that is not finite.
        return Grow(features.Rows, features.Columns, features.Take);
    }

    /// <summary>
    /// Grows the trees on <paramref name="n"/> rows of <paramref name="d"/> features: each tree draws its features and
    /// rows first, then <paramref name="take"/> gives the features of every drawn row at once (the rows ascending and
    /// distinct; row i of its matrix is the i-th of them), and each tree is built on its rows' places in it. The
    /// generator of each tree draws in the same order as when trees were built straight from the whole matrix.
    /// </summary>
    private IsolationForestModel Grow(int n, int d, Func<int[], FeatureMatrix> take)
    {
        var maxSamples = Options.MaxSamples.Resolve(n);
        var maxFeatures = Options.ResolveMaxFeatures(d);
        var depthLimit = PathLength.DepthLimit(maxSamples);
        var count = Options.Estimators;
        var draws = new (VigilRandom Rng, int[] Features, int[] Rows)[count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism ?? -1 };
        Parallel.For(0, count, parallel, t =>
        {
            var rng = VigilRandom.ForStream(Options.Seed, (ulong)t);
            var features = DrawFeatures(rng, d, maxFeatures);
            var rows = Options.Bootstrap ? DrawWithReplacement(rng, n, maxSamples) : DrawWithoutReplacement(rng, n, maxSamples);
            draws[t] = (rng, features, rows);
        });

        var drawn = SortedDistinct(draws.SelectMany(draw => draw.Rows).ToArray());
        var x = take(drawn);
        var trees = new IsolationTree[count];
        Parallel.For(0, count, parallel, t =>
        {
            var (rng, features, rows) = draws[t];
            // Both ascending: one walk along the drawn rows finds each row's place.
            var places = new int[rows.Length];
            var place = 0;
            for (var i = 0; i < rows.Length; i++)
            {
                while (drawn[place] != rows[i])
                {
                    place++;
                }

                places[i] = place;
            }

            trees[t] = TreeBuilder.Build(x, places, features, depthLimit, rng);
        });

        return new IsolationForestModel(d, maxSamples, trees, threshold: 0.5, Options.MaxDegreeOfParallelism);
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

        return SortedDistinct(drawn);
    }

    /// <summary><paramref name="values"/> ascending, each once (sorts the array in place).</summary>
    private static int[] SortedDistinct(int[] values)
    {
        Array.Sort(values);
        var unique = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (i == 0 || values[i] != values[unique - 1])
            {
                values[unique++] = values[i];
            }
        }

        return values[..unique];
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
