using System.Diagnostics;
using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Benchmarks;

/// <summary>
/// A timed harness (not BenchmarkDotNet: one pass over a million items is the figure) for inference log v2:
/// <c>write</c> measures the SQLite sink's rows/s (100,000 requests in batches of 1,000, hashed payloads) with and
/// without per-item entries; <c>read</c> logs one hour of 1,000,000 items for one model (as requests × items per
/// request, 10 features) beside as many rows of another model, then times the streaming item reader over that hour.
/// Run: dotnet run -c Release --project benchmarks/Vigil.Benchmarks -- inflog-timed write|read [sqlite|postgres|parquet] [itemsPerRequest]
/// </summary>
internal static class InferenceItemsTimed
{
    private const long T0 = 1_772_366_400_000_000;
    private const int Features = 10;
    private static readonly string Hash = "sha256:" + new string('c', 64);

    public static async Task<int> RunAsync(string[] args)
    {
        var mode = args.Length > 1 ? args[1] : "write";
        var destination = args.Length > 2 ? args[2] : "sqlite";
        var perRequest = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10;
        var home = Path.Combine(Path.GetTempPath(), "vigil-timed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            if (mode == "write")
            {
                await WriteAsync(home, destination, 0);
                await WriteAsync(home, destination, 1);
                await WriteAsync(home, destination, 10);
            }
            else
            {
                await ReadAsync(home, destination, perRequest);
            }
            return 0;
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static async Task<string> LocationAsync(string home, string destination, string name) => destination switch
    {
        "sqlite" => "sqlite:" + Path.Combine(home, name + ".db"),
        "parquet" => Path.Combine(home, name),
        _ => new Npgsql.NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("VIGIL_TEST_POSTGRES")) { SearchPath = await NewSchemaAsync() }.ConnectionString,
    };

    private static async Task<IInferenceLogSink> OpenSinkAsync(string home, string destination, string location) =>
        destination == "parquet" ? new ParquetInferenceLogSink(location) : await InferenceLogStore.OpenAsync(location, home);

    private static async Task<IInferenceLogReader> OpenReaderAsync(string home, string destination, string location) =>
        destination == "parquet" ? new ParquetInferenceLogReader(location) : await InferenceLogStore.OpenAsync(location, home);

    private static async Task<string> NewSchemaAsync()
    {
        var admin = Environment.GetEnvironmentVariable("VIGIL_TEST_POSTGRES")!;
        var schema = "bench_" + Guid.NewGuid().ToString("N");
        await using var c = new Npgsql.NpgsqlConnection(admin);
        await c.OpenAsync();
        await using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", c);
        await create.ExecuteNonQueryAsync();
        return schema;
    }

    /// <summary>Writes 3 × 100,000 requests (batches of 1,000) and prints the best rows/s of the last two rounds.</summary>
    private static async Task WriteAsync(string home, string destination, int itemsPerRequest)
    {
        const int rows = 100_000;
        const int batch = 1_000;
        await using var sink = await OpenSinkAsync(home, destination, await LocationAsync(home, destination, "write" + itemsPerRequest.ToString(CultureInfo.InvariantCulture)));
        var best = 0.0;
        for (var round = 0; round < 3; round++)
        {
            var records = Requests(round * rows, rows, itemsPerRequest, "fraud", T0 + (round * 3_600_000_000L), 10);
            var clock = Stopwatch.StartNew();
            for (var offset = 0; offset < rows; offset += batch)
            {
                await sink.WriteAsync(new ArraySegment<InferenceRecord>(records, offset, batch));
            }
            var rate = rows / clock.Elapsed.TotalSeconds;
            if (round > 0)
            {
                best = Math.Max(best, rate);
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"write {destination}: {itemsPerRequest} items/request x {Features} features: {best:N0} rows/s ({best * Math.Max(1, itemsPerRequest):N0} items/s)"));
    }

    private static async Task ReadAsync(string home, string destination, int perRequest)
    {
        const int items = 1_000_000;
        var requests = items / perRequest;
        var spacing = 3_600_000_000L / requests; // one hour
        var location = await LocationAsync(home, destination, "read");
        await using (var sink = await OpenSinkAsync(home, destination, location))
        {
            const int batch = 2_000;
            for (var offset = 0; offset < requests; offset += batch)
            {
                var n = Math.Min(batch, requests - offset);
                await sink.WriteAsync(Requests(offset, n, perRequest, "fraud", T0 + (offset * spacing), spacing));
                await sink.WriteAsync(Requests(requests + offset, n, perRequest, "aml", T0 + (offset * spacing) + 1, spacing));
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"logged {requests:N0} requests x {perRequest} items for 'fraud' and as many for 'aml'"));
        if (destination == "sqlite")
        {
            for (var round = 0; round < 2; round++)
            {
                await RawSqliteAsync(location["sqlite:".Length..], round == 1);
            }
        }
        for (var round = 0; round < 3; round++)
        {
            var read = await TimedReadAsync(home, destination, location, T0, T0 + 3_600_000_000L);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"read {destination} one hour of 'fraud': {read.Items:N0} items in {read.Seconds:F3} s, CPU {read.CpuSeconds:F3} s ({read.Items / read.Seconds:N0} items/s)"));
        }
    }

    /// <summary>The same query stepped through SQLite's C API (as the store does) with no chunk building, or decoding only: what SQLite itself costs.</summary>
    private static async Task RawSqliteAsync(string path, bool decode)
    {
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path);
        await c.OpenAsync();
        var db = c.Handle!;
        SQLitePCL.raw.sqlite3_prepare_v2(db, "SELECT log_id, request_id, start_us, version, items FROM inference_items WHERE model = 'fraud' AND start_us >= ?1 AND start_us < ?2 ORDER BY start_us, log_id", out var statement);
        long bytes = 0;
        using (statement)
        {
            SQLitePCL.raw.sqlite3_bind_int64(statement, 1, T0);
            SQLitePCL.raw.sqlite3_bind_int64(statement, 2, T0 + 3_600_000_000L);
            var builder = decode ? new InferenceItemChunkBuilder("fraud") : null;
            while (SQLitePCL.raw.sqlite3_step(statement) == SQLitePCL.raw.SQLITE_ROW)
            {
                var blob = SQLitePCL.raw.sqlite3_column_blob(statement, 4);
                bytes += blob.Length;
                if (builder is not null)
                {
                    // a stored row holds one request or a run of them (item encoding 2): append it as the store does
                    for (var resume = 0; (resume = builder.AppendRow("", "", 0, 1, blob, long.MinValue, long.MaxValue, resume)) >= 0;)
                    {
                        builder.Take();
                    }

                    if (builder.IsFull)
                    {
                        builder.Take();
                    }
                }
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw sqlite query (decode: {decode}): {bytes:N0} blob bytes in {clock.Elapsed.TotalSeconds:F3} s, CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F3} s"));
    }

    private sealed record ReadAction(long Items, double Seconds, double CpuSeconds);

    /// <summary>Streams every item of 'fraud' in [since, until), touching each score and feature value.</summary>
    private static async Task<ReadAction> TimedReadAsync(string home, string destination, string location, long since, long until)
    {
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await using var reader = await OpenReaderAsync(home, destination, location);
        long items = 0;
        var sum = 0.0;
        await foreach (var chunk in reader.ReadItemsAsync("fraud", since, until))
        {
            items += chunk.Count;
            for (var i = 0; i < chunk.Count; i++)
            {
                sum += chunk.Score[i];
            }
            foreach (var f in chunk.Features)
            {
                if (f.Numbers is { } numbers)
                {
                    sum += numbers[^1];
                }
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        return double.IsFinite(sum) ? new ReadAction(items, seconds, cpuSeconds) : throw new InvalidOperationException("not finite");
    }

    /// <summary><paramref name="count"/> requests of <paramref name="itemsPerRequest"/> items (0: no per-item entries, as before v2).</summary>
    internal static InferenceRecord[] Requests(int first, int count, int itemsPerRequest, string model, long start, long spacing)
    {
        var rows = new InferenceRecord[count];
        for (var i = 0; i < count; i++)
        {
            var s = start + (i * spacing);
            rows[i] = new InferenceRecord
            {
                LogId = Guid.CreateVersion7().ToString("N"),
                RequestId = "req-" + (first + i).ToString(CultureInfo.InvariantCulture),
                StartUs = s,
                EndUs = s + 850,
                Route = "v1/predict",
                Model = model,
                Version = 4,
                Status = 200,
                Rows = Math.Max(1, itemsPerRequest),
                ScoredRows = Math.Max(1, itemsPerRequest),
                RequestPayload = Hash,
                ResponsePayload = Hash,
                ParseUs = 40,
                TransformUs = 15,
                ScoreUs = 120,
                Items = itemsPerRequest == 0 ? null : Items(first + i, itemsPerRequest),
            };
        }
        return rows;
    }

    private static InferenceItems Items(int seed, int n)
    {
        var status = new int[n];
        var score = new double[n];
        var label = new sbyte[n];
        var rule = new string?[n];
        var features = new InferenceFeatureColumn[Features];
        for (var i = 0; i < n; i++)
        {
            status[i] = 200;
            score[i] = ((seed * 31) + i) % 1000 / 1000.0;
            label[i] = (sbyte)(score[i] > 0.9 ? 1 : 0);
        }
        for (var f = 0; f < Features; f++)
        {
            if (f == Features - 1)
            {
                var texts = new string?[n];
                for (var i = 0; i < n; i++)
                {
                    texts[i] = ((seed + i) % 7) switch { 0 => "DE", 1 => "FR", 2 => null, _ => "US" };
                }
                features[f] = new InferenceFeatureColumn("country", null, texts);
            }
            else
            {
                var numbers = new double[n];
                for (var i = 0; i < n; i++)
                {
                    numbers[i] = (seed * 0.5) + (i * 1.25) + f;
                }
                features[f] = new InferenceFeatureColumn("f" + f.ToString(CultureInfo.InvariantCulture), numbers, null);
            }
        }
        return new InferenceItems { Count = n, Status = status, Score = score, Label = label, Rule = rule, Features = features };
    }
}
