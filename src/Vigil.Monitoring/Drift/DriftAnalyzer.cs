using Vigil.Data;
using Vigil.Monitoring.Statistics;

namespace Vigil.Monitoring;

/// <summary>
/// Compares a current dataset with a reference one column by column with Evidently's statistics and decides dataset
/// drift. Missing values (NaN, ±Inf, empty) are left out of every statistic and reported as their own share.
/// Columns run in parallel; each numeric column is sorted once and every statistic reads the sorted arrays.
/// </summary>
public static class DriftAnalyzer
{
    /// <summary>Compares <paramref name="current"/> with <paramref name="reference"/>.</summary>
    public static DriftReport Compare(Frame reference, Frame current, DriftOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        options ??= new DriftOptions();
        if (options.DriftShare is <= 0 or > 1 || double.IsNaN(options.DriftShare))
        {
            throw new DriftException($"drift share must be in (0, 1], got {options.DriftShare}");
        }

        var columns = ResolveColumns(reference, current, options);
        var categorical = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in options.Categorical)
        {
            categorical.Add(Resolve(reference, name, "reference"));
        }

        var fixedTest = string.IsNullOrEmpty(options.StatTest) || options.StatTest.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? null
            : StatTestCatalog.Get(options.StatTest);
        if (options.Threshold is { } th && (double.IsNaN(th) || th < 0))
        {
            throw new DriftException($"threshold must be a non-negative number, got {th}");
        }

        var results = new FeatureDrift[columns.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount };
        Parallel.For(0, columns.Count, parallel, i =>
        {
            var name = columns[i];
            var sample = BuildSample(reference[name], current[name], categorical.Contains(name));
            try
            {
                results[i] = Evaluate(name, sample, fixedTest, options.Threshold);
            }
            finally
            {
                // The next column reuses the sorted arrays' memory.
                sample.ReturnPooledArrays();
            }
        });

        return Summarize(results, options, null);
    }

    /// <summary>
    /// Compares the model's scores on the current rows with its scores on the reference rows (Evidently's default
    /// statistic for a numerical column of that size) and the alert rates at <paramref name="threshold"/> (alert: score
    /// strictly above it, as the server decides).
    /// </summary>
    public static PredictionDrift ComparePredictions(double[] referenceScores, double[] currentScores, double threshold)
    {
        ArgumentNullException.ThrowIfNull(referenceScores);
        ArgumentNullException.ThrowIfNull(currentScores);
        var refAlerts = AlertRate(referenceScores, threshold);
        var curAlerts = AlertRate(currentScores, threshold);
        var r = FiniteCopy(referenceScores);
        var c = FiniteCopy(currentScores);
        var drift = Evaluate("prediction", DriftSample.Numerical(r, referenceScores.Length - r.Length, c, currentScores.Length - c.Length), null, null);
        return new PredictionDrift(drift.StatTest, drift.Score, drift.Threshold, drift.Drift, threshold, refAlerts, curAlerts, r.Length, c.Length);

        static double AlertRate(double[] scores, double threshold)
        {
            long n = 0, alerts = 0;
            foreach (var s in scores)
            {
                if (!double.IsNaN(s))
                {
                    n++;
                    if (s > threshold)
                    {
                        alerts++;
                    }
                }
            }

            return n == 0 ? double.NaN : (double)alerts / n;
        }

        static double[] FiniteCopy(double[] scores)
        {
            var n = 0;
            foreach (var s in scores)
            {
                if (double.IsFinite(s))
                {
                    n++;
                }
            }

            var result = new double[n];
            var k = 0;
            foreach (var s in scores)
            {
                if (double.IsFinite(s))
                {
                    result[k++] = s;
                }
            }

            return result;
        }
    }

    /// <summary>
    /// Reference and current shares of each column of <paramref name="report"/> for charts: numbers over 20 equal-width
    /// bins of the reference's range (plus below and above it), categories over the reference's top 20 and "other".
    /// </summary>
    public static IReadOnlyList<HistogramPair> Histograms(Frame reference, Frame current, DriftReport report)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(report);
        var result = new HistogramPair[report.Features.Count];
        Parallel.For(0, result.Length, i =>
        {
            var f = report.Features[i];
            result[i] = FeatureBins.FromColumns(reference[f.Name], current[f.Name], f.Type == "cat").ToHistogram();
        });
        return result;
    }

    /// <summary>Applies the correction, counts the drifted columns and decides dataset drift.</summary>
    internal static DriftReport Summarize(FeatureDrift[] results, DriftOptions options, PredictionDrift? prediction)
    {
        ApplyCorrection(results, options.Correction);
        var drifted = 0;
        foreach (var f in results)
        {
            if (f.Drift)
            {
                drifted++;
            }
        }

        var share = results.Length == 0 ? 0 : drifted / (double)results.Length;
        return new DriftReport(results.Length > 0 && share >= options.DriftShare, share, options.DriftShare, results, prediction);
    }

    /// <summary>Scores one prepared sample with <paramref name="test"/> (null = Evidently's default for it).</summary>
    public static FeatureDrift Evaluate(string name, DriftSample sample, StatTest? test, double? threshold)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var type = sample.Type == DriftColumnType.Numerical ? "num" : "cat";
        if (test is not null && !test.AppliesTo(sample.Type))
        {
            throw new DriftException($"column '{name}' is {(sample.Type == DriftColumnType.Numerical ? "numerical" : "categorical")}; " +
                $"stattest '{test.Name}' applies only to {(test.AppliesToNumerical ? "numerical" : "categorical")} columns");
        }

        // Evidently's default may pick a count test (chi-squared, Z) for a numerical column with few values.
        var chosen = test ?? (sample.ReferenceCount > 0 && sample.CurrentCount > 0 ? StatTestCatalog.Default(sample) : null);
        chosen ??= sample.Type == DriftColumnType.Numerical ? StatTestCatalog.Wasserstein : StatTestCatalog.JensenShannon;
        var t = threshold ?? chosen.DefaultThreshold;
        double score;
        try
        {
            score = sample.ReferenceCount > 0 && sample.CurrentCount > 0 ? chosen.Compute(sample) : double.NaN;
        }
        catch (DriftException e)
        {
            throw new DriftException($"column '{name}': {e.Message}");
        }

        var drift = !double.IsNaN(score) && chosen.IsDrift(score, t);
        return new FeatureDrift(name, type, chosen.Name, score, t, drift, sample.ReferenceMissingShare, sample.CurrentMissingShare, chosen.ScoreKind);
    }

    /// <summary>Builds the sample of one column pair: numerical unless <paramref name="asCategorical"/> or the column holds text.</summary>
    public static DriftSample BuildSample(Column reference, Column current, bool asCategorical)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        var numericRef = IsNumeric(reference);
        var numericCur = IsNumeric(current);
        if (reference.Kind == ColumnKind.Timestamp || current.Kind == ColumnKind.Timestamp)
        {
            throw new DriftException($"column '{reference.Name}' holds timestamps; drift statistics take numbers or categories");
        }

        if (numericRef != numericCur)
        {
            throw new DriftException($"column '{reference.Name}' is {(numericRef ? "numeric" : "text")} in the reference but {(numericCur ? "numeric" : "text")} in the current data");
        }

        if (numericRef && !asCategorical)
        {
            if (reference is Float64Column r64 && current is Float64Column c64)
            {
                // The usual case: copy, drop the missing values and sort in one go, into pooled arrays.
                var r = RadixSort.RentSortedFinite(r64.Values, out var rn, out var rm);
                var c = RadixSort.RentSortedFinite(c64.Values, out var cn, out var cm);
                return DriftSample.FromSorted(r, rn, rm, c, cn, cm, pooled: true);
            }

            var (rf, rfm) = FiniteValues(reference);
            var (cf, cfm) = FiniteValues(current);
            return DriftSample.Numerical(rf, rfm, cf, cfm);
        }

        return numericRef ? NumericAsCategorical(reference, current) : TextAsCategorical(reference, current);
    }

    private static bool IsNumeric(Column c) => c.Kind is ColumnKind.Float64 or ColumnKind.Float32;

    private static (double[] Values, int Missing) FiniteValues(Column column)
    {
        if (column is Float64Column f64)
        {
            var src = f64.Values;
            var n = 0;
            for (var i = 0; i < src.Length; i++)
            {
                if (double.IsFinite(src[i]))
                {
                    n++;
                }
            }

            var result = new double[n];
            var k = 0;
            for (var i = 0; i < src.Length; i++)
            {
                if (double.IsFinite(src[i]))
                {
                    result[k++] = src[i];
                }
            }

            return (result, src.Length - n);
        }

        var f32 = ((Float32Column)column).Values;
        var list = new double[f32.Length];
        var m = 0;
        for (var i = 0; i < f32.Length; i++)
        {
            if (float.IsFinite(f32[i]))
            {
                list[m++] = f32[i];
            }
        }

        Array.Resize(ref list, m);
        return (list, f32.Length - m);
    }

    private static DriftSample NumericAsCategorical(Column reference, Column current)
    {
        var (r, _) = FiniteValues(reference);
        var (c, _) = FiniteValues(current);
        var all = new double[r.Length + c.Length];
        r.CopyTo(all, 0);
        c.CopyTo(all, r.Length);
        Array.Sort(all);
        var distinct = new List<double>();
        for (var i = 0; i < all.Length; i++)
        {
            if (i == 0 || all[i] != all[i - 1])
            {
                distinct.Add(all[i]);
            }
        }

        var index = new Dictionary<double, int>(distinct.Count);
        var names = new string[distinct.Count];
        for (var i = 0; i < distinct.Count; i++)
        {
            index[distinct[i]] = i;
            names[i] = distinct[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }

        return DriftSample.Categorical(names, Codes(reference, index), Codes(current, index));

        static int[] Codes(Column column, Dictionary<double, int> index)
        {
            var codes = new int[column.Length];
            for (var i = 0; i < codes.Length; i++)
            {
                var v = column.GetDouble(i);
                codes[i] = double.IsFinite(v) ? index[v] : -1;
            }

            return codes;
        }
    }

    private static DriftSample TextAsCategorical(Column reference, Column current)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        AddValues(reference, set);
        AddValues(current, set);
        var names = new string[set.Count];
        set.CopyTo(names);
        var index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            index[names[i]] = i;
        }

        return DriftSample.Categorical(names, Codes(reference, index), Codes(current, index));

        static void AddValues(Column column, SortedSet<string> set)
        {
            if (column is CategoricalColumn cat)
            {
                foreach (var v in cat.Dictionary)
                {
                    set.Add(v);
                }

                return;
            }

            var s = ((StringColumn)column).Values;
            for (var i = 0; i < s.Length; i++)
            {
                if (s[i] is { } v)
                {
                    set.Add(v);
                }
            }
        }

        static int[] Codes(Column column, Dictionary<string, int> index)
        {
            var codes = new int[column.Length];
            if (column is CategoricalColumn cat)
            {
                var map = new int[cat.Dictionary.Count];
                for (var i = 0; i < map.Length; i++)
                {
                    map[i] = index[cat.Dictionary[i]];
                }

                var src = cat.Codes;
                for (var i = 0; i < codes.Length; i++)
                {
                    codes[i] = src[i] < 0 ? -1 : map[src[i]];
                }

                return codes;
            }

            var s = ((StringColumn)column).Values;
            for (var i = 0; i < codes.Length; i++)
            {
                codes[i] = s[i] is { } v ? index[v] : -1;
            }

            return codes;
        }
    }

    private static List<string> ResolveColumns(Frame reference, Frame current, DriftOptions options)
    {
        var result = new List<string>();
        if (options.Columns is { Count: > 0 } asked)
        {
            foreach (var name in asked)
            {
                var resolved = Resolve(reference, name, "reference");
                if (!current.Contains(resolved))
                {
                    throw new DriftException($"column '{resolved}' is in the reference but not in the current data");
                }

                if (!result.Contains(resolved))
                {
                    result.Add(resolved);
                }
            }

            return result;
        }

        foreach (var c in reference.Columns)
        {
            if (c.Kind == ColumnKind.Timestamp)
            {
                continue;
            }

            if (!current.Contains(c.Name))
            {
                throw new DriftException($"column '{c.Name}' is in the reference but not in the current data; pass --columns to compare a subset");
            }

            result.Add(c.Name);
        }

        return result;
    }

    private static string Resolve(Frame frame, string name, string side)
    {
        if (frame.Contains(name))
        {
            return name;
        }

        foreach (var c in frame.Columns)
        {
            if (c.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return c.Name;
            }
        }

        var names = new List<string>();
        foreach (var c in frame.Columns)
        {
            names.Add(c.Name);
        }

        throw new DriftException($"unknown column '{name}' in the {side} data; columns are: {string.Join(", ", names)}");
    }

    private static void ApplyCorrection(FeatureDrift[] results, MultipleTestingCorrection correction)
    {
        if (correction == MultipleTestingCorrection.None)
        {
            return;
        }

        var pIndexes = new List<int>();
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].ScoreKind == StatScoreKind.PValue && !double.IsNaN(results[i].Score))
            {
                pIndexes.Add(i);
            }
        }

        var m = pIndexes.Count;
        if (m == 0)
        {
            return;
        }

        if (correction == MultipleTestingCorrection.Bonferroni)
        {
            foreach (var i in pIndexes)
            {
                var f = results[i];
                var t = f.Threshold / m;
                results[i] = f with { Threshold = t, Drift = StatTestCatalog.Get(f.StatTest).IsDrift(f.Score, t) };
            }

            return;
        }

        pIndexes.Sort((a, b) => results[a].Score.CompareTo(results[b].Score));
        var k = 0;
        for (var rank = 1; rank <= m; rank++)
        {
            var f = results[pIndexes[rank - 1]];
            if (f.Score <= rank * f.Threshold / m)
            {
                k = rank;
            }
        }

        for (var rank = 1; rank <= m; rank++)
        {
            var i = pIndexes[rank - 1];
            var f = results[i];
            results[i] = f with { Threshold = Math.Max(k, 1) * f.Threshold / m, Drift = rank <= k };
        }
    }
}
