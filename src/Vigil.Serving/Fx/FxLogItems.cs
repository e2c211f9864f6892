using Vigil.Fx;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// The inference log entries of the deals one FX model decided: per deal the status, the score (the largest input-group
/// reconstruction error over its threshold; NaN when the autoencoder did not run), the label (1 = <c>Anomaly: Yes</c>,
/// 0 = No, -1 = not decided), the rule column holding the id of the rule or check that decided (<c>missing_group</c>,
/// <c>unseen_pair</c>, <c>year_gap</c>, <c>amount</c>, <c>tenor</c>, <c>pattern</c>; null when none fired), and the deal's
/// fields as sent plus the derived <c>FaceValue</c> and <c>TDays</c> (NaN for a deal that failed validation).
/// </summary>
internal static class FxLogItems
{
    // Client, the categoricals in their order, then the dates and the id (Build fills them in this order).
    private static readonly string[] TextFields = [FxFields.Client, .. FxFields.Categoricals, FxFields.DealDate, FxFields.MaturityDate, FxFields.UniqueId];

    private static readonly string[] NumberFields =
        [FxFields.BuyAmount, FxFields.SellAmount, FxFields.SpotRate, FxFields.ForwardPoints, FxFields.ContLeg, FxFields.FaceValue, FxFields.TDays];

    public static InferenceItems Build(ReadOnlySpan<FxRawDeal> deals, ReadOnlySpan<FxDecision> decisions)
    {
        var n = deals.Length;
        var status = new int[n];
        var score = new double[n];
        var label = new sbyte[n];
        var rule = new string?[n];
        var texts = new string?[TextFields.Length][];
        for (var f = 0; f < texts.Length; f++)
        {
            texts[f] = new string?[n];
        }

        var numbers = new double[NumberFields.Length][];
        for (var f = 0; f < numbers.Length; f++)
        {
            numbers[f] = new double[n];
        }

        for (var i = 0; i < n; i++)
        {
            var d = decisions[i];
            var deal = deals[i];
            status[i] = d.StatusCode;
            score[i] = d.Score;
            label[i] = d.StatusCode == 200 ? (sbyte)(d.Anomaly ? 1 : 0) : (sbyte)-1;
            rule[i] = d.Check;
            texts[0][i] = deal.Client;
            for (var c = 0; c < FxFields.Categoricals.Count; c++)
            {
                texts[1 + c][i] = deal.Category(c);
            }

            texts[7][i] = deal.DealDate;
            texts[8][i] = deal.MaturityDate;
            texts[9][i] = deal.UniqueId;
            numbers[0][i] = deal.BuyAmount ?? double.NaN;
            numbers[1][i] = deal.SellAmount ?? double.NaN;
            numbers[2][i] = deal.SpotRate ?? double.NaN;
            numbers[3][i] = deal.ForwardPoints ?? double.NaN;
            numbers[4][i] = deal.ContLeg ?? double.NaN;
            var decided = d.StatusCode == 200;
            numbers[5][i] = !decided ? double.NaN
                : string.Equals(deal.PrimaryCurr, deal.BuyCurr, StringComparison.Ordinal) ? deal.BuyAmount ?? double.NaN : -(deal.SellAmount ?? double.NaN);
            numbers[6][i] = decided && FxDealValidator.TryParseDate(deal.DealDate, out var dealDate) && FxDealValidator.TryParseDate(deal.MaturityDate, out var maturity)
                ? maturity.DayNumber - dealDate.DayNumber
                : double.NaN;
        }

        var features = new InferenceFeatureColumn[TextFields.Length + NumberFields.Length];
        for (var f = 0; f < TextFields.Length; f++)
        {
            features[f] = new InferenceFeatureColumn(TextFields[f], null, texts[f]);
        }

        for (var f = 0; f < NumberFields.Length; f++)
        {
            features[TextFields.Length + f] = new InferenceFeatureColumn(NumberFields[f], numbers[f], null);
        }

        return new InferenceItems { Count = n, Status = status, Score = score, Label = label, Rule = rule, Features = features };
    }
}
