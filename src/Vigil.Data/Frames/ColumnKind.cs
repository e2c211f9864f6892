namespace Vigil.Data;

/// <summary>The physical kind of a <see cref="Column"/>.</summary>
public enum ColumnKind
{
    /// <summary>64-bit floating point; missing is NaN.</summary>
    Float64,

    /// <summary>32-bit floating point; missing is NaN.</summary>
    Float32,

    /// <summary>Dictionary-encoded strings: an int code per row into a dictionary; missing is code -1.</summary>
    Categorical,

    /// <summary>Free text; missing is null.</summary>
    String,

    /// <summary>UTC instant stored as microseconds since the Unix epoch; missing is <see cref="long.MinValue"/>.</summary>
    Timestamp,
}
