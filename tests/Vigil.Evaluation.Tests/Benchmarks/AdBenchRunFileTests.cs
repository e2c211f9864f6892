using System.Globalization;
using System.Text;

namespace Vigil.Evaluation.Tests.Benchmarks;

/// <summary>One dataset the protocol cannot run on is a skipped result with its reason, never an exception for the batch.</summary>
public sealed class AdBenchRunFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vigil-adbench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_single_anomaly_is_skipped_with_the_split_error_for_every_model()
    {
        var path = Path.Combine(_dir, "one.csv");
        var sb = new StringBuilder("f0,label\n");
        for (var i = 0; i < 30; i++)
        {
            sb.Append(i.ToString(CultureInfo.InvariantCulture)).Append(',').Append(i == 7 ? '1' : '0').Append('\n');
        }

        File.WriteAllText(path, sb.ToString());
        var results = AdBenchProtocol.RunFile(path, ["iforest", "lightgbm"], seeds: 2);

        results.Select(r => (r.Dataset, r.Model)).ShouldBe([("one", "iforest"), ("one", "lightgbm")]);
        results.ShouldAllBe(r => r.Skipped == "seed 0: the 70/30 stratified split of 30 rows failed: Class 1 has only 1 row; stratified splitting needs at least 2 rows per class.");
        results.ShouldAllBe(r => double.IsNaN(r.AucRoc));
    }

    [Fact]
    public void An_unreadable_file_is_found_and_skipped_with_the_read_error()
    {
        var path = Path.Combine(_dir, "broken.csv");
        File.WriteAllText(path, "f0,label\n1,0\n2\n");
        AdBenchProtocol.FindDatasets(_dir).ShouldBe([path]);
        var skipped = AdBenchProtocol.RunFile(path, ["iforest"]).ShouldHaveSingleItem();
        skipped.Skipped!.ShouldContain("line 3");
    }
}
