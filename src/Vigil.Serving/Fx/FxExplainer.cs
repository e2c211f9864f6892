using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using Vigil.Fx;

namespace Vigil.Serving;

/// <summary>
/// The optional LLM explanation of FX anomalies: it asks an OpenAI-compatible chat-completions endpoint (Azure OpenAI,
/// Ollama, vLLM, ...) to rewrite a deal's template reason for an operator, with the system prompt stored in the bundle
/// (<c>fx.json</c> <c>explanationPrompt</c>, else <see cref="DefaultPrompt"/>). Off unless <c>VIGIL_FX_LLM_ENDPOINT</c>
/// and <c>VIGIL_FX_LLM_MODEL</c> are set. A timeout, an error, an empty answer or no configuration keeps the template
/// reason: the deal is never failed by it. Every outcome is counted in <c>vigil_fx_explanations_total{outcome}</c>.
/// </summary>
public sealed class FxExplainer
{
    /// <summary>The system prompt when the bundle has none.</summary>
    public const string DefaultPrompt =
        "You explain FX deal anomaly decisions to a treasury operator. Rewrite the given reason as one or two plain sentences: " +
        "say which check fired, the deal's value and the usual range. Do not invent numbers. Answer with the explanation only.";

    private readonly IChatClient? _client;

    /// <summary>Explanations through <paramref name="client"/> (null: off), each within <paramref name="timeout"/>, at most <paramref name="maxDeals"/> per request.</summary>
    public FxExplainer(IChatClient? client, TimeSpan timeout, int maxDeals = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDeals, 1);
        _client = client;
        Timeout = timeout;
        MaxDeals = maxDeals;
    }

    /// <summary>True when an endpoint is configured.</summary>
    public bool Enabled => _client is not null;

    /// <summary>How long one explanation may take before the template reason is kept.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The most anomalies of one request that are explained (the others keep the template reason, counted as <c>over_limit</c>).</summary>
    public int MaxDeals { get; }

    /// <summary>
    /// From the environment: <c>VIGIL_FX_LLM_ENDPOINT</c> (base URL of an OpenAI-compatible API, e.g.
    /// <c>http://localhost:11434/v1</c>), <c>VIGIL_FX_LLM_MODEL</c>, <c>VIGIL_FX_LLM_API_KEY</c> (optional),
    /// <c>VIGIL_FX_LLM_TIMEOUT_MS</c> (default 3000) and <c>VIGIL_FX_LLM_MAX_DEALS</c> (default 20). Off without an endpoint.
    /// </summary>
    /// <exception cref="ServingConfigurationException">A setting is invalid (the message names it).</exception>
    public static FxExplainer FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        var timeoutText = get("VIGIL_FX_LLM_TIMEOUT_MS");
        var timeoutMs = 3000;
        if (!string.IsNullOrWhiteSpace(timeoutText) && (!int.TryParse(timeoutText, NumberStyles.None, CultureInfo.InvariantCulture, out timeoutMs) || timeoutMs < 1))
        {
            throw new ServingConfigurationException("VIGIL_FX_LLM_TIMEOUT_MS", $"must be a whole number of milliseconds >= 1 (got '{timeoutText}')");
        }

        var maxText = get("VIGIL_FX_LLM_MAX_DEALS");
        var max = 20;
        if (!string.IsNullOrWhiteSpace(maxText) && (!int.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max < 1))
        {
            throw new ServingConfigurationException("VIGIL_FX_LLM_MAX_DEALS", $"must be a whole number >= 1 (got '{maxText}')");
        }

        var endpoint = get("VIGIL_FX_LLM_ENDPOINT");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return new FxExplainer(null, TimeSpan.FromMilliseconds(timeoutMs), max);
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ServingConfigurationException("VIGIL_FX_LLM_ENDPOINT", $"must be an http(s) URL (got '{endpoint}')");
        }

        var model = get("VIGIL_FX_LLM_MODEL");
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new ServingConfigurationException("VIGIL_FX_LLM_MODEL", "must name the chat model when VIGIL_FX_LLM_ENDPOINT is set");
        }

        var timeout = TimeSpan.FromMilliseconds(timeoutMs);
        var options = new OpenAIClientOptions
        {
            Endpoint = uri,
            NetworkTimeout = timeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        var key = get("VIGIL_FX_LLM_API_KEY");
        var client = new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(string.IsNullOrEmpty(key) ? "none" : key), options).AsIChatClient();
        return new FxExplainer(client, timeout, max);
    }

    /// <summary>
    /// Rewrites the reasons of the anomalies among <paramref name="decisions"/> (in place), at most <see cref="MaxDeals"/>,
    /// concurrently, each within <see cref="Timeout"/>; counts every outcome in <paramref name="metrics"/>.
    /// </summary>
    internal async Task ExplainAsync(FxModel model, FxRawDeal[] deals, FxDecision[] decisions, ServingMetrics metrics, CancellationToken cancellationToken)
    {
        var anomalies = new List<int>();
        for (var i = 0; i < decisions.Length; i++)
        {
            if (decisions[i].StatusCode == 200 && decisions[i].Anomaly)
            {
                anomalies.Add(i);
            }
        }

        if (anomalies.Count == 0)
        {
            return;
        }

        if (_client is null)
        {
            metrics.FxExplanation("unconfigured", anomalies.Count);
            return;
        }

        if (anomalies.Count > MaxDeals)
        {
            metrics.FxExplanation("over_limit", anomalies.Count - MaxDeals);
            anomalies.RemoveRange(MaxDeals, anomalies.Count - MaxDeals);
        }

        var prompt = model.ExplanationPrompt ?? DefaultPrompt;
        var tasks = new Task<string?>[anomalies.Count];
        for (var k = 0; k < tasks.Length; k++)
        {
            tasks[k] = ExplainOneAsync(prompt, deals[anomalies[k]], decisions[anomalies[k]], metrics, cancellationToken);
        }

        var texts = await Task.WhenAll(tasks).ConfigureAwait(false);
        for (var k = 0; k < texts.Length; k++)
        {
            if (texts[k] is { } text)
            {
                var i = anomalies[k];
                decisions[i] = decisions[i] with { Reason = text };
            }
        }
    }

    private async Task<string?> ExplainOneAsync(string prompt, FxRawDeal deal, FxDecision decision, ServingMetrics metrics, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var user = new StringBuilder()
                .Append("Check: ").Append(decision.Check).Append('\n')
                .Append("Reason: ").Append(decision.Reason).Append('\n')
                .Append(CultureInfo.InvariantCulture, $"Deal: {deal.UniqueId} {deal.FxInstrumentType} {deal.BUnit}/{deal.Cpty} buy {deal.BuyAmount} {deal.BuyCurr} sell {deal.SellAmount} {deal.SellCurr} ")
                .Append(CultureInfo.InvariantCulture, $"(primary {deal.PrimaryCurr}) dealt {deal.DealDate}, maturity {deal.MaturityDate}")
                .ToString();
            var response = await _client!.GetResponseAsync([new ChatMessage(ChatRole.System, prompt), new ChatMessage(ChatRole.User, user)], new ChatOptions { Temperature = 0 }, timeout.Token).ConfigureAwait(false);
            var text = string.Join(' ', (response.Text ?? string.Empty).Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            if (text.Length == 0)
            {
                metrics.FxExplanation("empty");
                return null;
            }

            metrics.FxExplanation("rewritten");
            return text.Length <= 1000 ? text : string.Concat(text.AsSpan(0, 999), "…");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.FxExplanation("timeout");
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            metrics.FxExplanation(timeout.IsCancellationRequested ? "timeout" : "error");
            return null;
        }
    }
}
