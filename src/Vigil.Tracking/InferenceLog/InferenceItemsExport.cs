using Parquet;

namespace Vigil.Tracking;

/// <summary>
/// <c>vigil logs export</c>: the decided items (status 200: scored by the model or decided by a rule) of one model in a
/// time range, as one Parquet file with one row per item: <c>request_id</c>, <c>item</c> (index in its request),
/// <c>time</c> (request start, UTC timestamp in µs), <c>model</c>, <c>version</c>, <c>score</c> (null when a rule
/// decided without the model), <c>label</c>, <c>rule</c> (empty unless a rule decided), then one column per input
/// feature: DOUBLE for numeric, string for categorical, null where missing. When versions in the range have
/// different feature sets, the file has the union of their feature columns (in first-seen order), null where an
/// item's version lacks one.
/// </summary>
public static class InferenceItemsExport
{
    /// <summary>
    /// Writes the file at <paramref name="path"/> (through a temporary file renamed into place) and returns the number of
    /// rows. Reads the log twice (the first pass collects the feature columns) and holds one chunk in memory at a time.
    /// </summary>
    /// <exception cref="TrackingException">A feature is numeric in one version and categorical in another, or takes the
    /// name of a fixed column; or the file cannot be written.</exception>
    public static async Task<long> WriteParquetAsync(
        IInferenceLogReader reader, string model, long? sinceUs, long? untilUs, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var features = new List<InferenceItemsParquet.FeatureKey>();
        var kinds = new Dictionary<string, bool>(StringComparer.Ordinal);
        await foreach (var chunk in reader.ReadItemsAsync(model, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
        {
            foreach (var column in chunk.Features)
            {
                if (kinds.TryGetValue(column.Name, out var isText))
                {
                    if (isText != column.IsText)
                    {
                        throw new TrackingException($"cannot export model '{model}': feature '{column.Name}' is numeric in one version and categorical in another");
                    }
                    continue;
                }
                if (InferenceItemsParquet.ExportFixedColumns.Contains(column.Name))
                {
                    throw new TrackingException($"cannot export model '{model}': feature '{column.Name}' has the name of a fixed export column");
                }
                kinds.Add(column.Name, column.IsText);
                features.Add(new InferenceItemsParquet.FeatureKey(column.Name, column.IsText));
            }
        }

        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + ".tmp");
        long rows = 0;
        try
        {
            var schema = InferenceItemsParquet.Schema(InferenceItemsParquet.ItemsLayout.Export, features);
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                await foreach (var chunk in reader.ReadItemsAsync(model, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
                {
                    var decided = Decided(chunk);
                    if (decided.Count == 0)
                    {
                        continue;
                    }
                    await InferenceItemsParquet.WriteRowGroupAsync(writer, schema, InferenceItemsParquet.ItemsLayout.Export, features, decided, cancellationToken).ConfigureAwait(false);
                    rows += decided.Count;
                }
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception d) when (d is IOException or UnauthorizedAccessException)
            {
            }
            throw new TrackingException($"cannot write {full}: {e.Message}", e);
        }
        return rows;
    }

    /// <summary>The chunk's items with status 200 (the chunk itself when all are).</summary>
    private static InferenceItemChunk Decided(InferenceItemChunk chunk)
    {
        var keep = new List<int>(chunk.Count);
        for (var i = 0; i < chunk.Count; i++)
        {
            if (chunk.Status[i] == 200)
            {
                keep.Add(i);
            }
        }
        return keep.Count == chunk.Count ? chunk : InferenceItemsParquet.Select(chunk, keep);
    }
}
