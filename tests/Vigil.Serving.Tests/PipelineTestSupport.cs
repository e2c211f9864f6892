using System.Text.Json.Nodes;
using Vigil.Detectors;

namespace Vigil.Serving.Tests;

/// <summary>Requests with a chosen request id (to find their inference log row) and the test's pre-model rules.</summary>
internal static class PipelineTestSupport
{
    /// <summary>POSTs <paramref name="json"/> with request id <paramref name="requestId"/>.</summary>
    public static async Task<(int Status, JsonNode Body)> PostAsync(ServerHarness server, string path, string json, string requestId, string contentType = "application/json")
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add(VigilServer.RequestIdHeader, requestId);
        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!);
    }

    /// <summary>Rows 0, 1 and 2 of the training data as instances with the features of <paramref name="features"/>.</summary>
    public static JsonObject[] Instances(IReadOnlyList<string> features, params int[] rows)
    {
        var result = new JsonObject[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var o = new JsonObject();
            foreach (var f in features)
            {
                o[f] = ProtocolRows.Value(rows[i], f);
            }

            result[i] = o;
        }

        return result;
    }
}

/// <summary>
/// The test's pre-model rules, on model <c>fraud</c> only: <c>blocked_merchant</c> (a feature: merchant_category is
/// <c>blocked-merchant</c>), <c>watchlist</c> (fields that are not features: <c>watchlist</c> is <c>yes</c> and
/// <c>since</c> is a date) and <c>exploding</c> (throws when <c>watchlist</c> is <c>boom</c>).
/// </summary>
internal sealed class TestRuleProvider : IItemRuleProvider
{
    public const string BlockedCategory = "blocked-merchant";

    public IReadOnlyList<IItemRule> GetRules(ModelSpec spec, ModelBundle bundle) =>
        spec.Name == "fraud" ? [new BlockedMerchantRule(), new WatchlistRule(), new ExplodingRule()] : [];

    private sealed class BlockedMerchantRule : IItemRule
    {
        public string Name => "blocked_merchant";

        public bool TryDecide(in RawRow row, out RuleVerdict verdict)
        {
            verdict = new RuleVerdict(1, "merchant category blocked-merchant is on the block list");
            return row.TryGetText("merchant_category", out var category) && category == BlockedCategory;
        }
    }

    private sealed class WatchlistRule : IItemRule
    {
        public string Name => "watchlist";

        public bool TryDecide(in RawRow row, out RuleVerdict verdict)
        {
            if (row.TryGetText("watchlist", out var flag) && flag == "yes" && row.TryGetDate("since", out var since))
            {
                verdict = new RuleVerdict(1, "customer on the watchlist since " + since.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                return true;
            }

            verdict = default;
            return false;
        }
    }

    private sealed class ExplodingRule : IItemRule
    {
        public string Name => "exploding";

        public bool TryDecide(in RawRow row, out RuleVerdict verdict)
        {
            verdict = default;
            return row.TryGetText("watchlist", out var flag) && flag == "boom" ? throw new InvalidOperationException("boom") : false;
        }
    }
}
