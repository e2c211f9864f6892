using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Detectors;
using Vigil.Evaluation;
using Vigil.Lifecycle;

namespace Vigil.Pipelines.Steps;

/// <summary>Shared JSON writing of the model steps.</summary>
internal static class Reports
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static JsonObject Metrics(IReadOnlyDictionary<string, double> metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o[k] = double.IsFinite(v) ? v : null;
        }

        return o;
    }

    public static IReadOnlyDictionary<string, double> ReadMetrics(JsonNode? node) =>
        node is JsonObject o ? o.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>(), StringComparer.Ordinal) : new Dictionary<string, double>();
}

/// <summary>
/// <c>train</c>: trains one bundle with the lifecycle's train operation. <c>model</c> is the detector kind; <c>settings</c>
/// (<c>k=v,k=v</c>, e.g. <c>${item}</c> of a foreach grid) and any other parameter set the detector's options by their run
/// parameter names. Trains on this item's share of the cores (LightGBM single-threaded, so results do not depend on the machine).
/// </summary>
internal sealed class TrainStep : StepKind
{
    private static readonly string[] Own = ["model", "label", "id", "features", "exclude", "seed", "settings"];

    public override string Name => "train";

    public override string Description => "Train a detector bundle (any kind; detector settings by name) on the data.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("model", "detector kind", "iforest"),
        new("label", "label column (never a feature; metrics on the training rows when set)", ""),
        new("id", "identifier column to leave out", ""),
        new("features", "comma-separated feature columns (default: every numeric and categorical column but label and id)", ""),
        new("exclude", "comma-separated columns never to use as features", ""),
        new("seed", "training seed", "0"),
        new("settings", "detector settings k=v,k=v (a foreach item's ${item})", ""),
    ];

    public override bool AcceptsExtraParameters => true;

    public override IReadOnlyList<StepPort> Inputs => [new("data", "training rows")];

    public override IReadOnlyList<StepPort> Outputs => [new("model", "the bundle (zip)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var spec = Spec(context);
        var path = await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false);
        var result = await context.Lifecycle.TrainAsync(new TrainOptions
        {
            Data = DataSource.FromFile(path),
            Spec = spec,
            Output = context.OutputPath("model", "model.zip"),
        }, null, cancellationToken).ConfigureAwait(false);
        foreach (var (k, v) in result.Metrics ?? new Dictionary<string, double>())
        {
            context.Metric(k, v);
        }

        context.Metric("rows", result.Rows);
        context.Metric("fit_s", result.FitTime.TotalSeconds);
        context.Log($"trained {spec.Model} on {result.Rows.ToString("N0", CultureInfo.InvariantCulture)} rows in {result.FitTime.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s" +
            (result.Metrics is { } m && m.TryGetValue("train_auc_pr", out var ap) ? $", train auc_pr {ap.ToString("0.0000", CultureInfo.InvariantCulture)}" : ""));
    }

    internal static TrainSpec Spec(StepContext context)
    {
        var kind = context.String("model");
        if (!DetectorCatalog.TryGet(kind, out _))
        {
            throw new StepFailedException($"step {context.Label}: model '{kind}' is not a detector kind; kinds are: {string.Join(", ", DetectorCatalog.Kinds)}");
        }

        var settings = new List<KeyValuePair<string, string>>();
        foreach (var pair in context.List("settings") ?? [])
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new StepFailedException($"step {context.Label}: settings entry '{pair}' is not NAME=VALUE");
            }

            var key = pair[..eq].Trim();
            var value = pair[(eq + 1)..].Trim();
            if (key == "model")
            {
                if (value != kind)
                {
                    throw new StepFailedException($"step {context.Label}: settings say model={value} but the step trains {kind}");
                }

                continue;
            }

            settings.Add(new(key, value));
        }

        settings.AddRange(context.Parameters.Where(kv => !Own.Contains(kv.Key)));
        try
        {
            var spec = new TrainSpec
            {
                Model = kind,
                Label = context.Optional("label"),
                IdColumn = context.Optional("id"),
                Features = context.List("features"),
                Exclude = context.List("exclude")?.ToHashSet(StringComparer.Ordinal),
            };
            spec = TrainParameters.WithSeed(spec, (ulong)context.Long("seed", 0));
            spec = TrainParameters.Apply(spec, settings);
            return spec with
            {
                Forest = spec.Forest with { MaxDegreeOfParallelism = context.Threads },
                Autoencoder = spec.Autoencoder with { MaxDegreeOfParallelism = context.Threads },
                LightGbm = spec.LightGbm with { Threads = 1 },
            };
        }
        catch (ArgumentException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }
    }
}

/// <summary>
/// <c>search</c>: the lifecycle's hyper-parameter search (a search run with one child run per candidate, validation
/// leaderboard, optional registration); outputs the leaderboard and the best candidate's bundle.
/// </summary>
internal sealed class SearchStep : StepKind
{
    public override string Name => "search";

    public override string Description => "Hyper-parameter search over a grid (YAML) or random trials; outputs the leaderboard and the best bundle.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("model", "detector kind", "iforest"),
        new("label", "label column", "label"),
        new("grid", "search space as YAML, e.g. {estimators: [50, 100]}"),
        new("trials", "random candidates from the grid's ranges (empty: every combination)", ""),
        new("metric", "leaderboard metric", MetricSet.AucPr),
        new("seed", "seed of the split and candidates", "0"),
        new("parallel", "candidates at once", "2"),
        new("validation-fraction", "rows held out for validation", "0.2"),
        new("time-column", "validate on the latest rows by this column (empty: stratified random)", ""),
        new("experiment", "experiment of the search run", "search"),
        new("register", "register the best candidates under this name (empty: none)", ""),
        new("exclude", "comma-separated columns never to use as features", ""),
        new("id", "identifier column to leave out", ""),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "labelled rows")];

    public override IReadOnlyList<StepPort> Outputs => [new("leaderboard", "the ranked candidates (JSON)"), new("best", "the best candidate's bundle (zip)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var kind = context.String("model");
        SearchSpace space;
        IReadOnlyList<IReadOnlyDictionary<string, string>> combos;
        try
        {
            space = SearchSpace.ParseYaml(context.String("grid"), $"step {context.Label} grid");
            combos = context.Optional("trials") is null ? space.Grid() : space.Sample((int)context.Long("trials", 1), (ulong)context.Long("seed", 0));
        }
        catch (InvalidOperationException e)
        {
            throw new StepFailedException($"step {context.Label}: grid: {e.Message}");
        }

        var parallel = (int)context.Long("parallel", 1);
        var inner = Math.Max(1, context.Threads / Math.Min(parallel, combos.Count));
        var candidates = new List<SearchCandidateSpec>();
        foreach (var combo in combos)
        {
            try
            {
                var spec = new TrainSpec
                {
                    Model = kind, Label = context.String("label"), IdColumn = context.Optional("id"),
                    Exclude = context.List("exclude")?.ToHashSet(StringComparer.Ordinal),
                };
                spec = TrainParameters.Apply(TrainParameters.WithSeed(spec, (ulong)context.Long("seed", 0)), combo);
                spec = spec with
                {
                    Forest = spec.Forest with { MaxDegreeOfParallelism = inner },
                    Autoencoder = spec.Autoencoder with { MaxDegreeOfParallelism = inner },
                    LightGbm = spec.LightGbm with { Threads = 1 },
                };
                candidates.Add(new SearchCandidateSpec(spec, combo));
            }
            catch (ArgumentException e)
            {
                throw new StepFailedException($"step {context.Label}: candidate {ModelLifecycle.Describe(combo)}: {e.Message}");
            }
        }

        var result = await context.Lifecycle.SearchAsync(new SearchOptions
        {
            Data = DataSource.FromFile(await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false)),
            Label = context.String("label"),
            Candidates = candidates,
            Metric = context.String("metric"),
            Seed = (ulong)context.Long("seed", 0),
            Parallel = parallel,
            ValidationFraction = context.Double("validation-fraction"),
            TimeColumn = context.Optional("time-column"),
            Experiment = context.String("experiment"),
            RegisterAs = context.Optional("register"),
            Parameters = new Dictionary<string, string> { ["flow_run"] = context.FlowRunId },
        }, null, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new StepFailedException($"step {context.Label}: every candidate failed; the first: {result.Leaderboard[0].Error}");
        }

        var board = new JsonObject
        {
            ["search_run"] = result.RunId,
            ["metric"] = result.Metric,
            ["validation"] = result.Validation,
            ["candidates"] = new JsonArray([.. result.Leaderboard.Select(e => (JsonNode)new JsonObject
            {
                ["rank"] = e.Rank, ["run_id"] = e.RunId, ["params"] = new JsonObject([.. e.Parameters.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))]),
                ["metrics"] = Reports.Metrics(e.Metrics), ["error"] = e.Error,
            })]),
        };
        await context.WriteOutputTextAsync("leaderboard", "leaderboard.json", board.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
        var best = result.Leaderboard[0];
        await using (var bundle = await context.Store.OpenArtifactAsync(best.RunId, "model.zip", cancellationToken).ConfigureAwait(false))
        await using (var file = File.Create(context.OutputPath("best", "model.zip")))
        {
            await bundle.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (k, v) in best.Metrics)
        {
            context.Metric("best_" + k, v);
        }

        context.Log($"best of {result.Leaderboard.Count.ToString(CultureInfo.InvariantCulture)}: {ModelLifecycle.Describe(best.Parameters)} {result.Metric}={best.Metrics.GetValueOrDefault(result.Metric).ToString("0.0000", CultureInfo.InvariantCulture)}");
    }
}

/// <summary>
/// <c>evaluate</c>: measures every connected bundle on the same labelled rows (e.g. the out-of-time test period) with the
/// lifecycle's compare operation; the report lists each model's standard metrics in input order.
/// </summary>
internal sealed class EvaluateStep : StepKind
{
    public override string Name => "evaluate";

    public override string Description => "Measure one or more bundles on the same labelled rows (AUC-ROC, AUC-PR, recall@FPR, precision@k).";

    public override IReadOnlyList<StepParameter> Parameters => [new("label", "label column", "label")];

    public override IReadOnlyList<StepPort> Inputs => [new("models", "bundles (zip)", Many: true), new("data", "labelled rows")];

    public override IReadOnlyList<StepPort> Outputs => [new("report", "each model's metrics, in input order (JSON)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var models = await context.InputPathsAsync("models", cancellationToken).ConfigureAwait(false);
        var result = await context.Lifecycle.CompareAsync(new Vigil.Lifecycle.CompareOptions
        {
            Models = models,
            Data = DataSource.FromFile(await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false)),
            Label = context.String("label"),
        }, null, cancellationToken).ConfigureAwait(false);
        var entries = new JsonArray();
        for (var i = 0; i < result.Models.Count; i++)
        {
            var m = result.Models[i];
            entries.Add(new JsonObject
            {
                ["index"] = i,
                ["sha256"] = context.Inputs["models"][i].Sha256,
                ["kind"] = m.Model.Bundle.Manifest.DetectorKind,
                ["params"] = new JsonObject([.. m.Model.Bundle.Manifest.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))]),
                ["metrics"] = Reports.Metrics(m.Metrics),
            });
            context.Log($"model {i.ToString(CultureInfo.InvariantCulture)} ({m.Model.Bundle.Manifest.DetectorKind}): " +
                string.Join(" ", m.Metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("0.0000", CultureInfo.InvariantCulture)}")));
        }

        if (result.Models.Count == 1)
        {
            foreach (var (k, v) in result.Models[0].Metrics)
            {
                context.Metric(k, v);
            }
        }

        context.Metric("rows", result.Rows);
        var report = new JsonObject { ["rows"] = result.Rows, ["window"] = result.Window, ["models"] = entries };
        await context.WriteOutputTextAsync("report", "evaluation.json", report.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>leaderboard</c>: ranks the models of an <c>evaluate</c> report by <c>metric</c> (higher is better; ties keep input
/// order) and outputs the ranking and the best bundle.
/// </summary>
internal sealed class LeaderboardStep : StepKind
{
    public override string Name => "leaderboard";

    public override string Description => "Rank evaluated models by a metric; outputs the ranking and the best bundle.";

    public override IReadOnlyList<StepParameter> Parameters => [new("metric", "the ranking metric (higher is better)", MetricSet.AucPr)];

    public override IReadOnlyList<StepPort> Inputs => [new("models", "the bundles, in the report's order", Many: true), new("report", "the evaluate step's report")];

    public override IReadOnlyList<StepPort> Outputs => [new("leaderboard", "the ranking (JSON)"), new("best", "the best bundle (zip)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var metric = context.String("metric");
        if (!MetricSet.StandardNames.Contains(metric))
        {
            throw new StepFailedException($"step {context.Label}: metric '{metric}' is not one of {string.Join(", ", MetricSet.StandardNames)}");
        }

        var models = await context.InputPathsAsync("models", cancellationToken).ConfigureAwait(false);
        var report = JsonNode.Parse(await File.ReadAllTextAsync(await context.InputPathAsync("report", cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))!;
        var entries = report["models"]!.AsArray().Select(e => e!.AsObject()).ToList();
        if (entries.Count != models.Count)
        {
            throw new StepFailedException($"step {context.Label}: the report lists {entries.Count.ToString(CultureInfo.InvariantCulture)} models but {models.Count.ToString(CultureInfo.InvariantCulture)} are connected");
        }

        var ranked = Leaderboard.Rank(entries.Select((e, i) => new SearchCandidate(i + 1,
            new Dictionary<string, string> { ["kind"] = (string)e["kind"]! }, Reports.ReadMetrics(e["metrics"]))), metric);
        var board = new JsonArray();
        for (var r = 0; r < ranked.Count; r++)
        {
            var e = entries[ranked[r].Candidate - 1];
            board.Add(new JsonObject
            {
                ["rank"] = r + 1, ["index"] = ranked[r].Candidate - 1, ["kind"] = (string)e["kind"]!, ["sha256"] = (string)e["sha256"]!,
                ["params"] = e["params"]?.DeepClone(), ["metrics"] = e["metrics"]!.DeepClone(),
            });
            context.Log($"#{(r + 1).ToString(CultureInfo.InvariantCulture)} model {(ranked[r].Candidate - 1).ToString(CultureInfo.InvariantCulture)} ({(string)e["kind"]!}) {metric}={ranked[r].Metrics.GetValueOrDefault(metric, double.NaN).ToString("0.0000", CultureInfo.InvariantCulture)}");
        }

        var best = ranked[0];
        File.Copy(models[best.Candidate - 1], context.OutputPath("best", "model.zip"));
        foreach (var (k, v) in best.Metrics)
        {
            context.Metric("best_" + k, v);
        }

        context.Metric("best_index", best.Candidate - 1);
        await context.WriteOutputTextAsync("leaderboard", "leaderboard.json",
            new JsonObject { ["metric"] = metric, ["rows"] = report["rows"]?.DeepClone(), ["ranking"] = board }.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>promote</c>: registers the candidate bundle as a new version of <c>name</c> and runs the lifecycle's gated promotion
/// against the current champion on the connected out-of-time rows (the existing gate rules: no champion yet means the
/// candidate is promoted; a failing gate leaves the champion where it is). A failed gate is a result, not a step failure,
/// unless <c>fail-on-gate</c> is true.
/// </summary>
internal sealed class PromoteStep : StepKind
{
    public override string Name => "promote";

    public override string Description => "Register the candidate and move the champion alias to it only if the promotion gate passes.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("name", "registered model name"),
        new("label", "label column of the out-of-time rows", "label"),
        new("gate", "promotion gate conditions", "auc_pr>=champion"),
        new("experiment", "experiment of the registration and promotion runs", "retrain"),
        new("fail-on-gate", "stop the flow when the gate fails", "false"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("model", "the candidate bundle (zip)"), new("data", "labelled out-of-time rows")];

    public override IReadOnlyList<StepPort> Outputs =>
    [
        new("result", "what was registered, the gate's checks and whether the champion moved (JSON)"),
        new("metrics", "the candidate's and the champion's metrics on the out-of-time rows as a table: model, version, window, metric, value, computed_at (CSV, for the lake's metrics zone)"),
    ];

    public override Task<string?> StateAsync(Vigil.Tracking.ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        Champion.StateAsync(store, parameters, "name", cancellationToken);

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var name = context.String("name");
        PromotionGate gate;
        try
        {
            gate = PromotionGate.Parse(context.String("gate"));
        }
        catch (PromotionGateException e)
        {
            throw new StepFailedException($"step {context.Label}: gate: {e.Message}");
        }

        var bundle = ModelBundle.Load(await context.InputPathAsync("model", cancellationToken).ConfigureAwait(false));
        var experiment = context.String("experiment");
        var recorded = await context.Lifecycle.RecordBundleAsync(new RecordBundleOptions
        {
            Bundle = bundle,
            Experiment = experiment,
            RegisterAs = name,
            Parameters = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["model"] = bundle.Manifest.DetectorKind,
                ["flow_run"] = context.FlowRunId,
                ["flow_step"] = context.Step.Name,
            },
        }, cancellationToken).ConfigureAwait(false);
        var version = recorded.Version!;
        context.Log($"registered {name} version {version.Version.ToString(CultureInfo.InvariantCulture)} ({bundle.Manifest.DetectorKind})");
        var result = await context.Lifecycle.PromoteAsync(new PromoteOptions
        {
            ModelName = name,
            Candidate = version.Version,
            Gate = gate,
            Data = DataSource.FromFile(await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false)),
            Label = context.String("label"),
            Experiment = experiment,
            Actor = $"flow {context.FlowName} ({context.FlowRunId})",
        }, null, cancellationToken).ConfigureAwait(false);
        var text = result.Moved
            ? $"promoted {name} version {version.Version.ToString(CultureInfo.InvariantCulture)} to champion: {result.Gate.Reason}"
            : $"champion stays {name} version {result.Champion?.Version.ToString(CultureInfo.InvariantCulture) ?? "none"}: {result.Gate.Reason}";
        context.Log(text);
        context.Metric("moved", result.Moved ? 1 : 0);
        context.Metric("version", version.Version);
        foreach (var (k, v) in result.CandidateMetrics)
        {
            context.Metric("candidate." + k, v);
        }

        var json = new JsonObject
        {
            ["model"] = name,
            ["candidate"] = version.Version,
            ["champion_before"] = result.Champion?.Version,
            ["moved"] = result.Moved,
            ["gate"] = gate.ToString(),
            ["reason"] = result.Gate.Reason,
            ["promotion_run"] = result.RunId,
            ["rows"] = result.Rows,
            ["candidate_metrics"] = Reports.Metrics(result.CandidateMetrics),
            ["champion_metrics"] = result.ChampionMetrics is null ? null : Reports.Metrics(result.ChampionMetrics),
            ["summary"] = text,
        };
        await context.WriteOutputTextAsync("result", "promotion.json", json.ToJsonString(Reports.Indented), cancellationToken).ConfigureAwait(false);
        await context.WriteOutputTextAsync("metrics", "metrics.csv", MetricsTable(name, version.Version, result, DateTime.UtcNow), cancellationToken).ConfigureAwait(false);
        if (!result.Moved && context.Bool("fail-on-gate"))
        {
            throw new StepFailedException($"step {context.Label}: the promotion gate failed: {result.Gate.Reason}");
        }
    }

    /// <summary>The warehouse shape of the comparison: one row per model version and metric, window <c>out_of_time</c>.</summary>
    internal static string MetricsTable(string name, int candidate, PromoteResult result, DateTime computedAt)
    {
        var text = new System.Text.StringBuilder("model,version,window,metric,value,computed_at\n");
        var at = computedAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        void Rows(int version, IReadOnlyDictionary<string, double> metrics)
        {
            foreach (var (metric, value) in metrics.Where(kv => double.IsFinite(kv.Value)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                text.Append('"').Append(name.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\",")
                    .Append(version.ToString(CultureInfo.InvariantCulture)).Append(",out_of_time,").Append(metric).Append(',')
                    .Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(at).Append('\n');
            }
        }

        Rows(candidate, result.CandidateMetrics);
        if (result.Champion is { } champion && result.ChampionMetrics is { } championMetrics && champion.Version != candidate)
        {
            Rows(champion.Version, championMetrics);
        }

        return text.ToString();
    }
}
