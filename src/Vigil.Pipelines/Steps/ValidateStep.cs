using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Evaluation;

namespace Vigil.Pipelines.Steps;

/// <summary>
/// <c>validate</c>: checks new data before anything trains on it: schema, row count, missing values and value ranges,
/// against the champion's reference profile (bundle v2) when the registered <c>model</c> has a champion, else against the
/// data itself (the report says which). A failing check stops the flow with every failed check as the reason.
/// </summary>
internal sealed class ValidateStep : StepKind
{
    public override string Name => "validate";

    public override string Description => "Check schema, row count, missing values and ranges against the champion's reference profile; a failure stops the flow.";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("model", "registered model whose champion's reference profile the data is checked against (empty: the data only)", ""),
        new("label", "label column that must hold 0/1 with both classes (empty: no label check)", "label"),
        new("min-rows", "fewest rows accepted", "1000"),
        new("max-missing", "highest missing share of a column without a champion", "0.5"),
        new("max-missing-increase", "highest rise of a feature's missing share over the champion's reference", "0.1"),
        new("range-tolerance", "how far beyond the reference minimum and maximum a value may fall, as a share of the reference range", "0.5"),
        new("max-out-of-range", "highest share of a feature's values outside the widened reference range", "0.01"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("data", "the rows to check")];

    public override IReadOnlyList<StepPort> Outputs => [new("report", "every check and its outcome (JSON)")];

    public override Task<string?> StateAsync(Vigil.Tracking.ITrackingStore store, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        Champion.StateAsync(store, parameters, "model", cancellationToken);

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var path = await context.InputPathAsync("data", cancellationToken).ConfigureAwait(false);
        var frame = FrameFile.Read(path);
        var modelName = context.Optional("model");
        var champion = await Champion.FindAsync(context, modelName, cancellationToken).ConfigureAwait(false);
        var profile = champion?.Bundle.Profile;
        var basis = champion is null
            ? $"no champion{(modelName is null ? "" : $" of '{modelName}' yet")}: checked against the data itself only"
            : profile is null
                ? $"champion {modelName} version {champion.Value.Version.Version.ToString(CultureInfo.InvariantCulture)} has no reference profile (bundle v1): checked against the data itself only"
                : $"checked against the reference profile of {modelName} version {champion.Value.Version.Version.ToString(CultureInfo.InvariantCulture)} (champion)";
        context.Log(basis);

        var checks = new List<Check>();
        var label = context.Optional("label");
        RunChecks(frame, profile, label, context, checks);
        var failed = checks.Where(c => !c.Passed).ToList();
        var report = new JsonObject
        {
            ["rows"] = frame.RowCount,
            ["basis"] = basis,
            ["champion"] = champion is null ? null : champion.Value.Version.Version,
            ["passed"] = failed.Count == 0,
            ["checks"] = new JsonArray([.. checks.Select(c => (JsonNode)new JsonObject { ["check"] = c.Name, ["passed"] = c.Passed, ["detail"] = c.Detail })]),
        };
        context.Metric("rows", frame.RowCount);
        context.Metric("checks", checks.Count);
        context.Metric("checks_failed", failed.Count);
        await context.WriteOutputTextAsync("report", "validation.json", report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
        foreach (var c in checks)
        {
            context.Log($"{(c.Passed ? "ok  " : "FAIL")} {c.Name}: {c.Detail}");
        }

        if (failed.Count > 0)
        {
            throw new StepFailedException($"{failed.Count.ToString(CultureInfo.InvariantCulture)} of {checks.Count.ToString(CultureInfo.InvariantCulture)} checks failed ({basis}): " +
                string.Join("; ", failed.Take(5).Select(c => $"{c.Name}: {c.Detail}")) + (failed.Count > 5 ? "; ..." : ""));
        }
    }

    private sealed record Check(string Name, bool Passed, string Detail);

    private static void RunChecks(Frame frame, ReferenceProfile? profile, string? label, StepContext context, List<Check> checks)
    {
        static string P(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
        var minRows = context.Long("min-rows", 0);
        checks.Add(new Check("row count", frame.RowCount >= minRows, $"{frame.RowCount.ToString(CultureInfo.InvariantCulture)} rows (at least {minRows.ToString(CultureInfo.InvariantCulture)})"));

        if (label is not null)
        {
            if (!frame.Contains(label))
            {
                checks.Add(new Check("label", false, $"no column '{label}'"));
            }
            else
            {
                try
                {
                    var labels = Labels.From(frame, label);
                    var positives = labels.Count(l => l == 1);
                    checks.Add(new Check("label", Labels.HasBothClasses(labels),
                        $"'{label}': {positives.ToString(CultureInfo.InvariantCulture)} positives of {labels.Length.ToString(CultureInfo.InvariantCulture)}{(Labels.HasBothClasses(labels) ? "" : " (needs both classes)")}"));
                }
                catch (ArgumentException e)
                {
                    checks.Add(new Check("label", false, e.Message));
                }
            }
        }

        if (profile is null)
        {
            // No reference: the data is checked against itself (schema: something to learn from; missing shares; finite values).
            var features = frame.Columns.Where(c => c.Name != label && c.Kind is ColumnKind.Float64 or ColumnKind.Float32 or ColumnKind.Categorical).ToList();
            checks.Add(new Check("schema", features.Count > 0, $"{features.Count.ToString(CultureInfo.InvariantCulture)} numeric or categorical columns besides the label"));
            var maxMissing = context.Double("max-missing");
            foreach (var c in features)
            {
                var missing = MissingShare(c);
                if (missing > maxMissing)
                {
                    checks.Add(new Check($"missing {c.Name}", false, $"{P(missing)} of values missing (at most {P(maxMissing)})"));
                }
            }

            checks.Add(new Check("missing", features.All(c => MissingShare(c) <= maxMissing), $"every column has at most {P(maxMissing)} missing"));
            var infinite = features.Where(c => c.Kind is ColumnKind.Float64 or ColumnKind.Float32 && Enumerable.Range(0, c.Length).Any(i => double.IsInfinity(c.GetDouble(i)))).Select(c => c.Name).ToList();
            checks.Add(new Check("range", infinite.Count == 0, infinite.Count == 0 ? "every numeric value is finite" : $"infinite values in {string.Join(", ", infinite)}"));
            return;
        }

        // Schema: every feature the champion reads must be there, with a kind it can read.
        var schemaProblems = new List<string>();
        foreach (var f in profile.Features)
        {
            if (!frame.TryGetColumn(f.Name, out var column))
            {
                schemaProblems.Add($"'{f.Name}' is missing");
            }
            else if (IsNumeric(f.Kind) != IsNumeric(column.Kind))
            {
                schemaProblems.Add($"'{f.Name}' is {column.Kind.ToString().ToLowerInvariant()}, the reference has {f.Kind.ToString().ToLowerInvariant()}");
            }
        }

        checks.Add(new Check("schema", schemaProblems.Count == 0, schemaProblems.Count == 0
            ? $"all {profile.Features.Count.ToString(CultureInfo.InvariantCulture)} reference features present"
            : string.Join(", ", schemaProblems)));
        if (schemaProblems.Count > 0)
        {
            return;
        }

        var increase = context.Double("max-missing-increase");
        var tolerance = context.Double("range-tolerance");
        var maxOutside = context.Double("max-out-of-range");
        var missingOk = true;
        var rangeOk = true;
        foreach (var f in profile.Features)
        {
            var column = frame[f.Name];
            var missing = MissingShare(column);
            if (missing > f.MissingRate + increase)
            {
                missingOk = false;
                checks.Add(new Check($"missing {f.Name}", false, $"{P(missing)} missing, reference {P(f.MissingRate)} (+{P(increase)} allowed)"));
            }

            if (f.Numeric is { Quantiles.Count: > 0 } numeric && IsNumeric(column.Kind))
            {
                var lo = numeric.Quantiles[0];
                var hi = numeric.Quantiles[^1];
                var slack = (hi - lo) * tolerance;
                long present = 0, outside = 0;
                for (var i = 0; i < column.Length; i++)
                {
                    var v = column.GetDouble(i);
                    if (double.IsNaN(v))
                    {
                        continue;
                    }

                    present++;
                    if (v < lo - slack || v > hi + slack)
                    {
                        outside++;
                    }
                }

                var share = present == 0 ? 0 : outside / (double)present;
                if (share > maxOutside)
                {
                    rangeOk = false;
                    checks.Add(new Check($"range {f.Name}", false,
                        $"{P(share)} of values outside [{P(lo - slack)}, {P(hi + slack)}] (reference range [{P(lo)}, {P(hi)}]; at most {P(maxOutside)})"));
                }
            }
        }

        checks.Add(new Check("missing", missingOk, missingOk ? $"every feature within +{P(increase)} of its reference missing share" : "see the failed features"));
        checks.Add(new Check("range", rangeOk, rangeOk ? $"every numeric feature within its reference range widened by {P(tolerance)}" : "see the failed features"));
    }

    private static bool IsNumeric(ColumnKind kind) => kind is ColumnKind.Float64 or ColumnKind.Float32;

    private static double MissingShare(Column column)
    {
        if (column.Length == 0)
        {
            return 0;
        }

        var missing = 0;
        for (var i = 0; i < column.Length; i++)
        {
            if (column.IsMissing(i))
            {
                missing++;
            }
        }

        return missing / (double)column.Length;
    }
}
