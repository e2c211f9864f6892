using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil logs count|tail|export</c>: read the inference log back from the tracking store or a Parquet folder.</summary>
internal static class LogsCommand
{
    public static Command Build()
    {
        var cmd = new Command("logs", "Read the inference log of the scoring server (tracking store or Parquet folder).");
        cmd.Subcommands.Add(BuildCount());
        cmd.Subcommands.Add(BuildTail());
        cmd.Subcommands.Add(BuildExport());
        return cmd;
    }

    private static Command BuildExport()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model whose items to export.", Required = true };
        var since = new Option<string?>("--since") { HelpName = "T", Description = "Only requests started at or after T: an ISO-8601 time (2026-03-01T12:00:00Z) or a duration back from now (90s, 15m, 2h, 1d, 1w)." };
        var until = new Option<string?>("--until") { HelpName = "T", Description = "Only requests started before T (same forms as --since)." };
        var output = new Option<string>("--out", "-o") { HelpName = "FILE", Description = "The Parquet file to write (replaced if it exists).", Required = true };
        var json = CliOutput.JsonOption("Print the result as JSON: rows, output, model.");
        var cmd = new Command("export", "Write the logged items of a model as Parquet, one row per decided item: request_id, item, time, model, version, score, label, rule, then one column per feature; prints the number of rows.")
        {
            model, since, until, output, json,
        };
        var source = new LogSource().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var sinceUs = ParseTime("--since", parse.GetValue(since), now);
            var untilUs = ParseTime("--until", parse.GetValue(until), now);
            if (sinceUs is { } s && untilUs is { } u && u <= s)
            {
                throw new CliUsageException($"--until '{parse.GetValue(until)}' is not after --since '{parse.GetValue(since)}'");
            }
            var name = parse.GetValue(model)!;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new CliUsageException("--model must name a model");
            }
            var path = parse.GetValue(output)!;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
            {
                throw new CliUsageException($"--out '{path}': folder {directory} not found");
            }
            await using var reader = await source.OpenAsync(parse, ct).ConfigureAwait(false);
            var rows = await InferenceItemsExport.WriteParquetAsync(reader, name, sinceUs, untilUs, path, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new System.Text.Json.Nodes.JsonObject { ["rows"] = rows, ["output"] = Path.GetFullPath(path), ["model"] = name });
                return CliApp.Ok;
            }

            Terminal.OutWriter.WriteLine(rows.ToString(CultureInfo.InvariantCulture));
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildCount()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Only requests scored by this model." };
        var since = new Option<string?>("--since") { HelpName = "T", Description = "Only requests started at or after T: an ISO-8601 time (2026-03-01T12:00:00Z) or a duration back from now (90s, 15m, 2h, 1d, 1w)." };
        var json = CliOutput.JsonOption("Print the result as JSON: requests, model, since.");
        var cmd = new Command("count", "Print the number of logged requests.") { model, since, json };
        var source = new LogSource().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var sinceUs = ParseSince(parse.GetValue(since), TimeProvider.System.GetUtcNow());
            await using var reader = await source.OpenAsync(parse, ct).ConfigureAwait(false);
            var n = await reader.CountAsync(parse.GetValue(model), sinceUs, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new System.Text.Json.Nodes.JsonObject
                {
                    ["requests"] = n,
                    ["model"] = parse.GetValue(model),
                    ["since"] = sinceUs is { } us ? TrackingFormat.Iso(DateTimeOffset.UnixEpoch.AddTicks(us * 10)) : null,
                });
                return CliApp.Ok;
            }

            Terminal.OutWriter.WriteLine(n.ToString(CultureInfo.InvariantCulture));
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildTail()
    {
        var lines = new Option<int>("--limit", "-n") { HelpName = "N", Description = "How many of the newest requests to print.", DefaultValueFactory = _ => 10 };
        var model = new Option<string?>("--model", "-m") { Description = "Only requests scored by this model." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line with every field instead of a table." };
        var cmd = new Command("tail", "Print the newest logged requests, oldest first.") { lines, model, json };
        Deprecated.Option(cmd, "--lines", "--limit");
        var source = new LogSource().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var n = (int)OptionParsing.Positive("-n", parse.GetValue(lines));
            await using var reader = await source.OpenAsync(parse, ct).ConfigureAwait(false);
            var records = await reader.TailAsync(n, parse.GetValue(model), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                foreach (var r in records)
                {
                    Terminal.OutWriter.WriteLine(ToJson(r).ToJsonString(TrackingFormat.Compact));
                }

                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"inference log: {Markup.Escape(source.Description)}");
            table.AddColumn("time");
            table.AddColumn("request id");
            table.AddColumn("model");
            table.AddColumn(new TableColumn("status").RightAligned());
            table.AddColumn(new TableColumn("rows").RightAligned());
            table.AddColumn(new TableColumn("parse µs").RightAligned());
            table.AddColumn(new TableColumn("transform µs").RightAligned());
            table.AddColumn(new TableColumn("score µs").RightAligned());
            foreach (var r in records)
            {
                table.AddRow(
                    Time(r.StartUs),
                    Markup.Escape(r.RequestId),
                    Markup.Escape(r.Model is null ? "-" : r.Version is { } v ? $"{r.Model}@{v.ToString(CultureInfo.InvariantCulture)}" : r.Model),
                    Int(r.Status),
                    r.ScoredRows == r.Rows ? Int(r.Rows) : $"{Int(r.ScoredRows)}/{Int(r.Rows)}",
                    Int(r.ParseUs),
                    Int(r.TransformUs),
                    Int(r.ScoreUs));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>Every field of the record, snake_case like the store's columns, plus the start time in ISO-8601.</summary>
    internal static JsonObject ToJson(InferenceRecord r) => new()
    {
        ["log_id"] = r.LogId,
        ["request_id"] = r.RequestId,
        ["start_time"] = Iso(r.StartUs),
        ["start_us"] = r.StartUs,
        ["end_us"] = r.EndUs,
        ["route"] = r.Route,
        ["model"] = r.Model,
        ["version"] = r.Version,
        ["status"] = r.Status,
        ["rows"] = r.Rows,
        ["scored_rows"] = r.ScoredRows,
        ["request_payload"] = Payload(r.RequestPayload),
        ["response_payload"] = Payload(r.ResponsePayload),
        ["parse_us"] = r.ParseUs,
        ["transform_us"] = r.TransformUs,
        ["score_us"] = r.ScoreUs,
        ["error"] = r.Error,
    };

    /// <summary>A stored payload as JSON when it is JSON (the usual case: request and response bodies), else as the text it is.</summary>
    internal static JsonNode? Payload(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var t = text.TrimStart();
        if (t.Length > 0 && (t[0] == '{' || t[0] == '['))
        {
            try
            {
                return JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                // not JSON after all (e.g. truncated): keep the text
            }
        }

        return JsonValue.Create(text);
    }

    /// <summary>
    /// <c>--since</c>: an ISO-8601 time (without an offset: UTC) or a duration back from <paramref name="now"/>
    /// (a whole number followed by s, m, h, d or w). Returns unix microseconds, or null without the option.
    /// </summary>
    internal static long? ParseSince(string? text, DateTimeOffset now) => ParseTime("--since", text, now);

    /// <summary>A time option (<c>--since</c>, <c>--until</c>) in the forms of <see cref="ParseSince"/>.</summary>
    internal static long? ParseTime(string option, string? text, DateTimeOffset now)
    {
        if (text is null)
        {
            return null;
        }

        var t = text.Trim();
        if (t.Length >= 2 && char.IsAsciiLetter(t[^1])
            && long.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            var unit = char.ToLowerInvariant(t[^1]) switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                'w' => TimeSpan.FromDays(7),
                _ => TimeSpan.Zero,
            };
            if (unit != TimeSpan.Zero && amount <= 100 * 365 * TimeSpan.TicksPerDay / unit.Ticks)
            {
                return ToMicros(now - (unit * amount));
            }
        }

        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            && t.Length >= 10 && t[4] == '-')
        {
            return ToMicros(time);
        }

        throw new CliUsageException($"{option} '{text}': expected an ISO-8601 time such as 2026-03-01T12:00:00Z or a duration back from now such as 90s, 15m, 2h, 1d, 1w");
    }

    private static long ToMicros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;

    private static DateTime ToTime(long us) => new(DateTimeOffset.UnixEpoch.Ticks + (us * TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);

    private static string Time(long us) => ToTime(us).ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Iso(long us) => ToTime(us).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Where the log is read from: <c>--store</c> (default) or <c>--parquet DIR</c>.</summary>
    private sealed class LogSource
    {
        private readonly Option<string?> _store = new("--store")
        {
            Description = "Tracking store holding the log: a SQLite path (sqlite:PATH) or postgres://user:pass@host/db (default: $VIGIL_STORE, else $VIGIL_HOME/vigil.db).",
        };

        private readonly Option<string?> _parquet = new("--parquet") { Description = "Read the log from this folder of Parquet files instead of the store." };

        public string Description { get; private set; } = "";

        public LogSource AddTo(Command command)
        {
            command.Options.Add(_store);
            command.Options.Add(_parquet);
            return this;
        }

        public async Task<IInferenceLogReader> OpenAsync(ParseResult parse, CancellationToken cancellationToken)
        {
            var store = parse.GetValue(_store);
            var parquet = parse.GetValue(_parquet);
            if (store is not null && parquet is not null)
            {
                throw new CliUsageException("--store and --parquet name two different logs: give one of them");
            }

            if (parquet is not null)
            {
                var reader = new ParquetInferenceLogReader(parquet);
                Description = "parquet " + reader.Folder;
                return reader;
            }

            StoreFactory.RequireExisting(store, Terminal.Home); // reading never creates a store at a mistyped path
            var log = await InferenceLogStore.OpenAsync(store, Terminal.Home, cancellationToken).ConfigureAwait(false);
            Description = log.Description;
            return log;
        }
    }
}
