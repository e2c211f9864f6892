using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vigil.Pipelines;

/// <summary>The identity and inputs of a step attempt, carried in its Quartz job's JobDataMap as one JSON string.</summary>
internal static class StepJobPayload
{
    public const string Key = "vigil.step";
    public const string FlowRunKey = "flow_run";
    public const string StepKey = "step";
    public const string ItemKey = "item";
    public const string AttemptKey = "attempt";

    public static string Write(StepAttemptRequest r)
    {
        var inputs = new JsonObject();
        foreach (var (name, list) in r.Inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            inputs[name] = JsonNode.Parse(FlowTags.WriteArtifacts(list));
        }

        var parameters = new JsonObject();
        foreach (var (k, v) in r.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            parameters[k] = v;
        }

        return new JsonObject
        {
            ["flow_run_id"] = r.FlowRunId,
            ["step"] = r.StepName,
            ["step_run_id"] = r.StepRunId,
            ["item_index"] = r.ItemIndex,
            ["attempt"] = r.Attempt,
            ["timeout_s"] = r.Timeout?.TotalSeconds,
            ["parameters"] = parameters,
            ["inputs"] = inputs,
        }.ToJsonString();
    }

    public static StepAttemptRequest Read(string json)
    {
        try
        {
            var o = JsonNode.Parse(json)!.AsObject();
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in o["parameters"]!.AsObject())
            {
                parameters[k] = v!.GetValue<string>();
            }

            var inputs = new Dictionary<string, IReadOnlyList<StepArtifact>>(StringComparer.Ordinal);
            foreach (var (k, v) in o["inputs"]!.AsObject())
            {
                inputs[k] = FlowTags.ReadArtifacts(v!.ToJsonString());
            }

            var timeout = o["timeout_s"]?.GetValue<double>();
            return new StepAttemptRequest(
                o["flow_run_id"]!.GetValue<string>(), o["step"]!.GetValue<string>(), o["step_run_id"]!.GetValue<string>(),
                o["item_index"]!.GetValue<int>(), o["attempt"]!.GetValue<int>(), parameters, inputs, timeout is { } t ? TimeSpan.FromSeconds(t) : null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new FlowException($"a step job's data is not valid ({e.Message}); was it queued by another Vigil version?");
        }
    }

    public static string JobName(StepAttemptRequest r) => $"{r.StepRunId}.{r.Attempt.ToString(CultureInfo.InvariantCulture)}";

    public static string MetricsJson(IReadOnlyDictionary<string, double> metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o[k] = double.IsFinite(v) ? v : null;
        }

        return o.ToJsonString();
    }

    public static Dictionary<string, double> ReadMetrics(string json)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in JsonNode.Parse(json)?.AsObject() ?? [])
        {
            result[k] = v is null ? double.NaN : v.GetValue<double>();
        }

        return result;
    }
}

/// <summary>A step attempt that failed on a <c>vigil worker</c>: its reason, whether a retry may help, and where it ran.</summary>
internal sealed class RemoteStepException(string message, bool retryable, string worker, int executions) : Exception(message)
{
    public bool Retryable { get; } = retryable;

    public string Worker { get; } = worker;

    public int Executions { get; } = executions;
}
