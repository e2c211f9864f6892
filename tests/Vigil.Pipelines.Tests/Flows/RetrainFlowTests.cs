using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Vigil.Data;

namespace Vigil.Pipelines.Tests.Flows;

public sealed class RetrainFlowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Small(params (string Key, string Value)[] extra)
    {
        var p = new Dictionary<string, string>
        {
            ["sample-size"] = "6000",
            ["register"] = "fraud",
            ["candidates"] = "[{model: iforest, estimators: 50}, {model: iforest, estimators: 60}]",
        };
        foreach (var (k, v) in extra)
        {
            p[k] = v;
        }

        return p;
    }


    [Fact]
    public async Task Retrain_promotes_a_first_champion_then_validates_new_data_against_its_profile_and_stops_on_a_failed_check()
    {
        await using var f = await FlowFixture.CreateAsync();
        var retrain = FlowCatalog.Load("retrain", f.Registry);

        // 1. No champion yet: the data is checked against itself (the report says so) and the best candidate is promoted.
        var first = await f.Runner.RunAsync(retrain, Small(), null, Ct);
        first.Status.ShouldBe("finished", first.Error);
        (await f.OutputJsonAsync(first, "validate"))["basis"]!.GetValue<string>().ShouldBe("no champion of 'fraud' yet: checked against the data itself only");
        (await f.OutputJsonAsync(first, "drift"))["skipped"]!.GetValue<string>().ShouldContain("nothing to compare with");
        first.Steps.First(s => s.Name == "candidates").Items.Count.ShouldBe(2);
        var promoted = await f.OutputJsonAsync(first, "promote");
        promoted["moved"]!.GetValue<bool>().ShouldBeTrue();
        (await f.Store.GetRegisteredModelAsync("fraud", Ct)).Aliases["champion"].ShouldBe(promoted["candidate"]!.GetValue<int>());
        var summary = await f.OutputJsonAsync(first, "notify");
        summary["steps"]!.AsArray().Count.ShouldBe(12); // every step before notify
        summary["reports"]!.AsObject().Select(kv => kv.Key).ShouldBe(["validate.report", "drift.report", "leaderboard.leaderboard", "promote.result"]);

        // 2. New data from the same generator: checked against the champion's reference profile, drift measured by PSI.
        var second = await f.Runner.RunAsync(retrain, Small(("seed", "7")), null, Ct);
        second.Status.ShouldBe("finished", second.Error);
        (await f.OutputJsonAsync(second, "validate"))["basis"]!.GetValue<string>().ShouldStartWith("checked against the reference profile of fraud version 1 (champion)");
        var drift = await f.OutputJsonAsync(second, "drift");
        drift["features"]!.AsArray().Count.ShouldBeGreaterThan(5);
        drift["features"]!.AsArray().ShouldAllBe(x => x!["stat_test"]!.GetValue<string>() == "psi");

        // 3. A file without a feature the champion reads and with out-of-range amounts: validate stops the flow with the reasons.
        var frame = TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 3000, Seed = 3 });
        var amounts = ((Float64Column)frame["amount"]).Values.ToArray();
        for (var i = 0; i < amounts.Length; i += 10)
        {
            amounts[i] = 1e9;
        }

        var bad = frame.Drop("hour_of_day").With(new Float64Column("amount", amounts));
        var path = Path.Combine(f.Dir, "bad.parquet");
        FrameFile.Write(bad, path);
        var third = await f.Runner.RunAsync(retrain, Small(("data", path)), null, Ct);
        third.Status.ShouldBe("failed");
        third.Error!.ShouldStartWith("step validate failed: 1 of 3 checks failed");
        third.Error.ShouldContain("schema: 'hour_of_day' is missing");
        third.Steps.Select(s => s.Name).ShouldBe(["ingest", "validate"]);

        // The same file with the column back: the schema passes, the range check fails on the 1e9 amounts.
        FrameFile.Write(frame.With(new Float64Column("amount", amounts)), path);
        var fourth = await f.Runner.RunAsync(retrain, Small(("data", path)), null, Ct);
        fourth.Status.ShouldBe("failed");
        fourth.Error!.ShouldContain("range amount: 0.1 of values outside");
    }

    [Fact]
    public async Task Resume_does_not_reuse_a_validate_step_once_the_champion_changed()
    {
        await using var f = await FlowFixture.CreateAsync();
        var first = await f.RunAsync("""
            name: guarded
            steps:
              - name: data
                uses: generate
                with: { rows: 2000, seed: 5 }
              - name: validate
                uses: validate
                inputs: { data: data.data }
                with: { model: m, min-rows: 100 }
              - name: check
                uses: check
                inputs: { in: validate.report }
            """);
        first.Status.ShouldBe("failed");
        (await f.OutputJsonAsync(first, "validate"))["basis"]!.GetValue<string>().ShouldBe("no champion of 'm' yet: checked against the data itself only");

        // A champion appears between the two runs (trained on the same rows).
        var path = Path.Combine(f.Dir, "rows.parquet");
        FrameFile.Write(TransactionGenerator.GenerateFrame(new TransactionGeneratorOptions { Rows = 2000, Seed = 5 }), path);
        var lifecycle = new Vigil.Lifecycle.ModelLifecycle(f.Store);
        var trained = await lifecycle.TrainAsync(new Vigil.Lifecycle.TrainOptions
        {
            Data = Vigil.Lifecycle.DataSource.FromFile(path),
            Spec = new Vigil.Detectors.TrainSpec { Model = "iforest", Label = "label", Forest = new Vigil.Detectors.IsolationForestOptions { Estimators = 20, Seed = 1 } },
            RegisterAs = "m",
        }, null, Ct);
        await lifecycle.MoveAliasAsync("m", "champion", trained.Run!.Version!.Version, "test", cancellationToken: Ct);

        f.Kinds.Fail.Failing = false;
        var resumed = await f.Runner.ResumeAsync(first.RunId, null, null, Ct);

        resumed.Status.ShouldBe("finished", resumed.Error);
        resumed.Steps.Select(x => x.Reused).ShouldBe([true, false, false]);
        (await f.OutputJsonAsync(resumed, "validate"))["basis"]!.GetValue<string>().ShouldBe("checked against the reference profile of m version 1 (champion)");
    }

    [Fact]
    public async Task Notify_posts_the_summary_to_the_webhook_and_retries_a_failed_post()
    {
        await using var f = await FlowFixture.CreateAsync();
        using var listener = new HttpListener();
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/hook/";
        listener.Prefixes.Add(url);
        listener.Start();
        var bodies = new List<string>();
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                var ctx = await listener.GetContextAsync();
                using (var reader = new StreamReader(ctx.Request.InputStream))
                {
                    bodies.Add(ctx.Request.ContentType + "\n" + await reader.ReadToEndAsync());
                }

                ctx.Response.StatusCode = i == 0 ? 503 : 204; // the first POST fails, the retry succeeds
                ctx.Response.Close();
            }
        }, Ct);
        var result = await f.RunAsync($$"""
            name: tell
            steps:
              - name: make
                uses: count
                with: { text: hi }
              - name: notify
                uses: notify
                retries: 1
                backoff: 10ms
                inputs: { reports: make.out }
                with: { url: "{{url}}" }
            """);
        await server.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        result.Status.ShouldBe("finished", result.Error);
        result.Steps[1].Attempts.ShouldBe(2);
        bodies.Count.ShouldBe(2);
        bodies[1].ShouldStartWith("application/json; charset=utf-8\n");
        var json = JsonNode.Parse(bodies[1].Split('\n', 2)[1])!;
        json["flow"]!.GetValue<string>().ShouldBe("tell");
        json["run_id"]!.GetValue<string>().ShouldBe(result.RunId);
        json["steps"]![0]!["name"]!.GetValue<string>().ShouldBe("make");
        json["reports"]!["make.out"]!.GetValue<string>().ShouldBe("hi"); // not JSON: included as text
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
