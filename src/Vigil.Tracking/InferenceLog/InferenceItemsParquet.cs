using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Vigil.Tracking;

/// <summary>
/// Parquet layouts of logged items, one row per item, written from <see cref="InferenceItemChunk"/>s:
/// <list type="bullet">
/// <item><see cref="ItemsLayout.Log"/>, the items files of a Parquet inference log folder: <c>log_id, request_id, item,
/// start_us</c> (INT64 unix µs), <c>model, version, status, score, label, rule</c>, then <c>feature:NAME</c> per input
/// (DOUBLE or string; null = missing). One file has one model and one feature set (its metadata names both plus the
/// start-time range, so readers skip files without opening their columns).</item>
/// <item><see cref="ItemsLayout.Export"/>, <c>vigil logs export</c>: <c>request_id, item, time</c> (UTC timestamp, µs),
/// <c>model, version, score, label, rule</c> (empty unless a rule decided), then one column per feature under its own name.</item>
/// </list>
/// Scores and numeric features are nullable DOUBLE: null where the in-memory value is NaN (not scored / missing).
/// </summary>
internal static class InferenceItemsParquet
{
    public const string FeaturePrefix = "feature:";
    public const string ModelKey = "vigil.inference_items.model";
    public const string FormatKey = "vigil.inference_items.format";
    public const string MinStartKey = "vigil.inference_items.min_start_us";
    public const string MaxStartKey = "vigil.inference_items.max_start_us";

    /// <summary>The two layouts.</summary>
    public enum ItemsLayout
    {
        Log,
        Export,
    }

    /// <summary>A feature column of a layout: its input name and kind.</summary>
    public readonly record struct FeatureKey(string Name, bool IsText);

    /// <summary>Fixed columns of the log layout (also what a reader checks).</summary>
    private static readonly DataField<string> LogId = new("log_id", false);
    private static readonly DataField<string> RequestId = new("request_id", false);
    private static readonly DataField<int> Item = new("item", false);
    private static readonly DataField<long> StartUs = new("start_us", false);
    private static readonly DateTimeDataField Time = new("time", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: false);
    private static readonly DataField<string> Model = new("model", true);
    private static readonly DataField<int?> Version = new("version", true);
    private static readonly DataField<int> Status = new("status", false);
    private static readonly DataField<double?> Score = new("score", true);
    private static readonly DataField<int> Label = new("label", false);
    private static readonly DataField<string> Rule = new("rule", true);

    /// <summary>The fixed column names of the export layout (a feature may not take one of them).</summary>
    public static readonly IReadOnlySet<string> ExportFixedColumns = new HashSet<string>(StringComparer.Ordinal)
    {
        "request_id", "item", "time", "model", "version", "score", "label", "rule",
    };

    public static ParquetSchema Schema(ItemsLayout layout, IReadOnlyList<FeatureKey> features)
    {
        var fields = new List<Field>(12 + features.Count);
        if (layout == ItemsLayout.Log)
        {
            fields.AddRange([LogId, RequestId, Item, StartUs, Model, Version, Status, Score, Label, Rule]);
        }
        else
        {
            fields.AddRange([RequestId, Item, Time, Model, Version, Score, Label, Rule]);
        }
        var prefix = layout == ItemsLayout.Log ? FeaturePrefix : "";
        foreach (var f in features)
        {
            fields.Add(f.IsText ? new DataField<string>(prefix + f.Name, true) : new DataField<double?>(prefix + f.Name, true));
        }
        return new ParquetSchema(fields);
    }

    public static FeatureKey[] Features(InferenceItemChunk chunk)
    {
        var keys = new FeatureKey[chunk.Features.Count];
        for (var f = 0; f < keys.Length; f++)
        {
            keys[f] = new FeatureKey(chunk.Features[f].Name, chunk.Features[f].IsText);
        }
        return keys;
    }

    /// <summary>Writes <paramref name="chunk"/> as one row group of <paramref name="schema"/>; features the chunk lacks are null.</summary>
    public static async Task WriteRowGroupAsync(ParquetWriter writer, ParquetSchema schema, ItemsLayout layout, IReadOnlyList<FeatureKey> features, InferenceItemChunk chunk, CancellationToken ct)
    {
        var n = chunk.Count;
        var fields = schema.GetDataFields();
        using var group = writer.CreateRowGroup();
        var at = 0;
        if (layout == ItemsLayout.Log)
        {
            await group.WriteAsync(fields[at++], chunk.LogId).ConfigureAwait(false);
            await group.WriteAsync(fields[at++], chunk.RequestId).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[at++], chunk.Item.AsMemory(0, n)).ConfigureAwait(false);
            await group.WriteAsync<long>(fields[at++], chunk.StartUs.AsMemory(0, n)).ConfigureAwait(false);
        }
        else
        {
            await group.WriteAsync(fields[at++], chunk.RequestId).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[at++], chunk.Item.AsMemory(0, n)).ConfigureAwait(false);
            var times = new DateTime[n];
            for (var i = 0; i < n; i++)
            {
                times[i] = new DateTime(DateTime.UnixEpoch.Ticks + (chunk.StartUs[i] * TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);
            }
            await group.WriteAsync<DateTime>(fields[at++], times.AsMemory()).ConfigureAwait(false);
        }
        var models = new string?[n];
        models.AsSpan().Fill(chunk.Model);
        await group.WriteAsync(fields[at++], models).ConfigureAwait(false);
        await group.WriteAsync<int>(fields[at++], chunk.Version.AsMemory(0, n)).ConfigureAwait(false);
        if (layout == ItemsLayout.Log)
        {
            await group.WriteAsync<int>(fields[at++], chunk.Status.AsMemory(0, n)).ConfigureAwait(false);
        }
        var numbers = new double?[n];
        await group.WriteAsync<double>(fields[at++], NullForNaN(chunk.Score, numbers)).ConfigureAwait(false);
        var labels = new int[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = chunk.Label[i];
        }
        await group.WriteAsync<int>(fields[at++], labels.AsMemory()).ConfigureAwait(false);
        if (layout == ItemsLayout.Log)
        {
            await group.WriteAsync(fields[at++], chunk.Rule).ConfigureAwait(false);
        }
        else
        {
            var rules = new string?[n];
            for (var i = 0; i < n; i++)
            {
                rules[i] = chunk.Rule[i] ?? "";
            }
            await group.WriteAsync(fields[at++], rules).ConfigureAwait(false);
        }

        foreach (var key in features)
        {
            var field = fields[at++];
            var column = Find(chunk, key);
            if (key.IsText)
            {
                await group.WriteAsync(field, column is null ? new string?[n] : column.Texts!).ConfigureAwait(false);
            }
            else if (column is null)
            {
                Array.Clear(numbers);
                await group.WriteAsync<double>(field, numbers.AsMemory()).ConfigureAwait(false);
            }
            else
            {
                await group.WriteAsync<double>(field, NullForNaN(column.Numbers!, numbers)).ConfigureAwait(false);
            }
        }
        ct.ThrowIfCancellationRequested(); // Parquet.Net's column writes take no token
        group.CompleteValidate();
    }

    private static InferenceFeatureColumn? Find(InferenceItemChunk chunk, FeatureKey key)
    {
        foreach (var c in chunk.Features)
        {
            if (string.Equals(c.Name, key.Name, StringComparison.Ordinal) && c.IsText == key.IsText)
            {
                return c;
            }
        }
        return null;
    }

    private static ReadOnlyMemory<double?> NullForNaN(double[] values, double?[] buffer)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            var v = values[i];
            buffer[i] = double.IsNaN(v) ? null : v;
        }
        return buffer;
    }

    /// <summary>Writes an items file of the log layout for one chunk (one model, one feature set), with its metadata.</summary>
    public static async Task WriteLogFileAsync(Stream stream, InferenceItemChunk chunk, CancellationToken ct)
    {
        var features = Features(chunk);
        var schema = Schema(ItemsLayout.Log, features);
        var min = long.MaxValue;
        var max = long.MinValue;
        for (var i = 0; i < chunk.Count; i++)
        {
            min = Math.Min(min, chunk.StartUs[i]);
            max = Math.Max(max, chunk.StartUs[i]);
        }
        await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: ct).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FormatKey] = "1",
            [ModelKey] = chunk.Model,
            [MinStartKey] = min.ToString(CultureInfo.InvariantCulture),
            [MaxStartKey] = max.ToString(CultureInfo.InvariantCulture),
        };
        await WriteRowGroupAsync(writer, schema, ItemsLayout.Log, features, chunk, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the items of <paramref name="model"/> started in [since, until) from an items file of the log layout,
    /// one chunk per row group (nothing when the file's metadata shows another model or a disjoint time range).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not an items file; the message names it.</exception>
    public static async IAsyncEnumerable<InferenceItemChunk> ReadLogFileAsync(
        string path, string model, long? sinceUs, long? untilUs, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet file: {e.Message}", e);
        }
        await using (reader.ConfigureAwait(false))
        {
            var meta = reader.CustomMetadata;
            if (!meta.TryGetValue(ModelKey, out var fileModel) || !meta.TryGetValue(FormatKey, out var format) || format != "1")
            {
                throw new InvalidDataException($"{path}: not an inference log items file (no {ModelKey} / {FormatKey} metadata)");
            }
            if (!string.Equals(fileModel, model, StringComparison.Ordinal)
                || (sinceUs is { } s && Long(meta, MaxStartKey) is { } max && max < s)
                || (untilUs is { } u && Long(meta, MinStartKey) is { } min && min >= u))
            {
                yield break;
            }
            var fields = reader.Schema.GetDataFields();
            var fixedFields = Schema(ItemsLayout.Log, []).GetDataFields();
            for (var f = 0; f < fixedFields.Length; f++)
            {
                if (f >= fields.Length || fields[f].Name != fixedFields[f].Name || fields[f].ClrType != fixedFields[f].ClrType)
                {
                    throw new InvalidDataException($"{path}: not an inference log items file: column {f.ToString(CultureInfo.InvariantCulture)} is not '{fixedFields[f].Name}'");
                }
            }
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var chunk = await ReadGroupAsync(path, group, fields, fixedFields.Length, model, sinceUs, untilUs, ct).ConfigureAwait(false);
                if (chunk.Count > 0)
                {
                    yield return chunk;
                }
            }
        }
    }

    private static long? Long(IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static async Task<InferenceItemChunk> ReadGroupAsync(
        string path, ParquetRowGroupReader group, DataField[] fields, int fixedCount, string model, long? sinceUs, long? untilUs, CancellationToken ct)
    {
        var n = checked((int)group.RowCount);
        var start = new long[n];
        await Guard(path, fields[3], () => group.ReadAsync<long>(fields[3], start.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var keep = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            if ((sinceUs is null || start[i] >= sinceUs) && (untilUs is null || start[i] < untilUs))
            {
                keep.Add(i);
            }
        }
        var all = keep.Count == n;
        var logId = await TextAsync(path, group, fields[0], n, ct).ConfigureAwait(false);
        var requestId = await TextAsync(path, group, fields[1], n, ct).ConfigureAwait(false);
        var item = new int[n];
        await Guard(path, fields[2], () => group.ReadAsync<int>(fields[2], item.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var version = new int?[n];
        await Guard(path, fields[5], () => group.ReadAsync<int>(fields[5], version.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var status = new int[n];
        await Guard(path, fields[6], () => group.ReadAsync<int>(fields[6], status.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var score = await NumbersAsync(path, group, fields[7], n, ct).ConfigureAwait(false);
        var label = new int[n];
        await Guard(path, fields[8], () => group.ReadAsync<int>(fields[8], label.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var rule = await TextAsync(path, group, fields[9], n, ct).ConfigureAwait(false);
        var features = new InferenceFeatureColumn[fields.Length - fixedCount];
        for (var f = 0; f < features.Length; f++)
        {
            var field = fields[fixedCount + f];
            if (!field.Name.StartsWith(FeaturePrefix, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{path}: column '{field.Name}' is not a feature column ({FeaturePrefix}NAME)");
            }
            var name = field.Name[FeaturePrefix.Length..];
            features[f] = field.ClrType == typeof(double)
                ? new InferenceFeatureColumn(name, Select(await NumbersAsync(path, group, field, n, ct).ConfigureAwait(false), keep, all), null)
                : new InferenceFeatureColumn(name, null, Select(await TextAsync(path, group, field, n, ct).ConfigureAwait(false), keep, all));
        }
        var labels = new sbyte[keep.Count];
        for (var i = 0; i < keep.Count; i++)
        {
            labels[i] = checked((sbyte)label[keep[i]]);
        }
        return new InferenceItemChunk
        {
            Count = keep.Count,
            Model = model,
            LogId = Select(logId, keep, all)!,
            RequestId = Select(requestId, keep, all)!,
            Item = Select(item, keep, all),
            StartUs = Select(start, keep, all),
            Version = Select(version, keep, all),
            Status = Select(status, keep, all),
            Score = Select(score, keep, all),
            Label = labels,
            Rule = Select(rule, keep, all),
            Features = features,
        };
    }

    /// <summary>The items of <paramref name="chunk"/> at the positions <paramref name="keep"/>.</summary>
    public static InferenceItemChunk Select(InferenceItemChunk chunk, List<int> keep)
    {
        var features = new InferenceFeatureColumn[chunk.Features.Count];
        for (var f = 0; f < features.Length; f++)
        {
            var c = chunk.Features[f];
            features[f] = new InferenceFeatureColumn(c.Name, c.Numbers is null ? null : Select(c.Numbers, keep, false), c.Texts is null ? null : Select(c.Texts, keep, false));
        }
        return new InferenceItemChunk
        {
            Count = keep.Count,
            Model = chunk.Model,
            LogId = Select(chunk.LogId, keep, false),
            RequestId = Select(chunk.RequestId, keep, false),
            Item = Select(chunk.Item, keep, false),
            StartUs = Select(chunk.StartUs, keep, false),
            Version = Select(chunk.Version, keep, false),
            Status = Select(chunk.Status, keep, false),
            Score = Select(chunk.Score, keep, false),
            Label = Select(chunk.Label, keep, false),
            Rule = Select(chunk.Rule, keep, false),
            Features = features,
        };
    }

    private static T[] Select<T>(T[] values, List<int> keep, bool all)
    {
        if (all)
        {
            return values;
        }
        var result = new T[keep.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = values[keep[i]];
        }
        return result;
    }

    private static async Task<string?[]> TextAsync(string path, ParquetRowGroupReader group, DataField field, int n, CancellationToken ct)
    {
        var values = new string?[n];
        await Guard(path, field, () => group.ReadAsync(field, values.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        return values;
    }

    private static async Task<double[]> NumbersAsync(string path, ParquetRowGroupReader group, DataField field, int n, CancellationToken ct)
    {
        var values = new double?[n];
        await Guard(path, field, () => group.ReadAsync<double>(field, values.AsMemory(), cancellationToken: ct)).ConfigureAwait(false);
        var result = new double[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = values[i] ?? double.NaN;
        }
        return result;
    }

    private static async Task Guard(string path, DataField field, Func<ValueTask> read)
    {
        try
        {
            await read().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ArgumentException or FormatException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{path}: column '{field.Name}': {e.Message}", e);
        }
    }
}
