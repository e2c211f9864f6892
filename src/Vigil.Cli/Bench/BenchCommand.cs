using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Evaluation;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil bench adbench FOLDER [--models iforest,autoencoder,lightgbm] [--seeds 3] [--json]</c>. A dataset that cannot
/// be run is listed as skipped with its reason (table and JSON) and the others finish; the exit code is then
/// <see cref="CliApp.PartialFailure"/>.
/// </summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var bench = new Command("bench", "Run benchmark protocols.");
        var folder = new Argument<string>("FOLDER") { Description = "Folder of .csv/.csv.gz files whose last column is 'label'." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds 0..N-1 per dataset.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print only a JSON array of results." };
        var models = new Option<string>("--models")
        {
            Description = "Comma-separated detectors: " + string.Join(", ", Vigil.Detectors.DetectorCatalog.All.Where(d => d.LearnsFromData).Select(d => d.Supervised ? d.Name + " (supervised: trained with the training part's labels)" : d.Name)) + ".",
            DefaultValueFactory = _ => "iforest",
        };
        var adbench = new Command("adbench", "The ADBench protocol: 70/30 stratified split, subsample to 10,000 rows, min-max scaling; isolation forest by default.")
        {
            folder, seeds, json, models,
        };
        adbench.SetAction(parse =>
        {
            var dir = parse.GetRequiredValue(folder);
            var n = (int)OptionParsing.Positive("--seeds", parse.GetValue(seeds));
            var kinds = OptionParsing.List(parse.GetValue(models)) ?? ["iforest"];
            foreach (var kind in kinds)
            {
                if (!Vigil.Detectors.DetectorCatalog.TryGet(kind, out _))
                {
                    throw new CliUsageException($"--models: unknown model '{kind}'; known models: {string.Join(", ", Vigil.Detectors.DetectorCatalog.Kinds)}");
                }
            }

            var files = AdBenchProtocol.FindDatasets(dir);
            if (files.Count == 0)
            {
                throw new CliUsageException($"{dir}: no .csv or .csv.gz file whose last column is 'label'");
            }

            var results = new List<AdBenchResult>();
            foreach (var f in files)
            {
                if (!parse.GetValue(json))
                {
                    Terminal.Note($"{AdBenchProtocol.DatasetName(f)} ...");
                }

                // One bad dataset (unreadable, or a class too small to split after subsampling) is skipped with its
                // reason; the others still run.
                foreach (var r in AdBenchProtocol.RunFile(f, kinds, n))
                {
                    results.Add(r);
                    if (r.Skipped is not null && !parse.GetValue(json))
                    {
                        Terminal.Note($"{r.Dataset} ({r.Model}): skipped: {r.Skipped}");
                    }
                }
            }

            var exit = results.Any(r => r.Skipped is not null) ? CliApp.PartialFailure : CliApp.Ok;

            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var r in results)
                {
                    array.Add(new JsonObject
                    {
                        ["dataset"] = r.Dataset,
                        ["model"] = r.Model,
                        ["seeds"] = r.Seeds,
                        ["auc_roc"] = r.Skipped is null ? r.AucRoc : null,
                        ["auc_pr"] = r.Skipped is null ? r.AucPr : null,
                        ["fit_seconds"] = r.FitSeconds,
                        ["score_seconds"] = r.ScoreSeconds,
                        ["skipped"] = r.Skipped,
                    });
                }

                Terminal.OutWriter.WriteLine(array.ToJsonString(TrackingFormat.Compact));
                return exit;
            }

            static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
            static string Signed(double d) => (d < 0 ? "-" : "+") + Math.Abs(d).ToString("F4", CultureInfo.InvariantCulture);
            var table = new Table().Border(TableBorder.Rounded).Title($"ADBench protocol, {n} seed(s)");
            foreach (var h in new[] { "dataset", "rows", "features", "model", "AUC-ROC", "± sd", "AUC-PR", "ADBench AUC-ROC", "Δ", "fit s", "score s" })
            {
                table.AddColumn(new TableColumn(h).RightAligned());
            }

            foreach (var r in results.Where(r => r.Skipped is null))
            {
                table.AddRow(
                    Markup.Escape(r.Dataset), r.Rows.ToString(CultureInfo.InvariantCulture), r.Features.ToString(CultureInfo.InvariantCulture),
                    r.Model, F(r.AucRoc), F(r.AucRocStd), F(r.AucPr),
                    r.PublishedAucRoc is { } p ? F(p) : "-",
                    r.PublishedAucRoc is { } q ? Signed(r.AucRoc - q) : "-",
                    r.FitSeconds.ToString("F3", CultureInfo.InvariantCulture), r.ScoreSeconds.ToString("F3", CultureInfo.InvariantCulture));
            }

            foreach (var r in results.Where(r => r.Skipped is not null))
            {
                table.AddRow(Markup.Escape(r.Dataset), "-", "-", r.Model, "[yellow]skipped[/]", "", "", "", "", "", "");
            }

            CliOutput.Write(table);
            foreach (var r in results.Where(r => r.Skipped is not null))
            {
                Terminal.Out.WriteLine($"skipped {r.Dataset} ({r.Model}): {r.Skipped}");
            }

            return exit;
        });
        bench.Subcommands.Add(adbench);
        bench.Subcommands.Add(BuildAutoencoderDefaults());
        return bench;
    }

    /// <summary>
    /// <c>vigil bench autoencoder-defaults FOLDER [--seeds 1] [--json]</c>: the protocol that chose the autoencoder's
    /// defaults from training data only (see <see cref="AutoencoderDefaultsProtocol"/>).
    /// </summary>
    private static Command BuildAutoencoderDefaults()
    {
        var folder = new Argument<string>("FOLDER") { Description = "Folder of .csv/.csv.gz files with numeric features and a last column 'label' (labels are not used)." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds 0..N-1 per dataset.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print only a JSON object of results." };
        var cmd = new Command("autoencoder-defaults",
            "Choose autoencoder defaults from each dataset's ADBench training part only: fit on 80%, detect synthetic anomalies (local, dependency, global) added to the other 20%.")
        {
            folder, seeds, json,
        };
        cmd.SetAction(parse =>
        {
            var dir = parse.GetRequiredValue(folder);
            var n = (int)OptionParsing.Positive("--seeds", parse.GetValue(seeds));
            var asJson = parse.GetValue(json);
            var files = AdBenchProtocol.FindDatasets(dir);
            if (files.Count == 0)
            {
                throw new CliUsageException($"{dir}: no .csv or .csv.gz file whose last column is 'label'");
            }

            var results = new List<AutoencoderDefaultsResult>();
            foreach (var f in files)
            {
                if (!asJson)
                {
                    Terminal.Note($"{AdBenchProtocol.DatasetName(f)} ...");
                }

                results.AddRange(AutoencoderDefaultsProtocol.RunFile(f, n));
            }

            var ran = results.Where(r => r.Skipped is null).ToList();
            var datasets = ran.Select(r => r.Dataset).Distinct().ToList();
            var means = AutoencoderDefaultsProtocol.Candidates
                .Select(c => (c.Name, Mean: ran.Where(r => r.Candidate == c.Name).Select(r => r.ValidationAucPr).DefaultIfEmpty(double.NaN).Average()))
                .ToList();
            var best = means.Where(m => !double.IsNaN(m.Mean)).OrderByDescending(m => m.Mean).Select(m => m.Name).FirstOrDefault();
            var exit = results.Any(r => r.Skipped is not null) ? CliApp.PartialFailure : CliApp.Ok;
            if (asJson)
            {
                var rows = new JsonArray();
                foreach (var r in results)
                {
                    rows.Add(new JsonObject
                    {
                        ["dataset"] = r.Dataset,
                        ["candidate"] = r.Candidate,
                        ["seeds"] = r.Seeds,
                        ["validation_auc_pr"] = r.Skipped is null ? r.ValidationAucPr : null,
                        ["skipped"] = r.Skipped,
                    });
                }

                Terminal.OutWriter.WriteLine(new JsonObject { ["results"] = rows, ["best"] = best }.ToJsonString(TrackingFormat.Compact));
                return exit;
            }

            static string F(double v) => double.IsNaN(v) ? "-" : v.ToString("F4", CultureInfo.InvariantCulture);
            var table = new Table().Border(TableBorder.Rounded).Title($"validation AUC-PR (synthetic anomalies in held-out training rows), {n} seed(s)");
            table.AddColumn("candidate");
            foreach (var d in datasets)
            {
                table.AddColumn(new TableColumn(Markup.Escape(d)).RightAligned());
            }

            table.AddColumn(new TableColumn("mean").RightAligned());
            foreach (var (name, mean) in means)
            {
                var cells = new List<string> { name == best ? $"[bold]{name}[/]" : name };
                cells.AddRange(datasets.Select(d => F(ran.First(r => r.Dataset == d && r.Candidate == name).ValidationAucPr)));
                cells.Add(F(mean));
                table.AddRow([.. cells]);
            }

            Terminal.Out.Write(table);
            Terminal.Out.WriteLine($"best: {best ?? "none"}");
            foreach (var r in results.Where(r => r.Skipped is not null).DistinctBy(r => r.Dataset))
            {
                Terminal.Out.WriteLine($"skipped {r.Dataset}: {r.Skipped}");
            }

            return exit;
        });
        return cmd;
    }
}
