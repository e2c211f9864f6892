using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Pipelines;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary><c>vigil metrics sync --to postgres://...|duckdb:FILE</c>: upserts aggregated model metrics into <c>FRAUD_MODEL_METRICS</c>.</summary>
internal static class MetricsCommand
{
    public static Command Build()
    {
        var cmd = new Command("metrics", "Model metrics in a warehouse.");
        cmd.Subcommands.Add(BuildSync());
        return cmd;
    }

    private static Command BuildSync()
    {
        var to = new Option<string>("--to") { HelpName = "postgres://...|duckdb:FILE", Description = "The warehouse: a PostgreSQL URI (or Npgsql connection string) or a DuckDB file.", Required = true };
        var lake = new Option<string?>("--lake") { HelpName = "FOLDER|az://CONTAINER[/prefix]", Description = "The lake whose metrics zone is synced (VIGIL_LAKE; default $VIGIL_HOME/lake)." };
        var noStore = new Option<bool>("--no-store") { Description = "Do not sync the run metrics of the registered versions." };
        var noLake = new Option<bool>("--no-lake") { Description = "Do not sync the lake's metrics zone." };
        var json = new Option<bool>("--json") { Description = "Print JSON: target, table, rows, inserted, updated, unchanged." };
        var cmd = new Command("sync", "Upsert aggregated metrics (the registered versions' run metrics and the lake's metrics zone) into FRAUD_MODEL_METRICS; running it twice leaves the same rows.")
        {
            to, lake, noStore, noLake, json,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(noStore) && parse.GetValue(noLake))
            {
                throw new CliUsageException("--no-store and --no-lake together leave nothing to sync");
            }

            ITrackingStore? store = parse.GetValue(noStore) ? null : await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            await using (store)
            {
                var result = await MetricsSync.SyncAsync(new MetricsSyncOptions
                {
                    Target = parse.GetRequiredValue(to),
                    Store = store,
                    Lake = parse.GetValue(noLake) ? null : Lakehouse.Open(parse.GetValue(lake), Terminal.Home),
                }, ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    TrackingFormat.WriteJson(new JsonObject
                    {
                        ["target"] = result.Target,
                        ["table"] = result.Table,
                        ["rows"] = result.Rows,
                        ["inserted"] = result.Inserted,
                        ["updated"] = result.Updated,
                        ["unchanged"] = result.Unchanged,
                    });
                }
                else
                {
                    Terminal.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{result.Table} on {result.Target}: {result.Rows} rows ({result.Inserted} inserted, {result.Updated} updated, {result.Unchanged} unchanged)"));
                }
            }

            return CliApp.Ok;
        });
        return cmd;
    }
}
