using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Monitoring;

namespace Vigil.Pipelines.Steps;

/// <summary>
/// <c>drift</c>: how far the new data moved. With a <c>reference</c> data file connected: Vigil.Monitoring's column by
/// column comparison (Evidently's statistics and its dataset-drift rule). Otherwise against the champion's reference
/// profile: the population stability index of every feature over the profile's histogram bins (numeric, plus a bin
/// below and one above its range) or its listed categories plus "other" (categorical), zero shares filled with 0.0001
/// as Evidently does; a feature drifts at PSI ≥ <c>threshold</c>, the dataset when the drifted share reaches
/// <c>drift-share</c>. With neither, the step reports that it had nothing to compare with. It stops the flow only with
/// <c>fail-on-drift: true</c>.
/// </summary>
internal sealed class DriftStep : StepKind
{
    private const double Fill = 0.0001;

    public override string Name => "drift";

    public override string Description => "Compare new data with reference data or the champion's reference profile (PSI per feature, dataset drift share).";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("model", "registered model whose champion's reference profile is the reference (when no reference data is connected)", ""),
        new("threshold", "PSI at which a feature drifts (profile comparison)", "0.1"),
        new("drift-share", "share of drifted features at which the dataset drifts", "0.5"),
        new("fail-on-drift", "stop the flow when the dataset drifts", "false"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "the new rows"), new("reference", "reference rows (optional)", Required: false)];

    public override IReadOnlyList<StepPort> Outputs => [new("report", "per-feature drift and the dataset verdict (JSON)")];

    public override Task<string?> StateAsync(Vigil.Tracking.ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        Champion.StateAsync(store, parameters, "model", cancellationToken);

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var current = FrameFile.Read(await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false));
        var share = context.Double("drift-share");
        JsonObject report;
        bool datasetDrift;
        if (context.HasInput("reference"))
        {
            var reference = FrameFile.Read(await context.InputPathAsync("reference", cancellationToken).ConfigureAwait(false));
            var result = DriftAnalyzer.Compare(reference, current, new DriftOptions { DriftShare = share, MaxDegreeOfParallelism = context.Threads });
            datasetDrift = result.DatasetDrift;
            report = new JsonObject
            {
                ["basis"] = "reference data",
                ["dataset_drift"] = result.DatasetDrift,
                ["drift_share"] = result.DriftShare,
                ["features"] = new JsonArray([.. result.Features.Select(f => (JsonNode)new JsonObject
                {
                    ["name"] = f.Name, ["stat_test"] = f.StatTest, ["score"] = double.IsFinite(f.Score) ? f.Score : null, ["threshold"] = f.Threshold, ["drift"] = f.Drift,
                })]),
            };
            context.Metric("drift_share", result.DriftShare);
            context.Metric("drifted_features", result.Features.Count(f => f.Drift));
        }
        else
        {
            var modelName = context.Optional("model");
            var champion = await Champion.FindAsync(context, modelName, cancellationToken).ConfigureAwait(false);
            if (champion?.Bundle.Profile is not { } profile)
            {
                var why = champion is null ? $"no champion{(modelName is null ? "" : $" of '{modelName}'")} yet and no reference data: nothing to compare with"
                    : "the champion's bundle has no reference profile (v1) and no reference data is connected: nothing to compare with";
                context.Log(why);
                report = new JsonObject { ["basis"] = "none", ["skipped"] = why, ["dataset_drift"] = false };
                await context.WriteOutputTextAsync("report", "drift.json", report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
                return;
            }

            var threshold = context.Double("threshold");
            var features = new JsonArray();
            var drifted = 0;
            var compared = 0;
            foreach (var f in profile.Features)
            {
                if (!current.TryGetColumn(f.Name, out var column))
                {
                    continue;
                }

                var psi = f.Numeric is not null ? NumericPsi(f.Numeric.Histogram, column) : f.Categorical is not null ? CategoricalPsi(f.Categorical, column) : double.NaN;
                if (double.IsNaN(psi))
                {
                    continue;
                }

                compared++;
                var drift = psi >= threshold;
                drifted += drift ? 1 : 0;
                features.Add(new JsonObject { ["name"] = f.Name, ["stat_test"] = "psi", ["score"] = psi, ["threshold"] = threshold, ["drift"] = drift });
            }

            var driftShare = compared == 0 ? 0 : drifted / (double)compared;
            datasetDrift = compared > 0 && driftShare >= share;
            report = new JsonObject
            {
                ["basis"] = $"reference profile of {modelName} version {champion.Value.Version.Version.ToString(CultureInfo.InvariantCulture)} (champion)",
                ["dataset_drift"] = datasetDrift,
                ["drift_share"] = driftShare,
                ["features"] = features,
            };
            context.Metric("drift_share", driftShare);
            context.Metric("drifted_features", drifted);
        }

        context.Metric("dataset_drift", datasetDrift ? 1 : 0);
        context.Log($"{report["basis"]}: dataset drift {(datasetDrift ? "yes" : "no")}, drifted share {((double?)report["drift_share"] ?? 0).ToString("0.###", CultureInfo.InvariantCulture)}");
        await context.WriteOutputTextAsync("report", "drift.json", report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
        if (datasetDrift && context.Bool("fail-on-drift"))
        {
            throw new StepFailedException($"the dataset drifted ({report["basis"]}; drifted share {((double?)report["drift_share"] ?? 0).ToString("0.###", CultureInfo.InvariantCulture)} >= {share.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    /// <summary>PSI of a numeric column over the reference histogram's bins plus one below and one above.</summary>
    internal static double NumericPsi(Histogram histogram, Column column)
    {
        var bins = histogram.Counts.Count;
        if (bins == 0)
        {
            return double.NaN;
        }

        var reference = new double[bins + 2];
        var current = new double[bins + 2];
        for (var i = 0; i < bins; i++)
        {
            reference[i + 1] = histogram.Counts[i];
        }

        for (var r = 0; r < column.Length; r++)
        {
            var v = column.GetDouble(r);
            if (!double.IsNaN(v))
            {
                current[histogram.BinOf(v) + 1]++;
            }
        }

        return Psi(reference, current);
    }

    /// <summary>PSI of a categorical column over the reference's listed categories plus "other".</summary>
    internal static double CategoricalPsi(CategoricalProfile profile, Column column)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var reference = new double[profile.Top.Count + 1];
        for (var i = 0; i < profile.Top.Count; i++)
        {
            index[profile.Top[i].Category] = i;
            reference[i] = profile.Top[i].Count;
        }

        reference[^1] = profile.OtherCount;
        var current = new double[reference.Length];
        for (var r = 0; r < column.Length; r++)
        {
            if (column.IsMissing(r))
            {
                continue;
            }

            current[index.TryGetValue(column.FormatValue(r), out var k) ? k : reference.Length - 1]++;
        }

        return Psi(reference, current);
    }

    private static double Psi(double[] reference, double[] current)
    {
        double rt = reference.Sum(), ct = current.Sum();
        if (rt == 0 || ct == 0)
        {
            return double.NaN;
        }

        var psi = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            var r = reference[i] / rt;
            var c = current[i] / ct;
            r = r == 0 ? Fill : r;
            c = c == 0 ? Fill : c;
            psi += (r - c) * Math.Log(r / c);
        }

        return psi;
    }
}
