using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Vigil.Serving;

/// <summary>
/// MLflow's pyfunc scoring protocol (<see cref="MapMlflowApi"/>): <c>POST /invocations</c> (the default model) and
/// <c>POST /models/{name}/invocations</c> with <c>application/json</c> (<c>dataframe_split</c>,
/// <c>dataframe_records</c>, <c>instances</c> or <c>inputs</c>, plus an ignored <c>params</c>) or <c>text/csv</c>
/// (header row, then rows); <c>GET /ping</c> and <c>GET /health</c>. The answer is <c>{"predictions": [score, ...]}</c>.
/// Like MLflow, a bad value rejects the whole request: 400 naming the first bad field with its item index.
/// </summary>
internal static class MlflowApi
{
    public const string InvocationsRoute = "invocations";

    private static readonly byte[] PingBody = "\n"u8.ToArray();

    private const string Keys = "dataframe_split, dataframe_records, instances or inputs";

    public static RouteGroupBuilder MapMlflowApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("MLflow");
        group.MapPost("/invocations", (HttpContext context, ServingRuntime runtime) => InvokeAsync(context, runtime, null))
            .WithName("MlflowInvocations")
            .WithSummary("MLflow scoring protocol with the default model: dataframe_split, dataframe_records, instances, inputs or CSV.")
            .Accepts<MlflowRequestDoc>("application/json", "text/csv")
            .Produces<MlflowResponseDoc>()
            .ProducesScoringProblems();
        group.MapPost("/models/{name}/invocations", (string name, HttpContext context, ServingRuntime runtime) => InvokeAsync(context, runtime, name))
            .WithName("MlflowModelInvocations")
            .WithSummary("MLflow scoring protocol with a named model (name, name@alias or name/VERSION).")
            .Accepts<MlflowRequestDoc>("application/json", "text/csv")
            .Produces<MlflowResponseDoc>()
            .ProducesScoringProblems();
        group.MapGet("/ping", PingAsync)
            .WithSummary("MLflow health check: 200 with a newline once every model is loaded, else 503.")
            .Produces(200, contentType: "application/json").ProducesProblem(503);
        group.MapGet("/health", PingAsync)
            .WithSummary("Same as /ping.")
            .Produces(200, contentType: "application/json").ProducesProblem(503);
        return group;
    }

    /// <summary>An <c>fx</c> model runs the FX deal flow (<see cref="FxApi"/>); any other the scoring pipeline.</summary>
    private static Task InvokeAsync(HttpContext context, ServingRuntime runtime, string? name) =>
        (name ?? runtime.DefaultModelName) is { } model && runtime.Router.Route(ModelRequest.Parse(model)).Model is { } served && FxApi.IsFx(served)
            ? FxApi.InvocationsAsync(context, runtime, served)
            : ScoringPipeline.RunAsync(context, runtime, new InvocationsAdapter(name));

    private static async Task PingAsync(HttpContext context, ServingRuntime runtime)
    {
        if (!runtime.Models.IsReady)
        {
            await Problems.WriteAsync(context, 503, "Not ready", ProtocolSupport.NotReadyDetail(runtime), "models").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = 1;
        await context.Response.Body.WriteAsync(PingBody, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// One <c>/invocations</c> request. Like MLflow, a bad value rejects the whole request: 400 naming the first bad
    /// field with its item index. The answer is <c>{"predictions": [score, ...]}</c>; for a model with pre-model rules it
    /// is one record per item, <c>{"score", "label", "rule", "reason"}</c> (score null and rule named when a rule
    /// decided), as MLflow writes a model's DataFrame output.
    /// </summary>
    private sealed class InvocationsAdapter(string? name) : ScoringAdapter
    {
        private bool _csv;
        private JsonInput? _input;
        private string _items = "rows";

        public override string Route => InvocationsRoute;

        public override string MediaTypes => "application/json or text/csv (MLflow scoring protocol)";

        public override string ModelField => name is null ? "model" : "name";

        public override bool ModelInPath => true;

        public override bool RejectsWholeRequest => true;

        public override bool Accepts(string? contentType)
        {
            _csv = ProtocolSupport.IsMediaType(contentType, "text/csv");
            return _csv || ProtocolSupport.IsMediaType(contentType, "application/json");
        }

        public override ModelRequest? ModelOf(ServingRuntime runtime) =>
            (name ?? runtime.DefaultModelName) is { } model ? ModelRequest.Parse(model) : null;

        public override InputProblem NoModel(ServingRuntime runtime) => new("No default model",
            $"Several models are served and none is the default: POST /models/{{name}}/invocations or set VIGIL_DEFAULT_MODEL (served: {string.Join(", ", runtime.Models.Specs.Select(s => s.Name))}).", "model");

        public override void Scan(ReadOnlySequence<byte> body, ServedModel? model)
        {
            if (!_csv)
            {
                _input = MlflowApi.Scan(body, model!);
                _items = _input.Format == JsonFormat.InputsColumnar ? "inputs" : _input.Prefix;
                Items = _input.Items;
            }
        }

        public override InputProblem? Read(ScoringExchange exchange, FeatureBatch batch)
        {
            if (_csv)
            {
                return MlflowCsv.Read(exchange, batch);
            }

            var input = _input!;
            var failed = input.Format == JsonFormat.InputsColumnar ? ReadColumnar(exchange.Body, batch, input) : ReadRows(exchange.Body, batch, input);
            if (failed < 0)
            {
                return null;
            }

            var error = batch.ErrorOf(failed)!.Value;
            var field = batch.Model.InputIndex(error.Field) < 0
                ? error.Field
                : input.Format switch
                {
                    JsonFormat.InputsColumnar => $"inputs.{error.Field}[{failed}]",
                    _ => $"{input.Prefix}[{failed}].{error.Field}",
                };
            return new InputProblem("Invalid input", $"{field} {error.Detail}. MLflow rejects the whole request when one item is invalid.", field, Problems.InvalidParameterValue);
        }

        public override InputProblem FailedItem(int item, ItemError error, int status)
        {
            var field = $"{_items}[{item}]";
            return new InputProblem(status >= 500 ? "Item failed" : "Invalid input", $"The {error.Field} of {field} {error.Detail}. MLflow rejects the whole request when one item is invalid.", field, status >= 500 ? null : Problems.InvalidParameterValue, status);
        }

        public override int LoggedRows(FeatureBatch batch) => batch.Items;

        public override void Write(Utf8JsonWriter w, FeatureBatch batch)
        {
            var records = batch.Model.Rules.Count > 0;
            w.WriteStartObject();
            w.WriteStartArray("predictions"u8);
            foreach (ref readonly var d in batch.Decisions)
            {
                if (!records)
                {
                    w.WriteNumberValue(d.Score);
                    continue;
                }

                w.WriteStartObject();
                if (d.Rule is null)
                {
                    w.WriteNumber("score"u8, d.Score);
                }
                else
                {
                    w.WriteNull("score"u8);
                }

                w.WriteNumber("label"u8, d.Label);
                w.WriteString("rule"u8, d.Rule);
                w.WriteString("reason"u8, d.RuleReason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    /// <summary>First pass: the format key, the item count and where the items start; checks the shape of the body.</summary>
    private static JsonInput Scan(ReadOnlySequence<byte> body, ServedModel model)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException("body", $"The body must be a JSON object with exactly one of {Keys} (and optionally params).");
        }

        JsonInput? input = null;
        string? key = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            JsonFormat format;
            if (reader.ValueTextEquals("dataframe_split"u8))
            {
                format = JsonFormat.Split;
            }
            else if (reader.ValueTextEquals("dataframe_records"u8))
            {
                format = JsonFormat.Records;
            }
            else if (reader.ValueTextEquals("instances"u8))
            {
                format = JsonFormat.Instances;
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                format = JsonFormat.InputsRows;
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }
            else
            {
                var unknown = reader.GetString()!;
                throw new RequestShapeException(unknown, $"Unknown key '{ProtocolSupport.Clip(unknown)}': the body takes exactly one of {Keys} (and optionally params).");
            }

            var name = reader.GetString()!;
            if (input is not null)
            {
                throw new RequestShapeException(name, $"The body has both '{key}' and '{name}': send exactly one of {Keys}.");
            }

            key = name;
            reader.Read();
            input = format switch
            {
                JsonFormat.Split => ScanSplit(ref reader, model),
                JsonFormat.InputsRows when reader.TokenType == JsonTokenType.StartObject => ScanColumnar(ref reader, model),
                _ => ScanArray(ref reader, format, name),
            };
        }

        // Reading to the end validates the rest of the document.
        while (reader.Read())
        {
        }

        return input ?? throw new RequestShapeException("body", $"The body has none of {Keys}: send exactly one of them.");
    }

    private static JsonInput ScanArray(ref Utf8JsonReader reader, JsonFormat format, string key)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new RequestShapeException(key, format == JsonFormat.Records
                ? "\"dataframe_records\" must be an array of objects {\"column\": value}."
                : $"\"{key}\" must be an array of objects {{\"column\": value}} or of rows [value, ...] in feature order" + (format == JsonFormat.InputsRows ? ", or an object of columns {\"column\": [values]}." : "."));
        }

        var input = new JsonInput(format, key) { DataOffset = reader.BytesConsumed, DataState = reader.CurrentState };
        input.Items = CountElements(ref reader);
        return input.Items > 0 ? input : throw new RequestShapeException(key, $"\"{key}\" is empty: send at least one row.");
    }

    private static JsonInput ScanSplit(ref Utf8JsonReader reader, ServedModel model)
    {
        const string Key = "dataframe_split";
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RequestShapeException(Key, "\"dataframe_split\" must be an object {\"columns\": [...], \"data\": [[...], ...]}.");
        }

        var input = new JsonInput(JsonFormat.Split, Key + ".data");
        var hasData = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("columns"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new RequestShapeException(Key + ".columns", "\"columns\" must be an array of column names.");
                }

                var columns = new List<int>(model.InputCount);
                var names = model.Rules.Count > 0 ? new List<string?>(model.InputCount) : null;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new RequestShapeException($"{Key}.columns[{columns.Count}]", "Each column name must be a string.");
                    }

                    var feature = JsonValues.FindInput(ref reader, model);
                    columns.Add(feature);
                    names?.Add(feature < 0 ? reader.GetString() : null);
                }

                input.Columns = [.. columns];
                input.ExtraNames = names is null ? null : [.. names];
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new RequestShapeException(Key + ".data", "\"data\" must be an array of rows [[value, ...], ...].");
                }

                hasData = true;
                input.DataOffset = reader.BytesConsumed;
                input.DataState = reader.CurrentState;
                input.Items = CountElements(ref reader);
            }
            else if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                reader.Skip();
            }
            else
            {
                var unknown = reader.GetString()!;
                throw new RequestShapeException($"{Key}.{unknown}", $"Unknown key '{ProtocolSupport.Clip(unknown)}' in dataframe_split: it takes columns, data and index.");
            }
        }

        if (!hasData)
        {
            throw new RequestShapeException(Key + ".data", "\"dataframe_split\" has no \"data\" array.");
        }

        return input.Items > 0 ? input : throw new RequestShapeException(Key + ".data", "\"data\" is empty: send at least one row.");
    }

    private static JsonInput ScanColumnar(ref Utf8JsonReader reader, ServedModel model)
    {
        var input = new JsonInput(JsonFormat.InputsColumnar, "inputs") { Items = -1 };
        var columns = new List<int>(model.InputCount);
        var offsets = new List<long>(model.InputCount);
        var states = new List<JsonReaderState>(model.InputCount);
        var keepExtras = model.Rules.Count > 0;
        var names = new List<string?>(keepExtras ? model.InputCount : 0);
        string? first = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var feature = JsonValues.FindInput(ref reader, model);
            var name = feature >= 0 ? model.InputNames[feature] : reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw new RequestShapeException($"inputs.{name}", $"Column '{ProtocolSupport.Clip(name)}' must be an array of values (columnar inputs: {{\"column\": [v0, v1, ...]}}).");
            }

            var offset = reader.BytesConsumed;
            var state = reader.CurrentState;
            var count = CountElements(ref reader);
            if (input.Items < 0)
            {
                input.Items = count;
                first = name;
            }
            else if (count != input.Items)
            {
                throw new RequestShapeException($"inputs.{name}", $"Column '{ProtocolSupport.Clip(name)}' has {count} values but '{first}' has {input.Items}: every column needs one value per row.");
            }

            if (feature >= 0 || keepExtras)
            {
                columns.Add(feature);
                offsets.Add(offset);
                states.Add(state);
                names.Add(feature < 0 ? name : null);
            }
        }

        if (input.Items <= 0)
        {
            throw new RequestShapeException("inputs", "\"inputs\" has no rows: send {\"column\": [v0, v1, ...], ...} with at least one value per column.");
        }

        input.Columns = [.. columns];
        input.ColumnOffsets = [.. offsets];
        input.ColumnStates = [.. states];
        input.ExtraNames = keepExtras ? [.. names] : null;
        return input;
    }

    /// <summary>Counts the elements of the array the reader is on (StartArray), leaving it on the EndArray.</summary>
    private static int CountElements(ref Utf8JsonReader reader)
    {
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            count++;
            reader.Skip();
        }

        return count;
    }

    /// <summary>Second pass over an array of items (objects or rows). Returns the first failed item, or -1.</summary>
    private static int ReadRows(ReadOnlySequence<byte> body, FeatureBatch batch, JsonInput input)
    {
        var reader = new Utf8JsonReader(body.Slice(input.DataOffset), isFinalBlock: true, input.DataState);
        var objects = input.Format != JsonFormat.Split;
        var rows = input.Format != JsonFormat.Records;
        var width = input.Columns?.Length ?? batch.Model.InputCount;
        for (var index = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; index++)
        {
            batch.BeginItem();
            if (reader.TokenType == JsonTokenType.StartObject && objects)
            {
                JsonValues.ReadObject(ref reader, batch);
            }
            else if (reader.TokenType == JsonTokenType.StartArray && rows)
            {
                var count = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var feature = count >= width ? -1 : input.Columns is null ? count : input.Columns[count];
                    if (feature >= 0 && !batch.ItemFailed)
                    {
                        JsonValues.ReadValue(ref reader, batch, feature);
                    }
                    else if (feature < 0 && count < width && input.ExtraNames?[count] is { } extra)
                    {
                        JsonValues.ReadExtra(ref reader, batch, extra);
                    }
                    else
                    {
                        reader.Skip();
                    }

                    count++;
                }

                if (count != width)
                {
                    batch.Fail($"{input.Prefix}[{index}]", input.Columns is null
                        ? $"has {count} values; a row without column names needs one value per feature, in order: {string.Join(", ", batch.Model.InputNames)}"
                        : $"has {count} values for {width} columns");
                }
            }
            else
            {
                batch.Fail($"{input.Prefix}[{index}]", objects && rows
                    ? "must be an object {\"column\": value} or a row [value, ...] in feature order"
                    : objects ? "must be an object {\"column\": value}" : "must be a row [value, ...]");
                reader.Skip();
            }

            batch.EndItem();
            if (batch.ErrorOf(index) is not null)
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>Second pass over columnar inputs: one resumable reader per column. Returns the first failed item, or -1.</summary>
    private static int ReadColumnar(ReadOnlySequence<byte> body, FeatureBatch batch, JsonInput input)
    {
        var columns = input.Columns!;
        var offsets = input.ColumnOffsets!;
        var states = input.ColumnStates!;
        for (var index = 0; index < input.Items; index++)
        {
            batch.BeginItem();
            for (var c = 0; c < columns.Length; c++)
            {
                var reader = new Utf8JsonReader(body.Slice(offsets[c]), isFinalBlock: true, states[c]);
                reader.Read();
                if (columns[c] < 0)
                {
                    JsonValues.ReadExtra(ref reader, batch, input.ExtraNames![c]!);
                }
                else if (batch.ItemFailed)
                {
                    reader.Skip();
                }
                else
                {
                    JsonValues.ReadValue(ref reader, batch, columns[c]);
                }

                offsets[c] += reader.BytesConsumed;
                states[c] = reader.CurrentState;
            }

            batch.EndItem();
            if (batch.ErrorOf(index) is not null)
            {
                return index;
            }
        }

        return -1;
    }

    private enum JsonFormat
    {
        Split,
        Records,
        Instances,
        InputsRows,
        InputsColumnar,
    }

    /// <summary>What the first pass found.</summary>
    private sealed class JsonInput(JsonFormat format, string prefix)
    {
        public JsonFormat Format { get; } = format;

        /// <summary>The path of the item array in error fields, e.g. <c>dataframe_split.data</c>.</summary>
        public string Prefix { get; } = prefix;

        public int Items { get; set; }

        /// <summary>Where the items start (just after the array's '[').</summary>
        public long DataOffset { get; set; }

        public JsonReaderState DataState { get; set; }

        /// <summary>Per column: the feature it feeds or -1 (split with columns; columnar inputs: features, and other columns only for a model with rules).</summary>
        public int[]? Columns { get; set; }

        public long[]? ColumnOffsets { get; set; }

        public JsonReaderState[]? ColumnStates { get; set; }

        /// <summary>Per column (split, or columnar inputs): its name when it is not a feature and the model has rules (they may read it), else null.</summary>
        public string?[]? ExtraNames { get; set; }
    }

    /// <summary>Documentation shape of the request body (one of the four keys; or text/csv with a header row).</summary>
    internal sealed record MlflowRequestDoc(
        [property: JsonPropertyName("dataframe_split")] DataframeSplitDoc? DataframeSplit,
        [property: JsonPropertyName("dataframe_records")] IReadOnlyList<Dictionary<string, JsonElement>>? DataframeRecords,
        IReadOnlyList<JsonElement>? Instances,
        JsonElement? Inputs,
        Dictionary<string, JsonElement>? Params);

    /// <summary>Documentation shape of <c>dataframe_split</c>.</summary>
    internal sealed record DataframeSplitDoc(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<JsonElement>> Data, IReadOnlyList<JsonElement>? Index);

    /// <summary>Documentation shape of the response: one score per row, in order.</summary>
    internal sealed record MlflowResponseDoc(IReadOnlyList<double> Predictions);
}

