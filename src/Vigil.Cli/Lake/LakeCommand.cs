using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Pipelines;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil lake write|list|query</c>: the lakehouse zones (raw, ml_outputs, metrics) as Hive-partitioned Parquet on the
/// local folder or an Azure Blob container (<c>--lake</c> / <c>VIGIL_LAKE</c>), queried with DuckDB.
/// </summary>
internal static class LakeCommand
{
    public static Command Build()
    {
        var cmd = new Command("lake", "Lakehouse zones (raw, ml_outputs, metrics): Parquet partitioned by date=YYYY-MM-DD, queried with DuckDB.");
        cmd.Subcommands.Add(BuildWrite());
        cmd.Subcommands.Add(BuildList());
        cmd.Subcommands.Add(BuildQuery());
        return cmd;
    }

    private static Option<string?> LakeOption() => new("--lake")
    {
        HelpName = "FOLDER|az://CONTAINER[/prefix]",
        Description = "The lake (VIGIL_LAKE; default $VIGIL_HOME/lake). A blob lake uses AZURE_STORAGE_CONNECTION_STRING.",
    };

    private static Command BuildWrite()
    {
        var lake = LakeOption();
        var zone = new Option<string>("--zone") { HelpName = "raw|ml_outputs|metrics", Description = "The zone to add the data to.", Required = true };
        var data = new Option<string>("--data") { HelpName = "FILE", Description = "The data (.csv, .csv.gz or .parquet); it must not have a column named 'date'.", Required = true };
        var date = new Option<string?>("--date") { HelpName = "YYYY-MM-DD", Description = "The partition date (default: today, UTC)." };
        var json = new Option<bool>("--json") { Description = "Print JSON: zone, date, path, location, rows, columns, bytes." };
        var cmd = new Command("write", "Add a file to a zone as one Parquet file in its date partition.") { zone, data, date, lake, json };
        cmd.SetAction(async (parse, ct) =>
        {
            var z = LakeZones.Parse(parse.GetRequiredValue(zone));
            var d = parse.GetValue(date) is { } text ? LakeZones.ParseDate(text) : (DateOnly?)null;
            var house = Lakehouse.Open(parse.GetValue(lake), Terminal.Home);
            var result = await house.WriteAsync(z, parse.GetRequiredValue(data), d, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(new JsonObject
                {
                    ["zone"] = result.Zone.Name(),
                    ["date"] = result.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    ["path"] = result.Path,
                    ["location"] = result.Location,
                    ["rows"] = result.Rows,
                    ["columns"] = new JsonArray([.. result.Columns.Select(c => (JsonNode?)JsonValue.Create(c))]),
                    ["bytes"] = result.Bytes,
                });
            }
            else
            {
                Terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {result.Rows} rows ({result.Columns.Count} columns, {result.Bytes} bytes) to {result.Location}/{result.Path}"));
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildList()
    {
        var lake = LakeOption();
        var zone = new Option<string?>("--zone") { HelpName = "raw|ml_outputs|metrics", Description = "Only this zone." };
        var json = new Option<bool>("--json") { Description = "Print JSON: location and one entry per partition (zone, date, files, rows, bytes)." };
        var cmd = new Command("list", "List the date partitions of the zones with their files, rows and bytes.") { zone, lake, json };
        cmd.SetAction(async (parse, ct) =>
        {
            var z = parse.GetValue(zone) is { } text ? LakeZones.Parse(text) : (LakeZone?)null;
            var house = Lakehouse.Open(parse.GetValue(lake), Terminal.Home);
            var partitions = await house.ListAsync(z, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var p in partitions)
                {
                    array.Add(new JsonObject
                    {
                        ["zone"] = p.Zone.Name(),
                        ["date"] = p.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                        ["files"] = p.Files,
                        ["rows"] = p.Rows,
                        ["bytes"] = p.Bytes,
                    });
                }

                TrackingFormat.WriteJson(new JsonObject { ["location"] = house.Location, ["partitions"] = array });
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"lake {Markup.Escape(house.Location)}");
            table.AddColumn("zone");
            table.AddColumn("date");
            table.AddColumn(new TableColumn("files").RightAligned());
            table.AddColumn(new TableColumn("rows").RightAligned());
            table.AddColumn(new TableColumn("bytes").RightAligned());
            foreach (var p in partitions)
            {
                table.AddRow(p.Zone.Name(), p.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), p.Files.ToString(CultureInfo.InvariantCulture),
                    p.Rows < 0 ? "?" : p.Rows.ToString(CultureInfo.InvariantCulture), p.Bytes.ToString(CultureInfo.InvariantCulture));
            }

            Terminal.Out.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildQuery()
    {
        var lake = LakeOption();
        var sql = new Argument<string>("SQL") { Description = "DuckDB SQL over the views raw, ml_outputs and metrics (each with the partition column date)." };
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"columns\": [...], \"rows\": [{column: value}, ...]}." };
        var cmd = new Command("query", "Run SQL over the zones with DuckDB.") { sql, lake, json };
        cmd.SetAction(async (parse, ct) =>
        {
            var house = Lakehouse.Open(parse.GetValue(lake), Terminal.Home);
            var result = await house.QueryAsync(parse.GetRequiredValue(sql), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var rows = new JsonArray();
                foreach (var row in result.Rows)
                {
                    var o = new JsonObject();
                    for (var i = 0; i < row.Length; i++)
                    {
                        o[result.Columns[i]] = Json(row[i]);
                    }

                    rows.Add(o);
                }

                TrackingFormat.WriteJson(new JsonObject
                {
                    ["columns"] = new JsonArray([.. result.Columns.Select(c => (JsonNode?)JsonValue.Create(c))]),
                    ["rows"] = rows,
                });
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var c in result.Columns)
            {
                table.AddColumn(Markup.Escape(c));
            }

            foreach (var row in result.Rows)
            {
                table.AddRow([.. row.Select(v => Markup.Escape(Text(v)))]);
            }

            Terminal.Out.Write(table);
            Terminal.Note(string.Create(CultureInfo.InvariantCulture, $"{result.Rows.Count} row(s)"));
            return CliApp.Ok;
        });
        return cmd;
    }

    private static JsonNode? Json(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        byte or sbyte or short or ushort or int or uint or long or ulong => JsonValue.Create(Convert.ToDecimal(value, CultureInfo.InvariantCulture)),
        float f => double.IsFinite(f) ? JsonValue.Create((double)f) : JsonValue.Create(Text(f)),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(Text(d)),
        decimal m => JsonValue.Create(m),
        BigInteger i => i >= long.MinValue && i <= long.MaxValue ? JsonValue.Create((long)i) : JsonValue.Create(Text(i)),
        _ => JsonValue.Create(Text(value)),
    };

    private static string Text(object? value) => value switch
    {
        null => "",
        DateTime t => t.ToString(t.TimeOfDay == TimeSpan.Zero ? "yyyy-MM-dd" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset o => o.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
