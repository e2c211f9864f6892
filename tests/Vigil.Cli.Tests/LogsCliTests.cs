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
    public void Count_json_has_the_number_and_the_filters()
    {
        var r = fx.Run("logs", "count", "--model", "fraud", "--json");
        r.ShouldSucceed();
        using var json = System.Text.Json.JsonDocument.Parse(r.StdOut);
        json.RootElement.GetProperty("requests").GetInt64().ShouldBe(6);
        json.RootElement.GetProperty("model").GetString().ShouldBe("fraud");
        json.RootElement.GetProperty("since").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);

        using var since = System.Text.Json.JsonDocument.Parse(fx.Run("logs", "count", "--since", "1h", "--json").StdOut);
        since.RootElement.GetProperty("requests").GetInt64().ShouldBe(3);
        DateTimeOffset.Parse(since.RootElement.GetProperty("since").GetString()!, CultureInfo.InvariantCulture).ShouldBeLessThan(DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Count_reads_the_store_named_by_store()
    {
        Count(fx.Run("logs", "count", "--store", "sqlite:" + Path.Combine(fx.Home, "vigil.db"))).ShouldBe("8");
        var empty = Path.Combine(fx.Dir, "empty.db");
        fx.Run("logs", "count", "--store", "sqlite:" + empty).ShouldFailWithOneLine($"the SQLite store {empty} does not exist"); // reading creates nothing
        File.Exists(empty).ShouldBeFalse();
        await (await Vigil.Tracking.StoreFactory.OpenAsync("sqlite:" + empty, fx.Home, TestContext.Current.CancellationToken)).DisposeAsync(); // as a writing command's first use
        Count(fx.Run("logs", "count", "--store", "sqlite:" + empty)).ShouldBe("0");
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
            // a JSON payload is shown as JSON, not as an escaped string; a hash stays text
            e.GetProperty("response_payload").ValueKind.ShouldBe(JsonValueKind.Object);
            e.GetProperty("response_payload").GetRawText().ShouldBe("""{"predictions":[0.25,0.5]}""");
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

    /// <summary>
    /// A load-run-like log for <c>logs export</c>: 40 fraud requests × 3 items one second apart from an hour ago (the
    /// first 30 scored by v3 with inputs amount and country, the last 10 by v4 which adds hour; in request 35 a rule
    /// decided item 1 without the model and item 2 failed validation), plus 5 aml requests; written to a SQLite store
    /// and to a Parquet folder.
    /// </summary>
    private static async Task<(string Store, string Folder, long T0)> WriteExportLogAsync(string dir)
    {
        var t0 = ((DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond) - 3_600_000_000L;
        var records = new List<InferenceRecord>();
        for (var r = 0; r < 45; r++)
        {
            var fraud = r < 40;
            var version = !fraud ? 1 : r < 30 ? 3 : 4;
            var status = new[] { 200, 200, r == 35 ? 400 : 200 };
            var score = new[] { r / 100.0, r == 35 ? double.NaN : 0.5 + (r / 100.0), r == 35 ? double.NaN : 0.99 };
            var label = new sbyte[] { 0, 1, r == 35 ? (sbyte)-1 : (sbyte)1 };
            List<InferenceFeatureColumn> features =
            [
                new("amount", [r * 10.0, (r * 10.0) + 1, double.NaN], null),
                new("country", null, ["DE", null, "日本"]),
            ];
            if (version == 4)
            {
                features.Add(new("hour", [1, 2, 3], null));
            }
            var start = t0 + (r * 1_000_000L);
            records.Add(new InferenceRecord
            {
                LogId = "exp-" + r.ToString("D3", CultureInfo.InvariantCulture),
                RequestId = "req-" + r.ToString(CultureInfo.InvariantCulture),
                StartUs = start,
                EndUs = start + 500,
                Route = "v1/predict",
                Model = fraud ? "fraud" : "aml",
                Version = version,
                Status = 200,
                Rows = 3,
                ScoredRows = r == 35 ? 2 : 3,
                Items = new InferenceItems
                {
                    Count = 3, Status = status, Score = score, Label = label, Rule = [null, r == 35 ? "deny_list" : null, null], Features = features,
                },
            });
        }
        var store = "sqlite:" + Path.Combine(dir, "export.db");
        var folder = Path.Combine(dir, "export-parquet");
        await using (var log = await InferenceLogStore.OpenAsync(store, dir))
        {
            await log.WriteAsync(records.Take(25).ToArray());
            await log.WriteAsync(records.Skip(25).ToArray());
        }
        await using var sink = new ParquetInferenceLogSink(folder);
        await sink.WriteAsync(records.Take(25).ToArray());
        await sink.WriteAsync(records.Skip(25).ToArray());
        return (store, folder, t0);
    }

    [Theory]
    [InlineData("store")]
    [InlineData("parquet")]
    public async Task Export_writes_one_row_per_decided_item_with_score_version_and_the_union_of_features(string source)
    {
        var dir = Path.Combine(fx.Dir, "export-" + source);
        Directory.CreateDirectory(dir);
        var (store, folder, t0) = await WriteExportLogAsync(dir);
        string[] from = source == "store" ? ["--store", store] : ["--parquet", folder];
        var output = Path.Combine(dir, "items.parquet");

        var r = fx.Run(["logs", "export", "--model", "fraud", "--out", output, .. from]);
        r.ShouldSucceed();
        r.StdOut.Trim().ShouldBe("119"); // 40 requests × 3 items, less the item that failed validation

        var frame = Vigil.Data.ParquetFile.Read(output); // Vigil.Data's reader, not the writer's code
        frame.RowCount.ShouldBe(119);
        frame.Columns.Select(c => c.Name).ShouldBe(["request_id", "item", "time", "model", "version", "score", "label", "rule", "amount", "country", "hour"]);
        var rows = Enumerable.Range(0, frame.RowCount).ToArray();
        var requestIds = rows.Select(i => frame["request_id"].FormatValue(i)).ToArray();
        var first = Array.IndexOf(requestIds, "req-0");
        frame["item"].GetDouble(first).ShouldBe(0);
        ((Vigil.Data.TimestampColumn)frame["time"]).UnixMicros[first].ShouldBe(t0);
        frame["model"].FormatValue(first).ShouldBe("fraud");
        frame["version"].GetDouble(first).ShouldBe(3);
        frame["score"].GetDouble(first).ShouldBe(0.0);
        frame["rule"].FormatValue(first).ShouldBe("");
        frame["amount"].GetDouble(first).ShouldBe(0.0);
        frame["country"].FormatValue(first).ShouldBe("DE");
        frame["hour"].IsMissing(first).ShouldBeTrue(); // v3 has no input 'hour'
        rows.Count(i => frame["version"].GetDouble(i) == 4).ShouldBe(29);
        rows.Where(i => frame["version"].GetDouble(i) == 4).ShouldAllBe(i => !frame["hour"].IsMissing(i));
        rows.Count(i => frame["score"].IsMissing(i)).ShouldBe(1); // decided by the rule alone
        var ruled = rows.Single(i => frame["rule"].FormatValue(i) == "deny_list");
        requestIds[ruled].ShouldBe("req-35");
        frame["item"].GetDouble(ruled).ShouldBe(1);
        frame["label"].GetDouble(ruled).ShouldBe(1);
        rows.Count(i => frame["country"].IsMissing(i)).ShouldBe(40);

        // [since, until): requests 10..19
        var since = DateTimeOffset.UnixEpoch.AddTicks((t0 + 10_000_000L) * TimeSpan.TicksPerMicrosecond).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var until = DateTimeOffset.UnixEpoch.AddTicks((t0 + 20_000_000L) * TimeSpan.TicksPerMicrosecond).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var window = fx.Run(["logs", "export", "-m", "fraud", "--since", since, "--until", until, "-o", output, .. from]);
        window.ShouldSucceed();
        window.StdOut.Trim().ShouldBe("30");
        Vigil.Data.ParquetFile.Read(output).Columns.Select(c => c.Name).ShouldNotContain("hour"); // only v3 in the window
        fx.Run(["logs", "export", "-m", "aml", "--since", "2h", "-o", output, .. from]).StdOut.Trim().ShouldBe("15");
        using (var json = System.Text.Json.JsonDocument.Parse(fx.Run(["logs", "export", "-m", "aml", "--since", "2h", "-o", output, "--json", .. from]).StdOut))
        {
            json.RootElement.GetProperty("rows").GetInt64().ShouldBe(15);
            json.RootElement.GetProperty("output").GetString().ShouldBe(Path.GetFullPath(output));
            json.RootElement.GetProperty("model").GetString().ShouldBe("aml");
        }

        fx.Run(["logs", "export", "-m", "nope", "-o", output, .. from]).StdOut.Trim().ShouldBe("0");
    }

    [Fact]
    public void Export_with_bad_arguments_fails_with_one_line()
    {
        var output = Path.Combine(fx.Dir, "bad.parquet");
        fx.Run("logs", "export", "--model", "fraud", "--until", "yesterday", "--out", output).ShouldFailWithOneLine("--until 'yesterday'", "ISO-8601");
        fx.Run("logs", "export", "--model", "fraud", "--since", "1h", "--until", "2h", "--out", output).ShouldFailWithOneLine("--until '2h' is not after --since '1h'");
        fx.Run("logs", "export", "--model", "fraud", "--out", Path.Combine(fx.Dir, "missing", "x.parquet")).ShouldFailWithOneLine("--out", "not found");
        fx.Run("logs", "export", "--model", "fraud", "--out", output, "--parquet", Path.Combine(fx.Dir, "missing")).ShouldFailWithOneLine("inference log folder", "not found");
        fx.Run("logs", "export", "--out", output).ExitCode.ShouldBe(2); // --model is required
        File.Exists(output).ShouldBeFalse();
    }
}
