using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Vigil.Pipelines.Steps;

/// <summary>
/// <c>notify</c>: a JSON summary of the flow run so far (every finished step with its status, attempts, reuse and outputs,
/// plus the content of each connected JSON report), written as <c>summary</c> and POSTed to <c>url</c> when one is given.
/// A non-2xx answer or a network error fails the attempt (retried while attempts remain).
/// </summary>
internal sealed class NotifyStep(HttpClient? http) : StepKind
{
    private static readonly Lazy<HttpClient> Shared = new(() => new HttpClient());

    public override string Name => "notify";

    public override string Description => "Write a JSON summary of the flow run and POST it to a webhook (optional).";

    public override IReadOnlyList<StepParameter> Parameters =>
    [
        new("url", "webhook URL (http or https) the summary is POSTed to; empty: only write the summary", ""),
        new("timeout", "HTTP timeout", "10s"),
    ];

    public override IReadOnlyList<StepPort> Inputs => [new("reports", "JSON reports to include", Required: false, Many: true)];

    public override IReadOnlyList<StepPort> Outputs => [new("summary", "the summary (JSON)")];

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var url = context.Optional("url");
        Uri? target = null;
        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out target) || target.Scheme is not ("http" or "https")))
        {
            throw new StepFailedException($"step {context.Label}: url '{url}' is not an http(s) URL");
        }

        var reports = new JsonObject();
        if (context.HasInput("reports"))
        {
            var paths = await context.InputPathsAsync("reports", cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < paths.Count; i++)
            {
                var source = context.Step.Inputs["reports"].Count == paths.Count ? context.Step.Inputs["reports"][i] : Path.GetFileName(paths[i]);
                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(await File.ReadAllTextAsync(paths[i], cancellationToken).ConfigureAwait(false));
                }
                catch (System.Text.Json.JsonException)
                {
                    node = await File.ReadAllTextAsync(paths[i], cancellationToken).ConfigureAwait(false);
                }

                reports[source] = node;
            }
        }

        var steps = new JsonArray([.. context.CompletedSteps.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["status"] = s.Status,
            ["attempts"] = s.Attempts,
            ["reused"] = s.Reused,
            ["outputs"] = new JsonArray([.. s.Outputs.Select(o => (JsonNode)new JsonObject { ["name"] = o.Name, ["file"] = o.FileName, ["sha256"] = o.Sha256 })]),
        })]);
        var summary = new JsonObject
        {
            ["flow"] = context.FlowName,
            ["run_id"] = context.FlowRunId,
            ["steps"] = steps,
            ["reports"] = reports,
        };
        var text = summary.ToJsonString(Reports.Indented);
        await context.WriteOutputTextAsync("summary", "summary.json", text, cancellationToken).ConfigureAwait(false);
        if (target is null)
        {
            context.Log("no webhook url: summary written only");
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FlowYaml.ParseDuration(context.String("timeout")));
        using var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        HttpResponseMessage response;
        try
        {
            response = await (http ?? Shared.Value).PostAsync(target, content, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StepAttemptException($"webhook {target.GetLeftPart(UriPartial.Path)} did not answer within {context.String("timeout")}");
        }
        catch (HttpRequestException e)
        {
            throw new StepAttemptException($"webhook {target.GetLeftPart(UriPartial.Path)}: {e.Message}");
        }

        using (response)
        {
            context.Metric("http_status", (int)response.StatusCode);
            if (!response.IsSuccessStatusCode)
            {
                throw new StepAttemptException($"webhook {target.GetLeftPart(UriPartial.Path)} answered {((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}");
            }

            context.Log($"posted the summary to {target.GetLeftPart(UriPartial.Path)}: {((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
