using System.Globalization;

namespace Vigil.Pipelines;

/// <summary>The zones of the lake, each a top-level folder of Hive-partitioned Parquet files.</summary>
public enum LakeZone
{
    /// <summary><c>raw/</c>: data as it arrived (transactions, deals).</summary>
    Raw,

    /// <summary><c>ml_outputs/</c>: scores and decisions.</summary>
    MlOutputs,

    /// <summary><c>metrics/</c>: evaluation, drift and performance metrics.</summary>
    Metrics,
}

/// <summary>Names and parsing of <see cref="LakeZone"/>.</summary>
public static class LakeZones
{
    /// <summary>Every zone, in folder order.</summary>
    public static IReadOnlyList<LakeZone> All { get; } = [LakeZone.Raw, LakeZone.MlOutputs, LakeZone.Metrics];

    /// <summary>The folder (and SQL view) name: <c>raw</c>, <c>ml_outputs</c>, <c>metrics</c>.</summary>
    public static string Name(this LakeZone zone) => zone switch
    {
        LakeZone.Raw => "raw",
        LakeZone.MlOutputs => "ml_outputs",
        LakeZone.Metrics => "metrics",
        _ => throw new ArgumentOutOfRangeException(nameof(zone)),
    };

    /// <summary>Reads a zone name (case-insensitive); <see cref="LakeException"/> naming the valid ones otherwise.</summary>
    public static LakeZone Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var zone in All)
        {
            if (string.Equals(zone.Name(), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return zone;
            }
        }

        throw new LakeException($"unknown lake zone '{text}': use raw, ml_outputs or metrics");
    }

    /// <summary>Reads a partition date <c>YYYY-MM-DD</c>; <see cref="LakeException"/> otherwise.</summary>
    public static DateOnly ParseDate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new LakeException($"'{text}' is not a date: use YYYY-MM-DD");
    }
}

/// <summary>What <see cref="Lakehouse.WriteAsync(LakeZone, string, DateOnly?, string?, CancellationToken)"/> wrote.</summary>
/// <param name="Zone">The zone.</param>
/// <param name="Date">The partition date.</param>
/// <param name="Path">The file, relative to the lake root (<c>raw/date=2026-12-01/part-....parquet</c>).</param>
/// <param name="Location">The lake root (folder or <c>az://...</c>).</param>
/// <param name="Rows">Rows written.</param>
/// <param name="Columns">Column names, in file order.</param>
/// <param name="Bytes">The Parquet file size.</param>
public sealed record LakeWriteResult(LakeZone Zone, DateOnly Date, string Path, string Location, long Rows, IReadOnlyList<string> Columns, long Bytes)
{
    /// <summary>True when a write with a file id found its file already in the partition and added nothing.</summary>
    public bool AlreadyThere { get; init; }
}

/// <summary>One file of the lake.</summary>
/// <param name="Zone">The zone.</param>
/// <param name="Date">The partition date.</param>
/// <param name="Path">The file, relative to the lake root.</param>
/// <param name="Rows">Its rows (-1 when a blob carries no row count).</param>
/// <param name="Bytes">Its size.</param>
public sealed record LakeFileInfo(LakeZone Zone, DateOnly Date, string Path, long Rows, long Bytes);

/// <summary>One date partition of a zone.</summary>
/// <param name="Zone">The zone.</param>
/// <param name="Date">The partition date.</param>
/// <param name="Files">Parquet files in it.</param>
/// <param name="Rows">Rows over its files.</param>
/// <param name="Bytes">Bytes over its files.</param>
public sealed record LakePartition(LakeZone Zone, DateOnly Date, int Files, long Rows, long Bytes);

/// <summary>The answer of <see cref="Lakehouse.QueryAsync"/>.</summary>
/// <param name="Columns">Column names.</param>
/// <param name="Types">DuckDB type names of the columns.</param>
/// <param name="Rows">The rows; a value is null, a number, bool, string, <see cref="DateTime"/> or <see cref="DateOnly"/>, or other types as DuckDB.NET returns them.</param>
public sealed record LakeQueryResult(IReadOnlyList<string> Columns, IReadOnlyList<string> Types, IReadOnlyList<object?[]> Rows);
