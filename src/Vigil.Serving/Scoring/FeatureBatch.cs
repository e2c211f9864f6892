using System.Buffers;
using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>A per-item problem: the field (feature) at fault and what is wrong with it.</summary>
/// <param name="Field">The feature or JSON field, e.g. <c>amount</c> or <c>instances[3]</c>.</param>
/// <param name="Detail">What is wrong.</param>
public readonly record struct ItemError(string Field, string Detail);

/// <summary>
/// Turns items of any protocol (JSON objects, rows of a table, tensors) into feature rows of one model, item by
/// item: a bad value fails only its item. Valid rows are packed at the front of a pooled buffer and scored in one
/// detector call by <see cref="Score"/>. One instance per request; not thread-safe; dispose to return buffers.
/// </summary>
internal sealed class FeatureBatch : IDisposable
{
    private readonly FeatureTransform _transform;
    private readonly int _width;
    private readonly bool[] _seen;
    private float[] _features;
    private int[] _slotOfItem;
    private ItemError[] _errors;
    private double[]? _scores;
    private bool _rowFailed;
    private int _nonFinite;

    public FeatureBatch(ServedModel model, int expectedItems)
    {
        Model = model;
        _transform = model.Bundle.Transform;
        _width = _transform.OutputCount;
        _seen = new bool[model.InputCount];
        var capacity = Math.Max(1, expectedItems);
        _features = ArrayPool<float>.Shared.Rent(capacity * _width);
        _slotOfItem = ArrayPool<int>.Shared.Rent(capacity);
        _errors = ArrayPool<ItemError>.Shared.Rent(capacity);
    }

    /// <summary>The model the features are for.</summary>
    public ServedModel Model { get; }

    /// <summary>The number of items added so far.</summary>
    public int Items { get; private set; }

    /// <summary>The number of valid (scorable) items.</summary>
    public int ValidRows { get; private set; }

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

        _slotOfItem[Items] = _rowFailed ? -1 : ValidRows;
        if (!_rowFailed)
        {
            ValidRows++;
        }

        Items++;
    }

    /// <summary>
    /// The first item that failed (in reading or in scoring) and its error, or -1: protocols that reject the whole
    /// request for one bad item (MLflow, Open Inference) answer with it.
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
    public ItemError? ErrorOf(int item) => _slotOfItem[item] < 0 ? _errors[item] : null;

    /// <summary>The score of valid item <paramref name="item"/> (after <see cref="Score"/>).</summary>
    public double ScoreOf(int item) => _scores![_slotOfItem[item]];

    /// <summary>The feature row of valid item <paramref name="item"/>.</summary>
    public ReadOnlySpan<float> FeaturesOf(int item) => _features.AsSpan(_slotOfItem[item] * _width, _width);

    /// <summary>Scores every valid item in one detector call.</summary>
    public void Score()
    {
        _scores = ArrayPool<double>.Shared.Rent(Math.Max(1, ValidRows));
        if (ValidRows > 0)
        {
            var matrix = new FeatureMatrix(_features, ValidRows, _transform.OutputColumns);
            Model.Bundle.Detector.Score(matrix, _scores.AsSpan(0, ValidRows));
            for (var i = 0; i < Items; i++)
            {
                // Extreme (finite) inputs can overflow a detector, e.g. an autoencoder's squared error; JSON has no Infinity.
                if (_slotOfItem[i] >= 0 && !double.IsFinite(_scores[_slotOfItem[i]]))
                {
                    _slotOfItem[i] = -1;
                    _errors[i] = new ItemError(ScoreField, "is not finite: the instance's values are too far outside the training range to score");
                    _nonFinite++;
                }
            }
        }
    }

    /// <summary>The field of an item whose score is not finite.</summary>
    public const string ScoreField = "score";

    /// <summary>The number of items scored (after <see cref="Score"/>: valid items with a finite score).</summary>
    public int ScoredRows => ValidRows - _nonFinite;

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

    private void EnsureCapacity(int items)
    {
        if (items <= _slotOfItem.Length && items * _width <= _features.Length)
        {
            return;
        }

        var capacity = Math.Max(items, _slotOfItem.Length * 2);
        Grow(ref _features, capacity * _width);
        Grow(ref _slotOfItem, capacity);
        Grow(ref _errors, capacity);
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
}
