using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// The frame given to a fitted <see cref="FeatureTransform"/> lacks a column the model was trained on,
/// or holds it with another kind.
/// </summary>
public sealed class SchemaMismatchException : VigilException
{
    /// <summary>Creates the exception for <paramref name="column"/>; <paramref name="actualKind"/> is null when the column is missing.</summary>
    public SchemaMismatchException(string column, ColumnKind expectedKind, ColumnKind? actualKind)
        : base(actualKind is { } actual
            ? $"Column '{column}' is {actual} but the model was trained on it as {expectedKind}."
            : $"Column '{column}' is missing; the model was trained on it as {expectedKind}.")
    {
        Column = column;
        ExpectedKind = expectedKind;
        ActualKind = actualKind;
    }

    /// <summary>The offending column.</summary>
    public string Column { get; }

    /// <summary>The kind the model expects.</summary>
    public ColumnKind ExpectedKind { get; }

    /// <summary>The kind found, or null when the column is missing.</summary>
    public ColumnKind? ActualKind { get; }
}

/// <summary>A value a <see cref="FeatureTransform"/> cannot turn into a feature: missing under
/// <see cref="MissingPolicy.Error"/>, or infinite.</summary>
public sealed class FeatureDataException : VigilException
{
    /// <summary>Creates the exception.</summary>
    public FeatureDataException(string column, int row, string problem)
        : base($"Column '{column}', row {row}: {problem}.")
    {
        Column = column;
        Row = row;
    }

    /// <summary>The offending column.</summary>
    public string Column { get; }

    /// <summary>The zero-based row index within the frame.</summary>
    public int Row { get; }
}
