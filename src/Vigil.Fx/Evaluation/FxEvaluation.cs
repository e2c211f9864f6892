using Vigil.Data;

namespace Vigil.Fx;

/// <summary>Recall of one injected kind: how many deals of the kind were flagged, and how many by the check of the same name.</summary>
/// <param name="Count">Deals of the kind (of the model's clients).</param>
/// <param name="Flagged">Of them, decided Yes.</param>
/// <param name="RightCheck">Of them, decided Yes by the rule or check named like the kind.</param>
public sealed record FxKindRecall(int Count, int Flagged, int RightCheck)
{
    /// <summary>Flagged / Count (NaN without deals).</summary>
    public double Recall => Count == 0 ? double.NaN : (double)Flagged / Count;
}

/// <summary>
/// What <see cref="FxEvaluation.Evaluate"/> measured on a labelled set: per injected kind its recall, the false-positive
/// rate on normal deals, the confusion matrix, and how many deals were skipped (other clients) or invalid.
/// </summary>
public sealed record FxEvaluationResult(
    IReadOnlyDictionary<string, FxKindRecall> Kinds,
    int Normal,
    int FalsePositives,
    int TruePositives,
    int FalseNegatives,
    int TrueNegatives,
    int Scored,
    int SkippedOtherClients,
    int Invalid,
    TimeSpan DecideTime)
{
    /// <summary>Normal deals decided Yes / normal deals.</summary>
    public double FalsePositiveRate => Normal == 0 ? double.NaN : (double)FalsePositives / Normal;
}

/// <summary>Scores a labelled deal set (<c>is_anomaly</c>, <c>anomaly_kind</c>) with an FX bundle and measures it per kind.</summary>
public static class FxEvaluation
{
    /// <summary>
    /// Decides every deal of the scorer's clients in <paramref name="labelled"/> (others are skipped and counted) and
    /// measures recall per <c>anomaly_kind</c> and the false-positive rate on <c>none</c>.
    /// </summary>
    /// <exception cref="FxDataException">A deal or label column is missing.</exception>
    public static FxEvaluationResult Evaluate(FxScorer scorer, Frame labelled)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(labelled);
        if (!labelled.TryGetColumn(FxFields.AnomalyKind, out var kindColumn))
        {
            throw new FxDataException($"the labelled deals have no '{FxFields.AnomalyKind}' column (none, {string.Join(", ", FxAnomalyKinds.All.Skip(1))})");
        }

        var raw = FxDealFrame.ReadRaw(labelled);
        var mine = new List<int>();
        var skipped = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i].Client is { } c && scorer.Serves(c))
            {
                mine.Add(i);
            }
            else
            {
                skipped++;
            }
        }

        var deals = new FxRawDeal[mine.Count];
        for (var k = 0; k < deals.Length; k++)
        {
            deals[k] = raw[mine[k]];
        }

        var decisions = new FxDecision[deals.Length];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        scorer.Decide(deals, decisions);
        sw.Stop();
        var counts = new Dictionary<string, (int Count, int Flagged, int Right)>(StringComparer.Ordinal);
        int normal = 0, fp = 0, tp = 0, fn = 0, tn = 0, invalid = 0;
        for (var k = 0; k < deals.Length; k++)
        {
            var d = decisions[k];
            if (d.StatusCode != 200)
            {
                invalid++;
                continue;
            }

            var kind = kindColumn.IsMissing(mine[k]) ? FxAnomalyKinds.None : kindColumn.FormatValue(mine[k]);
            if (kind == FxAnomalyKinds.None)
            {
                normal++;
                if (d.Anomaly)
                {
                    fp++;
                }
                else
                {
                    tn++;
                }

                continue;
            }

            counts.TryGetValue(kind, out var c);
            c.Count++;
            if (d.Anomaly)
            {
                tp++;
                c.Flagged++;
                if (d.Check == kind)
                {
                    c.Right++;
                }
            }
            else
            {
                fn++;
            }

            counts[kind] = c;
        }

        var kinds = new SortedDictionary<string, FxKindRecall>(StringComparer.Ordinal);
        foreach (var (kind, c) in counts)
        {
            kinds[kind] = new FxKindRecall(c.Count, c.Flagged, c.Right);
        }

        return new FxEvaluationResult(kinds, normal, fp, tp, fn, tn, deals.Length, skipped, invalid, sw.Elapsed);
    }
}
