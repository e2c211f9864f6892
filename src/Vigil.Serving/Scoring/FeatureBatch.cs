using System.Buffers;
using Vigil.Detectors;
using Vigil.Monitoring;
using Vigil.Tracking;

namespace Vigil.Serving;

/// <summary>A per-item problem: the field (feature) at fault and what is wrong with it.</summary>
/// <param name="Field">The feature or JSON field, e.g. <c>amount</c> or <c>instances[3]</c>.</param>
/// <param name="Detail">What is wrong.</param>
public readonly record struct ItemError(string Field, string Detail);

/// <summary>
/// The items of one request on their way through the scoring pipeline, whatever the protocol: the adapter reads each
/// item's values into it (validation and feature encoding, item by item: a bad value fails only its item, and the
/// values read are kept as the item's raw row), then <see cref="ApplyRules"/> lets the model's pre-model rules decide
/// items alone, <see cref="Score"/> scores the remaining valid rows in one detector call and <see cref="Decide"/>
/// builds one <see cref="Decision"/> per item. One instance per request; not thread-safe; dispose to return buffers.
/// </summary>
internal sealed class FeatureBatch : IDisposable, IDriftItems
{
    private const int Invalid = -1;
    private const int RuleDecided = -2;
    private const int Failed = -3;

    private readonly FeatureTransform _transform;
    private readonly int _width;
    private readonly bool[] _seen;
    private readonly bool _record;
    private float[] _features;
    private int[] _slotOfItem;
    private ItemError[] _errors;
    private double[]? _scores;
    private IReadOnlyList<FeatureContribution>[]? _reasonsOfSlot; // reasons computed while scoring (Score with reasons)
    private Decision[]? _decisions;
    private double[]?[]? _numbers;
    private string?[]?[]? _texts;
    private int _recorded;
    private RawExtras? _extras;
    private string?[]? _ruleOf;
    private RuleVerdict[]? _verdicts;
    private bool _rowFailed;
    private int _nonFinite;

    /// <param name="model">The model the items are for.</param>
    /// <param name="expectedItems">The expected number of items (the buffers grow beyond it).</param>
    /// <param name="recordValues">Keep every item's input values (for the inference log and the model's rules).</param>
    public FeatureBatch(ServedModel model, int expectedItems, bool recordValues)
    {
        Model = model;
        _transform = model.Bundle.Transform;
        _width = _transform.OutputCount;
        _seen = new bool[model.InputCount];
        _record = recordValues || model.Rules.Count > 0;
        KeepsExtras = model.Rules.Count > 0;
        var capacity = Math.Max(1, expectedItems);
        _features = ArrayPool<float>.Shared.Rent(capacity * _width);
        _slotOfItem = ArrayPool<int>.Shared.Rent(capacity);
        _errors = ArrayPool<ItemError>.Shared.Rent(capacity);
    }

    /// <summary>The model the features are for.</summary>
    public ServedModel Model { get; }

    /// <summary>The number of items added so far.</summary>
    public int Items { get; private set; }

    /// <summary>The number of valid rows left for the detector (after <see cref="ApplyRules"/>: without the rule-decided items).</summary>
    public int ValidRows { get; private set; }

    /// <summary>True when the adapter should also hand over fields that are not model features (the model has rules that may read them).</summary>
    public bool KeepsExtras { get; }

    /// <summary>Starts a new item.</summary>
    public void BeginItem()
    {
        EnsureCapacity(Items + 1);
        Array.Clear(_seen);
        _rowFailed = false;
        _errors[Items] = default;
        _features.AsSpan(ValidRows * _width, _width).Clear();
    }

    /// <summary>True when the current item has already failed (later values can be skipped).</summary>
    public bool ItemFailed => _rowFailed;

    /// <summary>Sets input <paramref name="input"/> of the current item to a number (NaN = missing).</summary>
    public void SetNumber(int input, double value)
    {
        if (_rowFailed)
        {
            return;
        }

        var error = _transform.TryEncodeNumeric(input, value, CurrentRow);
        if (error is null && _numbers?[input] is { } numbers)
        {
            numbers[Items] = value;
        }

        Mark(input, error);
    }

    /// <summary>Sets input <paramref name="input"/> of the current item to a category (or, for a numeric input, fails).</summary>
    public void SetText(int input, ReadOnlySpan<char> value)
    {
        if (_rowFailed)
        {
            return;
        }

        var error = _transform.TryEncodeCategory(input, value, CurrentRow);
        if (error is null && _texts?[input] is { } texts)
        {
            texts[Items] = Model.Category(input, value);
        }

        Mark(input, error);
    }

    /// <summary>Sets input <paramref name="input"/> of the current item to an explicit missing value (JSON null).</summary>
    public void SetMissing(int input)
    {
        if (_rowFailed)
        {
            return;
        }

        Mark(input, _transform.TryEncodeMissing(input, CurrentRow));
    }

    /// <summary>Keeps a number of the current item in field <paramref name="field"/>, which is not a model feature (see <see cref="KeepsExtras"/>).</summary>
    public void SetExtraNumber(string field, double value) => (_extras ??= new RawExtras()).Column(field, _recorded).Numbers[Items] = value;

    /// <summary>Keeps a string of the current item in field <paramref name="field"/>, which is not a model feature (see <see cref="KeepsExtras"/>).</summary>
    public void SetExtraText(string field, string value) => (_extras ??= new RawExtras()).Column(field, _recorded).Texts[Items] = value;

    /// <summary>Fails the current item with <paramref name="field"/> and <paramref name="detail"/> (the first failure wins).</summary>
    public void Fail(string field, string detail)
    {
        if (!_rowFailed)
        {
            _rowFailed = true;
            _errors[Items] = new ItemError(field, detail);
        }
    }

    /// <summary>Ends the current item: a feature that was never given fails it.</summary>
    public void EndItem()
    {
        if (!_rowFailed)
        {
            for (var i = 0; i < _seen.Length; i++)
            {
                if (!_seen[i])
                {
                    Fail(Model.InputNames[i], "is required: the instance has no value for this feature (send null for a missing value)");
                    break;
                }
            }
        }

        _slotOfItem[Items] = _rowFailed ? Invalid : ValidRows;
        if (!_rowFailed)
        {
            ValidRows++;
        }

        Items++;
    }

    /// <summary>
    /// The first item that failed (in reading, in a rule or in scoring) and its error, or -1: protocols that reject the
    /// whole request for one bad item (MLflow, Open Inference) answer with it.
    /// </summary>
    public int FirstFailedItem(out ItemError error)
    {
        for (var i = 0; i < Items; i++)
        {
            if (ErrorOf(i) is { } e)
            {
                error = e;
                return i;
            }
        }

        error = default;
        return -1;
    }

    /// <summary>The error of item <paramref name="item"/>, or null when it is valid.</summary>
    public ItemError? ErrorOf(int item) => _slotOfItem[item] is Invalid or Failed ? _errors[item] : null;

    /// <summary>The feature row of an item the detector scores.</summary>
    public ReadOnlySpan<float> FeaturesOf(int item) => _features.AsSpan(_slotOfItem[item] * _width, _width);

    /// <summary>
    /// Runs the model's pre-model rules on every valid item, in order; the first rule that decides an item takes it out
    /// of the detector's rows. A rule that throws fails only its item (status 500).
    /// </summary>
    public void ApplyRules()
    {
        var rules = Model.Rules;
        if (rules.Count == 0)
        {
            return;
        }

        _ruleOf = new string?[Items];
        _verdicts = new RuleVerdict[Items];
        var write = 0;
        for (var i = 0; i < Items; i++)
        {
            var slot = _slotOfItem[i];
            if (slot < 0)
            {
                continue;
            }

            var decided = false;
            for (var r = 0; r < rules.Count && !decided; r++)
            {
                var rule = rules[r];
                try
                {
                    if (rule.TryDecide(new RawRow(this, i), out var verdict))
                    {
                        decided = true;
                        _ruleOf[i] = rule.Name;
                        _verdicts[i] = verdict;
                        _slotOfItem[i] = RuleDecided;
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    decided = true;
                    _errors[i] = new ItemError(rule.Name, "failed unexpectedly in this pre-model rule: " + e.Message);
                    _slotOfItem[i] = Failed;
                }
            }

            if (decided)
            {
                continue;
            }

            if (slot != write)
            {
                _features.AsSpan(slot * _width, _width).CopyTo(_features.AsSpan(write * _width, _width));
            }

            _slotOfItem[i] = write++;
        }

        ValidRows = write;
    }

    /// <summary>Scores every row left for the detector in one detector call.</summary>
    public void Score(int reasons = 0)
    {
        _scores = ArrayPool<double>.Shared.Rent(Math.Max(1, ValidRows));
        if (ValidRows > 0)
        {
            var bundle = Model.Bundle;
            if (reasons > 0 && bundle.ScoresWhileExplaining)
            {
                // One walk per row gives its score (the same bits as scoring the batch) and its reasons.
                _reasonsOfSlot = ArrayPool<IReadOnlyList<FeatureContribution>>.Shared.Rent(ValidRows);
                for (var slot = 0; slot < ValidRows; slot++)
                {
                    bundle.TryScoreAndExplain(_features.AsSpan(slot * _width, _width), reasons, out _scores[slot], out _reasonsOfSlot[slot]);
                }
            }
            else
            {
                var matrix = new FeatureMatrix(_features, ValidRows, _transform.OutputColumns);
                bundle.Detector.Score(matrix, _scores.AsSpan(0, ValidRows));
            }

            for (var i = 0; i < Items; i++)
            {
                // Extreme (finite) inputs can overflow a detector, e.g. an autoencoder's squared error; JSON has no Infinity.
                if (_slotOfItem[i] >= 0 && !double.IsFinite(_scores[_slotOfItem[i]]))
                {
                    _slotOfItem[i] = Invalid;
                    _errors[i] = new ItemError(ScoreField, "is not finite: the instance's values are too far outside the training range to score");
                    _nonFinite++;
                }
            }
        }
    }

    /// <summary>The field of an item whose score is not finite.</summary>
    public const string ScoreField = "score";

    /// <summary>The number of items the detector scored (after <see cref="Score"/>: rows with a finite score).</summary>
    public int ScoredRows => ValidRows - _nonFinite;

    /// <summary>
    /// Builds the <see cref="Decision"/> of every item (after <see cref="Score"/>): the threshold is compared here and
    /// nowhere else; <paramref name="reasons"/> top reasons per model decision (0 = none).
    /// </summary>
    public ReadOnlySpan<Decision> Decide(int reasons)
    {
        _decisions = ArrayPool<Decision>.Shared.Rent(Math.Max(1, Items));
        var bundle = Model.Bundle;
        var explain = reasons > 0 && bundle.CanExplain;
        for (var i = 0; i < Items; i++)
        {
            var slot = _slotOfItem[i];
            _decisions[i] = slot switch
            {
                >= 0 => new Decision(Model, 200, _scores![slot], bundle.IsAnomaly(_scores[slot]) ? 1 : 0, explain ? _reasonsOfSlot?[slot] ?? bundle.ExplainFeatures(FeaturesOf(i), reasons) : null, null, null, null),
                RuleDecided => new Decision(Model, 200, double.NaN, _verdicts![i].Label == 0 ? 0 : 1, null, _ruleOf![i], _verdicts[i].Reason, null),
                Failed => new Decision(Model, 500, double.NaN, -1, null, null, null, _errors[i]),
                _ => new Decision(Model, 400, double.NaN, -1, null, null, null, _errors[i]),
            };
        }

        return Decisions;
    }

    /// <summary>The decisions built by <see cref="Decide"/> (empty before).</summary>
    public ReadOnlySpan<Decision> Decisions => _decisions is null ? default : _decisions.AsSpan(0, Items);

    /// <summary>
    /// The per-item entries of the inference log: status, score, label and rule from the decisions (items of a request
    /// rejected as a whole are not decided: 400 or 500 for the failed ones, 400 for the rest), and the input values read.
    /// </summary>
    public InferenceItems ToLogItems()
    {
        var count = Items;
        var status = new int[count];
        var score = new double[count];
        var label = new sbyte[count];
        var rule = _ruleOf ?? new string?[count];
        var decisions = Decisions;
        for (var i = 0; i < count; i++)
        {
            if (decisions.Length > 0)
            {
                ref readonly var d = ref decisions[i];
                status[i] = d.Status;
                score[i] = d.Score;
                label[i] = (sbyte)d.Label;
            }
            else
            {
                status[i] = _slotOfItem[i] == Failed ? 500 : 400;
                score[i] = double.NaN;
                label[i] = -1;
                rule[i] = null;
            }
        }

        var inputs = Model.InputCount;
        var features = new InferenceFeatureColumn[inputs];
        for (var f = 0; f < inputs; f++)
        {
            var categorical = Model.IsCategorical(f);
            features[f] = new InferenceFeatureColumn(
                Model.InputNames[f],
                categorical ? null : _numbers?[f] ?? Missing(count),
                categorical ? _texts?[f] ?? new string?[count] : null);
        }

        return new InferenceItems { Count = count, Status = status, Score = score, Label = label, Rule = rule, Features = features };
    }

    /// <summary>
    /// The raw value of <paramref name="field"/> in item <paramref name="item"/>: a number (NaN when missing) or a
    /// string. False when the item has no such field (or values are not kept).
    /// </summary>
    internal bool TryGetRaw(int item, string field, out double number, out string? text)
    {
        number = double.NaN;
        text = null;
        var input = Model.InputIndex(field);
        if (input >= 0)
        {
            if (_numbers?[input] is { } numbers)
            {
                number = numbers[item];
                return true;
            }

            if (_texts?[input] is { } texts)
            {
                text = texts[item];
                return true;
            }

            return false;
        }

        return _extras is not null && _extras.TryGet(field, item, out number, out text);
    }

    /// <inheritdoc />
    public int DriftItemCount => Items;

    /// <inheritdoc />
    public bool IsDecided(int item) => _decisions is not null && _decisions[item].Status == 200;

    /// <inheritdoc />
    public double ScoreOf(int item) => _decisions![item].Score;

    /// <inheritdoc />
    public double NumberOf(int input, int item) => _numbers?[input] is { } numbers ? numbers[item] : double.NaN;

    /// <inheritdoc />
    public string? TextOf(int input, int item) => _texts?[input]?[item];

    /// <inheritdoc />
    public void Dispose()
    {
        ArrayPool<float>.Shared.Return(_features);
        ArrayPool<int>.Shared.Return(_slotOfItem);
        ArrayPool<ItemError>.Shared.Return(_errors, clearArray: true);
        if (_scores is not null)
        {
            ArrayPool<double>.Shared.Return(_scores);
        }

        if (_reasonsOfSlot is not null)
        {
            ArrayPool<IReadOnlyList<FeatureContribution>>.Shared.Return(_reasonsOfSlot, clearArray: true);
            _reasonsOfSlot = null;
        }

        if (_decisions is not null)
        {
            ArrayPool<Decision>.Shared.Return(_decisions, clearArray: true);
        }
    }

    private Span<float> CurrentRow => _features.AsSpan(ValidRows * _width, _width);

    private void Mark(int input, string? error)
    {
        if (error is not null)
        {
            Fail(Model.InputNames[input], error);
        }
        else if (_seen[input])
        {
            Fail(Model.InputNames[input], "is given twice");
        }
        else
        {
            _seen[input] = true;
        }
    }

    private static double[] Missing(int count)
    {
        var values = new double[count];
        Array.Fill(values, double.NaN);
        return values;
    }

    private void EnsureCapacity(int items)
    {
        if (_record && items > _recorded)
        {
            GrowValues(Math.Max(items, Math.Max(_slotOfItem.Length, _recorded * 2)));
        }

        if (items <= _slotOfItem.Length && items * _width <= _features.Length)
        {
            return;
        }

        var capacity = Math.Max(items, _slotOfItem.Length * 2);
        Grow(ref _features, capacity * _width);
        Grow(ref _slotOfItem, capacity);
        Grow(ref _errors, capacity);
    }

    /// <summary>The per-input value arrays (not pooled: the inference log keeps them) grow to <paramref name="capacity"/> items.</summary>
    private void GrowValues(int capacity)
    {
        var inputs = Model.InputCount;
        _numbers ??= new double[]?[inputs];
        _texts ??= new string?[]?[inputs];
        for (var f = 0; f < inputs; f++)
        {
            if (Model.IsCategorical(f))
            {
                Array.Resize(ref _texts[f], capacity);
            }
            else
            {
                var old = _numbers[f]?.Length ?? 0;
                Array.Resize(ref _numbers[f], capacity);
                _numbers[f].AsSpan(old).Fill(double.NaN);
            }
        }

        _extras?.Grow(capacity);
        _recorded = capacity;
    }

    private static void Grow<T>(ref T[] array, int size)
    {
        if (array.Length >= size)
        {
            return;
        }

        var bigger = ArrayPool<T>.Shared.Rent(size);
        array.AsSpan().CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array, clearArray: System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        array = bigger;
    }

    /// <summary>The fields of the items that are not model features (kept only for a model with rules).</summary>
    private sealed class RawExtras
    {
        private readonly Dictionary<string, Values> _columns = new(StringComparer.Ordinal);

        public Values Column(string field, int capacity)
        {
            if (!_columns.TryGetValue(field, out var values))
            {
                _columns[field] = values = new Values(capacity);
            }

            return values;
        }

        public void Grow(int capacity)
        {
            foreach (var values in _columns.Values)
            {
                values.Grow(capacity);
            }
        }

        public bool TryGet(string field, int item, out double number, out string? text)
        {
            if (_columns.TryGetValue(field, out var values) && item < values.Texts.Length)
            {
                number = values.Numbers[item];
                text = values.Texts[item];
                return true;
            }

            number = double.NaN;
            text = null;
            return false;
        }

        public sealed class Values
        {
            public Values(int capacity)
            {
                Numbers = [];
                Texts = [];
                Grow(capacity);
            }

            public double[] Numbers { get; private set; }

            public string?[] Texts { get; private set; }

            public void Grow(int capacity)
            {
                var old = Numbers.Length;
                var numbers = Numbers;
                var texts = Texts;
                Array.Resize(ref numbers, capacity);
                Array.Resize(ref texts, capacity);
                numbers.AsSpan(old).Fill(double.NaN);
                Numbers = numbers;
                Texts = texts;
            }
        }
    }
}
