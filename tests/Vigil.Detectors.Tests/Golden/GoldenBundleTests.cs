using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors.Tests.Golden;

/// <summary>
/// Bundles written by an older build must load and score exactly as that build scored them. The bundles, rows and
/// scores under <c>Golden/v1/</c> were made by the code at commit dd99ffb (see <c>Golden/v1/README.md</c>); the
/// expected scores are what its <c>vigil score</c> wrote, in round-trip format. Never regenerate them.
/// </summary>
public sealed class GoldenBundleTests
{
    private static readonly string V1 = Path.Combine(AppContext.BaseDirectory, "Golden", "v1");

    public static TheoryData<string, string> V1Bundles => new()
    {
        { "iforest", "iforest" },
        { "autoencoder.zip", "autoencoder" },
        { "lightgbm.zip", "lightgbm" },
    };

    [Theory]
    [MemberData(nameof(V1Bundles))]
    public void Golden_v1_bundles_load_and_score_identically(string bundle, string kind)
    {
        var model = ModelBundle.Load(Path.Combine(V1, bundle));
        model.Manifest.FormatVersion.ShouldBe(1);
        model.Manifest.DetectorKind.ShouldBe(kind);
        model.Profile.ShouldBeNull(); // v1 has no reference profile

        var rows = FrameFile.Read(Path.Combine(V1, "rows.csv"));
        var (ids, expected, flagged) = ReadScores(Path.Combine(V1, $"scores-{kind}.csv"));
        rows.RowCount.ShouldBe(200);
        rows["transaction_id"].FormatValue(0).ShouldBe(ids[0]);

        var scores = model.Score(rows);
        scores.Length.ShouldBe(expected.Length);
        for (var i = 0; i < scores.Length; i++)
        {
            // Bitwise: the same bytes must give the same double, not merely a close one.
            BitConverter.DoubleToInt64Bits(scores[i]).ShouldBe(BitConverter.DoubleToInt64Bits(expected[i]), $"row {i} ({ids[i]}): {scores[i]:R} vs {expected[i]:R}");
            model.IsAnomaly(scores[i]).ShouldBe(flagged[i], $"row {i}");
            model.Decide(scores[i]).ShouldBe(flagged[i] ? 1 : 0, $"row {i}");
        }

        // Reasons still come out: one per input column when all are asked for, finite, largest first.
        model.CanExplain.ShouldBeTrue();
        var inputs = model.Transform.InputSchema.Count;
        for (var row = 0; row < 5; row++)
        {
            var reasons = model.Explain(rows, row, top: inputs);
            reasons.Count.ShouldBe(inputs);
            reasons.Select(r => r.Feature).ShouldBe(model.Transform.InputSchema.Select(c => c.Name), ignoreOrder: true);
            reasons.ShouldAllBe(r => double.IsFinite(r.Contribution));
            for (var k = 1; k < reasons.Count; k++)
            {
                Math.Abs(reasons[k - 1].Contribution).ShouldBeGreaterThanOrEqualTo(Math.Abs(reasons[k].Contribution));
            }

            var sum = reasons.Sum(r => r.Contribution);
            switch (kind)
            {
                case "iforest": sum.ShouldBe(1 + Math.Log2(scores[row]), 1e-9); break; // documented on ModelBundle.Explain
                case "autoencoder": sum.ShouldBe(scores[row], 1e-4 * Math.Max(1, scores[row])); break; // shares of the error sum to the score
                default: break; // LightGBM: raw score minus the training expectation, not recorded in the golden files
            }
        }
    }

    [Fact]
    public void Golden_v1_bundle_saved_again_stays_v1_and_a_new_threshold_makes_it_v2_without_a_profile()
    {
        var dir = Directory.CreateTempSubdirectory("vigil-golden-").FullName;
        try
        {
            var v1 = ModelBundle.Load(Path.Combine(V1, "iforest"));
            var rows = FrameFile.Read(Path.Combine(V1, "rows.csv"));
            var expected = v1.Score(rows);

            // New metrics only: the files are the v1 files, so the bundle stays format 1.
            v1.WithMetrics(new Dictionary<string, double> { ["auc_pr"] = 0.5 }).Save(Path.Combine(dir, "metrics"));
            var again = ModelBundle.Load(Path.Combine(dir, "metrics"));
            again.Manifest.FormatVersion.ShouldBe(1);
            again.Manifest.Metrics["auc_pr"].ShouldBe(0.5);
            again.Score(rows).Select(BitConverter.DoubleToInt64Bits).ShouldBe(expected.Select(BitConverter.DoubleToInt64Bits));

            // A new threshold rewrites the weights file: written as the current format, with no profile to carry over.
            v1.WithThreshold(0.6).Save(Path.Combine(dir, "threshold.zip"));
            var moved = ModelBundle.Load(Path.Combine(dir, "threshold.zip"));
            moved.Manifest.FormatVersion.ShouldBe(2);
            moved.Profile.ShouldBeNull();
            moved.Threshold.ShouldBe(0.6);
            moved.Score(rows).Select(BitConverter.DoubleToInt64Bits).ShouldBe(expected.Select(BitConverter.DoubleToInt64Bits));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (string[] Ids, double[] Scores, bool[] Flagged) ReadScores(string path)
    {
        var lines = File.ReadAllLines(path);
        lines[0].ShouldBe("transaction_id,score,is_anomaly");
        var ids = new string[lines.Length - 1];
        var scores = new double[lines.Length - 1];
        var flagged = new bool[lines.Length - 1];
        for (var i = 1; i < lines.Length; i++)
        {
            var parts = lines[i].Split(',');
            ids[i - 1] = parts[0];
            scores[i - 1] = double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture);
            flagged[i - 1] = parts[2] == "1";
        }

        return (ids, scores, flagged);
    }
}
