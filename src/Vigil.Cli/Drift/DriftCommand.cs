using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Vigil.Data;
using Vigil.Lifecycle;
using Vigil.Monitoring;
using Vigil.Tracking;
using Vigil.Monitoring.Statistics;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil drift --reference R --current C [--model M]</c>: compares two CSV/Parquet files column by column with
/// Evidently's drift statistics (and, with a model, their score distributions and alert rates); <c>vigil drift --model
/// models:/NAME@champion --since 1d</c>: compares the model's logged inputs and scores with its bundle's reference profile.
/// Prints a table or JSON, optionally writes an HTML report; exit 4 with <c>--fail-on-drift</c> when the dataset drifted.
/// </summary>
internal static class DriftCommand
{
    /// <summary>The exit code of <c>--fail-on-drift</c> when the dataset drifted.</summary>
    public const int DatasetDrifted = 4;

    public static Command Build()
    {
        var reference = new Option<string?>("--reference", "-r") { HelpName = "FILE", Description = "File mode: the reference data (.csv, .csv.gz or .parquet)." };
        var current = new Option<string?>("--current", "-c") { HelpName = "FILE", Description = "File mode: the current data to compare with it." };
        var model = new Option<string?>("--model", "-m")
        {
            HelpName = "MODEL",
            Description = "A bundle or models:/NAME@ALIAS. With --reference/--current: adds prediction drift (both files scored). " +
                "Without them (profile mode): compares the model's logged inputs and scores with the reference profile in its bundle.",
        };
        var since = new Option<string?>("--since") { HelpName = "TIME", Description = "Profile mode: log entries from this time (ISO-8601, or a duration back from now: 90s, 15m, 2h, 1d, 1w).", DefaultValueFactory = _ => "1d" };
        var until = new Option<string?>("--until") { HelpName = "TIME", Description = "Profile mode: log entries before this time." };
        var name = new Option<string?>("--name") { HelpName = "NAME", Description = "Profile mode: the model name in the inference log (default: NAME of models:/NAME...)." };
        var parquet = new Option<string?>("--parquet") { HelpName = "DIR", Description = "Profile mode: read the inference log from this folder of Parquet files instead of the store." };
        var bucket = new Option<string?>("--bucket") { HelpName = "DURATION", Description = "Profile mode: the width of the alert-rate-over-time windows (e.g. 1h; default: about 12 windows over the span)." };
        var columns = new Option<string?>("--columns") { HelpName = "a,b", Description = "Only these columns (default: every column of the reference except timestamps, or every profiled feature)." };
        var categorical = new Option<string?>("--categorical") { HelpName = "a,b", Description = "Treat these numeric columns as categorical (text columns always are)." };
        var stattest = new Option<string>("--stattest") { HelpName = "auto|NAME", Description = "auto (Evidently's choice per column) or one of ks, wasserstein, psi, jensenshannon, anderson, cramer_von_mises, hellinger, ed, t_test, mannw, chisquare, z, TVD, g_test, fisher_exact (case-insensitive; profile mode: the count-based ones).", DefaultValueFactory = _ => "auto" };
        var threshold = new Option<double?>("--threshold") { HelpName = "X", Description = "Threshold for every column (default: each statistic's own: 0.05 for p-values of ks, chisquare, z, t_test, mannw; 0.1 otherwise)." };
        var share = new Option<double>("--drift-share") { HelpName = "S", Description = "The dataset drifts when at least this share of the columns drift.", DefaultValueFactory = _ => 0.5 };
        var correction = new Option<string>("--correction") { HelpName = "none|bonferroni|bh", Description = "Correct the p-value thresholds for testing many columns: Bonferroni or Benjamini-Hochberg.", DefaultValueFactory = _ => "none" };
        var json = new Option<bool>("--json") { Description = "Print JSON: dataset_drift, drift_share, threshold_share, one entry per column and, with a model, prediction." };
        var html = new Option<string?>("--html") { HelpName = "FILE", Description = "Also write a self-contained HTML report (drift table, histograms, score distribution, alert rate over time)." };
        var failOnDrift = new Option<bool>("--fail-on-drift") { Description = "Exit with code 4 when the dataset drifted (for pipelines and CI)." };
        var timings = new Option<bool>("--timings") { Description = "Print the seconds spent reading and computing on stderr." };
        var threads = new Option<int?>("--threads") { HelpName = "N", Description = "File mode: threads for reading the files and comparing columns (default: every core)." };
        var cmd = new Command("drift", "Compare current data with a reference column by column (Evidently's statistics), decide dataset drift and, with a model, prediction drift.")
        {
            reference, current, model, since, until, name, parquet, bucket, columns, categorical, stattest, threshold, share, correction, json, html, failOnDrift, timings, threads,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, cancellationToken) =>
        {
            var options = new DriftOptions
            {
                Columns = List(parse.GetValue(columns)),
                Categorical = List(parse.GetValue(categorical)) ?? [],
                StatTest = parse.GetValue(stattest),
                Threshold = parse.GetValue(threshold),
                DriftShare = parse.GetValue(share),
                Correction = Correction(parse.GetValue(correction)!),
                MaxDegreeOfParallelism = parse.GetValue(threads) is { } n
                    ? n is >= 1 and <= 1024 ? n : throw new CliUsageException($"--threads {n.ToString(CultureInfo.InvariantCulture)}: expected 1 to 1024")
                    : null,
            };
            if (options.StatTest is { } stat && !stat.Equals("auto", StringComparison.OrdinalIgnoreCase))
            {
                StatTestCatalog.Get(stat);
            }

            var refPath = parse.GetValue(reference);
            var curPath = parse.GetValue(current);
            var modelRef = parse.GetValue(model);
            var htmlPath = parse.GetValue(html);
            MonitoringReport monitoring;
            if (refPath is null && curPath is null)
            {
                if (modelRef is null)
                {
                    throw new CliUsageException("give --reference and --current (file mode), or --model (profile mode: the model's inference log against its bundle's profile)");
                }

                if (options.Categorical.Count > 0)
                {
                    throw new CliUsageException("--categorical applies to file mode; in profile mode each feature's kind comes from the bundle");
                }

                if (options.MaxDegreeOfParallelism is not null)
                {
                    throw new CliUsageException("--threads applies to file mode; profile mode reads binned counts");
                }

                ProfileDrift.StatTestFor(options.StatTest);
                monitoring = await ProfileModeAsync(parse, storeArgs, modelRef, parse.GetValue(name), parse.GetValue(parquet),
                    parse.GetValue(since), parse.GetValue(until), parse.GetValue(bucket), options, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (refPath is null || curPath is null)
                {
                    throw new CliUsageException("file mode needs both --reference and --current");
                }

                foreach (var (flag, given) in new[] { ("--parquet", parse.GetValue(parquet)), ("--until", parse.GetValue(until)), ("--name", parse.GetValue(name)), ("--bucket", parse.GetValue(bucket)) })
                {
                    if (given is not null)
                    {
                        throw new CliUsageException($"{flag} applies to profile mode (--model without --reference/--current)");
                    }
                }

                monitoring = await FileModeAsync(parse, storeArgs, refPath, curPath, modelRef, options, htmlPath is not null, parse.GetValue(timings), cancellationToken).ConfigureAwait(false);
            }

            var report = monitoring.Drift!;
            if (htmlPath is not null)
            {
                HtmlReport.Write(monitoring, htmlPath);
                Terminal.Note($"report written to {htmlPath}");
            }

            if (parse.GetValue(json))
            {
                WriteJson(report, Terminal.OutWriter);
            }
            else
            {
                WriteTable(report, monitoring.Reference, monitoring.Current);
            }

            return report.DatasetDrift && parse.GetValue(failOnDrift) ? DatasetDrifted : CliApp.Ok;
        });
        return cmd;
    }

    private static async Task<MonitoringReport> FileModeAsync(ParseResult parse, StoreArgs storeArgs, string refPath, string curPath, string? modelRef,
        DriftOptions options, bool withHistograms, bool timings, CancellationToken cancellationToken)
    {
        FrameFile.FormatOf(refPath);
        FrameFile.FormatOf(curPath);
        LoadedModel? loaded = null;
        CliLifecycle? lifecycle = null;
        try
        {
            if (modelRef is not null)
            {
                lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, CliLifecycle.IsRegistryUri(modelRef), cancellationToken).ConfigureAwait(false);
                loaded = await lifecycle.Operations.LoadModelAsync(modelRef, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (lifecycle is not null)
            {
                await lifecycle.DisposeAsync().ConfigureAwait(false);
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var threadCount = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        Frame refFrame, cur;
        if (threadCount > 1)
        {
            // Both files at once, each on half the threads: at 2 threads, each file is tokenized and converted on one
            // thread, row block by row block while the block is in that core's cache.
            var csv = new CsvReadOptions { MaxDegreeOfParallelism = Math.Max(1, threadCount / 2) };
            var refTask = Task.Run(() => FrameFile.Read(refPath, csv), cancellationToken);
            cur = FrameFile.Read(curPath, csv);
            refFrame = await refTask.ConfigureAwait(false);
        }
        else
        {
            var csv = new CsvReadOptions { MaxDegreeOfParallelism = 1 };
            refFrame = FrameFile.Read(refPath, csv);
            cur = FrameFile.Read(curPath, csv);
        }

        var read = clock.Elapsed.TotalSeconds;
        var report = DriftAnalyzer.Compare(refFrame, cur, options);
        HistogramPair? scores = null;
        if (loaded is not null)
        {
            var bundle = loaded.Bundle;
            var refScores = bundle.Score(refFrame);
            var curScores = bundle.Score(cur);
            report = report with { Prediction = DriftAnalyzer.ComparePredictions(refScores, curScores, bundle.Threshold) };
            if (withHistograms)
            {
                scores = DriftAnalyzer.Histograms(
                    new Frame([new Float64Column("score", refScores)]), new Frame([new Float64Column("score", curScores)]),
                    new DriftReport(false, 0, 1, [new FeatureDrift("score", "num", "", 0, 0, false, 0, 0, StatScoreKind.Distance)]))[0];
            }
        }

        if (timings)
        {
            Terminal.Note(string.Create(CultureInfo.InvariantCulture,
                $"read {read:F2} s, statistics {clock.Elapsed.TotalSeconds - read:F2} s ({threadCount} threads; " +
                $"GC {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections, pauses {GC.GetTotalPauseDuration().TotalSeconds:F2} s, " +
                $"{System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)} MB peak)"));
        }

        return new MonitoringReport
        {
            Title = "Drift report",
            Reference = refPath,
            Current = curPath + (loaded is null ? "" : " scored by " + loaded.Reference),
            Drift = report,
            Histograms = withHistograms ? DriftAnalyzer.Histograms(refFrame, cur, report) : [],
            Scores = scores,
            Created = DateTimeOffset.UtcNow,
        };
    }

    private static async Task<MonitoringReport> ProfileModeAsync(ParseResult parse, StoreArgs storeArgs, string modelRef, string? logName, string? parquet,
        string? sinceText, string? untilText, string? bucketText, DriftOptions options, CancellationToken cancellationToken)
    {
        var now = TimeProvider.System.GetUtcNow();
        var sinceUs = LogsCommand.ParseTime("--since", sinceText, now);
        var untilUs = LogsCommand.ParseTime("--until", untilText, now);
        long bucketUs = 0;
        if (bucketText is not null)
        {
            var back = LogsCommand.ParseTime("--bucket", bucketText, now);
            if (back is null || !char.IsAsciiLetter(bucketText.Trim()[^1]))
            {
                throw new CliUsageException($"--bucket '{bucketText}': expected a duration such as 15m, 1h or 1d");
            }

            bucketUs = (now.ToUnixTimeMilliseconds() * 1000) - back.Value;
            if (bucketUs <= 0)
            {
                throw new CliUsageException($"--bucket '{bucketText}': must be longer than zero");
            }
        }
        else
        {
            var span = (untilUs ?? (now.ToUnixTimeMilliseconds() * 1000)) - (sinceUs ?? 0);
            bucketUs = sinceUs is null ? 3_600_000_000L : NiceBucket(span / 12);
        }

        var isUri = CliLifecycle.IsRegistryUri(modelRef);
        logName ??= isUri ? ModelUri.Parse(modelRef).Name : throw new CliUsageException("profile mode with a bundle path needs --name: the model name the server logged it under");
        LoadedModel loaded;
        await using (var lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, isUri, cancellationToken).ConfigureAwait(false))
        {
            loaded = await lifecycle.Operations.LoadModelAsync(modelRef, CliLifecycle.Notes, cancellationToken).ConfigureAwait(false);
        }

        var bundle = loaded.Bundle;
        var profile = bundle.Profile
            ?? throw new CliUsageException($"{modelRef}: the bundle (format v{bundle.Manifest.FormatVersion}) has no reference profile; retrain it with this Vigil (format v2) or use file mode");
        var drift = new ProfileDrift(profile, bundle.Threshold, options.Columns, bucketUs);
        IInferenceLogReader reader;
        string source;
        if (parquet is not null)
        {
            var p = new ParquetInferenceLogReader(parquet);
            reader = p;
            source = "parquet " + p.Folder;
        }
        else
        {
            var store = parse.GetValue(storeArgs.Store);
            StoreFactory.RequireExisting(store, Terminal.Home);
            var log = await InferenceLogStore.OpenAsync(store, Terminal.Home, cancellationToken).ConfigureAwait(false);
            reader = log;
            source = log.Description;
        }

        await using (reader.ConfigureAwait(false))
        {
            await foreach (var chunk in reader.ReadItemsAsync(logName, sinceUs, untilUs, cancellationToken).ConfigureAwait(false))
            {
                drift.Add(chunk);
            }
        }

        var window = $"since {(sinceUs is null ? "the start" : ProfileDrift.TimestampText(sinceUs.Value))}{(untilUs is null ? "" : " until " + ProfileDrift.TimestampText(untilUs.Value))}";
        if (drift.Items == 0)
        {
            throw new CliUsageException($"the inference log ({source}) holds no decided items of model '{logName}' {window}");
        }

        return new MonitoringReport
        {
            Title = $"Drift report: {logName}",
            Reference = $"reference profile of {loaded.Reference}{(loaded.Version is { } v ? $" (version {v.Version.ToString(CultureInfo.InvariantCulture)})" : "")}: {(profile.TrainingRows + profile.ValidationRows).ToString("N0", CultureInfo.InvariantCulture)} rows",
            Current = $"{drift.Items.ToString("N0", CultureInfo.InvariantCulture)} logged items {window} ({source})",
            Drift = drift.Report(options),
            Histograms = drift.Histograms(),
            Scores = drift.ScoreHistogram(),
            Windows = drift.Windows(),
            Notes = ["Profile mode: current values are counted into the profile's fixed bins (numeric: 20 reference bins plus below/above; categorical: top 20 categories plus other) and the statistics compare those counts. The reference score distribution comes from a sample of up to 16,384 training rows."],
            Created = now,
        };
    }

    /// <summary>A round window width near <paramref name="us"/>: 1, 5, 15, 30 minutes, 1, 3, 6, 12 hours, 1 or 7 days.</summary>
    private static long NiceBucket(long us)
    {
        const long minute = 60_000_000L;
        foreach (var m in new long[] { 1, 5, 15, 30, 60, 180, 360, 720, 1440 })
        {
            if (us <= m * minute)
            {
                return m * minute;
            }
        }

        return 7 * 1440 * minute;
    }

    /// <summary>The report as one line of JSON (see <see cref="ReportJson.WriteDrift"/>).</summary>
    internal static void WriteJson(DriftReport report, TextWriter output) => output.WriteLine(ReportJson.Drift(report));

    private static void WriteTable(DriftReport report, string referencePath, string currentPath)
    {
        var rows = report.BySeverity();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"drift: {Markup.Escape(currentPath)} against {Markup.Escape(referencePath)}");
        table.AddColumn("column");
        table.AddColumn("type");
        table.AddColumn("stattest");
        table.AddColumn(new TableColumn("score").RightAligned());
        table.AddColumn(new TableColumn("threshold").RightAligned());
        table.AddColumn("drift");
        table.AddColumn(new TableColumn("missing ref").RightAligned());
        table.AddColumn(new TableColumn("missing cur").RightAligned());
        foreach (var f in rows)
        {
            table.AddRow(
                Markup.Escape(f.Name),
                f.Type,
                Markup.Escape(f.StatTest),
                double.IsFinite(f.Score) ? f.Score.ToString("G4", CultureInfo.InvariantCulture) : "-",
                f.Threshold.ToString("G4", CultureInfo.InvariantCulture),
                f.Drift ? "[red]DRIFT[/]" : "no",
                f.MissingShareReference.ToString("P1", CultureInfo.InvariantCulture),
                f.MissingShareCurrent.ToString("P1", CultureInfo.InvariantCulture));
        }

        CliOutput.Write(table);
        var drifted = 0;
        foreach (var f in report.Features)
        {
            if (f.Drift)
            {
                drifted++;
            }
        }

        Terminal.Out.MarkupLine(
            $"{drifted} of {report.Features.Count} columns drifted ({report.DriftShare.ToString("P1", CultureInfo.InvariantCulture)}); " +
            $"dataset drift: {(report.DatasetDrift ? "[red]yes[/]" : "no")} (at {report.ThresholdShare.ToString("P0", CultureInfo.InvariantCulture)} of columns)");
        if (report.Prediction is { } p)
        {
            Terminal.Out.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"prediction drift: {(p.Drift ? "[red]yes[/]" : "no")} (scores: {Markup.Escape(p.StatTest)} {p.Score:G4}, threshold {p.StatThreshold:G4}); " +
                $"alert rate at {p.ModelThreshold:G6}: reference {p.AlertRateReference:P2}, current {p.AlertRateCurrent:P2}"));
        }
    }

    private static MultipleTestingCorrection Correction(string text) => text.ToLowerInvariant() switch
    {
        "none" => MultipleTestingCorrection.None,
        "bonferroni" => MultipleTestingCorrection.Bonferroni,
        "bh" or "benjamini-hochberg" => MultipleTestingCorrection.BenjaminiHochberg,
        _ => throw new CliUsageException($"--correction '{text}': use none, bonferroni or bh"),
    };

    private static List<string>? List(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var result = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result.Add(part);
        }

        return result;
    }
}
