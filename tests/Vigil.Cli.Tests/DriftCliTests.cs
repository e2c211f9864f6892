using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vigil.Cli.Tests;

/// <summary><c>vigil drift</c> in process on two small CSV files: one numeric column that shifts, one that does not, one text column.</summary>
public sealed class DriftCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public DriftCliTests()
    {
        Write(Reference, shift: 0, seed: 1);
        Write(Current, shift: 2, seed: 2);
    }

    private string Reference => _dir.File("reference.csv");

    private string Current => _dir.File("current.csv");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Json_has_exactly_the_documented_members_and_flags_the_shifted_column()
    {
        var result = VigilProcess.RunInProcess(_dir.Path, null, "drift", "--reference", Reference, "--current", Current, "--json");
        result.ShouldSucceed();
        using var doc = JsonDocument.Parse(result.StdOut);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["dataset_drift", "drift_share", "threshold_share", "features"]);
        var features = root.GetProperty("features").EnumerateArray().ToArray();
        features.Select(f => f.GetProperty("name").GetString()).ShouldBe(["shifted", "stable", "colour"]);
        features[0].EnumerateObject().Select(p => p.Name).ShouldBe(
            ["name", "type", "stattest", "score", "threshold", "drift", "missing_share_reference", "missing_share_current"]);
        features[0].GetProperty("stattest").GetString().ShouldBe("ks");
        features[0].GetProperty("drift").GetBoolean().ShouldBeTrue();
        features[1].GetProperty("drift").GetBoolean().ShouldBeFalse();
        features[2].GetProperty("type").GetString().ShouldBe("cat");
        features[2].GetProperty("stattest").GetString().ShouldBe("chisquare");
        features[0].GetProperty("missing_share_reference").GetDouble().ShouldBe(0.01);
        root.GetProperty("drift_share").GetDouble().ShouldBe(1.0 / 3, 1e-15);
        root.GetProperty("dataset_drift").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public void Fail_on_drift_exits_4_when_the_share_is_reached()
    {
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--drift-share", "0.3", "--fail-on-drift").ExitCode.ShouldBe(4);
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--fail-on-drift").ExitCode.ShouldBe(0);
    }

    [Fact]
    public void Table_lists_the_drifted_column_first()
    {
        var result = VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--stattest", "WASSERSTEIN", "--columns", "stable,shifted");
        result.ShouldSucceed();
        result.StdOut.IndexOf("shifted", StringComparison.Ordinal).ShouldBeLessThan(result.StdOut.IndexOf("stable", StringComparison.Ordinal));
        result.StdOut.ShouldContain("DRIFT");
        // the summary line may wrap at the terminal's width
        System.Text.RegularExpressions.Regex.Replace(result.StdOut, @"\s+", " ").ShouldContain("1 of 2 columns drifted", customMessage: result.StdOut);
    }

    [Fact]
    public void Errors_are_one_line_with_exit_2()
    {
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--columns", "nope")
            .ShouldFailWithOneLine("unknown column 'nope'");
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--stattest", "chisquare", "--columns", "shifted")
            .ShouldFailWithOneLine("stattest 'chisquare' applies only to categorical columns");
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--stattest", "nonsense")
            .ShouldFailWithOneLine("unknown stattest 'nonsense'");
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", _dir.File("missing.csv"), "-c", Current)
            .ShouldFailWithOneLine("missing.csv");
    }

    [Fact]
    public void Threads_change_the_speed_not_the_report()
    {
        var all = VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--json");
        var one = VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--json", "--threads", "1");
        one.ShouldSucceed();
        one.StdOut.ShouldBe(all.StdOut);
        VigilProcess.RunInProcess(_dir.Path, null, "drift", "-r", Reference, "-c", Current, "--threads", "0")
            .ShouldFailWithOneLine("--threads 0: expected 1 to 1024");
    }

    private static void Write(string path, double shift, int seed)
    {
        var rng = new Random(seed);
        var same = new Random(7); // the stable column holds the same values in both files
        var sb = new StringBuilder("shifted,stable,colour\n");
        for (var i = 0; i < 200; i++)
        {
            var shifted = i % 100 == 0 ? string.Empty : (Gaussian(rng) + shift).ToString("R", CultureInfo.InvariantCulture);
            var stable = Gaussian(same).ToString("R", CultureInfo.InvariantCulture);
            var colour = (i % 3) switch { 0 => "red", 1 => "green", _ => "blue" };
            sb.Append(CultureInfo.InvariantCulture, $"{shifted},{stable},{colour}\n");
        }

        File.WriteAllText(path, sb.ToString());
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
