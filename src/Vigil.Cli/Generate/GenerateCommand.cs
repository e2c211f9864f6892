using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Vigil.Data;

namespace Vigil.Cli;

/// <summary><c>vigil generate transactions ...</c>: deterministic synthetic data.</summary>
internal static class GenerateCommand
{
    public static Command Build()
    {
        var generate = new Command("generate", "Generate deterministic synthetic data sets.");
        generate.Subcommands.Add(BuildTransactions());
        return generate;
    }

    private static Command BuildTransactions()
    {
        var rows = new Option<long>("--rows") { Description = "Number of transactions.", DefaultValueFactory = _ => 100_000 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same seed gives the same file.", DefaultValueFactory = _ => 42 };
        var fraudRate = new Option<double>("--fraud-rate") { Description = "Fraction of fraudulent transactions.", DefaultValueFactory = _ => 0.01 };
        var days = new Option<int>("--days") { Description = "Days of history the transactions span.", DefaultValueFactory = _ => 90 };
        var start = new Option<string?>("--start") { Description = "First day (UTC, yyyy-MM-dd); default 2025-01-01." };
        var output = new Option<string>("--out", "-o") { Description = "Output file: .csv, .csv.gz or .parquet.", Required = true };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing but errors." };
        var json = CliOutput.JsonOption("Print the result as JSON: output, format, rows, seed, fraud_rate, days, start, seconds.");

        var cmd = new Command("transactions", "Card transactions with injected fraud patterns (card testing, account takeover, colluding merchant) and drift over time.")
        {
            rows, seed, fraudRate, days, start, output, quiet, json,
        };
        cmd.SetAction(parse =>
        {
            var options = new TransactionGeneratorOptions
            {
                Rows = OptionParsing.Positive("--rows", parse.GetValue(rows)),
                Seed = parse.GetValue(seed),
                FraudRate = parse.GetValue(fraudRate),
                Days = (int)OptionParsing.Positive("--days", parse.GetValue(days)),
            };
            var startText = parse.GetValue(start);
            if (startText is not null)
            {
                if (!DateTimeOffset.TryParse(startText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var s))
                {
                    throw new CliUsageException($"--start: cannot parse '{startText}' as a date (use yyyy-MM-dd)");
                }

                options = options with { Start = s };
            }

            options.Validate();
            var path = parse.GetRequiredValue(output);
            FrameFile.FormatOf(path);
            var sw = Stopwatch.StartNew();
            var asJson = parse.GetValue(json);
            var written = Run(options, path, parse.GetValue(quiet) || asJson);
            sw.Stop();
            if (asJson)
            {
                TrackingFormat.WriteJson(new System.Text.Json.Nodes.JsonObject
                {
                    ["output"] = Path.GetFullPath(path),
                    ["format"] = FrameFile.FormatOf(path).ToString().ToLowerInvariant(),
                    ["rows"] = written,
                    ["seed"] = options.Seed,
                    ["fraud_rate"] = options.FraudRate,
                    ["days"] = options.Days,
                    ["start"] = options.Start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3),
                });
            }
            else if (!parse.GetValue(quiet))
            {
                Terminal.Out.MarkupLine(
                    $"wrote [bold]{written:N0}[/] transactions to [bold]{Markup.Escape(path)}[/] in {sw.Elapsed.TotalSeconds:F2} s " +
                    $"({written / Math.Max(sw.Elapsed.TotalSeconds, 1e-9):N0} rows/s)");
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static long Run(TransactionGeneratorOptions options, string path, bool quiet)
    {
        if (quiet || !Terminal.Interactive)
        {
            return TransactionGenerator.WriteTo(options, path);
        }

        long written = 0;
        Terminal.Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("generating", maxValue: options.Rows);
                written = TransactionGenerator.WriteTo(options, path, new Progress<long>(n => task.Value = n));
                task.Value = options.Rows;
            });
        return written;
    }
}
