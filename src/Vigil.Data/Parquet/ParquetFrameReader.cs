using System.Buffers;
using System.Globalization;
using System.Numerics;
using Parquet;
using Parquet.Schema;

namespace Vigil.Data;

/// <summary>
/// Opens a Parquet file, decides how each column maps to a <see cref="ColumnKind"/>, and reads row
/// groups as frames. Categorical dictionaries grow across row groups so codes are stable per file.
/// </summary>
internal sealed class ParquetFrameReader : IDisposable
{
    /// <summary>Key-value metadata key holding the Vigil column kinds, comma separated, in column order.</summary>
    internal const string KindsMetadataKey = "vigil.kinds";

    private readonly string _path;
    private readonly ParquetReader _reader;
    private readonly ColumnPlan[] _plans;

    private ParquetFrameReader(string path, ParquetReader reader, ColumnPlan[] plans)
    {
        _path = path;
        _reader = reader;
        _plans = plans;
        Schema = new FrameSchema(plans.Select(p => new ColumnSchema(p.Field.Name, p.Kind)));
    }

    private enum Source
    {
        Double,
        Float,
        Int8,
        UInt8,
        Int16,
        UInt16,
        Int32,
        UInt32,
        Int64,
        UInt64,
        Decimal,
        Boolean,
        DateTime,
        DateTimeOffset,
        DateOnly,
        Text,
    }

    public FrameSchema Schema { get; }

    public int RowGroupCount => _reader.RowGroupCount;

    public static ParquetFrameReader Open(string path)
    {
        ParquetReader? reader = null;
        try
        {
            reader = Sync.Run(() => ParquetReader.CreateAsync(path));
            var plans = Plan(path, reader);
            return new ParquetFrameReader(path, reader, plans);
        }
        catch (Exception e) when (IsFormatProblem(e))
        {
            Dispose(reader);
            throw new InvalidDataException($"{path}: not a readable Parquet file: {e.Message}", e);
        }
        catch
        {
            Dispose(reader);
            throw;
        }
    }

    public static string FormatKinds(FrameSchema schema) =>
        string.Join(",", schema.Columns.Select(c => c.Kind.ToString().ToLowerInvariant()));

    public Frame EmptyFrame()
    {
        var columns = new Column[_plans.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            var name = _plans[i].Field.Name;
            columns[i] = _plans[i].Kind switch
            {
                ColumnKind.Float64 => new Float64Column(name, []),
                ColumnKind.Float32 => new Float32Column(name, []),
                ColumnKind.Categorical => new CategoricalColumn(name, [], []),
                ColumnKind.String => new StringColumn(name, []),
                _ => new TimestampColumn(name, []),
            };
        }

        return new Frame(columns);
    }

    public Frame ReadRowGroup(int index)
    {
        var group = _reader.OpenRowGroupReader(index);
        if (group.RowCount > Array.MaxLength)
        {
            throw new InvalidDataException(
                string.Create(CultureInfo.InvariantCulture, $"{_path}: row group {index} has {group.RowCount} rows, more than one frame can hold."));
        }

        var rows = (int)group.RowCount;
        var columns = new Column[_plans.Length];
        for (var c = 0; c < _plans.Length; c++)
        {
            var plan = _plans[c];
            try
            {
                columns[c] = Sync.Run(() => ReadColumnAsync(group, plan, rows));
            }
            catch (Exception e) when (IsFormatProblem(e))
            {
                throw new InvalidDataException(
                    string.Create(CultureInfo.InvariantCulture, $"{_path}: row group {index}, column '{plan.Field.Name}' cannot be read: {e.Message}"), e);
            }
        }

        return new Frame(columns);
    }

    public void Dispose() => Dispose(_reader);

    private static void Dispose(ParquetReader? reader)
    {
        if (reader is not null)
        {
            Sync.Run(async () => await reader.DisposeAsync());
        }
    }

    private static bool IsFormatProblem(Exception e) =>
        e is not (InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            or OperationCanceledException or OutOfMemoryException or PathTooLongException);

    private static ColumnPlan[] Plan(string path, ParquetReader reader)
    {
        var fields = reader.Schema.Fields;
        var plans = new ColumnPlan[fields.Count];
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            if (field is not DataField data || data.IsArray || data.MaxRepetitionLevel > 0)
            {
                throw new InvalidDataException($"{path}: column '{field.Name}' is a nested {field.SchemaType} field; only flat columns are supported.");
            }

            var source = SourceOf(data)
                ?? throw new InvalidDataException(
                    $"{path}: column '{data.Name}' has unsupported type {DescribeType(data)}; supported are numbers, booleans, decimals, strings, dates and timestamps.");
            plans[i] = new ColumnPlan(data, source, DefaultKind(source));
        }

        var declared = DeclaredKinds(reader, plans);
        for (var i = 0; i < plans.Length; i++)
        {
            if (declared is not null)
            {
                plans[i].Kind = declared[i];
            }
            else if (plans[i].Source == Source.Text && reader.RowGroupCount > 0)
            {
                plans[i].Kind = Sync.Run(() => InferTextKindAsync(reader.OpenRowGroupReader(0), plans[i].Field));
            }
        }

        return plans;
    }

    private static ColumnKind[]? DeclaredKinds(ParquetReader reader, ColumnPlan[] plans)
    {
        if (reader.CustomMetadata is null || !reader.CustomMetadata.TryGetValue(KindsMetadataKey, out var text))
        {
            return null;
        }

        var parts = text.Split(',');
        if (parts.Length != plans.Length)
        {
            return null;
        }

        var kinds = new ColumnKind[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!Enum.TryParse(parts[i], ignoreCase: true, out kinds[i]) || !Compatible(plans[i].Source, kinds[i]))
            {
                return null;
            }
        }

        return kinds;
    }

    private static bool Compatible(Source source, ColumnKind kind) => kind switch
    {
        ColumnKind.Float64 => source is not (Source.Text or Source.DateTime or Source.DateTimeOffset or Source.DateOnly),
        ColumnKind.Float32 => source == Source.Float,
        ColumnKind.Categorical or ColumnKind.String => source == Source.Text,
        ColumnKind.Timestamp => source is Source.DateTime or Source.DateTimeOffset or Source.DateOnly,
        _ => false,
    };

    private static Source? SourceOf(DataField field)
    {
        var t = field.ClrType;
        return t == typeof(double) ? Source.Double
            : t == typeof(float) ? Source.Float
            : t == typeof(sbyte) ? Source.Int8
            : t == typeof(byte) ? Source.UInt8
            : t == typeof(short) ? Source.Int16
            : t == typeof(ushort) ? Source.UInt16
            : t == typeof(int) ? Source.Int32
            : t == typeof(uint) ? Source.UInt32
            : t == typeof(long) ? Source.Int64
            : t == typeof(ulong) ? Source.UInt64
            : t == typeof(decimal) ? Source.Decimal
            : t == typeof(bool) ? Source.Boolean
            : t == typeof(DateTime) ? Source.DateTime
            : t == typeof(DateTimeOffset) ? Source.DateTimeOffset
            : t == typeof(DateOnly) ? Source.DateOnly
            : t == typeof(ReadOnlyMemory<char>) || t == typeof(string) ? Source.Text
            : null;
    }

    private static ColumnKind DefaultKind(Source source) => source switch
    {
        Source.Float => ColumnKind.Float32,
        Source.DateTime or Source.DateTimeOffset or Source.DateOnly => ColumnKind.Timestamp,
        Source.Text => ColumnKind.String,
        _ => ColumnKind.Float64,
    };

    private static string DescribeType(DataField field)
    {
        var element = field.SchemaElement;
        if (element is null)
        {
            return field.ClrType.Name;
        }

        var logical = element.LogicalType;
        var logicalName = logical is null ? null
            : logical.DECIMAL is not null ? "DECIMAL"
            : logical.TIME is not null ? "TIME"
            : logical.UUID is not null ? "UUID"
            : logical.JSON is not null ? "JSON"
            : logical.BSON is not null ? "BSON"
            : null;
        var name = logicalName ?? element.ConvertedType?.ToString() ?? element.Type?.ToString() ?? field.ClrType.Name;
        return element.Type is { } physical && logicalName is null && element.ConvertedType is null
            ? physical.ToString()
            : $"{name} ({element.Type})";
    }

    private static async Task<ColumnKind> InferTextKindAsync(ParquetRowGroupReader group, DataField field)
    {
        var rows = (int)Math.Min(group.RowCount, Array.MaxLength);
        var limit = Math.Max(50, (int)(rows * 0.05));
        var values = await ReadTextAsync(group, field, rows);
        try
        {
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            var lookup = distinct.GetAlternateLookup<ReadOnlySpan<char>>();
            for (var i = 0; i < rows; i++)
            {
                if (values[i] is { } v && lookup.Add(v.Span) && distinct.Count > limit)
                {
                    return ColumnKind.String;
                }
            }

            return ColumnKind.Categorical;
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<char>?>.Shared.Return(values, clearArray: true);
        }
    }

    private static async Task<Column> ReadColumnAsync(ParquetRowGroupReader group, ColumnPlan plan, int rows)
    {
        var field = plan.Field;
        var name = field.Name;
        if (plan.Kind == ColumnKind.Float32)
        {
            return new Float32Column(name, await ReadNumbersAsync<float, float>(group, field, rows, float.NaN));
        }

        switch (plan.Source)
        {
            case Source.Text:
                return await ReadTextColumnAsync(group, plan, rows);
            case Source.DateTime:
                return new TimestampColumn(name, await ReadTimestampsAsync<DateTime>(group, field, rows, static v => v.Ticks));
            case Source.DateTimeOffset:
                return new TimestampColumn(name, await ReadTimestampsAsync<DateTimeOffset>(group, field, rows, static v => v.UtcTicks));
            case Source.DateOnly:
                return new TimestampColumn(name, await ReadTimestampsAsync<DateOnly>(group, field, rows, static v => v.DayNumber * TimeSpan.TicksPerDay));
            case Source.Boolean:
                return new Float64Column(name, await ReadBooleansAsync(group, field, rows));
            default:
                break;
        }

        var values = plan.Source switch
        {
            Source.Double => await ReadNumbersAsync<double, double>(group, field, rows, double.NaN),
            Source.Float => await ReadNumbersAsync<float, double>(group, field, rows, double.NaN),
            Source.Int8 => await ReadNumbersAsync<sbyte, double>(group, field, rows, double.NaN),
            Source.UInt8 => await ReadNumbersAsync<byte, double>(group, field, rows, double.NaN),
            Source.Int16 => await ReadNumbersAsync<short, double>(group, field, rows, double.NaN),
            Source.UInt16 => await ReadNumbersAsync<ushort, double>(group, field, rows, double.NaN),
            Source.Int32 => await ReadNumbersAsync<int, double>(group, field, rows, double.NaN),
            Source.UInt32 => await ReadNumbersAsync<uint, double>(group, field, rows, double.NaN),
            Source.Int64 => await ReadNumbersAsync<long, double>(group, field, rows, double.NaN),
            Source.UInt64 => await ReadNumbersAsync<ulong, double>(group, field, rows, double.NaN),
            Source.Decimal => await ReadNumbersAsync<decimal, double>(group, field, rows, double.NaN),
            _ => throw new InvalidOperationException($"Column '{name}': no reader for {plan.Source}."),
        };
        return new Float64Column(name, values);
    }

    private static async Task<TOut[]> ReadNumbersAsync<TIn, TOut>(ParquetRowGroupReader group, DataField field, int rows, TOut missing)
        where TIn : struct, INumberBase<TIn>
        where TOut : INumberBase<TOut>
    {
        var result = new TOut[rows];
        if (field.IsNullable)
        {
            var buffer = ArrayPool<TIn?>.Shared.Rent(rows);
            try
            {
                await group.ReadAsync<TIn>(field, buffer.AsMemory(0, rows));
                for (var i = 0; i < rows; i++)
                {
                    result[i] = buffer[i] is { } v ? TOut.CreateTruncating(v) : missing;
                }
            }
            finally
            {
                ArrayPool<TIn?>.Shared.Return(buffer);
            }
        }
        else
        {
            var buffer = ArrayPool<TIn>.Shared.Rent(rows);
            try
            {
                await group.ReadAsync<TIn>(field, buffer.AsMemory(0, rows));
                for (var i = 0; i < rows; i++)
                {
                    result[i] = TOut.CreateTruncating(buffer[i]);
                }
            }
            finally
            {
                ArrayPool<TIn>.Shared.Return(buffer);
            }
        }

        return result;
    }

    private static async Task<double[]> ReadBooleansAsync(ParquetRowGroupReader group, DataField field, int rows)
    {
        var result = new double[rows];
        if (field.IsNullable)
        {
            var buffer = ArrayPool<bool?>.Shared.Rent(rows);
            try
            {
                await group.ReadAsync<bool>(field, buffer.AsMemory(0, rows));
                for (var i = 0; i < rows; i++)
                {
                    result[i] = buffer[i] is { } v ? (v ? 1.0 : 0.0) : double.NaN;
                }
            }
            finally
            {
                ArrayPool<bool?>.Shared.Return(buffer);
            }
        }
        else
        {
            var buffer = ArrayPool<bool>.Shared.Rent(rows);
            try
            {
                await group.ReadAsync<bool>(field, buffer.AsMemory(0, rows));
                for (var i = 0; i < rows; i++)
                {
                    result[i] = buffer[i] ? 1.0 : 0.0;
                }
            }
            finally
            {
                ArrayPool<bool>.Shared.Return(buffer);
            }
        }

        return result;
    }

    private static async Task<long[]> ReadTimestampsAsync<T>(ParquetRowGroupReader group, DataField field, int rows, Func<T, long> ticks)
        where T : struct
    {
        var result = new long[rows];
        var buffer = ArrayPool<T?>.Shared.Rent(rows);
        try
        {
            if (field.IsNullable)
            {
                await group.ReadAsync<T>(field, buffer.AsMemory(0, rows));
            }
            else
            {
                var dense = ArrayPool<T>.Shared.Rent(rows);
                try
                {
                    await group.ReadAsync<T>(field, dense.AsMemory(0, rows));
                    for (var i = 0; i < rows; i++)
                    {
                        buffer[i] = dense[i];
                    }
                }
                finally
                {
                    ArrayPool<T>.Shared.Return(dense);
                }
            }

            for (var i = 0; i < rows; i++)
            {
                result[i] = buffer[i] is { } v ? FloorMicros(ticks(v) - UnixEpochTicks) : TimestampColumn.Missing;
            }
        }
        finally
        {
            ArrayPool<T?>.Shared.Return(buffer);
        }

        return result;
    }

    private static async Task<ReadOnlyMemory<char>?[]> ReadTextAsync(ParquetRowGroupReader group, DataField field, int rows)
    {
        var buffer = ArrayPool<ReadOnlyMemory<char>?>.Shared.Rent(rows);
        if (field.IsNullable)
        {
            await group.ReadAsync<ReadOnlyMemory<char>>(field, buffer.AsMemory(0, rows));
            return buffer;
        }

        var dense = ArrayPool<ReadOnlyMemory<char>>.Shared.Rent(rows);
        try
        {
            await group.ReadAsync<ReadOnlyMemory<char>>(field, dense.AsMemory(0, rows));
            for (var i = 0; i < rows; i++)
            {
                buffer[i] = dense[i];
            }
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<char>>.Shared.Return(dense, clearArray: true);
        }

        return buffer;
    }

    private static async Task<Column> ReadTextColumnAsync(ParquetRowGroupReader group, ColumnPlan plan, int rows)
    {
        var values = await ReadTextAsync(group, plan.Field, rows);
        try
        {
            if (plan.Kind == ColumnKind.String)
            {
                var strings = new string?[rows];
                for (var i = 0; i < rows; i++)
                {
                    strings[i] = values[i]?.ToString();
                }

                return new StringColumn(plan.Field.Name, strings);
            }

            plan.Lookup ??= new Dictionary<string, int>(StringComparer.Ordinal);
            plan.Dictionary ??= [];
            var lookup = plan.Lookup.GetAlternateLookup<ReadOnlySpan<char>>();
            var codes = new int[rows];
            for (var i = 0; i < rows; i++)
            {
                if (values[i] is not { } v)
                {
                    codes[i] = CategoricalColumn.Missing;
                    continue;
                }

                if (!lookup.TryGetValue(v.Span, out var code))
                {
                    var s = v.ToString();
                    code = plan.Dictionary.Count;
                    plan.Lookup.Add(s, code);
                    plan.Dictionary.Add(s);
                }

                codes[i] = code;
            }

            return new CategoricalColumn(plan.Field.Name, codes, [.. plan.Dictionary]);
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<char>?>.Shared.Return(values, clearArray: true);
        }
    }

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private static long FloorMicros(long ticks)
    {
        var (q, r) = Math.DivRem(ticks, TimeSpan.TicksPerMicrosecond);
        return r < 0 ? q - 1 : q;
    }

    private sealed class ColumnPlan(DataField field, Source source, ColumnKind kind)
    {
        public DataField Field { get; } = field;

        public Source Source { get; } = source;

        public ColumnKind Kind { get; set; } = kind;

        public Dictionary<string, int>? Lookup { get; set; }

        public List<string>? Dictionary { get; set; }
    }
}
