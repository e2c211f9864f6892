using System.Buffers;
using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Vigil.Data;

/// <summary>
/// Writes a Parquet file chunk by chunk, for data that does not fit in memory at once. Each
/// <see cref="Write"/> call adds one or more row groups; <see cref="Dispose"/> writes the footer, so a
/// file is only readable after the writer is disposed. The type mapping is described on <see cref="ParquetFile"/>.
/// </summary>
public sealed class ParquetFrameWriter : IDisposable
{
    private readonly string _path;
    private readonly FrameSchema _schema;
    private readonly DataField[] _fields;
    private readonly int _rowGroupSize;
    private readonly FileStream _stream;
    private ParquetWriter? _writer;
    private int[] _allPresent = [];

    /// <summary>Creates (or overwrites) <paramref name="path"/> for frames of the given schema.</summary>
    public ParquetFrameWriter(string path, FrameSchema schema)
        : this(path, schema, ParquetFile.DefaultRowGroupSize)
    {
    }

    /// <summary>Creates (or overwrites) <paramref name="path"/> for frames of the given schema, with row groups of at most <paramref name="rowGroupSize"/> rows.</summary>
    public ParquetFrameWriter(string path, FrameSchema schema, int rowGroupSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowGroupSize, 1);
        if (schema.Columns.Count == 0)
        {
            throw new ArgumentException($"{path}: a Parquet file needs at least one column.", nameof(schema));
        }

        _path = path;
        _schema = schema;
        _rowGroupSize = rowGroupSize;
        _fields = new DataField[schema.Columns.Count];
        for (var i = 0; i < _fields.Length; i++)
        {
            _fields[i] = FieldFor(schema.Columns[i]);
        }

        _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        try
        {
            var parquetSchema = new ParquetSchema(_fields);
            _writer = Sync.Run(() => ParquetWriter.CreateAsync(parquetSchema, _stream, WriteOptions));
            _writer.CustomMetadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ParquetFrameReader.KindsMetadataKey] = ParquetFrameReader.FormatKinds(schema),
            };
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    /// <summary>The number of rows written so far.</summary>
    public long RowsWritten { get; private set; }

    /// <summary>Appends the rows of <paramref name="chunk"/>, whose schema must equal the writer's schema.</summary>
    public void Write(Frame chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var writer = _writer ?? throw new ObjectDisposedException(nameof(ParquetFrameWriter));
        CheckSchema(chunk);
        for (var start = 0; start < chunk.RowCount; start += _rowGroupSize)
        {
            var count = Math.Min(_rowGroupSize, chunk.RowCount - start);
            var s = start;
            Sync.Run(() => WriteRowGroupAsync(writer, chunk, s, count));
            RowsWritten += count;
        }
    }

    /// <summary>Writes the footer and closes the file.</summary>
    public void Dispose()
    {
        var writer = _writer;
        if (writer is null)
        {
            return;
        }

        _writer = null;
        try
        {
            Sync.Run(async () => await writer.DisposeAsync());
        }
        finally
        {
            _stream.Dispose();
        }
    }

    internal static DataField FieldFor(ColumnSchema column) => column.Kind switch
    {
        ColumnKind.Float64 => new DataField<double?>(column.Name),
        ColumnKind.Float32 => new DataField<float?>(column.Name),
        ColumnKind.Categorical or ColumnKind.String => new DataField<string>(column.Name, true),
        ColumnKind.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: true),
        _ => throw new ArgumentOutOfRangeException(nameof(column), column.Kind, $"Column '{column.Name}' has an unknown kind."),
    };

    private void CheckSchema(Frame chunk)
    {
        var columns = chunk.Columns;
        if (columns.Count != _fields.Length)
        {
            throw new ArgumentException(
                $"{_path}: the frame has {columns.Count} columns but the file was created with {_fields.Length} ({_schema}).", nameof(chunk));
        }

        for (var i = 0; i < columns.Count; i++)
        {
            var expected = _schema.Columns[i];
            if (!string.Equals(columns[i].Name, expected.Name, StringComparison.Ordinal) || columns[i].Kind != expected.Kind)
            {
                throw new ArgumentException(
                    $"{_path}: column {i} of the frame is '{columns[i].Name}' ({columns[i].Kind}) but the file expects '{expected.Name}' ({expected.Kind}).",
                    nameof(chunk));
            }
        }
    }

    private async Task WriteRowGroupAsync(ParquetWriter writer, Frame chunk, int start, int count)
    {
        using var group = writer.CreateRowGroup();
        for (var c = 0; c < _fields.Length; c++)
        {
            var field = _fields[c];
            switch (chunk.Columns[c])
            {
                case Float64Column f64:
                    await WriteFloatingAsync(group, field, f64.Memory.Slice(start, count));
                    break;
                case Float32Column f32:
                    await WriteFloatingAsync(group, field, f32.Memory.Slice(start, count));
                    break;
                case CategoricalColumn cat:
                    await WriteCategoricalAsync(group, field, cat, start, count);
                    break;
                case StringColumn str:
                    await WriteStringAsync(group, field, str, start, count);
                    break;
                case TimestampColumn ts:
                    await WriteTimestampAsync(group, field, ts, start, count);
                    break;
                default:
                    throw new ArgumentException($"{_path}: column '{field.Name}' has an unsupported column type {chunk.Columns[c].GetType().Name}.", nameof(chunk));
            }
        }

        group.CompleteValidate();
    }

    // Every column is optional in the file (one definition level: 1 = present, 0 = missing). Columns are
    // written as their present values plus the levels, so a column without missing values goes out
    // straight from the frame's own array with a shared all-present level array: no nullable copy.
    private ReadOnlyMemory<int> AllPresent(int count)
    {
        if (_allPresent.Length < count)
        {
            _allPresent = new int[count];
            _allPresent.AsSpan().Fill(1);
        }

        return _allPresent.AsMemory(0, count);
    }

    private async Task WriteFloatingAsync<T>(ParquetRowGroupWriter group, DataField field, ReadOnlyMemory<T> values)
        where T : struct, System.Numerics.IFloatingPointIeee754<T>
    {
        var present = CountPresent(values.Span);
        if (present == values.Length)
        {
            await group.WriteAllPartsAsync(field, values, AllPresent(values.Length), null, CancellationToken.None);
            return;
        }

        var compact = ArrayPool<T>.Shared.Rent(Math.Max(present, 1));
        var levels = ArrayPool<int>.Shared.Rent(values.Length);
        try
        {
            var span = values.Span;
            var k = 0;
            for (var i = 0; i < span.Length; i++)
            {
                var v = span[i];
                var isPresent = !T.IsNaN(v);
                levels[i] = isPresent ? 1 : 0;
                if (isPresent)
                {
                    compact[k++] = v;
                }
            }

            await group.WriteAllPartsAsync<T>(field, compact.AsMemory(0, k), (ReadOnlyMemory<int>)levels.AsMemory(0, span.Length), null, CancellationToken.None);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(compact);
            ArrayPool<int>.Shared.Return(levels);
        }
    }

    private static int CountPresent<T>(ReadOnlySpan<T> values)
        where T : struct, System.Numerics.IFloatingPointIeee754<T>
    {
        var present = 0;
        foreach (var v in values)
        {
            present += T.IsNaN(v) ? 0 : 1;
        }

        return present;
    }

    private async Task WriteCategoricalAsync(ParquetRowGroupWriter group, DataField field, CategoricalColumn column, int start, int count)
    {
        var dictionary = column.Dictionary;
        var memories = new ReadOnlyMemory<char>[dictionary.Count];
        for (var i = 0; i < memories.Length; i++)
        {
            memories[i] = dictionary[i].AsMemory();
        }

        var buffer = ArrayPool<ReadOnlyMemory<char>>.Shared.Rent(count);
        var levels = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var codes = column.Codes.Slice(start, count);
            var k = 0;
            for (var i = 0; i < codes.Length; i++)
            {
                var code = codes[i];
                levels[i] = code < 0 ? 0 : 1;
                if (code >= 0)
                {
                    buffer[k++] = memories[code];
                }
            }

            await group.WriteAllPartsAsync<ReadOnlyMemory<char>>(field, buffer.AsMemory(0, k), (ReadOnlyMemory<int>)levels.AsMemory(0, count), null, CancellationToken.None);
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<char>>.Shared.Return(buffer, clearArray: true);
            ArrayPool<int>.Shared.Return(levels);
        }
    }

    private static async Task WriteStringAsync(ParquetRowGroupWriter group, DataField field, StringColumn column, int start, int count)
    {
        var buffer = ArrayPool<ReadOnlyMemory<char>>.Shared.Rent(count);
        var levels = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var values = column.Values.Slice(start, count);
            var k = 0;
            for (var i = 0; i < values.Length; i++)
            {
                var v = values[i];
                levels[i] = v is null ? 0 : 1;
                if (v is not null)
                {
                    buffer[k++] = v.AsMemory();
                }
            }

            await group.WriteAllPartsAsync<ReadOnlyMemory<char>>(field, buffer.AsMemory(0, k), (ReadOnlyMemory<int>)levels.AsMemory(0, count), null, CancellationToken.None);
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<char>>.Shared.Return(buffer, clearArray: true);
            ArrayPool<int>.Shared.Return(levels);
        }
    }

    private async Task WriteTimestampAsync(ParquetRowGroupWriter group, DataField field, TimestampColumn column, int start, int count)
    {
        var buffer = ArrayPool<DateTime>.Shared.Rent(count);
        var levels = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var micros = column.UnixMicros.Slice(start, count);
            var k = 0;
            for (var i = 0; i < micros.Length; i++)
            {
                var m = micros[i];
                if (m == TimestampColumn.Missing)
                {
                    levels[i] = 0;
                    continue;
                }

                if (m < MinMicros || m > MaxMicros)
                {
                    throw new ArgumentException(
                        string.Create(CultureInfo.InvariantCulture, $"{_path}: column '{field.Name}' row {start + i} holds {m} microseconds since the epoch, outside the years 0001-9999."),
                        nameof(column));
                }

                levels[i] = 1;
                buffer[k++] = new DateTime(UnixEpochTicks + (m * TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);
            }

            await group.WriteAllPartsAsync<DateTime>(field, buffer.AsMemory(0, k), (ReadOnlyMemory<int>)levels.AsMemory(0, count), null, CancellationToken.None);
        }
        finally
        {
            ArrayPool<DateTime>.Shared.Return(buffer);
            ArrayPool<int>.Shared.Return(levels);
        }
    }

    // Judge dictionary encoding on a sample: a full uniqueness scan of every high-cardinality
    // string column (ids) costs more than encoding it.
    private static ParquetOptions WriteOptions => new() { DictionaryEncodingSampleSize = 4096 };

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;
    private static readonly long MinMicros = -UnixEpochTicks / TimeSpan.TicksPerMicrosecond;
    private static readonly long MaxMicros = (DateTime.MaxValue.Ticks - UnixEpochTicks) / TimeSpan.TicksPerMicrosecond;
}
