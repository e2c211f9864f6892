using System.Diagnostics;
using Vigil.Monitoring.Tests.Profiles;

namespace Vigil.Monitoring.Tests.Reports;

/// <summary>
/// The HTML report: self-contained (no script, no external resource), the drift table sorted by severity, one chart
/// per feature, estimated metrics labelled; and rendered by headless Debian <c>chromium</c> into a screenshot with no
/// console message and visible content.
/// </summary>
public sealed class HtmlReportTests
{
    private static MonitoringReport Sample()
    {
        var bundle = ModelCache.Bundle;
        var drift = new ProfileDrift(bundle.Profile!, bundle.Threshold, bucketUs: 3_600_000_000);
        drift.Add(ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(1500, shift: 40, seed: 11), startUs: 1_767_225_600_000_000));
        drift.Add(ProfileDriftTests.Chunk(bundle, ProfileDriftTests.Rows(1500, shift: 10, seed: 12), startUs: 1_767_225_600_000_000 + 3_600_000_000));
        var windows = drift.Windows().Select((w, i) => w with
        {
            LabelledShare = i == 0 ? 1 : 0,
            Realized = i == 0 ? new Dictionary<string, double> { ["auc_pr"] = 0.61 } : new Dictionary<string, double>(),
            Estimated = new Dictionary<string, double> { ["auc_pr"] = 0.58 + (0.01 * i) },
        }).ToArray();
        return new MonitoringReport
        {
            Title = "Drift report: <fraud>",
            Reference = "profile",
            Current = "log",
            Drift = drift.Report(),
            Histograms = drift.Histograms(),
            Scores = drift.ScoreHistogram(),
            Windows = windows,
            Created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }

    [Fact]
    public void Html_is_self_contained_sorted_and_marks_estimates()
    {
        var html = HtmlReport.Render(Sample());
        html.ShouldStartWith("<!DOCTYPE html>");
        html.ShouldNotContain("<script", Case.Insensitive);
        html.Replace("http://www.w3.org/2000/svg", "").ShouldNotContain("http");
        html.ShouldContain("Drift report: &lt;fraud&gt;"); // escaped
        html.IndexOf("<td>amount</td>", StringComparison.Ordinal).ShouldBeLessThan(html.IndexOf("<td>stable</td>", StringComparison.Ordinal));
        html.ShouldContain("(estimated)");
        // one histogram per feature, the scores, and the over-time charts (alert rate, performance)
        System.Text.RegularExpressions.Regex.Matches(html, "<svg ").Count.ShouldBe(3 + 1 + 2);
    }

    [Fact]
    public void Chromium_renders_the_report_without_console_messages()
    {
        var chromium = FindChromium();
        if (chromium is null)
        {
            var message = "chromium is not installed (eng/test.sh installs Debian's chromium)";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var dir = Directory.CreateTempSubdirectory("vigil-report-");
        try
        {
            var page = Path.Combine(dir.FullName, "report.html");
            var shot = Path.Combine(dir.FullName, "report.png");
            HtmlReport.Write(Sample(), page);
            var (exit, stderr) = Run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--user-data-dir={Path.Combine(dir.FullName, "profile")}",
                "--enable-logging=stderr", "--v=0", "--window-size=1280,2000", $"--screenshot={shot}", new Uri(page).AbsoluteUri);
            exit.ShouldBe(0, stderr);
            var console = stderr.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal)).ToArray();
            console.ShouldBeEmpty(stderr);
            File.Exists(shot).ShouldBeTrue(stderr);
            var png = File.ReadAllBytes(shot);
            png.AsSpan(1, 3).SequenceEqual("PNG"u8).ShouldBeTrue();
            // A blank 1280x2000 page compresses to about 14 KB; the report's tables and charts to well over 60 KB.
            png.Length.ShouldBeGreaterThan(60_000);
            // Keep the screenshot next to the test results for a human to look at.
            File.Copy(shot, Path.Combine(AppContext.BaseDirectory, "report-screenshot.png"), overwrite: true);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string? FindChromium()
    {
        foreach (var candidate in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static (int Exit, string Stderr) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 90 s");
        }

        return (process.ExitCode, stderr.GetAwaiter().GetResult());
    }
}

/// <summary>The bundle of <see cref="ProfileDriftTests"/>, trained once per test run.</summary>
internal static class ModelCache
{
    private static readonly Lazy<Vigil.Detectors.ModelBundle> Model = new(() =>
        Vigil.Detectors.ModelBundle.Train(ProfileDriftTests.Rows(3000, shift: 0, seed: 1),
            new Vigil.Detectors.TrainSpec { Forest = new Vigil.Detectors.IsolationForestOptions { Estimators = 30, Seed = 0 } }));

    public static Vigil.Detectors.ModelBundle Bundle => Model.Value;
}
