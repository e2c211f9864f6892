using System.Diagnostics;
using Vigil.Data;
using Vigil.Detectors;

namespace Vigil.Fx.Tests.Import;

/// <summary>
/// <c>vigil fx import</c> against real Python artifacts: <c>eng/peers/fx_python.py seed</c> fits a seed-style FISAU model
/// (scikit-learn OneHotEncoder and MinMaxScaler, pandas tables and a multi-input PyTorch autoencoder exported to ONNX; seed
/// 7, 4 epochs) on generated deals (seed 21), <c>export-tables</c> reads its pickles with the restricted unpickler, and
/// <c>decide</c> (pandas + scikit-learn + torch) is the reference the imported bundle must agree with, deal for deal.
/// Needs Debian's python3-sklearn, python3-pandas and python3-torch (eng/ensure-python.sh --torch): skipped without
/// them, failed under CI=true.
/// </summary>
public sealed class FxImportTests
{
    private static readonly string Script = Path.Combine(RepoRoot(), "eng", "peers", "fx_python.py");

    private static readonly Lazy<string> Artifacts = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "vigil-fx-import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        FxDealGenerator.WriteTo(new FxGeneratorOptions { Rows = 8_000, EvalRows = 26_000, Seed = 21 }, Path.Combine(dir, "deals.csv"), Path.Combine(dir, "eval.csv"));
        Python(dir, "seed", "--deals", "deals.csv", "--client", "FISAU", "--out", ".", "--epochs", "4", "--seed", "7");
        Python(dir, "export-tables", "--scales", "all_scales.pkl", "--year-gap", "year_gap_data.pkl", "--out", "tables.json");
        Python(dir, "decide", "--scales", "all_scales.pkl", "--year-gap", "year_gap_data.pkl", "--model", "model.pt", "--client", "FISAU", "--deals", "eval.csv", "--out", "reference.csv");
        return dir;
    });

    [Fact]
    public void Imported_python_artifacts_give_the_python_reference_decisions_on_10000_deals()
    {
        RequirePython();
        var dir = Artifacts.Value;
        try
        {
            DecideAndCompare(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void DecideAndCompare(string dir)
    {
        var imported = FxImporter.Import(Path.Combine(dir, "tables.json"), Path.Combine(dir, "model.onnx"), "FISAU", new FxTestModel.FixedTime());
        imported.Manifest.DetectorKind.ShouldBe(FxModel.ImportedKind);

        // Saved and loaded back as any bundle is (SHA-256 checked): the served form.
        var zip = Path.Combine(dir, "fisau-imported.zip");
        imported.Save(zip);
        var scorer = FxScorer.Load(zip);
        var raw = FxDealFrame.ReadRaw(FrameFile.Read(Path.Combine(dir, "eval.csv"), FxDealFrame.CsvOptions)).Where(d => d.Client == "FISAU").ToArray();
        var decisions = new FxDecision[raw.Length];
        scorer.Decide(raw, decisions);

        var reference = File.ReadAllLines(Path.Combine(dir, "reference.csv")).Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[0], c => (Status: int.Parse(c[1], System.Globalization.CultureInfo.InvariantCulture), Anomaly: c[2], Check: c[3]));
        raw.Length.ShouldBeGreaterThanOrEqualTo(10_000);
        reference.Count.ShouldBe(raw.Length);
        var mismatches = new List<string>();
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < raw.Length; i++)
        {
            var expected = reference[raw[i].UniqueId!];
            var d = decisions[i];
            var check = d.StatusCode == 200 && d.Anomaly ? d.Check ?? "" : "";
            kinds[check] = kinds.GetValueOrDefault(check) + 1;
            if (d.StatusCode != expected.Status || d.AnomalyText != expected.Anomaly || check != expected.Check)
            {
                mismatches.Add($"{raw[i].UniqueId}: vigil {d.StatusCode} {d.AnomalyText} {check} ({d.Reason}), python {expected.Status} {expected.Anomaly} {expected.Check}");
            }
        }

        mismatches.ShouldBeEmpty();

        // The Python flow's network has the dense shape Vigil runs natively (no ONNX Runtime in the decisions above), and its
        // group errors agree with ONNX Runtime's on every deal to float rounding (the sums run in another order).
        var onnx = scorer.Model.Onnx.ShouldNotBeNull();
        onnx.IsNative.ShouldBe(FxDenseForward.Supported);
        var (valid, _) = FxDealFrame.Read(FrameFile.Read(Path.Combine(dir, "eval.csv"), FxDealFrame.CsvOptions));
        var x = scorer.Bundle.Transform.Transform(FxDealFrame.Features([.. valid.Where(d => d is not null && d.Client == "FISAU").Select(d => d!)]));
        var groups = onnx.GroupNames.Count;
        var native = new double[x.Rows * groups];
        var runtime = new double[x.Rows * groups];
        onnx.GroupErrors(x, native);
        onnx.GroupErrorsOnnxRuntime(x, runtime);
        x.Rows.ShouldBeGreaterThanOrEqualTo(10_000);
        for (var i = 0; i < native.Length; i++)
        {
            Math.Abs(native[i] - runtime[i]).ShouldBeLessThanOrEqualTo(1e-6 + (1e-4 * Math.Abs(runtime[i])), $"deal {i / groups}, group {onnx.GroupNames[i % groups]}");
        }

        // Every check took part: rules, both ranges and the autoencoder.
        foreach (var kind in FxAnomalyKinds.All.Skip(1))
        {
            kinds.GetValueOrDefault(kind).ShouldBeGreaterThan(0, kind);
        }
    }

    [Fact]
    public void The_restricted_unpickler_refuses_a_pickle_that_names_any_other_global()
    {
        RequirePython();
        var dir = Path.Combine(Path.GetTempPath(), "vigil-fx-evil-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // A pickle whose load would call os.system: the classic pickle exploit.
            File.WriteAllBytes(Path.Combine(dir, "all_scales.pkl"), "cos\nsystem\n(S'touch pwned'\ntR."u8.ToArray());
            File.WriteAllBytes(Path.Combine(dir, "year_gap_data.pkl"), "cos\nsystem\n(S'touch pwned'\ntR."u8.ToArray());
            var (code, output) = Run(dir, "export-tables", "--scales", "all_scales.pkl", "--year-gap", "year_gap_data.pkl", "--out", "tables.json");
            code.ShouldNotBe(0);
            output.ShouldContain("refused global os.system");
            File.Exists(Path.Combine(dir, "pwned")).ShouldBeFalse();
            File.Exists(Path.Combine(dir, "tables.json")).ShouldBeFalse();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Import_names_the_file_and_key_that_do_not_fit()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vigil-fx-bad-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var tables = Path.Combine(dir, "tables.json");
            var onnx = Path.Combine(dir, "model.onnx");
            File.WriteAllBytes(onnx, [1, 2, 3]);
            File.WriteAllText(tables, """{"format":"vigil-fx-tables","version":1,"clients":{"FISNZ":{}}}""");
            Should.Throw<FxDataException>(() => FxImporter.Import(tables, onnx, "FISAU")).Message.ShouldBe($"{tables}: clients.FISAU: no such client (the file has FISNZ)");
            File.WriteAllText(tables, """{"format":"something-else"}""");
            Should.Throw<FxDataException>(() => FxImporter.Import(tables, onnx, "FISAU")).Message.ShouldContain("format");
            Should.Throw<FxDataException>(() => FxImporter.Import(Path.Combine(dir, "missing.json"), onnx, "FISAU")).Message.ShouldEndWith("missing.json: file not found");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RequirePython()
    {
        var (code, _) = Run(Path.GetTempPath(), "-c", "import sklearn, pandas, torch");
        if (code == 0)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail("python3 with scikit-learn, pandas and torch is missing but CI=true: run eng/ensure-python.sh --torch");
        }

        Assert.Skip("needs /usr/bin/python3 with python3-sklearn, python3-pandas, python3-torch (eng/ensure-python.sh --torch)");
    }

    private static void Python(string dir, params string[] args)
    {
        var (code, output) = Run(dir, [Script, .. args]);
        if (code != 0)
        {
            throw new InvalidOperationException($"fx_python.py {args[0]} failed ({code}): {output}");
        }
    }

    private static (int Code, string Output) Run(string dir, params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        if (args[0] != "-c" && !args[0].EndsWith(".py", StringComparison.Ordinal))
        {
            start.ArgumentList.Add(Script);
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(start)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Vigil.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Vigil.slnx) is not above " + AppContext.BaseDirectory);
    }
}
