using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Vigil.Tracking;

namespace Vigil.Pipelines.Steps;

/// <summary>The lake a step names (parameter <c>lake</c>) and the partition dates it selects.</summary>
internal static class LakeParams
{
    public static StepParameter Lake => new("lake", "the lake: a folder or az://CONTAINER[/prefix] (empty: VIGIL_LAKE, else $VIGIL_HOME/lake)", "");

    public static Lakehouse Open(StepContext context) => Open(context.Optional("lake"), context.Label);

    public static Lakehouse Open(string? location, string label)
    {
        try
        {
            return Lakehouse.Open(location);
        }
        catch (LakeException e)
        {
            throw new StepFailedException($"step {label}: {e.Message}");
        }
    }

    /// <summary>
    /// Reads a date selection: <c>all</c>, <c>YYYY-MM-DD</c>, <c>FROM..TO</c> (either side may be empty), or <c>latest</c>
    /// (resolved later to the newest partition). Null: empty text (nothing selected).
    /// </summary>
    public static (DateOnly? From, DateOnly? To, bool Latest)? Dates(string? text, string label, string parameter)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        try
        {
            if (string.Equals(text, "all", StringComparison.OrdinalIgnoreCase))
            {
                return (null, null, false);
            }

            if (string.Equals(text, "latest", StringComparison.OrdinalIgnoreCase))
            {
                return (null, null, true);
            }

            var range = text.IndexOf("..", StringComparison.Ordinal);
            if (range < 0)
            {
                var day = LakeZones.ParseDate(text);
                return (day, day, false);
            }

            var from = range == 0 ? (DateOnly?)null : LakeZones.ParseDate(text[..range]);
            var to = range + 2 >= text.Length ? (DateOnly?)null : LakeZones.ParseDate(text[(range + 2)..]);
            if (from > to)
            {
                throw new LakeException($"the range starts after it ends");
            }

            return (from, to, false);
        }
        catch (LakeException e)
        {
            throw new StepFailedException($"step {label}: parameter '{parameter}' is '{text}': {e.Message}; use all, latest, YYYY-MM-DD or FROM..TO");
        }
    }

    /// <summary>The files of the zone's selected partitions (the newest partition for <c>latest</c>).</summary>
    public static async Task<IReadOnlyList<LakeFileInfo>> FilesAsync(Lakehouse lake, LakeZone zone, (DateOnly? From, DateOnly? To, bool Latest) dates, CancellationToken cancellationToken)
    {
        var files = await lake.ListFilesAsync(zone, dates.From, dates.To, cancellationToken).ConfigureAwait(false);
        if (dates.Latest && files.Count > 0)
        {
            var newest = files.Max(f => f.Date);
            files = [.. files.Where(f => f.Date == newest)];
        }

        return files;
    }

    /// <summary>
    /// The step-key state of a step that reads lake partitions: every selected file with its size, so that resume runs the
    /// step again once a file was added to (or removed from) the selection.
    /// </summary>
    public static async Task<string?> StateAsync(IReadOnlyDictionary<string, string> parameters, string zoneParameter, string datesParameter, CancellationToken cancellationToken)
    {
        var zoneText = parameters.GetValueOrDefault(zoneParameter);
        var datesText = parameters.GetValueOrDefault(datesParameter);
        if (string.IsNullOrWhiteSpace(datesText) || string.IsNullOrWhiteSpace(zoneText))
        {
            return null;
        }

        try
        {
            var dates = Dates(datesText, "state", datesParameter)!.Value;
            var lake = Lakehouse.Open(parameters.GetValueOrDefault("lake") is { Length: > 0 } l ? l : null);
            var files = await FilesAsync(lake, LakeZones.Parse(zoneText), dates, cancellationToken).ConfigureAwait(false);
            var sb = new StringBuilder("lake=").Append(lake.Location);
            foreach (var f in files)
            {
                sb.Append(';').Append(f.Path).Append(':').Append(f.Bytes.ToString(CultureInfo.InvariantCulture));
            }

            return sb.ToString();
        }
        catch (Exception e) when (e is LakeException or StepFailedException)
        {
            return null; // the step itself reports the bad parameter or the unreachable lake when it runs
        }
    }

    /// <summary>Reads the selected partitions of the zone into <paramref name="output"/>; returns the rows and the files read.</summary>
    public static async Task<(long Rows, int Files)> ReadAsync(StepContext context, Lakehouse lake, LakeZone zone, (DateOnly? From, DateOnly? To, bool Latest) dates, string output, CancellationToken cancellationToken)
    {
        var files = await FilesAsync(lake, zone, dates, cancellationToken).ConfigureAwait(false);
        if (files.Count == 0)
        {
            throw new StepFailedException($"step {context.Label}: the lake {lake.Location} has no {zone.Name()} files in the selected partitions");
        }

        try
        {
            var rows = await lake.ReadFilesAsync(files, output, cancellationToken).ConfigureAwait(false);
            context.Log($"read {rows.ToString("N0", CultureInfo.InvariantCulture)} rows from {files.Count.ToString(CultureInfo.InvariantCulture)} {zone.Name()} files of {lake.Location} " +
                $"({files[0].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}..{files[^1].Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})");
            return (rows, files.Count);
        }
        catch (LakeException e)
        {
            throw Failure(context, e);
        }
    }

    /// <summary>A lake error as a step failure: retried when the storage service failed (it may answer next time), final otherwise.</summary>
    public static Exception Failure(StepContext context, LakeException e) =>
        e.InnerException is Azure.RequestFailedException or AggregateException
            ? new StepAttemptException($"step {context.Label}: {e.Message}")
            : new StepFailedException($"step {context.Label}: {e.Message}");
}

/// <summary>
/// <c>lake-write</c>: adds each connected file (CSV, CSV.gz, Parquet) to a zone of the lake as one Parquet file in the
/// partition of <c>date</c>, named by the SHA-256 of its content, so a retried or repeated write of the same data adds
/// nothing. <c>enabled: false</c> writes nothing (a flow parameter can switch the step off) and says so in the result.
/// </summary>
internal sealed class LakeWriteStep : StepKind
{
    public override string Name => "lake-write";

    public override string Description => "Add files to a lake zone (raw, ml_outputs, metrics) as Parquet, partitioned by date; idempotent by content.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("zone", "raw, ml_outputs or metrics"),
        new("date", "the partition date YYYY-MM-DD (empty: today, UTC)", ""),
        LakeParams.Lake,
        new("enabled", "false: write nothing (the result says the step was switched off)", "true"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "the files to add (.csv, .csv.gz, .parquet; no 'date' column)", Many: true)];

    public override IReadOnlyList<StepPort> Outputs => [new("result", "what was written where (JSON)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        LakeZone zone;
        DateOnly? date;
        try
        {
            zone = LakeZones.Parse(context.String("zone"));
            date = context.Optional("date") is { } d ? LakeZones.ParseDate(d) : null;
        }
        catch (LakeException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        var result = new JsonObject { ["zone"] = zone.Name() };
        if (!context.Bool("enabled"))
        {
            result["enabled"] = false;
            context.Log("switched off (enabled: false): nothing written");
            await context.WriteOutputTextAsync("result", "lake-write.json", result.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
            return;
        }

        var lake = LakeParams.Open(context);
        var files = new JsonArray();
        long rows = 0;
        var added = 0;
        var paths = await context.InputPathsAsync("data", cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < paths.Count; i++)
        {
            LakeWriteResult written;
            try
            {
                // the content's hash names the file: the same data written again (a retry, a rerun) finds its file there
                written = await lake.WriteAsync(zone, paths[i], date, context.Inputs["data"][i].Sha256[..32], cancellationToken).ConfigureAwait(false);
            }
            catch (LakeException e)
            {
                throw LakeParams.Failure(context, e);
            }

            rows += written.Rows;
            added += written.AlreadyThere ? 0 : 1;
            context.Log($"{(written.AlreadyThere ? "already in the lake" : "wrote")} {written.Rows.ToString("N0", CultureInfo.InvariantCulture)} rows: {lake.Location}/{written.Path}");
            files.Add(new JsonObject
            {
                ["path"] = written.Path,
                ["date"] = written.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["rows"] = written.Rows,
                ["bytes"] = written.Bytes,
                ["columns"] = new JsonArray([.. written.Columns.Select(c => (JsonNode)c)]),
                ["already_there"] = written.AlreadyThere,
            });
        }

        result["enabled"] = true;
        result["lake"] = lake.Location;
        result["files"] = files;
        context.Metric("rows", rows);
        context.Metric("files_added", added);
        await context.WriteOutputTextAsync("result", "lake-write.json", result.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>lake-read</c>: the rows of a zone's partitions (<c>dates</c>: all, latest, a date or FROM..TO) as one Parquet file,
/// columns matched by name. The selected files are part of the step's key: resume reads again once the selection changed.
/// </summary>
internal sealed class LakeReadStep : StepKind
{
    public override string Name => "lake-read";

    public override string Description => "Read a lake zone's date partitions (all, latest, YYYY-MM-DD or FROM..TO) into one Parquet file.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("zone", "raw, ml_outputs or metrics", "raw"),
        new("dates", "all, latest, YYYY-MM-DD or FROM..TO (either end may be left out)", "all"),
        LakeParams.Lake,
    ];

    public override IReadOnlyList<StepPort> Outputs => [new("data", "the rows (Parquet, without the partition column)")];

    public override Task<string?> StateAsync(ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        LakeParams.StateAsync(parameters, "zone", "dates", cancellationToken);

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        LakeZone zone;
        try
        {
            zone = LakeZones.Parse(context.String("zone"));
        }
        catch (LakeException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        var dates = LakeParams.Dates(context.String("dates"), context.Label, "dates")
            ?? throw new StepFailedException($"step {context.Label}: parameter 'dates' is empty; use all, latest, YYYY-MM-DD or FROM..TO");
        var (rows, files) = await LakeParams.ReadAsync(context, LakeParams.Open(context), zone, dates, context.OutputPath("data", "data.parquet"), cancellationToken).ConfigureAwait(false);
        context.Metric("rows", rows);
        context.Metric("files", files);
    }
}

/// <summary>
/// <c>metrics-sync</c>: upserts aggregated model metrics (the registered versions' training metrics from the store and the
/// lake's <c>metrics</c> zone) into <c>FRAUD_MODEL_METRICS</c> of <c>to</c> (<c>postgres://...</c> or <c>duckdb:FILE</c>),
/// idempotent. An empty <c>to</c> syncs nothing (a flow parameter can leave it off) and says so in the result.
/// </summary>
internal sealed class MetricsSyncStep : StepKind
{
    public override string Name => "metrics-sync";

    public override string Description => "Upsert model metrics (store and lake metrics zone) into FRAUD_MODEL_METRICS of a PostgreSQL or DuckDB target.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("to", "postgres://user:pass@host/db or duckdb:FILE (empty: sync nothing)", ""),
        new("from-store", "include the registered versions' training metrics", "true"),
        new("from-lake", "include the lake's metrics zone", "true"),
        LakeParams.Lake,
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("after", "anything that must be written first (e.g. a lake-write result); only orders the steps", Required: false, Many: true)];

    public override IReadOnlyList<StepPort> Outputs => [new("result", "rows, inserted, updated, unchanged (JSON)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var target = context.Optional("to");
        if (target is null)
        {
            context.Log("no target (to is empty): nothing synced");
            await context.WriteOutputTextAsync("result", "metrics-sync.json", new JsonObject { ["target"] = null }.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
            return;
        }

        var fromStore = context.Bool("from-store");
        var fromLake = context.Bool("from-lake");
        if (!fromStore && !fromLake)
        {
            throw new StepFailedException($"step {context.Label}: from-store and from-lake are both false: nothing to sync");
        }

        Lakehouse? lake = null;
        if (fromLake)
        {
            lake = LakeParams.Open(context);
            if ((await lake.ListFilesAsync(LakeZone.Metrics, null, null, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                context.Log($"the lake {lake.Location} has no metrics files yet: syncing the store's metrics only");
                lake = null;
            }
        }

        MetricsSyncResult result;
        try
        {
            result = await MetricsSync.SyncAsync(new MetricsSyncOptions { Target = target, Store = fromStore ? context.Store : null, Lake = lake }, cancellationToken).ConfigureAwait(false);
        }
        catch (LakeException e) when (e.InnerException is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            throw new StepAttemptException($"step {context.Label}: {e.Message}"); // the target may be back on the next attempt
        }
        catch (LakeException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        context.Log($"{result.Target} {result.Table}: {result.Rows.ToString(CultureInfo.InvariantCulture)} rows, {result.Inserted.ToString(CultureInfo.InvariantCulture)} inserted, " +
            $"{result.Updated.ToString(CultureInfo.InvariantCulture)} updated, {result.Unchanged.ToString(CultureInfo.InvariantCulture)} unchanged");
        context.Metric("rows", result.Rows);
        context.Metric("inserted", result.Inserted);
        context.Metric("updated", result.Updated);
        context.Metric("unchanged", result.Unchanged);
        var json = new JsonObject
        {
            ["target"] = result.Target, ["table"] = result.Table, ["rows"] = result.Rows,
            ["inserted"] = result.Inserted, ["updated"] = result.Updated, ["unchanged"] = result.Unchanged,
        };
        await context.WriteOutputTextAsync("result", "metrics-sync.json", json.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
    }
}
