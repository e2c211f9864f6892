using System.Buffers;
using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// Turns a <see cref="Frame"/> into a <see cref="FeatureMatrix"/>: numeric columns (Float64, Float32) are
/// imputed then min-max scaled like scikit-learn's <c>SimpleImputer(strategy="median")</c> followed by
/// <c>MinMaxScaler</c>; categorical columns are one-hot encoded over their most frequent training values
/// plus one "other" slot. Timestamp and String columns are never features. Fitted once on training data,
/// saved in the model bundle as <c>transform.json</c>, and applied unchanged at scoring time. Arithmetic
/// is done in double and the result cast to float.
/// </summary>
public sealed class FeatureTransform
{
    /// <summary>The name suffix of a categorical column's "other" slot: <c>column=&lt;other&gt;</c>.</summary>
    public const string OtherSlot = "<other>";

    private const double ConstantRange = 10 * 2.220446049250313e-16; // sklearn: data_range < 10 * np.finfo(float64).eps is treated as constant

    private readonly Input[] _inputs;
    private readonly string[] _outputs;
    private readonly ColumnSchema[] _schema;

    private FeatureTransform(Scaling scaling, MissingPolicy missing, int maxCategories, Input[] inputs)
    {
        Scaling = scaling;
        MissingPolicy = missing;
        MaxCategories = maxCategories;
        _inputs = inputs;
        var outputs = new List<string>();
        _schema = new ColumnSchema[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = inputs[i];
            input.OutputStart = outputs.Count;
            _schema[i] = new ColumnSchema(input.Name, input.Kind);
            if (input.Kind == ColumnKind.Categorical)
            {
                foreach (var c in input.Categories)
                {
                    outputs.Add($"{input.Name}={c}");
                }

                outputs.Add($"{input.Name}={OtherSlot}");
            }
            else
            {
                outputs.Add(input.Name);
            }
        }

        _outputs = [.. outputs];
    }

    /// <summary>The input columns (names and kinds) the transform was fitted on and requires.</summary>
    public IReadOnlyList<ColumnSchema> InputSchema => _schema;

    /// <summary>The names of the output features, in matrix column order.</summary>
    public IReadOnlyList<string> OutputColumns => _outputs;

    /// <summary>The number of output features.</summary>
    public int OutputCount => _outputs.Length;

    /// <summary>The scaling applied to numeric columns.</summary>
    public Scaling Scaling { get; }

    /// <summary>The missing-value policy.</summary>
    public MissingPolicy MissingPolicy { get; }

    /// <summary>The one-hot width limit used at fit time.</summary>
    public int MaxCategories { get; }

    /// <summary>The first output feature of input column <paramref name="input"/>.</summary>
    internal int OutputStartOf(int input) => _inputs[input].OutputStart;

    /// <summary>The number of output features of input column <paramref name="input"/> (one-hot width for categoricals).</summary>
    internal int OutputWidthOf(int input) =>
        _inputs[input].Kind == ColumnKind.Categorical ? _inputs[input].Categories.Length + 1 : 1;

    /// <summary>
    /// The input group of each output feature: <paramref name="numericGroup"/> for numeric columns, the column
    /// name for every one-hot slot of a categorical column.
    /// </summary>
    internal string[] OutputGroups(string numericGroup)
    {
        var groups = new string[_outputs.Length];
        for (var i = 0; i < _inputs.Length; i++)
        {
            var name = _inputs[i].Kind == ColumnKind.Categorical ? _inputs[i].Name : numericGroup;
            groups.AsSpan(OutputStartOf(i), OutputWidthOf(i)).Fill(name);
        }

        return groups;
    }

    /// <summary>The index of input column <paramref name="name"/> in <see cref="InputSchema"/>, or -1.</summary>
    public int InputIndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (var i = 0; i < _inputs.Length; i++)
        {
            if (string.Equals(_inputs[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Encodes one numeric value of input column <paramref name="input"/> into <paramref name="row"/> (one row of
    /// <see cref="OutputCount"/> features), exactly as <see cref="Transform(Frame)"/> would; NaN is a missing value.
    /// Returns null on success, otherwise what is wrong (nothing is thrown: serving validates item by item).
    /// </summary>
    public string? TryEncodeNumeric(int input, double value, Span<float> row)
    {
        var column = _inputs[input];
        if (column.Kind == ColumnKind.Categorical)
        {
            return "expected a string category, got a number";
        }

        var problem = Encode(column, value, out var encoded);
        if (problem is null)
        {
            row[column.OutputStart] = encoded;
        }

        return problem;
    }

    /// <summary>
    /// Encodes one category of categorical input <paramref name="input"/> into <paramref name="row"/> (one-hot; an
    /// unseen category goes to the "other" slot). Returns null on success, otherwise what is wrong.
    /// </summary>
    public string? TryEncodeCategory(int input, ReadOnlySpan<char> value, Span<float> row)
    {
        var column = _inputs[input];
        if (column.Kind != ColumnKind.Categorical)
        {
            return "expected a number, got a string";
        }

        var slots = row.Slice(column.OutputStart, column.Categories.Length + 1);
        slots.Clear();
        slots[column.SlotLookup.TryGetValue(value, out var slot) ? slot : column.Categories.Length] = 1f;
        return null;
    }

    /// <summary>
    /// Encodes a missing value (absent or null) of input <paramref name="input"/> into <paramref name="row"/> under
    /// <see cref="MissingPolicy"/>. Returns null on success, otherwise what is wrong.
    /// </summary>
    public string? TryEncodeMissing(int input, Span<float> row)
    {
        var column = _inputs[input];
        if (column.Kind == ColumnKind.Categorical)
        {
            if (MissingPolicy == MissingPolicy.Error)
            {
                return MissingRequired;
            }

            row.Slice(column.OutputStart, column.Categories.Length + 1).Clear();
            return null;
        }

        return TryEncodeNumeric(input, double.NaN, row);
    }

    // What is wrong with a value, in the same words for batch (FeatureDataException) and online (per-item error) scoring.
    private const string MissingRequired = "is required (missing value and the model's missing policy is Error)";
    private const string MissingNoDefault = "is required: the value is missing and the model's schema gives no default for it";
    private const string NotFinite = "value is not finite";
    private const string Overflow = "value is too large: it overflows the model's float features";

    /// <summary>
    /// The one numeric encoding core of batch (<see cref="TransformRows"/>) and online (<see cref="TryEncodeNumeric"/>)
    /// scoring: NaN is a missing value imputed under <see cref="MissingPolicy"/>; an infinite value, or a finite one
    /// that overflows float32 after scaling, is refused. Returns null and the feature, or what is wrong.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private string? Encode(Input column, double value, out float encoded)
    {
        if (double.IsNaN(value))
        {
            if (MissingPolicy == MissingPolicy.Error)
            {
                encoded = 0;
                return MissingRequired;
            }

            if ((MissingPolicy is MissingPolicy.Median or MissingPolicy.Default) && !double.IsNaN(column.Median))
            {
                value = column.Median; // the training median, or the schema's default of an imported (ONNX) model
            }
            else if (MissingPolicy == MissingPolicy.Default)
            {
                encoded = 0;
                return MissingNoDefault;
            }
            else
            {
                value = 0.0;
            }
        }
        else if (!double.IsFinite(value))
        {
            encoded = 0;
            return NotFinite;
        }

        encoded = Scaling == Scaling.MinMax ? (float)((value * column.Scale) + column.Offset) : (float)value;

        // A finite double can still overflow the float feature matrix (or the min-max scaling).
        return float.IsFinite(encoded) ? null : Overflow;
    }

    private static void ThrowData(Input column, int row, string problem) => throw new FeatureDataException(column.Name, row, problem);

    /// <summary>Learns medians, min/max and categories from <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">A named feature is absent, excluded, or a Timestamp/String column; no feature is left; a column has no values.</exception>
    /// <exception cref="FeatureDataException">A value is infinite, or missing under <see cref="MissingPolicy.Error"/>.</exception>
    public static FeatureTransform Fit(Frame data, FeatureTransformOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var columns = SelectFeatures(data, options);
        var inputs = new Input[columns.Count];
        var errors = new Exception?[columns.Count];

        // Columns are independent: fit them in parallel, then report the first failing column in column order.
        Parallel.For(0, inputs.Length, i =>
        {
            try
            {
                inputs[i] = columns[i] is CategoricalColumn cat
                    ? FitCategorical(cat, options)
                    : FitNumeric(columns[i], options);
            }
            catch (Exception ex) when (ex is ArgumentException or FeatureDataException)
            {
                errors[i] = ex;
            }
        });
        foreach (var error in errors)
        {
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }

        return new FeatureTransform(options.Scaling, options.MissingPolicy, options.MaxCategories, inputs);
    }

    /// <summary>
    /// A transform that passes the named Float64 columns through unchanged (no scaling), in order: the input of
    /// a model that does its own preprocessing (ONNX). A missing value becomes the column's entry in
    /// <paramref name="defaults"/>, or is an error when it has none.
    /// </summary>
    internal static FeatureTransform PassThrough(IReadOnlyList<string> names, IReadOnlyDictionary<string, double> defaults)
    {
        var inputs = new Input[names.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var median = defaults.TryGetValue(names[i], out var d) ? d : double.NaN;
            inputs[i] = new Input(names[i], ColumnKind.Float64, median, 0, 0, 1, 0);
        }

        return new FeatureTransform(Scaling.None, MissingPolicy.Default, 0, inputs);
    }

    /// <summary>Transforms every row of <paramref name="data"/> into a new matrix.</summary>
    /// <exception cref="SchemaMismatchException">A required column is missing or has another kind.</exception>
    /// <exception cref="FeatureDataException">A value is infinite, or missing under <see cref="MissingPolicy.Error"/>.</exception>
    public FeatureMatrix Transform(Frame data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var values = new float[data.RowCount * _outputs.Length];
        Transform(data, values);
        return new FeatureMatrix(values, data.RowCount, _outputs);
    }

    /// <summary>
    /// Transforms every row of <paramref name="data"/> into <paramref name="destination"/> (row-major,
    /// at least <c>RowCount * OutputCount</c> values) without allocating per row.
    /// </summary>
    public void Transform(Frame data, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (destination.Length < (long)data.RowCount * _outputs.Length)
        {
            throw new ArgumentException(
                $"The destination holds {destination.Length} values but {data.RowCount} rows x {_outputs.Length} features are needed.", nameof(destination));
        }

        var bound = Bind(data);
        try
        {
            TransformRows(bound, 0, data.RowCount, destination);
        }
        finally
        {
            bound.Dispose();
        }
    }

    /// <summary>Checks the schema of <paramref name="data"/> and resolves its columns; dispose the result.</summary>
    internal BoundFrame Bind(Frame data)
    {
        var columns = ArrayPool<Column>.Shared.Rent(_inputs.Length);
        var maps = ArrayPool<int[]?>.Shared.Rent(_inputs.Length);
        maps.AsSpan(0, _inputs.Length).Clear();
        var bound = new BoundFrame(columns, maps, _inputs.Length);
        try
        {
            BindColumns(data, columns, maps);
        }
        catch
        {
            bound.Dispose();
            throw;
        }

        return bound;
    }

    private void BindColumns(Frame data, Column[] columns, int[]?[] maps)
    {
        for (var i = 0; i < _inputs.Length; i++)
        {
            var input = _inputs[i];
            if (!data.TryGetColumn(input.Name, out var column))
            {
                throw new SchemaMismatchException(input.Name, input.Kind, null);
            }

            if (column.Kind != input.Kind)
            {
                throw new SchemaMismatchException(input.Name, input.Kind, column.Kind);
            }

            columns[i] = column;
            if (column is CategoricalColumn cat)
            {
                var dictionary = cat.Dictionary;
                var map = ArrayPool<int>.Shared.Rent(Math.Max(1, dictionary.Count));
                for (var c = 0; c < dictionary.Count; c++)
                {
                    map[c] = input.SlotOf.TryGetValue(dictionary[c], out var slot) ? slot : input.Categories.Length;
                }

                maps[i] = map;
            }
        }
    }

    /// <summary>Writes rows [<paramref name="start"/>, start + <paramref name="count"/>) into <paramref name="destination"/>.</summary>
    internal void TransformRows(BoundFrame bound, int start, int count, Span<float> destination)
    {
        var dest = destination[..(count * _outputs.Length)];
        for (var i = 0; i < _inputs.Length; i++)
        {
            TransformInput(bound, i, start, count, dest);
        }
    }

    /// <summary>
    /// Checks every value of <paramref name="data"/> as <see cref="Transform(Frame)"/> would (column after column, row
    /// after row: the same first error), without keeping the features: rows are encoded a block at a time into one
    /// small buffer.
    /// </summary>
    /// <exception cref="SchemaMismatchException">A required column is missing or has another kind.</exception>
    /// <exception cref="FeatureDataException">A value is infinite, or missing under <see cref="MissingPolicy.Error"/>.</exception>
    internal void Check(Frame data)
    {
        const int BlockRows = 1024;
        var bound = Bind(data);
        var scratch = ArrayPool<float>.Shared.Rent(BlockRows * _outputs.Length);
        try
        {
            for (var i = 0; i < _inputs.Length; i++)
            {
                for (var start = 0; start < data.RowCount; start += BlockRows)
                {
                    var count = Math.Min(BlockRows, data.RowCount - start);
                    TransformInput(bound, i, start, count, scratch.AsSpan(0, count * _outputs.Length));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
            bound.Dispose();
        }
    }

    /// <summary>Writes the features of input <paramref name="i"/> for rows [<paramref name="start"/>, start + <paramref name="count"/>) into <paramref name="dest"/> (count rows).</summary>
    private void TransformInput(BoundFrame bound, int i, int start, int count, Span<float> dest)
    {
        var width = _outputs.Length;
        var input = _inputs[i];
        var o = input.OutputStart;
        switch (bound.Columns[i])
        {
            case Float64Column f64:
                {
                    var values = f64.Values.Slice(start, count);
                    for (var r = 0; r < count; r++)
                    {
                        if (Encode(input, values[r], out dest[(r * width) + o]) is { } problem)
                        {
                            ThrowData(input, start + r, problem);
                        }
                    }

                    break;
                }

            case Float32Column f32:
                {
                    var values = f32.Values.Slice(start, count);
                    for (var r = 0; r < count; r++)
                    {
                        if (Encode(input, values[r], out dest[(r * width) + o]) is { } problem)
                        {
                            ThrowData(input, start + r, problem);
                        }
                    }

                    break;
                }

            case CategoricalColumn cat:
                {
                    var codes = cat.Codes.Slice(start, count);
                    var map = bound.Maps[i]!;
                    var slots = input.Categories.Length + 1;
                    for (var r = 0; r < count; r++)
                    {
                        var row = dest.Slice((r * width) + o, slots);
                        row.Clear();
                        var code = codes[r];
                        if (code >= 0)
                        {
                            row[map[code]] = 1f;
                        }
                        else if (MissingPolicy == MissingPolicy.Error)
                        {
                            ThrowData(input, start + r, MissingRequired);
                        }
                    }

                    break;
                }

            default:
                throw new InvalidOperationException($"Column '{input.Name}' has the unsupported kind {bound.Columns[i].Kind}.");
        }
    }

    /// <summary>The serialisable form written to <c>transform.json</c>.</summary>
    internal TransformDocument ToDocument()
    {
        var inputs = new List<TransformInput>(_inputs.Length);
        foreach (var input in _inputs)
        {
            inputs.Add(new TransformInput
            {
                Name = input.Name,
                Kind = input.Kind,
                Median = double.IsNaN(input.Median) ? null : input.Median,
                Min = input.Kind == ColumnKind.Categorical ? null : input.Min,
                Max = input.Kind == ColumnKind.Categorical ? null : input.Max,
                Scale = input.Kind == ColumnKind.Categorical ? null : input.Scale,
                Offset = input.Kind == ColumnKind.Categorical ? null : input.Offset,
                Categories = input.Kind == ColumnKind.Categorical ? [.. input.Categories] : null,
            });
        }

        return new TransformDocument
        {
            FormatVersion = TransformDocument.CurrentVersion,
            Scaling = Scaling,
            MissingPolicy = MissingPolicy,
            MaxCategories = MaxCategories,
            Inputs = inputs,
        };
    }

    /// <summary>Rebuilds a transform from its document; throws <see cref="InvalidDataException"/> when it is inconsistent.</summary>
    internal static FeatureTransform FromDocument(TransformDocument doc)
    {
        if (doc.FormatVersion != TransformDocument.CurrentVersion)
        {
            throw new InvalidDataException($"has transform format version {doc.FormatVersion}; this build reads version {TransformDocument.CurrentVersion}");
        }

        if (doc.Inputs is not { Count: > 0 } || !Enum.IsDefined(doc.Scaling) || !Enum.IsDefined(doc.MissingPolicy))
        {
            throw new InvalidDataException("has no inputs or an unknown scaling / missing policy");
        }

        var inputs = new Input[doc.Inputs.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Length; i++)
        {
            var d = doc.Inputs[i];
            if (d is null || string.IsNullOrEmpty(d.Name) || !names.Add(d.Name))
            {
                throw new InvalidDataException($"input {i} has no name or a duplicate name");
            }

            inputs[i] = d.Kind switch
            {
                ColumnKind.Categorical when d.Categories is not null => Input.Categorical(d.Name, [.. d.Categories]),
                ColumnKind.Float64 or ColumnKind.Float32 when d.Min is { } min && d.Max is { } max && d.Scale is { } scale && d.Offset is { } offset
                    => new Input(d.Name, d.Kind, d.Median ?? double.NaN, min, max, scale, offset),
                _ => throw new InvalidDataException($"input '{d.Name}' ({d.Kind}) lacks its fitted parameters or has an unsupported kind"),
            };
        }

        return new FeatureTransform(doc.Scaling, doc.MissingPolicy, doc.MaxCategories, inputs);
    }

    private static List<Column> SelectFeatures(Frame data, FeatureTransformOptions options)
    {
        var result = new List<Column>();
        if (options.Features is { } names)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (!data.TryGetColumn(name, out var column))
                {
                    throw new ArgumentException(
                        $"Feature column '{name}' is not in the data; columns are: {string.Join(", ", data.Columns.Select(c => c.Name))}.", nameof(options));
                }

                if (options.Exclude.Contains(name))
                {
                    throw new ArgumentException($"Column '{name}' is listed as a feature but is also excluded (label, id or an excluded column).", nameof(options));
                }

                if (!IsFeatureKind(column.Kind))
                {
                    throw new ArgumentException(
                        $"Column '{name}' is {column.Kind}; Timestamp and String columns are never features (derive numeric or categorical columns from them first).", nameof(options));
                }

                if (!seen.Add(name))
                {
                    throw new ArgumentException($"Feature column '{name}' is listed twice.", nameof(options));
                }

                result.Add(column);
            }
        }
        else
        {
            foreach (var column in data.Columns)
            {
                if (IsFeatureKind(column.Kind) && !options.Exclude.Contains(column.Name))
                {
                    result.Add(column);
                }
            }
        }

        if (result.Count == 0)
        {
            throw new ArgumentException(
                $"No feature columns: the data has no Float64, Float32 or Categorical column outside the excluded set ({string.Join(", ", options.Exclude)}).", nameof(data));
        }

        return result;
    }

    private static bool IsFeatureKind(ColumnKind kind) =>
        kind is ColumnKind.Float64 or ColumnKind.Float32 or ColumnKind.Categorical;

    private static Input FitNumeric(Column column, FeatureTransformOptions options)
    {
        var n = column.Length;
        var window = OrderStatistics.MedianWindow.Start(column);
        var count = 0;
        var missing = 0;
        double lowest = double.PositiveInfinity, highest = double.NegativeInfinity;
        ReadOnlySpan<double> float64 = column is Float64Column f64 ? f64.Values : default;
        var isFloat64 = column.Kind == ColumnKind.Float64;
        for (var r = 0; r < n; r++)
        {
            var v = isFloat64 ? float64[r] : column.GetDouble(r);
            if (double.IsFinite(v))
            {
                // One pass: range and median window together.
                if (window.Active)
                {
                    window.Add(v);
                }

                count++;
                lowest = Math.Min(lowest, v);
                highest = Math.Max(highest, v);
                continue;
            }

            if (double.IsNaN(v))
            {
                if (options.MissingPolicy == MissingPolicy.Error)
                {
                    throw new FeatureDataException(column.Name, r, "missing value and MissingPolicy is Error");
                }

                missing++;
                continue;
            }

            throw new FeatureDataException(column.Name, r, string.Create(CultureInfo.InvariantCulture, $"value {v} is not finite"));
        }

        var median = double.NaN;
        if (count > 0)
        {
            if (!window.TryMedian(count, out median))
            {
                // A small column, or one the window missed: the present values copied, two bucketing passes and a
                // selection within one bucket; the value a sort would give, as the window's.
                median = OrderStatistics.Median(PresentValues(column, count), lowest, highest);
            }
        }
        else if (options.MissingPolicy == MissingPolicy.Median)
        {
            throw new ArgumentException(
                $"Column '{column.Name}' has no values in the training data, so its median cannot be imputed; exclude it from the features or fill its values.", nameof(column));
        }

        double min;
        double max;
        if (count == 0)
        {
            min = max = 0;
        }
        else
        {
            min = lowest;
            max = highest;
            if (missing > 0 && options.MissingPolicy == MissingPolicy.Zero)
            {
                // The scaler is fitted on the imputed column, as in an imputer -> scaler pipeline.
                min = Math.Min(min, 0);
                max = Math.Max(max, 0);
            }
        }

        var range = max - min;
        if (range < ConstantRange)
        {
            range = 1.0;
        }

        var scale = 1.0 / range;
        var offset = 0.0 - (min * scale);
        return new Input(column.Name, column.Kind, median, min, max, scale, offset);
    }

    /// <summary>The <paramref name="count"/> finite values of numeric <paramref name="column"/>, in row order.</summary>
    private static double[] PresentValues(Column column, int count)
    {
        var present = GC.AllocateUninitializedArray<double>(count);
        var taken = 0;
        for (var r = 0; r < column.Length; r++)
        {
            var v = column.GetDouble(r);
            if (double.IsFinite(v))
            {
                present[taken++] = v;
            }
        }

        return present;
    }

    private static Input FitCategorical(CategoricalColumn column, FeatureTransformOptions options)
    {
        var dictionary = column.Dictionary;
        var counts = new long[dictionary.Count];
        var codes = column.Codes;
        for (var r = 0; r < codes.Length; r++)
        {
            var code = codes[r];
            if (code >= 0)
            {
                counts[code]++;
            }
            else if (options.MissingPolicy == MissingPolicy.Error)
            {
                throw new FeatureDataException(column.Name, r, "missing value and MissingPolicy is Error");
            }
        }

        // Merge duplicate dictionary entries by value, then keep the most frequent (ties: ordinal order).
        var byValue = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var c = 0; c < counts.Length; c++)
        {
            if (counts[c] > 0)
            {
                byValue[dictionary[c]] = byValue.GetValueOrDefault(dictionary[c]) + counts[c];
            }
        }

        var ranked = byValue.ToList();
        ranked.Sort(static (a, b) =>
        {
            var byCount = b.Value.CompareTo(a.Value);
            return byCount != 0 ? byCount : string.CompareOrdinal(a.Key, b.Key);
        });
        var keep = Math.Min(options.MaxCategories, ranked.Count);
        var categories = new string[keep];
        for (var i = 0; i < keep; i++)
        {
            categories[i] = ranked[i].Key;
        }

        return Input.Categorical(column.Name, categories);
    }

    /// <summary>A fitted input column.</summary>
    private sealed class Input
    {
        public Input(string name, ColumnKind kind, double median, double min, double max, double scale, double offset)
        {
            Name = name;
            Kind = kind;
            Median = median;
            Min = min;
            Max = max;
            Scale = scale;
            Offset = offset;
            Categories = [];
            SlotOf = new Dictionary<string, int>(StringComparer.Ordinal);
            SlotLookup = SlotOf.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public static Input Categorical(string name, string[] categories)
        {
            var input = new Input(name, ColumnKind.Categorical, double.NaN, 0, 0, 1, 0) { Categories = categories };
            for (var i = 0; i < categories.Length; i++)
            {
                if (!input.SlotOf.TryAdd(categories[i], i))
                {
                    throw new InvalidDataException($"input '{name}' lists category '{categories[i]}' twice");
                }
            }

            return input;
        }

        public string Name { get; }

        public ColumnKind Kind { get; }

        public double Median { get; }

        public double Min { get; }

        public double Max { get; }

        public double Scale { get; }

        public double Offset { get; }

        public string[] Categories { get; private init; }

        public Dictionary<string, int> SlotOf { get; }

        public Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> SlotLookup { get; }

        public int OutputStart { get; set; }
    }

    /// <summary>The columns of a frame resolved against the transform's inputs, with pooled buffers.</summary>
    internal readonly struct BoundFrame : IDisposable
    {
        public BoundFrame(Column[] columns, int[]?[] maps, int count)
        {
            Columns = columns;
            Maps = maps;
            Count = count;
        }

        public Column[] Columns { get; }

        public int[]?[] Maps { get; }

        public int Count { get; }

        public void Dispose()
        {
            for (var i = 0; i < Count; i++)
            {
                if (Maps[i] is { } map)
                {
                    ArrayPool<int>.Shared.Return(map);
                }
            }

            ArrayPool<Column>.Shared.Return(Columns, clearArray: true);
            ArrayPool<int[]?>.Shared.Return(Maps, clearArray: true);
        }
    }
}
