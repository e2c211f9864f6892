using System.Diagnostics;

namespace Vigil.Deploy.Tests.Prometheus;

/// <summary>
/// deploy/prometheus/alerts.yml: valid rules (<c>promtool check rules</c>) whose unit tests (alerts_test.yml: latency,
/// error rate, inference log drops / write failures / dead letters, model load failures, dataset drift and alert rate
/// off its reference from the online drift gauges, each firing and quiet) pass
/// (<c>promtool test rules</c>); and every metric they read is one the server exports.
/// </summary>
public sealed class AlertRulesTests
{
    [Fact]
    public void Promtool_checks_the_rules_and_their_unit_tests_pass()
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null)
        {
            const string message = "promtool is not installed (eng/test.sh installs Debian's prometheus package)";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var folder = DeployFiles.PathOf("prometheus");
        var (checkExit, checkOut) = Run(promtool, folder, "check", "rules", "alerts.yml");
        checkExit.ShouldBe(0, checkOut);
        checkOut.ShouldContain("SUCCESS: 8 rules found");
        var (testExit, testOut) = Run(promtool, folder, "test", "rules", "alerts_test.yml");
        testExit.ShouldBe(0, testOut);
        testOut.ShouldContain("SUCCESS");
    }

    [Fact]
    public void Every_metric_in_the_rules_is_exported_by_the_server()
    {
        var rules = DeployFiles.Text(Path.Combine("prometheus", "alerts.yml"));
        var used = System.Text.RegularExpressions.Regex.Matches(rules, @"\bvigil_[a-z_]+\b").Select(m => m.Value)
            .Select(n => n.EndsWith("_bucket", StringComparison.Ordinal) ? n[..^"_bucket".Length] : n)
            .ToHashSet(StringComparer.Ordinal);
        used.ShouldNotBeEmpty();
        var telemetry = File.ReadAllText(Path.Combine(RepoRoot(), "src", "Vigil.Serving", "Telemetry", "ServingMetrics.cs"));
        foreach (var name in used)
        {
            telemetry.ShouldContain($"\"{name}\"", customMessage: $"alerts.yml reads {name}, which the server does not export");
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Vigil.slnx not found above " + AppContext.BaseDirectory);
    }

    private static (int Exit, string Output) Run(string file, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("promtool did not finish within 60 s");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }
}
