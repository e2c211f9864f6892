using System.Globalization;
using System.Text.Json;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>
/// One inference log seeded through the library twice, into the default SQLite store of a temporary VIGIL_HOME
/// and into a Parquet folder: five requests three days ago (fraud v3, aml v1), three requests ten minutes ago.
/// </summary>
public sealed class LogsFixture : IAsyncLifetime
{
    private readonly TempDir _dir = new();

    public LogsFixture()
    {
        Environment = new Dictionary<string, string> { ["VIGIL_HOME"] = Home };
        var now = (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;
        OldStartUs = now - (3 * 86_400_000_000L);
        RecentStartUs = now - (10 * 60_000_000L);
        var records = new List<InferenceRecord>();
        for (var i = 0; i < 8; i++)
        {
            var start = (i < 5 ? OldStartUs : RecentStartUs) + (i * 1_000L);
            records.Add(new InferenceRecord
            {
                LogId = "log-" + i.ToString(CultureInfo.InvariantCulture),
                RequestId = "req-" + i.ToString(CultureInfo.InvariantCulture),
                StartUs = start,
                EndUs = start + 900,
                Route = "v1/predict",
                Model = i % 3 == 2 ? "aml" : "fraud",
                Version = i % 3 == 2 ? 1 : 3,
                Status = i == 6 ? 422 : 200,
                Rows = 2,
                ScoredRows = i == 6 ? 1 : 2,
                RequestPayload = i == 7 ? null : "sha256:" + new string('b', 64),
                ResponsePayload = i == 7 ? null : """{"predictions":[0.25,0.5]}""",
                ParseUs = 100 + i,
                TransformUs = 200 + i,
                ScoreUs = 300 + i,
                Error = i == 6 ? "instance 1: field 'amount' is missing" : null,
            });
        }

        Records = records;
    }

    public string Dir => _dir.Path;

    public string Home => _dir.File("home");

    public string Parquet => _dir.File("parquet-log");

    public long OldStartUs { get; }

    public long RecentStartUs { get; }

    public IReadOnlyList<InferenceRecord> Records { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public async ValueTask InitializeAsync()
    {
        await using (var store = await InferenceLogStore.OpenAsync("sqlite:" + Path.Combine(Home, "vigil.db"), Home))
        {
            await store.WriteAsync(Records.Take(5).ToArray());
            await store.WriteAsync(Records.Skip(5).ToArray());
        }

        await using var sink = new ParquetInferenceLogSink(Parquet);
        await sink.WriteAsync(Records.Take(5).ToArray());
        await sink.WriteAsync(Records.Skip(5).ToArray());
    }

    internal VigilResult Run(params string[] args) => VigilProcess.Run(_dir.Path, Environment, args);

    public ValueTask DisposeAsync()
    {
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class LogsCliTests(LogsFixture fx) : IClassFixture<LogsFixture>
{
    private static string Count(VigilResult r)
    {
        r.ShouldSucceed();
        return r.StdOut.Trim();
    }

    [Theory]
    [InlineData("store")]
    [InlineData("parquet")]
    public void Count_prints_the_number_of_requests_with_model_and_since_filters(string source)
    {
        string[] from = source == "store" ? [] : ["--parquet", fx.Parquet];
        Count(fx.Run(["logs", "count", .. from])).ShouldBe("8");
        Count(fx.Run(["logs", "count", "--model", "aml", .. from])).ShouldBe("2");
        Count(fx.Run(["logs", "count", "--since", "1h", .. from])).ShouldBe("3");
        Count(fx.Run(["logs", "count", "--since", "4d", "--model", "fraud", .. from])).ShouldBe("6");
        var iso = new DateTime(DateTimeOffset.UnixEpoch.Ticks + ((fx.OldStartUs + 3_000) * 10), DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        Count(fx.Run(["logs", "count", "--since", iso, .. from])).ShouldBe("5"); // rows 3..7 start at or after it
    }

    [Fact]
    public void Count_reads_the_store_named_by_store()
    {
        Count(fx.Run("logs", "count", "--store", "sqlite:" + Path.Combine(fx.Home, "vigil.db"))).ShouldBe("8");
        Count(fx.Run("logs", "count", "--store", "sqlite:" + Path.Combine(fx.Dir, "empty.db"))).ShouldBe("0");
    }

    [Fact]
    public void Tail_prints_the_newest_requests_as_a_table_oldest_first()
    {
        var r = fx.Run("logs", "tail", "-n", "3");
        r.ShouldSucceed();
        r.StdOut.ShouldContain("inference log: sqlite " + Path.Combine(fx.Home, "vigil.db"));
        var lines = r.StdOut.Split('\n');
        var rows = lines.Where(l => l.Contains("req-", StringComparison.Ordinal)).ToList();
        rows.Count.ShouldBe(3);
        rows[0].ShouldContain("req-5");
        rows[0].ShouldContain("aml@1");
        rows[1].ShouldContain("req-6");
        rows[1].ShouldContain("fraud@3");
        rows[1].ShouldContain("422");
        rows[1].ShouldContain("1/2"); // scored/rows when some rows failed
        rows[2].ShouldContain("req-7");
        foreach (var header in new[] { "time", "request id", "model", "status", "rows", "parse µs", "transform µs", "score µs" })
        {
            r.StdOut.ShouldContain(header);
        }

        rows[2].ShouldContain("107");
        rows[2].ShouldContain("207");
        rows[2].ShouldContain("307");
    }

    [Fact]
    public void Tail_json_prints_one_object_per_line_with_every_field()
    {
        foreach (string[] from in (string[][])[[], ["--parquet", fx.Parquet]])
        {
            var r = fx.Run(["logs", "tail", "--json", "--model", "fraud", "-n", "2", .. from]);
            r.ShouldSucceed();
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Length.ShouldBe(2);
            using var first = JsonDocument.Parse(lines[0]);
            using var last = JsonDocument.Parse(lines[1]);
            first.RootElement.GetProperty("request_id").GetString().ShouldBe("req-6");
            var e = first.RootElement;
            e.GetProperty("log_id").GetString().ShouldBe("log-6");
            e.GetProperty("start_us").GetInt64().ShouldBe(fx.Records[6].StartUs);
            e.GetProperty("end_us").GetInt64().ShouldBe(fx.Records[6].EndUs);
            e.GetProperty("start_time").GetString()!.ShouldEndWith("Z");
            e.GetProperty("route").GetString().ShouldBe("v1/predict");
            e.GetProperty("model").GetString().ShouldBe("fraud");
            e.GetProperty("version").GetInt32().ShouldBe(3);
            e.GetProperty("status").GetInt32().ShouldBe(422);
            e.GetProperty("rows").GetInt32().ShouldBe(2);
            e.GetProperty("scored_rows").GetInt32().ShouldBe(1);
            e.GetProperty("request_payload").GetString().ShouldBe("sha256:" + new string('b', 64));
            e.GetProperty("response_payload").GetString().ShouldBe("""{"predictions":[0.25,0.5]}""");
            e.GetProperty("parse_us").GetInt64().ShouldBe(106);
            e.GetProperty("transform_us").GetInt64().ShouldBe(206);
            e.GetProperty("score_us").GetInt64().ShouldBe(306);
            e.GetProperty("error").GetString().ShouldBe("instance 1: field 'amount' is missing");
            last.RootElement.GetProperty("request_id").GetString().ShouldBe("req-7");
            last.RootElement.GetProperty("request_payload").ValueKind.ShouldBe(JsonValueKind.Null);
            last.RootElement.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        }
    }

    [Fact]
    public void Tail_defaults_to_ten_requests()
    {
        var r = fx.Run("logs", "tail", "--json", "--parquet", fx.Parquet);
        r.ShouldSucceed();
        r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(8);
    }

    [Fact]
    public void Bad_arguments_fail_with_one_line()
    {
        fx.Run("logs", "count", "--since", "yesterday").ShouldFailWithOneLine("--since 'yesterday'", "ISO-8601", "15m");
        fx.Run("logs", "count", "--since", "5x").ShouldFailWithOneLine("--since '5x'");
        fx.Run("logs", "tail", "-n", "0").ShouldFailWithOneLine("-n must be a positive whole number");
        fx.Run("logs", "count", "--store", "sqlite:x.db", "--parquet", fx.Parquet).ShouldFailWithOneLine("--store and --parquet");
        fx.Run("logs", "tail", "--parquet", Path.Combine(fx.Dir, "missing")).ShouldFailWithOneLine("inference log folder", "not found");
    }
}
