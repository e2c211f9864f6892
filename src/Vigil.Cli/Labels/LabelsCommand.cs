using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Vigil.Data;
using Vigil.Evaluation;
using Vigil.Monitoring;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil labels ingest --file labels.csv --id-column C --label-column L [--time-column T] --model NAME</c>: joins
/// delayed labels to the model's logged predictions and stores them in the tracking store.
/// </summary>
internal static class LabelsCommand
{
    public static Command Build()
    {
        var cmd = new Command("labels", "Delayed labels (chargebacks, reviews) for logged predictions.");
        cmd.Subcommands.Add(BuildIngest());
        return cmd;
    }

    private static Command BuildIngest()
    {
        var file = new Option<string>("--file", "-f") { HelpName = "FILE", Description = "The labels: .csv, .csv.gz or .parquet.", Required = true };
        var idColumn = new Option<string>("--id-column") { HelpName = "COL", Description = "The column with the id to join on (a request id, or with --join-feature a logged business id).", Required = true };
        var labelColumn = new Option<string>("--label-column") { HelpName = "COL", Description = "The 0/1 label column (1 = fraud/anomaly).", Required = true };
        var timeColumn = new Option<string?>("--time-column") { HelpName = "COL", Description = "When each label became known (a timestamp column); stored with it." };
        var itemColumn = new Option<string?>("--item-column") { HelpName = "COL", Description = "The item's index in its request (0-based; default 0: one-item requests)." };
        var joinFeature = new Option<string?>("--join-feature") { HelpName = "FEATURE", Description = "Join on this logged input (a business id such as a transaction id) instead of the request id." };
        var since = new Option<string?>("--since") { HelpName = "TIME", Description = "Only join to predictions logged from this time (ISO-8601 or a duration back: 7d, 12h)." };
        var json = new Option<bool>("--json") { Description = "Print the outcome as JSON." };
        var cmd = new Command("ingest", "Join labels to the model's logged predictions by request id (or a logged business id) and store them.")
        {
            file, idColumn, labelColumn, timeColumn, itemColumn, joinFeature, since, json,
        };
        var source = new MonitoringSource().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var path = OptionParsing.ExistingFile("--file", parse.GetRequiredValue(file));
            var id = parse.GetRequiredValue(idColumn);
            var reference = MonitoringSource.Reference(parse.GetRequiredValue(source.Model));
            var model = source.LogName(parse, reference);
            var sinceUs = LogsCommand.ParseTime("--since", parse.GetValue(since), TimeProvider.System.GetUtcNow());
            Frame frame;
            try
            {
                // ids are read as text, so that "00123" stays "00123"
                frame = FrameFile.Read(path, new CsvReadOptions { CategoricalColumns = new HashSet<string>(StringComparer.Ordinal) { id } });
            }
            catch (DataFormatException e) when (e.Message.Contains("named in the categorical columns", StringComparison.Ordinal))
            {
                frame = FrameFile.Read(path);
                Require(frame, path, "--id-column", id);
                throw;
            }

            var ids = Texts(frame, path, "--id-column", id);
            var labelName = Require(frame, path, "--label-column", parse.GetRequiredValue(labelColumn));
            int[] labels;
            try
            {
                labels = Labels.From(frame, labelName);
            }
            catch (ArgumentException e)
            {
                throw new CliUsageException($"{path}: --label-column '{labelName}': {e.Message}");
            }

            int[]? items = null;
            if (parse.GetValue(itemColumn) is { } itemName)
            {
                var column = frame[Require(frame, path, "--item-column", itemName)];
                items = new int[frame.RowCount];
                for (var i = 0; i < items.Length; i++)
                {
                    var v = column.GetDouble(i);
                    if (!(v >= 0 && v <= int.MaxValue && v == Math.Floor(v)))
                    {
                        throw new CliUsageException($"{path}: row {(i + 1).ToString(CultureInfo.InvariantCulture)}, --item-column '{itemName}': '{column.FormatValue(i)}' is not an item index (a whole number >= 0)");
                    }

                    items[i] = (int)v;
                }
            }

            long?[]? times = null;
            if (parse.GetValue(timeColumn) is { } timeName)
            {
                var column = frame[Require(frame, path, "--time-column", timeName)];
                if (column.Kind != ColumnKind.Timestamp)
                {
                    throw new CliUsageException($"{path}: --time-column '{timeName}' holds {column.Kind}, not timestamps (ISO-8601 such as 2026-03-01T12:00:00Z)");
                }

                times = new long?[frame.RowCount];
                for (var i = 0; i < times.Length; i++)
                {
                    times[i] = column.IsMissing(i) ? null : (long)column.GetDouble(i);
                }
            }

            var feature = parse.GetValue(joinFeature);
            if (feature is not null && items is not null)
            {
                throw new CliUsageException("--item-column goes with request ids; with --join-feature each business id names its item");
            }

            var loaded = await source.LoadAsync(parse, reference, cancellationToken).ConfigureAwait(false); // the model must exist
            await using var store = await source.OpenStoreAsync(parse, cancellationToken).ConfigureAwait(false);
            var result = await LabelJoin.JoinAsync(source.Items(parse, store, model, sinceUs, null, cancellationToken),
                feature is null ? LabelJoinKind.Request : LabelJoinKind.Feature, feature, ids, items, labels, times, cancellationToken).ConfigureAwait(false);
            await store.WriteLabelsAsync(model, result.Matched, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1000, cancellationToken).ConfigureAwait(false);
            var positives = result.Matched.Count(l => l.Label == 1);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new JsonObject
                {
                    ["model"] = model,
                    ["version"] = loaded.Version?.Version,
                    ["read"] = result.Read,
                    ["matched"] = result.Matched.Count,
                    ["positives"] = positives,
                    ["unmatched"] = result.Unmatched,
                    ["first_unmatched"] = new JsonArray([.. result.FirstUnmatched.Select(u => JsonValue.Create(u))]),
                });
            }
            else
            {
                Terminal.OutWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Read:N0} labels read from {path}; {result.Matched.Count:N0} joined to logged predictions of '{model}' ({positives:N0} positive) and stored in {store.Description}"));
                if (result.Unmatched > 0)
                {
                    Terminal.Note(string.Create(CultureInfo.InvariantCulture,
                        $"{result.Unmatched:N0} labels match no logged prediction and were not stored (first: {string.Join(", ", result.FirstUnmatched)})"));
                }
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static string Require(Frame frame, string path, string option, string name)
    {
        if (frame.Contains(name))
        {
            return name;
        }

        throw new CliUsageException($"{option} '{name}': no such column in {path}; columns are: {string.Join(", ", frame.Columns.Select(c => c.Name))}");
    }

    private static string[] Texts(Frame frame, string path, string option, string name)
    {
        var column = frame[Require(frame, path, option, name)];
        var result = new string[frame.RowCount];
        for (var i = 0; i < result.Length; i++)
        {
            if (column.IsMissing(i))
            {
                throw new CliUsageException($"{path}: row {(i + 1).ToString(CultureInfo.InvariantCulture)}: {option} '{name}' is empty");
            }

            result[i] = column is Float64Column or Float32Column ? column.GetDouble(i).ToString("R", CultureInfo.InvariantCulture) : column.FormatValue(i);
        }

        return result;
    }
}
