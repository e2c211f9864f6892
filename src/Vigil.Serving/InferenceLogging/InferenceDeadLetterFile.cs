using System.Buffers;
using System.Text.Json;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// The dead-letter file of the inference log (JSON lines, default <c>$VIGIL_HOME/inference-log-dead-letter.jsonl</c>):
/// rows the destination refused permanently even after their text was made storable, one object per line with why
/// (<c>reason</c>), when (<c>dead_lettered_at</c>), the row's readable columns and <c>record</c>, the whole row in
/// <see cref="InferenceRecordCodec"/>'s encoding (base64) so that it can be re-imported exactly. Every line is fsynced
/// before <see cref="AppendAsync"/> returns.
/// </summary>
public sealed class InferenceDeadLetterFile
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;

    /// <summary>A dead-letter file at <paramref name="path"/> (its folder is created on the first row).</summary>
    public InferenceDeadLetterFile(string path, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The file (full path).</summary>
    public string Path { get; }

    /// <summary>Appends <paramref name="record"/> with <paramref name="reason"/> and fsyncs the file.</summary>
    /// <exception cref="IOException">The file cannot be written (the caller retries).</exception>
    public async Task AppendAsync(InferenceRecord record, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var line = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(line))
        {
            json.WriteStartObject();
            json.WriteString("dead_lettered_at", _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("reason", reason);
            json.WriteString("log_id", record.LogId);
            json.WriteString("request_id", record.RequestId);
            json.WriteNumber("start_us", record.StartUs);
            json.WriteNumber("end_us", record.EndUs);
            json.WriteString("route", record.Route);
            json.WriteString("model", record.Model);
            if (record.Version is { } v)
            {
                json.WriteNumber("version", v);
            }

            json.WriteNumber("status", record.Status);
            json.WriteNumber("rows", record.Rows);
            json.WriteNumber("scored_rows", record.ScoredRows);
            json.WriteString("error", record.Error);
            json.WriteBoolean("altered", record.Altered);
            var encoded = new ArrayBufferWriter<byte>(1024);
            InferenceRecordCodec.Encode(record, encoded);
            json.WriteBase64String("record", encoded.WrittenSpan);
            json.WriteEndObject();
        }

        line.Write("\n"u8);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            await using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
            stream.Write(line.WrittenSpan);
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads back the rows of a dead-letter file (tests, re-import).</summary>
    /// <exception cref="InvalidDataException">A line is not a dead-letter entry.</exception>
    public static List<(InferenceRecord Record, string Reason)> Read(string path)
    {
        var result = new List<(InferenceRecord, string)>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (text.Length == 0)
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                result.Add((InferenceRecordCodec.Decode(root.GetProperty("record").GetBytesFromBase64()), root.GetProperty("reason").GetString() ?? ""));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path} line {number}: not a dead-letter entry: {e.Message}", e);
            }
        }

        return result;
    }
}
