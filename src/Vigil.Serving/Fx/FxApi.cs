using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vigil.Fx;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>
/// FX deal scoring (<see cref="MapFxApi"/>): <c>POST /fx/v1/score</c> takes a JSON list of deals, <c>{"inputs": [...]}</c>,
/// MLflow <c>dataframe_records</c> or <c>dataframe_split</c>, routes each deal to the loaded champion of model
/// <c>fx-&lt;Client&gt;</c> and answers one object per deal, in order: <c>{"Client", "UniqueId", "ContLeg", "Anomaly",
/// "Reason", "status_code": 200}</c>, or <c>status_code</c> 400 with an <c>error</c> naming the field or the client, or
/// 500 for an unexpected failure of that deal only. <c>/invocations</c> on an <c>fx</c> model runs the same flow with
/// that model alone (its answer is MLflow's <c>{"predictions": [...]}</c> around the same objects). A deal is only ever
/// decided by the model its client names and that declares the client: no other client's bundle is opened for it.
/// </summary>
internal static class FxApi
{
    public const string ScoreRoute = "fx/v1/score";

    public const string ModelPrefix = "fx-";

    private static readonly ConditionalWeakTable<ServedModel, FxScorer> Scorers = new();

    public static RouteGroupBuilder MapFxApi(this IEndpointRouteBuilder app)
    {
        FxDescriptor.Register();
        var group = app.MapGroup("/fx/v1").WithTags("FX");
        group.MapPost("/score", (HttpContext context, ServingRuntime runtime) => ScoreAsync(context, runtime))
            .WithName("FxScore")
            .WithSummary("Decides FX deals: each deal goes to the champion of model fx-<Client>; one object per deal with its status_code.")
            .Accepts<IReadOnlyList<FxDealDoc>>("application/json")
            .Produces<IReadOnlyList<FxDecisionDoc>>()
            .ProducesProblem(400).ProducesProblem(413).ProducesProblem(415);
        return group;
    }

    /// <summary>True when <paramref name="model"/> is an FX bundle (its <c>/invocations</c> run <see cref="InvocationsAsync"/>).</summary>
    public static bool IsFx(ServedModel model) => model.Bundle.Detector is FxModel;

    /// <summary><c>POST /fx/v1/score</c>.</summary>
    public static Task ScoreAsync(HttpContext context, ServingRuntime runtime) => RunAsync(context, runtime, ScoringExchange.For(context, runtime, ScoreRoute), only: null);

    /// <summary><c>/invocations</c> on the FX model <paramref name="model"/>: every deal is decided by it (another client's deal gets 400).</summary>
    public static Task InvocationsAsync(HttpContext context, ServingRuntime runtime, ServedModel model) =>
        RunAsync(context, runtime, ScoringExchange.For(context, runtime, MlflowApi.InvocationsRoute), model);

    private static async Task RunAsync(HttpContext context, ServingRuntime runtime, ScoringExchange exchange, ServedModel? only)
    {
        if (!VigilApi.IsJson(context.Request.ContentType))
        {
            await exchange.RespondProblemAsync(415, "Unsupported media type", $"{context.Request.Path} takes application/json (a list of deals, inputs, dataframe_records or dataframe_split), not '{context.Request.ContentType ?? "(no Content-Type)"}'.", "Content-Type").ConfigureAwait(false);
            return;
        }

        if (only is not null)
        {
            exchange.Model = only;
        }

        try
        {
            await exchange.ReadBodyAsync().ConfigureAwait(false);
        }
        catch (BodyTooLargeException e)
        {
            exchange.CloseConnection();
            await exchange.RespondProblemAsync(413, "Payload too large", e.Message + " Split the batch or raise VIGIL_MAX_BODY_BYTES.", "body").ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException e) when (e.Message == "Unexpected end of request content.")
        {
            await exchange.LogClientGoneAsync("The client closed the connection while sending the request body.").ConfigureAwait(false);
            exchange.Abort();
            return;
        }

        FxReadResult read;
        try
        {
            read = FxRequestReader.Read(exchange.Body);
        }
        catch (JsonException e)
        {
            await exchange.RespondProblemAsync(400, "Malformed request", "The body is not valid JSON: " + e.Message, "body", Problems.MalformedRequest).ConfigureAwait(false);
            return;
        }
        catch (RequestShapeException e)
        {
            await exchange.RespondProblemAsync(400, "Malformed request", e.Message, e.Field, Problems.MalformedRequest).ConfigureAwait(false);
            return;
        }
        catch (InvalidOperationException e)
        {
            await exchange.RespondProblemAsync(400, "Malformed request", "The body holds invalid text: " + e.Message, "body", Problems.MalformedRequest).ConfigureAwait(false);
            return;
        }

        exchange.Parsed();
        var deals = read.Deals;
        var decisions = new FxDecision[deals.Length];
        var groups = Decide(runtime, deals, read.Errors, decisions, only);
        var parts = new List<LogPart>(groups.Count);
        var explainer = context.RequestServices.GetService(typeof(FxExplainer)) as FxExplainer;
        foreach (var g in groups)
        {
            if (explainer is not null)
            {
                await explainer.ExplainAsync(g.Model, g.Batch, g.Decisions, runtime.Metrics, context.RequestAborted).ConfigureAwait(false);
            }

            for (var k = 0; k < g.Indices.Length; k++)
            {
                decisions[g.Indices[k]] = g.Decisions[k];
            }

            parts.Add(g.Part);
        }

        exchange.Rows = deals.Length;
        exchange.Parts = parts;
        var scored = 0;
        foreach (var part in parts)
        {
            scored += part.ScoredRows;
        }

        exchange.ScoredRows = scored;
        exchange.Transformed();
        exchange.Scored();
        await exchange.RespondJsonAsync(200, (deals, decisions, wrap: only is not null), static (w, s) => Write(w, s.deals, s.decisions, s.wrap)).ConfigureAwait(false);
    }

    /// <summary>The deals one model decided: their positions in the request, the deals, their decisions and the log part.</summary>
    private sealed record DecidedGroup(FxModel Model, int[] Indices, FxRawDeal[] Batch, FxDecision[] Decisions, LogPart Part);

    /// <summary>
    /// Decides every deal: groups them by model and runs each model once over its deals. Deals refused before a model
    /// (reading errors, unknown client) are written into <paramref name="decisions"/>; each group's are returned.
    /// </summary>
    private static List<DecidedGroup> Decide(ServingRuntime runtime, FxRawDeal[] deals, string?[] errors, FxDecision[] decisions, ServedModel? only)
    {
        var parts = new List<DecidedGroup>(1);
        var modelOf = new ServedModel?[deals.Length];
        var groups = new List<(ServedModel Model, List<int> Deals)>(1);
        Dictionary<string, (ServedModel? Model, FxDecision Refusal)>? routes = null;
        for (var i = 0; i < deals.Length; i++)
        {
            if (errors[i] is { } error)
            {
                decisions[i] = new FxDecision(400, false, string.Empty, null, double.NaN, error);
                continue;
            }

            ServedModel? model = only;
            if (model is null)
            {
                var client = deals[i].Client;
                if (string.IsNullOrWhiteSpace(client))
                {
                    decisions[i] = new FxDecision(400, false, string.Empty, null, double.NaN, client is null ? $"{FxFields.Client}: is required" : $"{FxFields.Client}: must not be empty");
                    continue;
                }

                // One routing per client and request (a batch is mostly one client's deals).
                routes ??= new Dictionary<string, (ServedModel?, FxDecision)>(StringComparer.Ordinal);
                if (!routes.TryGetValue(client, out var routed))
                {
                    routed = RouteClient(runtime, client);
                    routes[client] = routed;
                }

                if (routed.Model is not { } found)
                {
                    decisions[i] = routed.Refusal;
                    continue;
                }

                model = found;
            }

            modelOf[i] = model;
            var g = -1;
            for (var k = 0; k < groups.Count; k++)
            {
                if (ReferenceEquals(groups[k].Model, model))
                {
                    g = k;
                    break;
                }
            }

            if (g < 0)
            {
                groups.Add((model, [i]));
            }
            else
            {
                groups[g].Deals.Add(i);
            }
        }

        foreach (var (model, indices) in groups)
        {
            var start = Stopwatch.GetTimestamp();
            var scorer = ScorerOf(model);
            var batch = new FxRawDeal[indices.Count];
            for (var k = 0; k < batch.Length; k++)
            {
                batch[k] = deals[indices[k]];
            }

            var out1 = new FxDecision[batch.Length];
            var times = DecideGroup(scorer, batch, out1);

            var end = Stopwatch.GetTimestamp();
            var ok = 0;
            for (var k = 0; k < batch.Length; k++)
            {
                if (out1[k].StatusCode == 200)
                {
                    ok++;
                }
            }

            var part = new LogPart(model, batch.Length, ok, runtime.Log.Enabled ? FxLogItems.Build(batch, out1) : null!, start, times.AutoencoderStart, times.AutoencoderEnd, end);
            parts.Add(new DecidedGroup(scorer.Model, [.. indices], batch, out1, part));
        }

        return parts;
    }

    /// <summary>The FX model serving <paramref name="client"/>, or the decision refusing its deals.</summary>
    private static (ServedModel? Model, FxDecision Refusal) RouteClient(ServingRuntime runtime, string client)
    {
        var route = runtime.Router.Route(new ModelRequest(ModelPrefix + client));
        if (route.Model is not { } found)
        {
            return (null, route.Outcome == RouteOutcome.NotLoaded
                ? new FxDecision(503, false, string.Empty, null, double.NaN, $"{FxFields.Client}: the model {ModelPrefix}{client} of {client} is not loaded yet (see /readyz)")
                : new FxDecision(400, false, string.Empty, null, double.NaN, $"{FxFields.Client}: {ProtocolSupport.Clip(client)} is not served here (served clients: {ServedClients(runtime)})"));
        }

        return IsFx(found)
            ? (found, default)
            : (null, new FxDecision(400, false, string.Empty, null, double.NaN, $"{FxFields.Client}: model {found.Name} is a '{found.Bundle.Manifest.DetectorKind}' model, not an FX model"));
    }

    /// <summary>One model's deals: an unexpected failure of the whole batch gives each of its deals 500, never the request.</summary>
    private static FxStageTimes DecideGroup(FxScorer scorer, FxRawDeal[] batch, FxDecision[] decisions)
    {
        FxStageTimes times = default;
        try
        {
            scorer.Decide(batch, decisions, out times);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Array.Fill(decisions, new FxDecision(500, false, string.Empty, null, double.NaN, $"internal error: {e.Message}"));
        }

        return times;
    }

    /// <summary>
    /// Decides every deal of <paramref name="read"/> with <paramref name="scorer"/> alone (the path of <c>/invocations</c>
    /// on one FX model, without HTTP: the in-process benchmark calls it): reading errors give 400, the rest one batch. Returns when the autoencoder ran.
    /// </summary>
    internal static FxStageTimes DecideWith(FxScorer scorer, FxReadResult read, FxDecision[] decisions)
    {
        var deals = read.Deals;
        var n = 0;
        for (var i = 0; i < deals.Length; i++)
        {
            if (read.Errors[i] is null)
            {
                n++;
            }
        }

        var batch = n == deals.Length ? deals : new FxRawDeal[n];
        var indices = n == deals.Length ? null : new int[n];
        if (indices is not null)
        {
            for (int i = 0, k = 0; i < deals.Length; i++)
            {
                if (read.Errors[i] is { } error)
                {
                    decisions[i] = new FxDecision(400, false, string.Empty, null, double.NaN, error);
                }
                else
                {
                    indices[k] = i;
                    batch[k++] = deals[i];
                }
            }
        }

        var out1 = indices is null ? decisions : new FxDecision[n];
        var times = DecideGroup(scorer, batch, out1);
        if (indices is not null)
        {
            for (var k = 0; k < n; k++)
            {
                decisions[indices[k]] = out1[k];
            }
        }

        return times;
    }

    private static FxScorer ScorerOf(ServedModel model) => Scorers.GetValue(model, static m => new FxScorer(m.Bundle));

    private static string ServedClients(ServingRuntime runtime)
    {
        var names = new List<string>();
        foreach (var spec in runtime.Models.Specs)
        {
            if (spec.Name.StartsWith(ModelPrefix, StringComparison.Ordinal))
            {
                names.Add(spec.Name[ModelPrefix.Length..]);
            }
        }

        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    /// <summary>
    /// Writes the answer: one object per deal, in order (in MLflow's <c>{"predictions": [...]}</c> when <paramref name="wrap"/>).
    /// A decided deal whose texts need no escaping is formatted here as one raw value (<see cref="PlainDeal"/>), the same bytes
    /// the writer's property calls give (<paramref name="plain"/> false: every deal through those calls, for the tests that
    /// compare both).
    /// </summary>
    internal static void Write(Utf8JsonWriter w, FxRawDeal[] deals, FxDecision[] decisions, bool wrap, bool plain = true)
    {
        if (wrap)
        {
            w.WriteStartObject();
            w.WritePropertyName("predictions");
        }

        w.WriteStartArray();
        string? client = null;
        var clientText = default(JsonEncodedText);
        var scratch = plain ? ArrayPool<byte>.Shared.Rent(PlainDeal.Room) : null;
        var start = new PlainDeal.Start();
        for (var i = 0; i < deals.Length; i++)
        {
            var deal = deals[i];
            var d = decisions[i];
            if (scratch is not null && PlainDeal.TryFormat(deal, d, scratch, start) is var length and > 0)
            {
                w.WriteRawValue(scratch.AsSpan(0, length), skipInputValidation: true);
                continue;
            }

            w.WriteStartObject();
            if (deal.Client is { } c)
            {
                // A batch is mostly one client's deals: its text is escaped once (with the writer's encoder) while it repeats.
                if (!ReferenceEquals(c, client) && !string.Equals(c, client, StringComparison.Ordinal))
                {
                    client = c;
                    clientText = JsonEncodedText.Encode(c, ScoringExchange.WriterOptions.Encoder);
                }

                w.WriteString(Names.Client, clientText);
            }
            else
            {
                w.WriteNull(Names.Client);
            }

            WriteText(w, Names.UniqueId, deal.UniqueId);
            if (deal.ContLeg is { } leg && leg == Math.Floor(leg) && Math.Abs(leg) < 1e15)
            {
                w.WriteNumber(Names.ContLeg, (long)leg);
            }
            else if (deal.ContLeg is { } other)
            {
                w.WriteNumber(Names.ContLeg, other);
            }
            else
            {
                w.WriteNull(Names.ContLeg);
            }

            if (d.StatusCode == 200)
            {
                w.WriteString(Names.Anomaly, d.Anomaly ? Names.Yes : Names.No);
                if (d.Reason.Length == 0)
                {
                    w.WriteString(Names.Reason, Names.Empty);
                }
                else
                {
                    w.WriteString(Names.Reason, d.Reason);
                }

                w.WriteNumber(Names.StatusCode, 200);
            }
            else
            {
                w.WriteNumber(Names.StatusCode, d.StatusCode);
                w.WriteString(Names.Error, d.Error ?? "failed");
            }

            w.WriteEndObject();
        }

        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        w.WriteEndArray();
        if (wrap)
        {
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// One decided deal's answer object as bytes, for the common case: status 200, <c>Client</c>, <c>UniqueId</c> and
    /// <c>Reason</c> valid text the writer's encoder leaves as they are, <c>ContLeg</c> absent or whole. Formatting the object
    /// in one pass and handing it to the writer as a raw value takes a third of the time of the writer's seven property
    /// calls (each validates, checks its escaping and writes its separator); any other deal goes through those calls.
    /// </summary>
    private static class PlainDeal
    {
        /// <summary>Room for an object of the longest texts taken (longer ones go through the writer).</summary>
        public const int Room = 1024;

        private const int MaxText = 256;

        private static readonly System.Text.Encodings.Web.TextEncoder Encoder = ScoringExchange.WriterOptions.Encoder!;

        /// <summary>The object's length in <paramref name="into"/> (at least <see cref="Room"/> bytes), or 0 when it is not plain.</summary>
        /// <param name="deal">The deal.</param>
        /// <param name="d">Its decision.</param>
        /// <param name="into">Where the object goes.</param>
        /// <param name="start">The start of the previous plain object, reused while the client is the same string.</param>
        public static int TryFormat(FxRawDeal deal, in FxDecision d, Span<byte> into, Start start)
        {
            if (d.StatusCode != 200 || deal.Client is not { } client || deal.UniqueId is not { } id)
            {
                return 0;
            }

            // A batch's deals share one client string: its part of the object is checked and encoded once, not per deal.
            if (!ReferenceEquals(client, start.Client))
            {
                start.Client = null; // (until the bytes below are whole)
                var length = 0;
                if (!Put("{\"Client\":\""u8, start.Bytes, ref length) || !PutText(client, start.Bytes, ref length)
                    || !Put("\",\"UniqueId\":\""u8, start.Bytes, ref length))
                {
                    return 0;
                }

                start.Client = client;
                start.Length = length;
            }

            var at = 0;
            if (!Put(start.Bytes.AsSpan(0, start.Length), into, ref at) || !PutText(id, into, ref at)
                || !Put("\",\"ContLeg\":"u8, into, ref at))
            {
                return 0;
            }

            if (deal.ContLeg is { } leg)
            {
                if (!(leg == Math.Floor(leg) && Math.Abs(leg) < 1e15)
                    || !System.Buffers.Text.Utf8Formatter.TryFormat((long)leg, into[at..], out var written))
                {
                    return 0; // a fractional leg is written by the writer's number formatting
                }

                at += written;
            }
            else if (!Put("null"u8, into, ref at))
            {
                return 0;
            }

            if (!Put(d.Anomaly ? ",\"Anomaly\":\"Yes\",\"Reason\":\""u8 : ",\"Anomaly\":\"No\",\"Reason\":\""u8, into, ref at)
                || !PutText(d.Reason, into, ref at)
                || !Put("\",\"status_code\":200}"u8, into, ref at))
            {
                return 0;
            }

            return at;
        }

        /// <summary>An object's bytes up to its <c>UniqueId</c> value, and the client string they hold.</summary>
        public sealed class Start
        {
            public byte[] Bytes { get; } = new byte[MaxText + 32];

            public string? Client { get; set; }

            public int Length { get; set; }
        }

        private static bool Put(ReadOnlySpan<byte> bytes, Span<byte> into, ref int at)
        {
            if (!bytes.TryCopyTo(into[at..]))
            {
                return false;
            }

            at += bytes.Length;
            return true;
        }

        /// <summary>Writes <paramref name="text"/> as UTF-8 when it is valid text the encoder would not escape (the writer then copies it as is too).</summary>
        private static bool PutText(string text, Span<byte> into, ref int at)
        {
            if (text.Length > MaxText
                || System.Text.Unicode.Utf8.FromUtf16(text, into[at..], out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done
                || Encoder.FindFirstCharacterToEncodeUtf8(into.Slice(at, written)) >= 0)
            {
                return false;
            }

            at += written;
            return true;
        }
    }

    private static void WriteText(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>The answer's property names and Yes/No, encoded once.</summary>
    private static class Names
    {
        public static readonly JsonEncodedText Client = JsonEncodedText.Encode(FxFields.Client);
        public static readonly JsonEncodedText UniqueId = JsonEncodedText.Encode(FxFields.UniqueId);
        public static readonly JsonEncodedText ContLeg = JsonEncodedText.Encode(FxFields.ContLeg);
        public static readonly JsonEncodedText Anomaly = JsonEncodedText.Encode("Anomaly");
        public static readonly JsonEncodedText Reason = JsonEncodedText.Encode("Reason");
        public static readonly JsonEncodedText StatusCode = JsonEncodedText.Encode("status_code");
        public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
        public static readonly JsonEncodedText Yes = JsonEncodedText.Encode("Yes");
        public static readonly JsonEncodedText No = JsonEncodedText.Encode("No");
        public static readonly JsonEncodedText Empty = JsonEncodedText.Encode("");
    }

    /// <summary>Documentation shape of one deal.</summary>
    internal sealed record FxDealDoc(string Client, string FX_Instrument_Type, string BUnit, string Cpty, string PrimaryCurr, string BuyCurr, string SellCurr,
        double BuyAmount, double SellAmount, double SpotRate, double ForwardPoints, string DealDate, string MaturityDate, string UniqueId, long? ContLeg);

    /// <summary>Documentation shape of one decision (<c>Anomaly</c> and <c>Reason</c> with status 200, <c>error</c> otherwise).</summary>
    internal sealed record FxDecisionDoc(string? Client, string? UniqueId, long? ContLeg, string? Anomaly, string? Reason, int status_code, string? error);
}
