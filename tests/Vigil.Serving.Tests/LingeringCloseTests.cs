using System.Diagnostics;

namespace Vigil.Serving.Tests;

/// <summary>
/// A client that sends the whole body before reading the answer (Python's urllib) sees the 413 of an oversized body:
/// the server drains the rest of the body before closing (see <see cref="LingeringClose"/>) instead of resetting the
/// connection under the client's feet (a broken pipe before this).
/// </summary>
public sealed class LingeringCloseTests
{
    private const string Script = """
        import json, sys, urllib.request, urllib.error
        url = sys.argv[1]
        body = b'{"model":"fraud","instances":[{"pad":"' + b'p' * (11 * 1024 * 1024) + b'"}]}'
        ok = 0
        for attempt in range(5):
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    print(f"attempt {attempt}: status {response.status}, expected 413")
            except urllib.error.HTTPError as e:
                problem = json.loads(e.read())
                print(f"attempt {attempt}: {e.code} field={problem.get('field')}")
                ok += e.code == 413 and problem.get("field") == "body"
            except Exception as e:
                print(f"attempt {attempt}: {type(e).__name__}: {e}")
        print(f"RESULT {ok}/5")
        """;

    [Theory]
    [InlineData("/v1/predict")]
    [InlineData("/invocations")]
    [InlineData("/v2/models/fraud/infer")]
    public async Task Eleven_MB_body_from_python_urllib_gets_413_five_times_out_of_five(string path)
    {
        var python = FindPython();
        if (python is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail("python3 is not installed but CI=true: this test needs it (apt-get install python3)");
            }

            Assert.Skip("needs python3");
        }

        // The default body limit, 10 MB.
        await using var server = await ServerHarness.StartAsync(o => o with { DefaultModel = "fraud" });
        var script = Path.Combine(Path.GetTempPath(), "vigil-urllib-" + Guid.NewGuid().ToString("N") + ".py");
        await File.WriteAllTextAsync(script, Script, TestContext.Current.CancellationToken);
        try
        {
            var start = new ProcessStartInfo(python, [script, new Uri(server.BaseAddress, path).ToString()])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
            var text = await output + await errors;
            process.ExitCode.ShouldBe(0, text);
            text.ShouldContain("RESULT 5/5", customMessage: text);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>/usr/bin/python3 (the one eng/ensure-python.sh provisions), else python3 on the PATH, else null.</summary>
    private static string? FindPython()
    {
        if (File.Exists("/usr/bin/python3"))
        {
            return "/usr/bin/python3";
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "python3");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
