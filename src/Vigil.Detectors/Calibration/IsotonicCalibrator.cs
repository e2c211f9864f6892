using System.Globalization;
using System.Text.Json;

namespace Vigil.Detectors;

/// <summary>
/// Isotonic regression of 0/1 labels on a model's scores: a non-decreasing map from score to the probability of the
/// positive class, fitted on labelled rows held out from training (the validation rows) and stored in the bundle as
/// data (<c>calibration.json</c>: knots only, no code). The same as scikit-learn's
/// <c>IsotonicRegression(out_of_bounds="clip")</c>, which NannyML's CBPE uses when scores are not calibrated: rows with
/// equal scores are pooled first (label mean, weight = count), then pool-adjacent-violators merges neighbouring blocks
/// whose means decrease (weighted means; deterministic: one left-to-right pass with back-merging, no randomness, ties
/// broken by nothing but the score order); a score between two knots is interpolated linearly, one outside the fitted
/// range takes the nearest end's value. Only the knots that bound a constant run are kept (as scikit-learn's
/// <c>X_thresholds_</c>), so the interpolation is unchanged.
/// </summary>
public sealed class IsotonicCalibrator
{
    /// <summary>The method name written to <c>calibration.json</c>.</summary>
    public const string Method = "isotonic";

    private readonly double[] _x;
    private readonly double[] _y;

    private IsotonicCalibrator(double[] x, double[] y, int rows, int positives)
    {
        _x = x;
        _y = y;
        Rows = rows;
        Positives = positives;
    }

    /// <summary>The knots' scores, increasing.</summary>
    public IReadOnlyList<double> X => _x;

    /// <summary>The knots' probabilities, non-decreasing, in [0, 1].</summary>
    public IReadOnlyList<double> Y => _y;

    /// <summary>The labelled rows it was fitted on.</summary>
    public int Rows { get; }

    /// <summary>The positives among them.</summary>
    public int Positives { get; }

    /// <summary>
    /// Fits the calibrator on <paramref name="scores"/> and their 0/1 <paramref name="labels"/>; rows whose score is not a
    /// finite number are left out.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a label is not 0/1, or fewer than two usable rows or only one class.</exception>
    public static IsotonicCalibrator Fit(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels)
    {
        if (scores.Length != labels.Length)
        {
            throw new ArgumentException($"{scores.Length} scores but {labels.Length} labels", nameof(labels));
        }

        var order = new List<int>(scores.Length);
        var positives = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (labels[i] is not (0 or 1))
            {
                throw new ArgumentException($"label {labels[i]} at row {i} is not 0 or 1", nameof(labels));
            }

            if (double.IsFinite(scores[i]))
            {
                order.Add(i);
                positives += labels[i];
            }
        }

        if (order.Count < 2 || positives == 0 || positives == order.Count)
        {
            throw new ArgumentException($"calibration needs labelled rows of both classes (got {order.Count} rows with a score, {positives} positive)", nameof(labels));
        }

        var sortedScores = new double[order.Count];
        var sortedLabels = new double[order.Count];
        var keys = order.ToArray();
        var keyScores = new double[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keyScores[i] = scores[keys[i]];
        }

        Array.Sort(keyScores, keys); // ties keep no particular order; they are pooled below, so the result does not depend on it
        for (var i = 0; i < keys.Length; i++)
        {
            sortedScores[i] = keyScores[i];
            sortedLabels[i] = labels[keys[i]];
        }

        // Pool equal scores (scikit-learn's _make_unique): one point per distinct score, mean label, weight = count.
        var ux = new List<double>();
        var uy = new List<double>();
        var uw = new List<double>();
        for (var i = 0; i < sortedScores.Length;)
        {
            var j = i;
            var sum = 0.0;
            while (j < sortedScores.Length && sortedScores[j] == sortedScores[i])
            {
                sum += sortedLabels[j];
                j++;
            }

            ux.Add(sortedScores[i]);
            uy.Add(sum / (j - i));
            uw.Add(j - i);
            i = j;
        }

        // Pool adjacent violators: blocks of consecutive points with their weighted mean; merge backwards while the
        // mean does not increase (equal neighbours become one constant run, as scikit-learn keeps them).
        var n = ux.Count;
        var blockStart = new int[n];
        var blockEnd = new int[n];
        var blockMean = new double[n];
        var blockWeight = new double[n];
        var blocks = 0;
        for (var i = 0; i < n; i++)
        {
            blockStart[blocks] = i;
            blockEnd[blocks] = i;
            blockMean[blocks] = uy[i];
            blockWeight[blocks] = uw[i];
            blocks++;
            while (blocks > 1 && blockMean[blocks - 2] >= blockMean[blocks - 1])
            {
                var w = blockWeight[blocks - 2] + blockWeight[blocks - 1];
                blockMean[blocks - 2] = ((blockMean[blocks - 2] * blockWeight[blocks - 2]) + (blockMean[blocks - 1] * blockWeight[blocks - 1])) / w;
                blockWeight[blocks - 2] = w;
                blockEnd[blocks - 2] = blockEnd[blocks - 1];
                blocks--;
            }
        }

        // Knots: the first and last score of every block (one when they coincide).
        var x = new List<double>(2 * blocks);
        var y = new List<double>(2 * blocks);
        for (var b = 0; b < blocks; b++)
        {
            var mean = Math.Clamp(blockMean[b], 0.0, 1.0);
            x.Add(ux[blockStart[b]]);
            y.Add(mean);
            if (blockEnd[b] != blockStart[b])
            {
                x.Add(ux[blockEnd[b]]);
                y.Add(mean);
            }
        }

        return new IsotonicCalibrator([.. x], [.. y], order.Count, positives);
    }

    /// <summary>The calibrated probability of <paramref name="score"/> (NaN for a NaN score).</summary>
    public double Calibrate(double score)
    {
        if (double.IsNaN(score))
        {
            return double.NaN;
        }

        var x = _x;
        if (score <= x[0])
        {
            return _y[0];
        }

        if (score >= x[^1])
        {
            return _y[^1];
        }

        var hi = Array.BinarySearch(x, score);
        if (hi >= 0)
        {
            return _y[hi];
        }

        hi = ~hi; // x[hi - 1] < score < x[hi]
        var lo = hi - 1;
        var t = (score - x[lo]) / (x[hi] - x[lo]);
        return _y[lo] + (t * (_y[hi] - _y[lo]));
    }

    /// <summary>Calibrates every score of <paramref name="scores"/> into <paramref name="probabilities"/>.</summary>
    public void Calibrate(ReadOnlySpan<double> scores, Span<double> probabilities)
    {
        if (probabilities.Length < scores.Length)
        {
            throw new ArgumentException($"the output holds {probabilities.Length} values for {scores.Length} scores", nameof(probabilities));
        }

        for (var i = 0; i < scores.Length; i++)
        {
            probabilities[i] = Calibrate(scores[i]);
        }
    }

    /// <summary>
    /// The calibrator as JSON: <c>{"method": "isotonic", "rows": n, "positives": p, "x": [...], "y": [...]}</c>
    /// (round-trip doubles, invariant culture).
    /// </summary>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("method", Method);
            w.WriteNumber("rows", Rows);
            w.WriteNumber("positives", Positives);
            w.WriteStartArray("x");
            foreach (var v in _x)
            {
                w.WriteNumberValue(v);
            }

            w.WriteEndArray();
            w.WriteStartArray("y");
            foreach (var v in _y)
            {
                w.WriteNumberValue(v);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Reads <see cref="ToJson"/>'s form, checking it: a known method, knots increasing in x and non-decreasing in y within [0, 1].</summary>
    /// <exception cref="InvalidDataException">The document is not a valid calibrator.</exception>
    public static IsotonicCalibrator FromJson(byte[] json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("is not a JSON object");
            }

            var method = root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (method != Method)
            {
                throw new InvalidDataException($"has method '{method}'; this Vigil reads '{Method}'");
            }

            var rows = Int(root, "rows");
            var positives = Int(root, "positives");
            var x = Doubles(root, "x");
            var y = Doubles(root, "y");
            if (x.Length == 0 || x.Length != y.Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"has {x.Length} x knots and {y.Length} y knots (needs the same number, at least one)"));
            }

            for (var i = 0; i < x.Length; i++)
            {
                if (!double.IsFinite(x[i]) || !(y[i] >= 0 && y[i] <= 1) || (i > 0 && (x[i] <= x[i - 1] || y[i] < y[i - 1])))
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"knot {i} is out of order or range (x increasing, y non-decreasing in [0, 1])"));
                }
            }

            if (rows < 2 || positives < 1 || positives >= rows)
            {
                throw new InvalidDataException("has rows/positives that no fitted calibrator has");
            }

            return new IsotonicCalibrator(x, y, rows, positives);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"is not valid JSON ({e.Message})", e);
        }
    }

    private static int Int(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)
            ? i
            : throw new InvalidDataException($"has no integer '{name}'");

    private static double[] Doubles(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"has no array '{name}'");
        }

        var result = new double[v.GetArrayLength()];
        var i = 0;
        foreach (var e in v.EnumerateArray())
        {
            result[i++] = e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw new InvalidDataException($"'{name}' holds a non-number");
        }

        return result;
    }
}
