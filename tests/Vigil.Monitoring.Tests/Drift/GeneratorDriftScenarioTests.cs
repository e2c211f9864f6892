using Vigil.Data;

namespace Vigil.Monitoring.Tests.Drift;

/// <summary>
/// The acceptance scenario on the transaction generator's built-in drift (amounts inflate 4% per 30 days, activity
/// moves to late evening, merchants open during the period, category shares move): a reference month (days 60-90)
/// against months further and further away, auto statistics (normed Wasserstein / Jensen-Shannon above 1,000 rows).
/// </summary>
public sealed class GeneratorDriftScenarioTests
{
    private static readonly (int From, int To)[] Windows = [(90, 120), (150, 180), (240, 270), (330, 360)];

    /// <summary>The generator's documented drifts and the velocity sums built from the inflating amounts.</summary>
    private static readonly string[] Drifting =
    [
        TransactionColumns.Amount, TransactionColumns.HourOfDay, TransactionColumns.MerchantId, TransactionColumns.MerchantCategory,
        TransactionColumns.AmountSum7d, TransactionColumns.AmountSum30d,
    ];

    private static readonly Lazy<DriftReport[]> Reports = new(() =>
    {
        var frame = TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 300_000, Days = 360, Seed = 7 });
        var micros = ((TimestampColumn)frame[TransactionColumns.Timestamp]).UnixMicros.ToArray();
        Frame Window(int fromDay, int toDay)
        {
            var rows = new List<int>();
            for (var i = 0; i < micros.Length; i++)
            {
                var day = (micros[i] - micros[0]) / 86_400_000_000.0;
                if (day >= fromDay && day < toDay)
                {
                    rows.Add(i);
                }
            }

            // Identifiers and the label-revealing pattern are not features.
            return frame.Take([.. rows]).Drop(TransactionColumns.TransactionId, TransactionColumns.CustomerId, TransactionColumns.FraudPattern);
        }

        var reference = Window(60, 90);
        return [.. Windows.Select(w => DriftAnalyzer.Compare(reference, Window(w.From, w.To)))];
    });

    [Fact]
    public void Scores_of_the_drifting_features_grow_with_the_distance_from_the_reference()
    {
        foreach (var name in Drifting)
        {
            var scores = Reports.Value.Select(r => r.Features.Single(f => f.Name == name).Score).ToArray();
            for (var i = 1; i < scores.Length; i++)
            {
                scores[i].ShouldBeGreaterThan(scores[i - 1], $"{name}: {string.Join(", ", scores)}");
            }
        }
    }

    [Fact]
    public void Only_drifting_features_are_flagged_and_the_far_month_flags_the_strong_ones()
    {
        foreach (var report in Reports.Value)
        {
            foreach (var f in report.Features.Where(f => f.Drift))
            {
                Drifting.ShouldContain(f.Name, $"{f.Name} flagged with {f.StatTest} = {f.Score}");
            }
        }

        var last = Reports.Value[^1];
        last.Features.Where(f => f.Drift).Select(f => f.Name).Order().ShouldBe(
            new[] { TransactionColumns.Amount, TransactionColumns.AmountSum30d, TransactionColumns.AmountSum7d, TransactionColumns.HourOfDay, TransactionColumns.MerchantId }.Order());
        Reports.Value[0].Features.Count(f => f.Drift).ShouldBe(0);
        last.Features.Single(f => f.Name == TransactionColumns.Amount).StatTest.ShouldBe("wasserstein");
        last.Features.Single(f => f.Name == TransactionColumns.MerchantId).StatTest.ShouldBe("jensenshannon");
    }
}
