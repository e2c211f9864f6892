using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vigil.Cli.Tests;

/// <summary>
/// Nothing a user owns is deleted or silently reinterpreted; reading commands create nothing; batch commands finish past
/// one bad unit; trusted keys refuse unsigned or tampered bundles.
/// </summary>
public sealed class SafetyCliTests
{
    /// <summary>A CSV of <paramref name="rows"/> transactions, "x" as the amount of data row <paramref name="badRow"/> (0: none).</summary>
    private static void WriteTransactions(string path, int rows, int badRow = 0)
    {
        var sb = new StringBuilder("id,amount,hour,label\n");
        for (var i = 1; i <= rows; i++)
        {
            var amount = i == badRow ? "x" : ((i * 37 % 1000) + 0.5).ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"{i},{amount},{i % 24},{(i % 50 == 0 ? 1 : 0)}\n");
        }

        File.WriteAllText(path, sb.ToString());
    }

    [Fact]
    public void Train_out_dot_is_refused_and_the_folder_is_intact()
    {
        using var dir = new TempDir();
        WriteTransactions(dir.File("tx.csv"), 200);
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllText(dir.File("sub/keep.txt"), "mine");
        var before = File.ReadAllText(dir.File("tx.csv"));

        foreach (var force in (string[][])[[], ["--force"]])
        {
            VigilProcess.RunInProcess(dir.Path, null, ["train", "--data", "tx.csv", "--label", "label", "--id", "id", "--out", ".", .. force])
                .ShouldFailWithOneLine("the folder exists and is not a Vigil model bundle", "tx.csv");
        }

        File.ReadAllText(dir.File("tx.csv")).ShouldBe(before);
        File.ReadAllText(dir.File("sub/keep.txt")).ShouldBe("mine");
        File.Exists(dir.File("bundle.json")).ShouldBeFalse();
    }

    [Fact]
    public void Train_replaces_an_existing_bundle_only_with_force()
    {
        using var dir = new TempDir();
        WriteTransactions(dir.File("tx.csv"), 200);
        string[] train = ["train", "--data", "tx.csv", "--label", "label", "--id", "id", "--out", "m"];
        VigilProcess.RunInProcess(dir.Path, null, train).ShouldSucceed();
        VigilProcess.RunInProcess(dir.Path, null, [.. train, "--seed", "5"]).ShouldFailWithOneLine("a model bundle already exists in this folder; pass --force");
        VigilProcess.RunInProcess(dir.Path, null, [.. train, "--seed", "5", "--force"]).ShouldSucceed();
        JsonNode.Parse(File.ReadAllText(dir.File("m/bundle.json")))!["parameters"]!["seed"]!.GetValue<string>().ShouldBe("5");
        Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ShouldBe(["m", "tx.csv"]);
    }

    [Theory]
    [InlineData(20)] // tiny file: today's inference would have made amount categorical
    [InlineData(20_000)] // big file: line 3 inside the 10,000-row inference sample
    public void An_x_in_amount_on_line_3_fails_with_file_line_and_column(int rows)
    {
        using var dir = new TempDir();
        WriteTransactions(dir.File("tx.csv"), rows, badRow: 2);
        string[] train = ["train", "--data", "tx.csv", "--label", "label", "--id", "id", "--out", "m"];
        VigilProcess.RunInProcess(dir.Path, null, train).ShouldFailWithOneLine("tx.csv: line 3, column 'amount' (2): cannot parse \"x\" as float64", "--on-bad-value skip");
        Directory.Exists(dir.File("m")).ShouldBeFalse();

        var skipped = VigilProcess.RunInProcess(dir.Path, null, [.. train, "--on-bad-value", "skip"]);
        skipped.ShouldSucceed();
        skipped.StdErr.ShouldContain("skipped 1 row with a value that does not parse (--on-bad-value skip); the first: tx.csv: line 3, column 'amount' (2): cannot parse \"x\" as float64");
        skipped.StdOut.ShouldContain($"on {rows - 1:N0} rows x 2 features");
        JsonNode.Parse(File.ReadAllText(dir.File("m/bundle.json")))!["featureSchema"]!.ToJsonString().ShouldContain("\"amount\"");
    }

    [Fact]
    public void Reading_commands_refuse_a_missing_store_and_create_nothing()
    {
        using var dir = new TempDir();
        var missing = dir.File("typo/x.db");
        foreach (var args in (string[][])[["logs", "tail"], ["logs", "count"], ["runs", "list"], ["models", "list"], ["models", "show", "fraud"]])
        {
            VigilProcess.RunInProcess(dir.Path, null, [.. args, "--store", missing])
                .ShouldFailWithOneLine($"the SQLite store {missing} does not exist; this command only reads and creates none");
            Directory.Exists(dir.File("typo")).ShouldBeFalse(string.Join(' ', args));
        }

        VigilProcess.RunInProcess(dir.Path, null, "score", "--model", "models:/fraud/1", "--data", "x.csv", "--out", "s.csv", "--store", missing)
            .ShouldFailWithOneLine("x.csv");
        File.WriteAllText(dir.File("x.csv"), "a\n1\n");
        VigilProcess.RunInProcess(dir.Path, null, "score", "--model", "models:/fraud/1", "--data", "x.csv", "--out", "s.csv", "--store", missing)
            .ShouldFailWithOneLine("does not exist");
        Directory.Exists(dir.File("typo")).ShouldBeFalse();
        Directory.Exists(dir.File(".vigil-home")).ShouldBeFalse(); // nor the default store

        if (!Directory.Exists("/nonexistent"))
        {
            var r = VigilProcess.RunProcess(dir.Path, null, "logs", "tail", "--store", "/nonexistent/x.db");
            r.ShouldFailWithOneLine("/nonexistent/x.db does not exist");
            Directory.Exists("/nonexistent").ShouldBeFalse();
        }
    }

    [Fact]
    public void Bench_adbench_skips_a_dataset_that_cannot_be_split_and_finishes_the_others()
    {
        using var dir = new TempDir();
        var bench = Directory.CreateDirectory(dir.File("bench")).FullName;
        var rng = new Random(1);
        var rows = Enumerable.Range(0, 600).Select(i =>
        {
            var anomaly = i % 20 == 0;
            return string.Create(CultureInfo.InvariantCulture, $"{(anomaly ? 6 : 0) + rng.NextDouble()},{rng.NextDouble()},{(anomaly ? 1 : 0)}");
        });
        File.WriteAllText(Path.Combine(bench, "good.csv"), "f0,f1,label\n" + string.Join('\n', rows) + "\n");
        File.WriteAllText(Path.Combine(bench, "one.csv"), "f0,f1,label\n" + string.Join('\n', Enumerable.Range(0, 40).Select(i => $"{i},{i % 7},{(i == 3 ? 1 : 0)}")) + "\n");

        var json = VigilProcess.RunInProcess(dir.Path, null, "bench", "adbench", bench, "--seeds", "1", "--json");
        json.ExitCode.ShouldBe(4, json.StdErr);
        using var doc = JsonDocument.Parse(json.StdOut);
        doc.RootElement.GetArrayLength().ShouldBe(2);
        var good = doc.RootElement[0];
        good.GetProperty("dataset").GetString().ShouldBe("good");
        good.GetProperty("skipped").ValueKind.ShouldBe(JsonValueKind.Null);
        good.GetProperty("auc_roc").GetDouble().ShouldBeGreaterThan(0.9);
        var one = doc.RootElement[1];
        one.GetProperty("dataset").GetString().ShouldBe("one");
        one.GetProperty("auc_roc").ValueKind.ShouldBe(JsonValueKind.Null);
        one.GetProperty("skipped").GetString().ShouldBe("seed 0: the 70/30 stratified split of 40 rows failed: Class 1 has only 1 row; stratified splitting needs at least 2 rows per class.");

        var table = VigilProcess.RunInProcess(dir.Path, null, "bench", "adbench", bench, "--seeds", "1");
        table.ExitCode.ShouldBe(4, table.StdErr);
        table.StdOut.ShouldContain("skipped one (iforest): seed 0: the 70/30 stratified split of 40 rows failed: Class 1 has only 1 row");
        table.StdOut.ShouldContain("good");
    }

    [Fact]
    public void Trusted_keys_refuse_unsigned_and_tampered_bundles_and_accept_signed_ones()
    {
        using var dir = new TempDir();
        var home = dir.File("home");
        WriteTransactions(dir.File("tx.csv"), 300);
        VigilProcess.RunInProcess(dir.Path, home, "models", "keygen", "--out", "keys").ShouldSucceed();
        var trusted = new Dictionary<string, string> { ["VIGIL_TRUSTED_KEYS"] = dir.File("keys/vigil-signing-key.pub.pem"), ["VIGIL_HOME"] = home };
        VigilProcess.RunInProcess(dir.Path, home, "train", "--data", "tx.csv", "--label", "label", "--id", "id", "--out", "m", "--register", "fraud").ShouldSucceed();
        string[] score = ["score", "--model", "m", "--data", "tx.csv", "--out", "s.csv"];

        VigilProcess.RunProcess(dir.Path, trusted, score).ShouldFailWithOneLine("m: the bundle is unsigned (signature.json is missing) and trusted keys are configured");
        VigilProcess.RunInProcess(dir.Path, home, score).ShouldSucceed(); // no keys configured: unsigned is fine

        var sign = VigilProcess.RunInProcess(dir.Path, home, "models", "sign", "m", "--key", "keys/vigil-signing-key.pem");
        sign.ShouldSucceed();
        sign.StdOut.ShouldStartWith("signed m with key ");
        VigilProcess.RunProcess(dir.Path, trusted, score).ShouldSucceed();

        // A changed weights byte with its manifest hash updated: the hashes agree, the signature does not.
        var forest = dir.File("m/forest.bin");
        var bytes = File.ReadAllBytes(forest);
        bytes[bytes.Length / 3] ^= 0x10;
        File.WriteAllBytes(forest, bytes);
        var manifest = JsonNode.Parse(File.ReadAllText(dir.File("m/bundle.json")))!;
        manifest["files"]!["forest.bin"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllText(dir.File("m/bundle.json"), manifest.ToJsonString());
        VigilProcess.RunProcess(dir.Path, trusted, score).ShouldFailWithOneLine("m: the signature does not verify with trusted key");

        // A registered version is signed into a new version; the unsigned one stays refused.
        var signed = VigilProcess.RunInProcess(dir.Path, home, "models", "sign", "models:/fraud/1", "--key", "keys/vigil-signing-key.pem");
        signed.ShouldSucceed();
        signed.StdOut.ShouldContain("as fraud version 2 (models:/fraud/2)");
        VigilProcess.RunProcess(dir.Path, trusted, "score", "--model", "models:/fraud/2", "--data", "tx.csv", "--out", "s2.csv").ShouldSucceed();
        VigilProcess.RunProcess(dir.Path, trusted, "score", "--model", "models:/fraud/1", "--data", "tx.csv", "--out", "s1.csv")
            .ShouldFailWithOneLine("the bundle is unsigned");
        File.Exists(dir.File("s1.csv")).ShouldBeFalse();
    }

    [Fact]
    public void A_bad_trusted_keys_setting_is_one_line_naming_it()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, new Dictionary<string, string> { ["VIGIL_TRUSTED_KEYS"] = dir.File("nokeys") }, "score", "--model", "m", "--data", "tx.csv", "--out", "s.csv")
            .ShouldFailWithOneLine("tx.csv");
        File.WriteAllText(dir.File("tx.csv"), "a\n1\n");
        VigilProcess.RunProcess(dir.Path, new Dictionary<string, string> { ["VIGIL_TRUSTED_KEYS"] = dir.File("nokeys") }, "score", "--model", "m", "--data", "tx.csv", "--out", "s.csv")
            .ShouldFailWithOneLine($"VIGIL_TRUSTED_KEYS={dir.File("nokeys")}: no such file or folder of PEM public keys");
    }
}
