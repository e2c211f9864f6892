using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vigil.Data;

namespace Vigil.Serving;

/// <summary>
/// The Open Inference Protocol V2 (KServe) REST API (<see cref="MapOpenInferenceApi"/>): server metadata, health, model metadata and readiness, and
/// <c>POST /v2/models/{name}[/versions/{v}]/infer</c> with JSON tensors. Inputs are either one tensor per feature
/// (named after the feature, shape [N] or [N, 1]; FP32/FP64/INT32/INT64 for numeric features, BYTES for categorical
/// ones) or, for a model whose features are all numeric, one packed FP32/FP64 tensor of shape [N, F] in the model's
/// input order. <c>data</c> may be flat or nested (row-major); JSON null is a missing value. Outputs: <c>score</c>
/// (FP64 [N]) and <c>label</c> (INT64 [N]). Any invalid value rejects the request (400 naming the tensor).
/// </summary>
internal static class OpenInferenceApi
{
    public const string InferRoute = "v2/infer";

    private const string Supported = "FP32, FP64, INT32, INT64 (numeric features) or BYTES (categorical features)";

    public static RouteGroupBuilder MapOpenInferenceApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2").WithTags("Open Inference V2");
        group.MapGet("", ServerMetadata)
            .WithSummary("Server metadata: name, version, extensions.")
            .Produces<ServerMetadataDoc>();
        group.MapGet("/health/live", () => Results.Json(new { live = true }))
            .WithSummary("Server liveness.")
            .Produces<LiveDoc>();
        group.MapGet("/health/ready", ServerReadyAsync)
            .WithSummary("Server readiness: 200 once every model is loaded, else 503.")
            .Produces<ReadyDoc>().ProducesProblem(503);
        group.MapGet("/models/{name}", (string name, HttpContext context, ServingRuntime runtime) => ModelMetadataAsync(context, runtime, name, null))
            .WithSummary("Model metadata: versions, platform, input and output tensors.")
            .Produces<ModelMetadataDoc>().ProducesProblem(404).ProducesProblem(503);
        group.MapGet("/models/{name}/versions/{version}", (string name, string version, HttpContext context, ServingRuntime runtime) => ModelMetadataAsync(context, runtime, name, version))
            .WithSummary("Model metadata of a version (404 unless it is the loaded version).")
            .Produces<ModelMetadataDoc>().ProducesProblem(404).ProducesProblem(503);
        group.MapGet("/models/{name}/ready", (string name, HttpContext context, ServingRuntime runtime) => ModelReadyAsync(context, runtime, name, null))
            .WithSummary("Model readiness.")
            .Produces<ModelReadyDoc>().ProducesProblem(404).ProducesProblem(503);
        group.MapGet("/models/{name}/versions/{version}/ready", (string name, string version, HttpContext context, ServingRuntime runtime) => ModelReadyAsync(context, runtime, name, version))
            .WithSummary("Readiness of a model version.")
            .Produces<ModelReadyDoc>().ProducesProblem(404).ProducesProblem(503);
        group.MapPost("/models/{name}/infer", (string name, HttpContext context, ServingRuntime runtime) => ScoringPipeline.RunAsync(context, runtime, new InferAdapter(name, null, context.TraceIdentifier)))
            .WithName("V2Infer")
            .WithSummary("Inference with JSON tensors: one per feature, or one packed [N, F] tensor for all-numeric models.")
            .Accepts<InferRequestDoc>("application/json")
            .Produces<InferResponseDoc>()
            .ProducesScoringProblems();
        group.MapPost("/models/{name}/versions/{version}/infer", (string name, string version, HttpContext context, ServingRuntime runtime) => ScoringPipeline.RunAsync(context, runtime, new InferAdapter(name, version, context.TraceIdentifier)))
            .WithName("V2InferVersion")
            .WithSummary("Inference with a given model version (404 unless it is the loaded version).")
            .Accepts<InferRequestDoc>("application/json")
            .Produces<InferResponseDoc>()
            .ProducesScoringProblems();
        return group;
    }

    private static IResult ServerMetadata() => Results.Json(new { name = "vigil", version = ProtocolSupport.ServiceVersion, extensions = Array.Empty<string>() });

    private static async Task ServerReadyAsync(HttpContext context, ServingRuntime runtime)
    {
        if (!runtime.Models.IsReady)
        {
            await Problems.WriteAsync(context, 503, "Not ready", ProtocolSupport.NotReadyDetail(runtime), "models").ConfigureAwait(false);
            return;
        }

        await context.Response.WriteAsJsonAsync(new { ready = true }).ConfigureAwait(false);
    }

    private static async Task ModelReadyAsync(HttpContext context, ServingRuntime runtime, string name, string? version)
    {
        var model = await FindAsync(context, runtime, name, version).ConfigureAwait(false);
        if (model is not null)
        {
            await context.Response.WriteAsJsonAsync(new { name = model.Name, ready = true }).ConfigureAwait(false);
        }
    }

    private static async Task ModelMetadataAsync(HttpContext context, ServingRuntime runtime, string name, string? version)
    {
        var model = await FindAsync(context, runtime, name, version).ConfigureAwait(false);
        if (model is null)
        {
            return;
        }

        var schema = model.Bundle.Transform.InputSchema;
        var inputs = new List<object>(schema.Count);
        var numeric = true;
        foreach (var column in schema)
        {
            var categorical = column.Kind == ColumnKind.Categorical;
            numeric &= !categorical;
            inputs.Add(new { name = column.Name, datatype = categorical ? "BYTES" : "FP64", shape = new[] { -1 } });
        }

        var outputs = new List<object>
        {
            new { name = "score", datatype = "FP64", shape = new[] { -1 } },
            new { name = "label", datatype = "INT64", shape = new[] { -1 } },
        };
        if (model.Rules.Count > 0)
        {
            outputs.Add(new { name = "rule", datatype = "BYTES", shape = new[] { -1 } });
            outputs.Add(new { name = "reason", datatype = "BYTES", shape = new[] { -1 } });
        }

        await context.Response.WriteAsJsonAsync(new
        {
            name = model.Name,
            versions = new[] { model.VersionText },
            platform = "vigil-" + model.Bundle.Manifest.DetectorKind,
            inputs,
            outputs,
            parameters = new
            {
                threshold = model.Bundle.Threshold,
                packed_input = numeric
                    ? new { name = "input", datatype = "FP64", shape = new[] { -1, schema.Count }, order = model.InputNames }
                    : null,
                packed_input_note = numeric
                    ? "Instead of one tensor per feature, one FP32/FP64 tensor of shape [N, F] with the features in this order."
                    : "A packed [N, F] tensor is not accepted: the model has categorical (BYTES) features; send one tensor per feature.",
            },
        }).ConfigureAwait(false);
    }

    /// <summary>The model, or null after a 404/503 problem (unknown name, not loaded, or not the loaded version).</summary>
    private static async ValueTask<ServedModel?> FindAsync(HttpContext context, ServingRuntime runtime, string name, string? version)
    {
        var route = runtime.Router.Route(new ModelRequest(name, Version: version));
        if (route.Model is null)
        {
            await Problems.WriteAsync(context, route.Status, route.Title, route.Detail!, route.Outcome == RouteOutcome.VersionNotLoaded ? "version" : "name").ConfigureAwait(false);
        }

        return route.Model;
    }

    /// <summary>
    /// One <c>.../infer</c> request: any invalid value rejects the request (400 naming the tensor). Outputs <c>score</c>
    /// and <c>label</c>; for a model with pre-model rules also <c>rule</c> and <c>reason</c> (BYTES, empty when the model
    /// decided; the score of a rule-decided row is null).
    /// </summary>
    private sealed class InferAdapter(string name, string? version, string requestId) : ScoringAdapter
    {
        private InferRequest? _request;

        public override string Route => InferRoute;

        public override string MediaTypes => "application/json (Open Inference Protocol JSON tensors)";

        public override bool ModelInPath => true;

        public override bool RejectsWholeRequest => true;

        public override string ShapeTitle => "Invalid inference request";

        public override bool Accepts(string? contentType) => VigilApi.IsJson(contentType);

        public override ModelRequest? ModelOf(ServingRuntime runtime) => new ModelRequest(name, Version: version);

        public override InputProblem NoModel(ServingRuntime runtime) => throw new InvalidOperationException("The path always names the model.");

        public override void Scan(ReadOnlySequence<byte> body, ServedModel? model)
        {
            _request = OpenInferenceApi.Scan(body, model!);
            Items = _request.Rows;
        }

        public override InputProblem? Read(ScoringExchange exchange, FeatureBatch batch) =>
            OpenInferenceApi.Read(exchange.Body, batch, _request!) is { } f ? new InputProblem("Invalid input", f.Detail, f.Field, Problems.InvalidParameterValue) : null;

        public override InputProblem FailedItem(int item, ItemError error, int status) =>
            new(status >= 500 ? "Item failed" : "Invalid input", $"The {error.Field} of row {item} {error.Detail}.", "inputs", status >= 500 ? null : Problems.InvalidParameterValue, status);

        public override void Write(Utf8JsonWriter w, FeatureBatch batch)
        {
            var request = _request!;
            var model = batch.Model;
            var decisions = batch.Decisions;
            w.WriteStartObject();
            w.WriteString("model_name"u8, model.Name);
            w.WriteString("model_version"u8, model.VersionText);
            w.WriteString("id"u8, request.Id ?? requestId);
            w.WriteStartArray("outputs"u8);
            foreach (var output in request.Outputs ?? (model.Rules.Count > 0 ? AllOutputs : ModelOutputs))
            {
                w.WriteStartObject();
                w.WriteString("name"u8, OutputName(output));
                w.WriteString("datatype"u8, output switch { Output.Score => "FP64"u8, Output.Label => "INT64"u8, _ => "BYTES"u8 });
                w.WriteStartArray("shape"u8);
                w.WriteNumberValue(decisions.Length);
                w.WriteEndArray();
                w.WriteStartArray("data"u8);
                foreach (ref readonly var d in decisions)
                {
                    switch (output)
                    {
                        case Output.Score when d.Rule is null:
                            w.WriteNumberValue(d.Score);
                            break;
                        case Output.Score:
                            w.WriteNullValue();
                            break;
                        case Output.Label:
                            w.WriteNumberValue(d.Label);
                            break;
                        case Output.Rule:
                            w.WriteStringValue(d.Rule ?? "");
                            break;
                        default:
                            w.WriteStringValue(d.RuleReason ?? "");
                            break;
                    }
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static readonly Output[] ModelOutputs = [Output.Score, Output.Label];

    private static readonly Output[] AllOutputs = [Output.Score, Output.Label, Output.Rule, Output.Reason];

    private static ReadOnlySpan<byte> OutputName(Output output) => output switch
    {
        Output.Score => "score"u8,
        Output.Label => "label"u8,
        Output.Rule => "rule"u8,
        _ => "reason"u8,
    };

    /// <summary>First pass: every tensor's header and data checked against the model; nothing is encoded yet.</summary>
    private static InferRequest Scan(ReadOnlySequence<byte> body, ServedModel model)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException("body", "The body must be a JSON object {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}, ...]}.");
        }

        var request = new InferRequest();
        List<Tensor>? tensors = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                request.Id = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new RequestShapeException("id", "\"id\" must be a string.");
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new RequestShapeException("inputs", "\"inputs\" must be an array of tensors {\"name\", \"shape\", \"datatype\", \"data\"}.");
                }

                tensors = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    tensors.Add(ScanTensor(ref reader, body, tensors.Count));
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                reader.Read();
                request.Outputs = ScanOutputs(ref reader);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new RequestShapeException("parameters", "\"parameters\" must be an object.");
                }

                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        while (reader.Read())
        {
        }

        if (tensors is null || tensors.Count == 0)
        {
            throw new RequestShapeException("inputs", $"The request has no input tensors: send one tensor per feature ({string.Join(", ", model.InputNames)}).");
        }

        request.Tensors = [.. tensors];
        Bind(request, model);
        return request;
    }

    private static Output[] ScanOutputs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestShapeException("outputs", "\"outputs\" must be an array of {\"name\": \"score\" | \"label\"}.");
        }

        var outputs = new List<Output>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var field = $"outputs[{outputs.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new RequestShapeException(field, "Each requested output must be an object {\"name\": \"score\" | \"label\"}.");
            }

            Output? output = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    output = reader.TokenType != JsonTokenType.String ? throw new RequestShapeException(field + ".name", "The output name must be a string.")
                        : reader.ValueTextEquals("score"u8) ? Output.Score
                        : reader.ValueTextEquals("label"u8) ? Output.Label
                        : reader.ValueTextEquals("rule"u8) ? Output.Rule
                        : reader.ValueTextEquals("reason"u8) ? Output.Reason
                        : throw new RequestShapeException(field + ".name", $"Unknown output '{ProtocolSupport.Clip(reader.GetString()!)}': the outputs are score and label (and rule and reason).");
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            outputs.Add(output ?? throw new RequestShapeException(field + ".name", "The requested output has no name (score or label)."));
        }

        return [.. outputs];
    }

    private static Tensor ScanTensor(ref Utf8JsonReader reader, ReadOnlySequence<byte> body, int index)
    {
        var at = $"inputs[{index}]";
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException(at, "Each input must be a tensor object {\"name\", \"shape\", \"datatype\", \"data\"}.");
        }

        var tensor = new Tensor(index);
        var hasData = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                tensor.Name = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new RequestShapeException(at + ".name", "The tensor name must be a string.");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                reader.Read();
                tensor.Shape = ScanShape(ref reader, at + ".shape");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                tensor.Type = reader.TokenType == JsonTokenType.String ? ParseDatatype(ref reader, at + ".datatype") : throw new RequestShapeException(at + ".datatype", $"The datatype must be a string: {Supported}.");
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                tensor.DataOffset = reader.BytesConsumed;
                tensor.DataState = reader.CurrentState;
                hasData = true;
                reader.Read();
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (tensor.Name is null)
        {
            throw new RequestShapeException(at + ".name", "The tensor has no name.");
        }

        if (tensor.Shape is null)
        {
            throw new RequestShapeException(at + ".shape", "The tensor has no shape.");
        }

        if (tensor.Type == Datatype.None)
        {
            throw new RequestShapeException(at + ".datatype", $"The tensor has no datatype: {Supported}.");
        }

        if (!hasData)
        {
            throw new RequestShapeException(at + ".data", "The tensor has no data.");
        }

        var count = CheckData(body, tensor, at + ".data");
        long elements = 1;
        foreach (var d in tensor.Shape)
        {
            elements = d == 0 || elements <= long.MaxValue / d ? elements * d : long.MaxValue;
        }

        if (elements != count)
        {
            throw new RequestShapeException(at + ".shape", $"The shape [{string.Join(", ", tensor.Shape)}] holds {elements} elements but data has {count} values.");
        }

        return tensor;
    }

    private static long[] ScanShape(ref Utf8JsonReader reader, string field)
    {
        const string Expected = "The shape must be an array of non-negative integers, e.g. [N] or [N, 1].";
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestShapeException(field, Expected);
        }

        var dims = new List<long>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d) || d < 0)
            {
                throw new RequestShapeException(field, Expected);
            }

            dims.Add(d);
        }

        return dims.Count > 0 ? [.. dims] : throw new RequestShapeException(field, Expected);
    }

    private static Datatype ParseDatatype(ref Utf8JsonReader reader, string field)
    {
        if (reader.ValueTextEquals("FP32"u8))
        {
            return Datatype.Fp32;
        }

        if (reader.ValueTextEquals("FP64"u8))
        {
            return Datatype.Fp64;
        }

        if (reader.ValueTextEquals("INT32"u8))
        {
            return Datatype.Int32;
        }

        if (reader.ValueTextEquals("INT64"u8))
        {
            return Datatype.Int64;
        }

        if (reader.ValueTextEquals("BYTES"u8))
        {
            return Datatype.Bytes;
        }

        var text = ProtocolSupport.Clip(reader.GetString()!);
        var known = text is "BOOL" or "UINT8" or "UINT16" or "UINT32" or "UINT64" or "INT8" or "INT16" or "FP16" or "BF16";
        throw new RequestShapeException(field, known
            ? $"Datatype {text} is not supported: use {Supported}."
            : $"'{text}' is not an Open Inference Protocol datatype: use {Supported}.");
    }

    /// <summary>Checks every element of the tensor's data (flat or nested arrays) against its datatype; returns the count.</summary>
    private static long CheckData(ReadOnlySequence<byte> body, Tensor tensor, string field)
    {
        var reader = new Utf8JsonReader(body.Slice(tensor.DataOffset), isFinalBlock: true, tensor.DataState);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestShapeException(field, "The data must be an array (flat, or nested row-major).");
        }

        long count = 0;
        var depth = 1;
        while (depth > 0 && reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    continue;
                case JsonTokenType.EndArray:
                    depth--;
                    continue;
                case JsonTokenType.Null:
                    break;
                case JsonTokenType.Number when tensor.Type == Datatype.Fp64:
                    if (!reader.TryGetDouble(out var d) || !double.IsFinite(d))
                    {
                        throw new RequestShapeException($"{field}[{count}]", "The value is outside the FP64 range.");
                    }

                    break;
                case JsonTokenType.Number when tensor.Type == Datatype.Fp32:
                    if (!reader.TryGetDouble(out var f) || !float.IsFinite((float)f))
                    {
                        throw new RequestShapeException($"{field}[{count}]", "The value is outside the FP32 range.");
                    }

                    break;
                case JsonTokenType.Number when tensor.Type == Datatype.Int64:
                    if (!reader.TryGetInt64(out _))
                    {
                        throw new RequestShapeException($"{field}[{count}]", "The value is not an INT64 integer.");
                    }

                    break;
                case JsonTokenType.Number when tensor.Type == Datatype.Int32:
                    if (!reader.TryGetInt32(out _))
                    {
                        throw new RequestShapeException($"{field}[{count}]", "The value is not an INT32 integer.");
                    }

                    break;
                case JsonTokenType.String when tensor.Type == Datatype.Bytes:
                    break;
                default:
                    throw new RequestShapeException($"{field}[{count}]", tensor.Type == Datatype.Bytes
                        ? "BYTES data must be strings (or null for a missing value)."
                        : $"{tensor.Type.ToString().ToUpperInvariant()} data must be numbers (or null for a missing value).");
            }

            count++;
        }

        return count;
    }

    /// <summary>Matches the tensors to the model's features (one per feature, or one packed tensor).</summary>
    private static void Bind(InferRequest request, ServedModel model)
    {
        var tensors = request.Tensors;
        var features = model.InputCount;
        if (tensors.Length == 1 && model.InputIndex(tensors[0].Name!) < 0 && (features > 1 || tensors[0].Shape!.Length == 2))
        {
            var t = tensors[0];
            for (var i = 0; i < features; i++)
            {
                if (model.IsCategorical(i))
                {
                    throw new RequestShapeException("inputs[0]", $"'{ProtocolSupport.Clip(t.Name!)}' is not a feature, and a packed [N, {features}] tensor is only accepted when every feature is numeric; '{model.InputNames[i]}' is categorical: send one tensor per feature ({string.Join(", ", model.InputNames)}), BYTES for categorical ones.");
                }
            }

            if (t.Shape!.Length != 2 || t.Shape[1] != features)
            {
                throw new RequestShapeException("inputs[0].shape", $"A packed tensor has shape [N, {features}] (features in order: {string.Join(", ", model.InputNames)}); got [{string.Join(", ", t.Shape)}].");
            }

            if (t.Type is not (Datatype.Fp32 or Datatype.Fp64))
            {
                throw new RequestShapeException("inputs[0].datatype", "A packed tensor must be FP32 or FP64.");
            }

            request.Packed = true;
            request.Rows = CheckRows(t.Shape[0], "inputs[0].shape");
            t.Input = -1;
            return;
        }

        var tensorOf = new int[features];
        Array.Fill(tensorOf, -1);
        long rows = -1;
        foreach (var t in tensors)
        {
            var at = $"inputs[{t.Index}]";
            var input = model.InputIndex(t.Name!);
            if (input < 0 && model.Rules.Count == 0)
            {
                throw new RequestShapeException(at + ".name", $"'{ProtocolSupport.Clip(t.Name!)}' is not a feature of model '{model.Name}'; its features are {string.Join(", ", model.InputNames)}.");
            }

            if (input < 0)
            {
                // A field the model's pre-model rules may read (e.g. a date as BYTES): one value per row, kept as sent.
                if (t.Shape!.Length > 2 || (t.Shape.Length == 2 && t.Shape[1] != 1) || (rows >= 0 && t.Shape[0] != rows))
                {
                    throw new RequestShapeException(at + ".shape", $"Tensor '{ProtocolSupport.Clip(t.Name!)}' must have shape [N] or [N, 1] with one value per row.");
                }

                rows = t.Shape[0];
                t.Input = -1;
                continue;
            }

            if (tensorOf[input] >= 0)
            {
                throw new RequestShapeException(at + ".name", $"Feature '{t.Name}' has two tensors (inputs[{tensorOf[input]}] and {at}).");
            }

            if (t.Shape!.Length > 2 || (t.Shape.Length == 2 && t.Shape[1] != 1))
            {
                throw new RequestShapeException(at + ".shape", $"A feature tensor has shape [N] or [N, 1]; got [{string.Join(", ", t.Shape)}].");
            }

            var categorical = model.IsCategorical(input);
            if (categorical != (t.Type == Datatype.Bytes))
            {
                throw new RequestShapeException(at + ".datatype", categorical
                    ? $"Feature '{t.Name}' is categorical: its tensor must be BYTES."
                    : $"Feature '{t.Name}' is numeric: its tensor must be FP32, FP64, INT32 or INT64.");
            }

            if (rows >= 0 && t.Shape[0] != rows)
            {
                throw new RequestShapeException(at + ".shape", $"Tensor '{t.Name}' has {t.Shape[0]} rows but {tensors[0].Name} has {rows}: every tensor needs one value per row.");
            }

            rows = t.Shape[0];
            t.Input = input;
            tensorOf[input] = t.Index;
        }

        for (var i = 0; i < features; i++)
        {
            if (tensorOf[i] < 0)
            {
                throw new RequestShapeException("inputs", $"No tensor for feature '{model.InputNames[i]}': send one tensor per feature ({string.Join(", ", model.InputNames)}).");
            }
        }

        request.Rows = CheckRows(rows, "inputs[0].shape");
    }

    private static int CheckRows(long rows, string field) => rows switch
    {
        0 => throw new RequestShapeException(field, "The tensors have no rows: send at least one."),
        > int.MaxValue => throw new RequestShapeException(field, "Too many rows."),
        _ => (int)rows,
    };

    /// <summary>Second pass: encodes every row. Returns the first invalid value, or null.</summary>
    private static (string Field, string Detail)? Read(ReadOnlySequence<byte> body, FeatureBatch batch, InferRequest request)
    {
        var tensors = request.Tensors;
        var offsets = new long[tensors.Length];
        var states = new JsonReaderState[tensors.Length];
        for (var k = 0; k < tensors.Length; k++)
        {
            offsets[k] = tensors[k].DataOffset;
            states[k] = tensors[k].DataState;
        }

        var features = batch.Model.InputCount;
        for (var row = 0; row < request.Rows; row++)
        {
            batch.BeginItem();
            if (request.Packed)
            {
                var reader = new Utf8JsonReader(body.Slice(offsets[0]), isFinalBlock: true, states[0]);
                for (var f = 0; f < features; f++)
                {
                    NextLeaf(ref reader);
                    JsonValues.ReadValue(ref reader, batch, f);
                }

                offsets[0] += reader.BytesConsumed;
                states[0] = reader.CurrentState;
            }
            else
            {
                for (var k = 0; k < tensors.Length; k++)
                {
                    var reader = new Utf8JsonReader(body.Slice(offsets[k]), isFinalBlock: true, states[k]);
                    NextLeaf(ref reader);
                    if (tensors[k].Input >= 0)
                    {
                        JsonValues.ReadValue(ref reader, batch, tensors[k].Input);
                    }
                    else
                    {
                        JsonValues.ReadExtra(ref reader, batch, tensors[k].Name!);
                    }

                    offsets[k] += reader.BytesConsumed;
                    states[k] = reader.CurrentState;
                }
            }

            batch.EndItem();
            if (batch.ErrorOf(row) is { } error)
            {
                var input = batch.Model.InputIndex(error.Field);
                var field = request.Packed
                    ? $"inputs[0].data[{row}][{input}]"
                    : $"inputs[{Array.FindIndex(tensors, t => t.Input == input)}].data[{row}]";
                return (field, $"{field} ({error.Field}) {error.Detail}.");
            }
        }

        return null;
    }

    /// <summary>Moves to the next value, across the brackets of nested data.</summary>
    private static void NextLeaf(ref Utf8JsonReader reader)
    {
        do
        {
            reader.Read();
        }
        while (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.EndArray);
    }

    private enum Datatype
    {
        None,
        Fp32,
        Fp64,
        Int32,
        Int64,
        Bytes,
    }

    private enum Output
    {
        Score,
        Label,
        Rule,
        Reason,
    }

    private sealed class Tensor(int index)
    {
        public int Index { get; } = index;

        public string? Name { get; set; }

        public long[]? Shape { get; set; }

        public Datatype Type { get; set; }

        /// <summary>Where the data value starts (just after the "data" property name).</summary>
        public long DataOffset { get; set; }

        public JsonReaderState DataState { get; set; }

        /// <summary>The feature the tensor feeds (-1 for a packed tensor).</summary>
        public int Input { get; set; }
    }

    private sealed class InferRequest
    {
        public string? Id { get; set; }

        public Tensor[] Tensors { get; set; } = [];

        public Output[]? Outputs { get; set; }

        public bool Packed { get; set; }

        public int Rows { get; set; }
    }

    /// <summary>Documentation shape of a tensor.</summary>
    internal sealed record TensorDoc(string Name, IReadOnlyList<long> Shape, string Datatype, IReadOnlyList<JsonElement> Data);

    /// <summary>Documentation shape of a requested output.</summary>
    internal sealed record RequestedOutputDoc(string Name);

    /// <summary>Documentation shape of the inference request.</summary>
    internal sealed record InferRequestDoc(string? Id, IReadOnlyList<TensorDoc> Inputs, IReadOnlyList<RequestedOutputDoc>? Outputs, Dictionary<string, JsonElement>? Parameters);

    /// <summary>Documentation shape of the inference response.</summary>
    internal sealed record InferResponseDoc(
        [property: JsonPropertyName("model_name")] string ModelName,
        [property: JsonPropertyName("model_version")] string ModelVersion,
        string Id,
        IReadOnlyList<TensorDoc> Outputs);

    /// <summary>Documentation shape of the server metadata.</summary>
    internal sealed record ServerMetadataDoc(string Name, string Version, IReadOnlyList<string> Extensions);

    /// <summary>Documentation shape of the liveness answer.</summary>
    internal sealed record LiveDoc(bool Live);

    /// <summary>Documentation shape of the readiness answer.</summary>
    internal sealed record ReadyDoc(bool Ready);

    /// <summary>Documentation shape of a model's readiness.</summary>
    internal sealed record ModelReadyDoc(string Name, bool Ready);

    /// <summary>Documentation shape of a tensor's metadata.</summary>
    internal sealed record TensorMetadataDoc(string Name, string Datatype, IReadOnlyList<long> Shape);

    /// <summary>Documentation shape of the model metadata.</summary>
    internal sealed record ModelMetadataDoc(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<TensorMetadataDoc> Inputs, IReadOnlyList<TensorMetadataDoc> Outputs, Dictionary<string, JsonElement>? Parameters);
}
