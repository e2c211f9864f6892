using System.Globalization;
using Vigil.Data;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Pipelines.Steps;

/// <summary>
/// <c>score</c>: scores the rows with a model (the registered model <c>name</c> at <c>alias</c>, by default the champion,
/// or the connected bundle) through the lifecycle's score-file operation, and outputs one row per input row:
/// <c>[id,] [kept columns,] score, is_anomaly, model, version, scored_at</c> as Parquet: the scores and decisions a flow can
/// write to the lake's <c>ml_outputs</c> zone. With a registered model the alias's version is part of the step's key.
/// </summary>
internal sealed class ScoreStep : StepKind
{
    public override string Name => "score";

    public override string Description => "Score rows with a registered model (default: its champion) or a bundle; outputs scores and decisions (Parquet).";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("name", "registered model name (empty: the connected bundle)", ""),
        new("alias", "the registered model's alias", ModelLifecycle.ChampionAlias),
        new("id", "identifier column to copy (default: the first of id, transaction_id, event_id, row_id, deal_id present)", ""),
        new("keep", "comma-separated extra columns to copy (e.g. the label)", ""),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "the rows to score"), new("model", "a bundle (zip), when no name is given", Required: false)];

    public override IReadOnlyList<StepPort> Outputs => [new("scores", "[id,] [kept,] score, is_anomaly, model, version, scored_at (Parquet)")];

    public override async Task<string?> StateAsync(ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        if (!parameters.TryGetValue("name", out var name) || string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var alias = parameters.GetValueOrDefault("alias") is { Length: > 0 } a ? a.Trim() : ModelLifecycle.ChampionAlias;
        var model = (await store.ListRegisteredModelsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == name.Trim());
        return model is not null && model.Aliases.TryGetValue(alias, out var v)
            ? $"{name.Trim()}@{alias}={v.ToString(CultureInfo.InvariantCulture)}"
            : $"{name.Trim()}@{alias}=none";
    }

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var name = context.Optional("name");
        string reference;
        if (name is not null)
        {
            if (context.HasInput("model"))
            {
                throw new StepFailedException($"step {context.Label}: give either the parameter 'name' or the input 'model', not both");
            }

            reference = ModelUri.ForAlias(name, context.String("alias")).ToString();
        }
        else
        {
            reference = context.HasInput("model")
                ? await context.InputPathAsync("model", cancellationToken).ConfigureAwait(false)
                : throw new StepFailedException($"step {context.Label}: no model: set the parameter 'name' (a registered model) or connect the input 'model'");
        }

        var raw = Path.Combine(context.WorkDirectory, "scores-raw.parquet");
        ScoreFileResult result;
        try
        {
            result = await context.Lifecycle.ScoreFileAsync(new ScoreFileOptions
            {
                Model = reference,
                Data = await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false),
                Output = raw,
                IdColumn = context.Optional("id"),
                Keep = context.List("keep") ?? [],
            }, null, cancellationToken).ConfigureAwait(false);
        }
        catch (LifecycleException e)
        {
            throw new StepFailedException($"step {context.Label}: {e.Message}");
        }

        var modelName = result.Model.Version?.ModelName ?? Path.GetFileNameWithoutExtension(context.Inputs.TryGetValue("model", out var m) ? m[0].FileName : "model");
        var version = result.Model.Version?.Version;
        // model, version and time beside each decision (the Vigil frame writer, so no DuckDB is needed to score)
        var scores = FrameFile.Read(raw);
        var n = scores.RowCount;
        var scoredAt = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        scores = scores
            .With(new CategoricalColumn("model", new int[n], [modelName]))
            .With(new Float64Column("version", Enumerable.Repeat(version is { } ver ? ver : double.NaN, n).ToArray()))
            .With(new TimestampColumn("scored_at", Enumerable.Repeat(scoredAt, n).ToArray()));
        FrameFile.Write(scores, context.OutputPath("scores", "scores.parquet"));
        context.Metric("rows", result.Rows);
        context.Metric("flagged", result.Flagged);
        context.Log($"scored {result.Rows.ToString("N0", CultureInfo.InvariantCulture)} rows with {result.Model.Reference}{(version is { } v ? $" (version {v.ToString(CultureInfo.InvariantCulture)})" : "")}: " +
            $"{result.Flagged.ToString("N0", CultureInfo.InvariantCulture)} flagged");
    }
}
