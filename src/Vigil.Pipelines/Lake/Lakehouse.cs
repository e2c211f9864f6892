using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DuckDB.NET.Data;
using Vigil.Tracking;

namespace Vigil.Pipelines;

/// <summary>
/// The lakehouse: zones (<c>raw/</c>, <c>ml_outputs/</c>, <c>metrics/</c>) of Parquet files, Hive-partitioned by date
/// (<c>ZONE/date=YYYY-MM-DD/part-TIMESTAMP-ID.parquet</c>), in a local folder or an Azure Blob container: the layout
/// Spark, Databricks and DuckDB read as they are (the <c>date</c> column comes from the folder name, so the files
/// themselves never hold a <c>date</c> column). Files are written once and never changed: a write adds a file. SQL runs
/// in DuckDB with one view per zone; a blob lake is first mirrored into a local cache ($VIGIL_HOME/cache/lake).
/// </summary>
public sealed class Lakehouse
{
    /// <summary>The environment variable naming the lake: a folder or <c>az://CONTAINER[/prefix]</c>.</summary>
    public const string LakeVariable = "VIGIL_LAKE";

    private readonly string? _folder;
    private readonly BlobContainerClient? _container;
    private readonly string _prefix = "";
    private readonly string _scratch;
    private readonly TimeProvider _time;

    private Lakehouse(string location, string? folder, BlobContainerClient? container, string prefix, string home, TimeProvider time)
    {
        Location = location;
        _folder = folder;
        _container = container;
        _prefix = prefix;
        _time = time;
        _scratch = container is null
            ? Path.Combine(folder!, ".tmp")
            : Path.Combine(home, "cache", "lake", container.Name, prefix.Length == 0 ? "_" : prefix.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>The lake root: a folder or <c>az://CONTAINER[/prefix]</c>.</summary>
    public string Location { get; }

    /// <summary>
    /// Opens the lake at <paramref name="location"/> (else <c>VIGIL_LAKE</c>, else $VIGIL_HOME/lake). A blob lake uses
    /// <paramref name="connectionString"/>, else <c>AZURE_STORAGE_CONNECTION_STRING</c>. Nothing is created until a write.
    /// </summary>
    /// <exception cref="LakeException">The location is invalid or a blob lake has no connection string.</exception>
    public static Lakehouse Open(string? location = null, string? vigilHome = null, string? connectionString = null, TimeProvider? timeProvider = null)
    {
        var home = StoreFactory.ResolveHome(vigilHome);
        var time = timeProvider ?? TimeProvider.System;
        var spec = !string.IsNullOrWhiteSpace(location) ? location.Trim() : Environment.GetEnvironmentVariable(LakeVariable)?.Trim();
        if (string.IsNullOrEmpty(spec))
        {
            var folder = Path.Combine(home, "lake");
            return new Lakehouse(folder, folder, null, "", home, time);
        }

        if (!spec.StartsWith("az://", StringComparison.OrdinalIgnoreCase))
        {
            if (spec.Contains("://", StringComparison.Ordinal))
            {
                throw new LakeException($"{LakeVariable}: '{spec}' is neither az://CONTAINER[/prefix] nor a local folder");
            }

            var folder = Path.GetFullPath(spec);
            return new Lakehouse(folder, folder, null, "", home, time);
        }

        // The same container rules and connection string as the blob artifact store.
        IArtifactStore probe;
        try
        {
            probe = ArtifactStoreFactory.Open(spec, home, connectionString);
        }
        catch (TrackingException e)
        {
            throw new LakeException(e.Message.Replace(ArtifactStoreFactory.ArtifactsVariable, LakeVariable, StringComparison.Ordinal), e);
        }

        var blob = (BlobArtifactStore)probe;
        var rest = spec["az://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var containerName = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        var cs = !string.IsNullOrWhiteSpace(connectionString) ? connectionString : Environment.GetEnvironmentVariable(ArtifactStoreFactory.ConnectionStringVariable)!;
        var container = new BlobServiceClient(cs).GetBlobContainerClient(containerName);
        return new Lakehouse(blob.Location, null, container, prefix, home, time);
    }

    /// <summary>
    /// Adds <paramref name="dataFile"/> (CSV, CSV.gz or Parquet) to <paramref name="zone"/> as one Parquet file in the
    /// partition of <paramref name="date"/> (default: today, UTC). The file must not have a column named <c>date</c>
    /// (the partition column).
    /// </summary>
    public Task<LakeWriteResult> WriteAsync(LakeZone zone, string dataFile, DateOnly? date = null, CancellationToken cancellationToken = default) =>
        WriteAsync(zone, dataFile, date, null, cancellationToken);

    /// <summary>
    /// Adds <paramref name="dataFile"/> like <see cref="WriteAsync(LakeZone, string, DateOnly?, CancellationToken)"/>, as
    /// <c>part-FILEID.parquet</c> when <paramref name="fileId"/> is given: a write whose file is already in the partition
    /// (a retried or repeated write of the same content, e.g. the SHA-256 of the data as id) adds nothing and reports that
    /// file, so such writes are idempotent. Without an id the name is <c>part-TIMESTAMP-RANDOM.parquet</c> (every write adds a file).
    /// </summary>
    /// <param name="zone">The zone.</param>
    /// <param name="dataFile">A CSV, CSV.gz or Parquet file without a <c>date</c> column.</param>
    /// <param name="date">The partition date (default: today, UTC).</param>
    /// <param name="fileId">Letters, digits, '-' and '_' (at most 64), or null.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<LakeWriteResult> WriteAsync(LakeZone zone, string dataFile, DateOnly? date, string? fileId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataFile);
        if (!File.Exists(dataFile))
        {
            throw new LakeException($"{dataFile}: no such file");
        }

        if (fileId is not null && (fileId.Length is 0 or > 64 || !fileId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            throw new LakeException($"lake file id '{fileId}': use 1-64 letters, digits, '-' or '_'");
        }

        var day = date ?? DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        var name = fileId is not null
            ? $"part-{fileId}.parquet"
            : string.Create(CultureInfo.InvariantCulture, $"part-{_time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid().ToString("N")[..8]}.parquet");
        var relative = $"{zone.Name()}/date={day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}/{name}";
        Directory.CreateDirectory(_scratch);
        var temp = Path.Combine(_scratch, ".write-" + Guid.NewGuid().ToString("N") + ".parquet");
        try
        {
            var (rows, columns) = await Task.Run(() => Convert(dataFile, temp), cancellationToken).ConfigureAwait(false);
            var bytes = new FileInfo(temp).Length;
            if (_folder is not null)
            {
                var target = Path.Combine(_folder, relative.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                try
                {
                    File.Move(temp, target); // a reader sees the whole file or none; never replaces one
                }
                catch (IOException) when (fileId is not null && File.Exists(target))
                {
                    return new LakeWriteResult(zone, day, relative, Location, rows, columns, new FileInfo(target).Length) { AlreadyThere = true };
                }
            }
            else if (!await UploadAsync(relative, temp, rows, cancellationToken).ConfigureAwait(false))
            {
                return new LakeWriteResult(zone, day, relative, Location, rows, columns, bytes) { AlreadyThere = true };
            }

            return new LakeWriteResult(zone, day, relative, Location, rows, columns, bytes);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>The date partitions of <paramref name="zone"/> (every zone when null), by zone then date.</summary>
    public async Task<IReadOnlyList<LakePartition>> ListAsync(LakeZone? zone = null, CancellationToken cancellationToken = default)
    {
        var files = await ListFilesAsync(zone, cancellationToken).ConfigureAwait(false);
        var result = new List<LakePartition>();
        foreach (var group in files.GroupBy(f => (f.Zone, f.Date)).OrderBy(g => g.Key.Zone).ThenBy(g => g.Key.Date))
        {
            result.Add(new LakePartition(group.Key.Zone, group.Key.Date, group.Count(), group.Sum(f => f.Rows), group.Sum(f => f.Bytes)));
        }

        return result;
    }

    /// <summary>
    /// The files of <paramref name="zone"/> in the partitions from <paramref name="from"/> to <paramref name="to"/>
    /// (inclusive; null: open), by date then name (on a blob lake: listed, not downloaded).
    /// </summary>
    public async Task<IReadOnlyList<LakeFileInfo>> ListFilesAsync(LakeZone zone, DateOnly? from, DateOnly? to, CancellationToken cancellationToken = default)
    {
        var files = await ListFilesAsync(zone, cancellationToken).ConfigureAwait(false);
        return [.. files.Where(f => (from is null || f.Date >= from) && (to is null || f.Date <= to))
            .OrderBy(f => f.Date).ThenBy(f => f.Relative, StringComparer.Ordinal)
            .Select(f => new LakeFileInfo(f.Zone, f.Date, f.Relative, f.Rows, f.Bytes))];
    }

    /// <summary>
    /// Writes the rows of <paramref name="files"/> (from <see cref="ListFilesAsync(LakeZone, DateOnly?, DateOnly?, CancellationToken)"/>)
    /// into one Parquet file <paramref name="output"/>, in the listed order, columns matched by name (a column missing from
    /// a file is null there); the partition <c>date</c> is not a column. A blob lake is mirrored locally first. Returns the rows.
    /// </summary>
    public async Task<long> ReadFilesAsync(IReadOnlyList<LakeFileInfo> files, string output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        if (files.Count == 0)
        {
            throw new LakeException($"lake {Location}: no files to read");
        }

        var root = await GetLocalRootAsync(cancellationToken).ConfigureAwait(false);
        var paths = new List<string>(files.Count);
        foreach (var f in files)
        {
            var local = Path.Combine(root, f.Path.Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(local))
            {
                throw new LakeException($"lake {Location}: {f.Path} is gone (removed since it was listed)");
            }

            paths.Add("'" + Escape(local) + "'");
        }

        return await Task.Run(() =>
        {
            using var connection = DuckDb.Connect("DataSource=:memory:");
            try
            {
                using var copy = connection.CreateCommand();
                copy.CommandText = $"COPY (SELECT * FROM read_parquet([{string.Join(", ", paths)}], hive_partitioning = false, union_by_name = true)) TO '{Escape(output)}' (FORMAT parquet, COMPRESSION snappy)";
                copy.ExecuteNonQuery();
                using var count = connection.CreateCommand();
                count.CommandText = $"SELECT count(*) FROM read_parquet('{Escape(output)}')";
                return System.Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
            }
            catch (DuckDBException e)
            {
                throw new LakeException($"lake {Location}: cannot read {files.Count.ToString(CultureInfo.InvariantCulture)} {files[0].Zone.Name()} files: {FirstLine(e.Message)}", e);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> in DuckDB over the zones, each a view named like its folder (<c>raw</c>,
    /// <c>ml_outputs</c>, <c>metrics</c>) with the partition column <c>date</c>; a zone without files has no view.
    /// </summary>
    public async Task<LakeQueryResult> QueryAsync(string sql, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        var root = _folder ?? await MirrorAsync(cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => Query(root, sql, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The local folder DuckDB reads: the lake itself, or (blob lake) its mirror in the cache, brought up to date first.
    /// Other tools (a DuckDB shell, pandas) can read it the same way.
    /// </summary>
    public async Task<string> GetLocalRootAsync(CancellationToken cancellationToken = default) =>
        _folder ?? await MirrorAsync(cancellationToken).ConfigureAwait(false);

    private static LakeQueryResult Query(string root, string sql, CancellationToken cancellationToken)
    {
        using var connection = DuckDb.Connect("DataSource=:memory:");
        var missing = new List<string>();
        foreach (var zone in LakeZones.All)
        {
            var folder = Path.Combine(root, zone.Name());
            if (!Directory.Exists(folder) || !Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Any())
            {
                missing.Add(zone.Name());
                continue;
            }

            using var view = connection.CreateCommand();
            view.CommandText = $"CREATE VIEW {zone.Name()} AS SELECT * FROM read_parquet('{Escape(Path.Combine(folder, "*", "*.parquet"))}', hive_partitioning = true, union_by_name = true)";
            view.ExecuteNonQuery();
        }

        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var columns = new string[reader.FieldCount];
            var types = new string[reader.FieldCount];
            for (var i = 0; i < columns.Length; i++)
            {
                columns[i] = reader.GetName(i);
                types[i] = reader.GetDataTypeName(i);
            }

            var rows = new List<object?[]>();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var row = new object?[columns.Length];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }

            return new LakeQueryResult(columns, types, rows);
        }
        catch (DuckDBException e)
        {
            var why = FirstLine(e.Message);
            var hint = missing.Count > 0 && missing.Exists(z => why.Contains(z, StringComparison.Ordinal))
                ? $" (zones without files have no view yet: {string.Join(", ", missing)})"
                : "";
            throw new LakeException($"lake query failed: {why}{hint}", e);
        }
    }

    private static (long Rows, IReadOnlyList<string> Columns) Convert(string input, string output)
    {
        var lower = input.ToLowerInvariant();
        var source = lower.EndsWith(".parquet", StringComparison.Ordinal)
            ? $"read_parquet('{Escape(input)}')"
            : lower.EndsWith(".csv", StringComparison.Ordinal) || lower.EndsWith(".csv.gz", StringComparison.Ordinal) || lower.EndsWith(".tsv", StringComparison.Ordinal)
                ? $"read_csv('{Escape(input)}', header = true, auto_detect = true)"
                : throw new LakeException($"{input}: unknown data format: use .csv, .csv.gz or .parquet");
        using var connection = DuckDb.Connect("DataSource=:memory:");
        try
        {
            var columns = new List<string>();
            using (var describe = connection.CreateCommand())
            {
                describe.CommandText = $"DESCRIBE SELECT * FROM {source}";
                using var reader = describe.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add(reader.GetString(0));
                }
            }

            if (columns.Exists(c => string.Equals(c, "date", StringComparison.OrdinalIgnoreCase)))
            {
                throw new LakeException($"{input}: has a column named 'date', which is the lake's partition column: rename it (the partition date comes from --date)");
            }

            using (var copy = connection.CreateCommand())
            {
                copy.CommandText = $"COPY (SELECT * FROM {source}) TO '{Escape(output)}' (FORMAT parquet, COMPRESSION snappy)";
                copy.ExecuteNonQuery();
            }

            using var count = connection.CreateCommand();
            count.CommandText = $"SELECT count(*) FROM read_parquet('{Escape(output)}')";
            var rows = System.Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
            return (rows, columns);
        }
        catch (DuckDBException e)
        {
            throw new LakeException($"{input}: cannot read: {FirstLine(e.Message)}", e);
        }
    }

    private sealed record LakeFile(LakeZone Zone, DateOnly Date, string Relative, long Rows, long Bytes);

    private async Task<List<LakeFile>> ListFilesAsync(LakeZone? only, CancellationToken cancellationToken)
    {
        var files = new List<LakeFile>();
        if (_folder is not null)
        {
            foreach (var zone in LakeZones.All)
            {
                if (only is { } z && z != zone)
                {
                    continue;
                }

                var folder = Path.Combine(_folder, zone.Name());
                if (!Directory.Exists(folder))
                {
                    continue;
                }

                foreach (var file in Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories))
                {
                    var relative = Path.GetRelativePath(_folder, file).Replace(Path.DirectorySeparatorChar, '/');
                    if (TryParse(relative) is { } parsed)
                    {
                        files.Add(new LakeFile(parsed.Zone, parsed.Date, relative, await Task.Run(() => CountRows(file), cancellationToken).ConfigureAwait(false), new FileInfo(file).Length));
                    }
                }
            }

            return files;
        }

        try
        {
            var prefix = _prefix.Length == 0 ? "" : _prefix + "/";
            await foreach (var item in _container!.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix + (only?.Name() ?? ""), cancellationToken).ConfigureAwait(false))
            {
                var relative = item.Name[prefix.Length..];
                if (TryParse(relative) is { } parsed)
                {
                    var rows = item.Metadata.TryGetValue("rows", out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : -1;
                    files.Add(new LakeFile(parsed.Zone, parsed.Date, relative, rows, item.Properties.ContentLength ?? 0));
                }
            }
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException)
        {
            throw new LakeException($"lake {Location}: cannot list: {FirstLine(e.Message)}", e);
        }

        return files;
    }

    /// <summary>Brings the cache mirror of a blob lake up to date (new or changed files downloaded, removed ones deleted); returns its root.</summary>
    private async Task<string> MirrorAsync(CancellationToken cancellationToken)
    {
        var files = await ListFilesAsync(null, cancellationToken).ConfigureAwait(false);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var local = Path.Combine(_scratch, file.Relative.Replace('/', Path.DirectorySeparatorChar));
            keep.Add(local);
            if (File.Exists(local) && new FileInfo(local).Length == file.Bytes)
            {
                continue; // lake files are immutable: same name and length is the same file
            }

            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var temp = local + ".download";
            try
            {
                await _container!.GetBlobClient((_prefix.Length == 0 ? "" : _prefix + "/") + file.Relative).DownloadToAsync(temp, cancellationToken).ConfigureAwait(false);
                File.Move(temp, local, overwrite: true);
            }
            catch (Exception e) when (e is RequestFailedException or AggregateException)
            {
                throw new LakeException($"lake {Location}: cannot download {file.Relative}: {FirstLine(e.Message)}", e);
            }
            finally
            {
                TryDelete(temp);
            }
        }

        foreach (var zone in LakeZones.All)
        {
            var folder = Path.Combine(_scratch, zone.Name());
            if (Directory.Exists(folder))
            {
                foreach (var stale in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => !keep.Contains(f)).ToList())
                {
                    TryDelete(stale);
                }
            }
        }

        return _scratch;
    }

    /// <summary>Uploads a new lake file; false when a file of that name is already there (it is never replaced).</summary>
    private async Task<bool> UploadAsync(string relative, string file, long rows, CancellationToken cancellationToken)
    {
        try
        {
            await _container!.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await _container.GetBlobClient((_prefix.Length == 0 ? "" : _prefix + "/") + relative).UploadAsync(file, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["rows"] = rows.ToString(CultureInfo.InvariantCulture) },
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409 || e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            return false;
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException)
        {
            throw new LakeException($"lake {Location}: cannot write {relative}: {FirstLine(e.Message)}", e);
        }
    }

    private static (LakeZone Zone, DateOnly Date)? TryParse(string relative)
    {
        var parts = relative.Split('/');
        if (parts.Length != 3 || !parts[1].StartsWith("date=", StringComparison.Ordinal) || !parts[2].EndsWith(".parquet", StringComparison.Ordinal))
        {
            return null;
        }

        LakeZone? zone = null;
        foreach (var z in LakeZones.All)
        {
            if (z.Name() == parts[0])
            {
                zone = z;
            }
        }

        return zone is { } found && DateOnly.TryParseExact(parts[1]["date=".Length..], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? (found, date)
            : null;
    }

    private static long CountRows(string file)
    {
        using var connection = DuckDb.Connect("DataSource=:memory:");
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT CAST(coalesce(sum(num_rows), 0) AS BIGINT) FROM parquet_file_metadata('{Escape(file)}')";
        try
        {
            return System.Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (DuckDBException e)
        {
            throw new LakeException($"{file}: not a readable Parquet file: {FirstLine(e.Message)}", e);
        }
    }

    private static string Escape(string path) => path.Replace("'", "''", StringComparison.Ordinal);

    private static string FirstLine(string message)
    {
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
