using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Vigil.Data;
using Vigil.Monitoring;
using Vigil.Monitoring.Statistics;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil drift --reference R --current C</c>: compares two CSV/Parquet files column by column with Evidently's drift
/// statistics and prints a table or JSON; exit 4 with <c>--fail-on-drift</c> when the dataset drifted.
/// </summary>
internal static class DriftCommand
{
    /// <summary>The exit code of <c>--fail-on-drift</c> when the dataset drifted.</summary>
    public const int DatasetDrifted = 4;

    public static Command Build()
    {
        var reference = new Option<string>("--reference", "-r") { HelpName = "FILE", Description = "The reference data (.csv, .csv.gz or .parquet).", Required = true };
        var current = new Option<string>("--current", "-c") { HelpName = "FILE", Description = "The current data to compare with it.", Required = true };
        var columns = new Option<string?>("--columns") { HelpName = "a,b", Description = "Only these columns (default: every column of the reference except timestamps)." };
        var categorical = new Option<string?>("--categorical") { HelpName = "a,b", Description = "Treat these numeric columns as categorical (text columns always are)." };
        var stattest = new Option<string>("--stattest") { HelpName = "auto|NAME", Description = "auto (Evidently's choice per column) or one of ks, wasserstein, psi, jensenshannon, anderson, cramer_von_mises, hellinger, ed, t_test, mannw, chisquare, z, TVD, g_test, fisher_exact (case-insensitive).", DefaultValueFactory = _ => "auto" };
        var threshold = new Option<double?>("--threshold") { HelpName = "X", Description = "Threshold for every column (default: each statistic's own: 0.05 for p-values of ks, chisquare, z, t_test, mannw; 0.1 otherwise)." };
        var share = new Option<double>("--drift-share") { HelpName = "S", Description = "The dataset drifts when at least this share of the columns drift.", DefaultValueFactory = _ => 0.5 };
        var correction = new Option<string>("--correction") { HelpName = "none|bonferroni|bh", Description = "Correct the p-value thresholds for testing many columns: Bonferroni or Benjamini-Hochberg.", DefaultValueFactory = _ => "none" };
        var json = new Option<bool>("--json") { Description = "Print JSON: dataset_drift, drift_share, threshold_share and one entry per column." };
        var failOnDrift = new Option<bool>("--fail-on-drift") { Description = "Exit with code 4 when the dataset drifted (for pipelines and CI)." };
        var timings = new Option<bool>("--timings") { Description = "Print the seconds spent reading and computing on stderr." };
        var cmd = new Command("drift", "Compare the current data with the reference column by column (Evidently's statistics) and decide dataset drift.")
        {
            reference, current, columns, categorical, stattest, threshold, share, correction, json, failOnDrift, timings,
        };
        cmd.SetAction(parse =>
        {
            var options = new DriftOptions
            {
                Columns = List(parse.GetValue(columns)),
                Categorical = List(parse.GetValue(categorical)) ?? [],
                StatTest = parse.GetValue(stattest),
                Threshold = parse.GetValue(threshold),
                DriftShare = parse.GetValue(share),
                Correction = Correction(parse.GetValue(correction)!),
            };
            if (options.StatTest is { } name && !name.Equals("auto", StringComparison.OrdinalIgnoreCase))
            {
                StatTestCatalog.Get(name);
            }

            var refPath = parse.GetRequiredValue(reference);
            var curPath = parse.GetRequiredValue(current);
            FrameFile.FormatOf(refPath);
            FrameFile.FormatOf(curPath);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var refTask = Task.Run(() => FrameFile.Read(refPath));
            var cur = FrameFile.Read(curPath);
            var refFrame = refTask.GetAwaiter().GetResult();
            var read = clock.Elapsed.TotalSeconds;
            var report = DriftAnalyzer.Compare(refFrame, cur, options);
            if (parse.GetValue(timings))
            {
                Terminal.Note(string.Create(CultureInfo.InvariantCulture,
                    $"read {read:F2} s, statistics {clock.Elapsed.TotalSeconds - read:F2} s ({Environment.ProcessorCount} threads)"));
            }
            if (parse.GetValue(json))
            {
                WriteJson(report, Terminal.OutWriter);
            }
            else
            {
                WriteTable(report, refPath, curPath);
            }

            return report.DatasetDrift && parse.GetValue(failOnDrift) ? DatasetDrifted : CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The report as JSON: <c>{"dataset_drift", "drift_share", "threshold_share", "features": [{"name", "type",
    /// "stattest", "score", "threshold", "drift", "missing_share_reference", "missing_share_current"}]}</c>; file mode has
    /// no model, so no "prediction" member. A score that is not a number (a side with no values) is null.
    /// </summary>
    internal static void WriteJson(DriftReport report, TextWriter output)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteBoolean("dataset_drift", report.DatasetDrift);
            w.WriteNumber("drift_share", report.DriftShare);
            w.WriteNumber("threshold_share", report.ThresholdShare);
            w.WriteStartArray("features");
            foreach (var f in report.Features)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteString("type", f.Type);
                w.WriteString("stattest", f.StatTest);
                if (double.IsFinite(f.Score))
                {
                    w.WriteNumber("score", f.Score);
                }
                else
                {
                    w.WriteNull("score");
                }

                w.WriteNumber("threshold", f.Threshold);
                w.WriteBoolean("drift", f.Drift);
                w.WriteNumber("missing_share_reference", f.MissingShareReference);
                w.WriteNumber("missing_share_current", f.MissingShareCurrent);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
    }

    private static void WriteTable(DriftReport report, string referencePath, string currentPath)
    {
        var rows = new List<FeatureDrift>(report.Features);
        rows.Sort(static (a, b) =>
        {
            var byDrift = b.Drift.CompareTo(a.Drift);
            return byDrift != 0 ? byDrift : Severity(b).CompareTo(Severity(a));
        });
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
    }

    /// <summary>How far past (or short of) its threshold a column is: distance / t, or t / p for p-values.</summary>
    private static double Severity(FeatureDrift f)
    {
        if (!double.IsFinite(f.Score))
        {
            return double.NegativeInfinity;
        }

        return f.ScoreKind == StatScoreKind.PValue
            ? f.Threshold / Math.Max(f.Score, double.Epsilon)
            : f.Score / Math.Max(f.Threshold, double.Epsilon);
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
