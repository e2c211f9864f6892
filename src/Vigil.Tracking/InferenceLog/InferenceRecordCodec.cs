using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Vigil.Tracking;

/// <summary>
/// A compact binary encoding of one <see cref="InferenceRecord"/>, used by the server's write-ahead log. Layout
/// (version 1, little-endian): a version byte; log id, request id and route as strings; the model (nullable string);
/// the version (a presence byte + int32); start, end, parse, transform and score microseconds (int64 each); status,
/// rows and scored rows (int32 each); the request and response payloads (a tag byte: 0 none, 1 text, 2 UTF-8 bytes,
/// then the bytes); the error (nullable string); a flags byte (bit 0: <see cref="InferenceRecord.Altered"/>); the items
/// (nullable bytes, encoded by <see cref="InferenceItemsCodec"/>). A string is a 7-bit varint byte length + UTF-8; a
/// nullable string or byte block stores length + 1, with 0 meaning null.
/// </summary>
public static class InferenceRecordCodec
{
    /// <summary>The encoding version written by <see cref="Encode"/>.</summary>
    public const byte Version = 1;

    private const byte PayloadNone = 0;
    private const byte PayloadText = 1;
    private const byte PayloadBytes = 2;

    [ThreadStatic]
    private static InferenceItemsCodec.Encoder? t_items;

    /// <summary>Appends the encoding of <paramref name="record"/> to <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The record's items are inconsistent.</exception>
    public static void Encode(InferenceRecord record, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(output);
        WriteByte(output, Version);
        WriteString(output, record.LogId);
        WriteString(output, record.RequestId);
        WriteString(output, record.Route);
        WriteNullableString(output, record.Model);
        WriteByte(output, record.Version is null ? (byte)0 : (byte)1);
        WriteInt32(output, record.Version ?? 0);
        WriteInt64(output, record.StartUs);
        WriteInt64(output, record.EndUs);
        WriteInt64(output, record.ParseUs);
        WriteInt64(output, record.TransformUs);
        WriteInt64(output, record.ScoreUs);
        WriteInt32(output, record.Status);
        WriteInt32(output, record.Rows);
        WriteInt32(output, record.ScoredRows);
        WritePayload(output, record.RequestPayloadUtf8, record.RequestPayloadUtf8 is null ? record.RequestPayload : null);
        WritePayload(output, record.ResponsePayloadUtf8, record.ResponsePayloadUtf8 is null ? record.ResponsePayload : null);
        WriteNullableString(output, record.Error);
        WriteByte(output, record.Altered ? (byte)1 : (byte)0);
        if (record.ItemsEncoded is { } itemsEncoded)
        {
            WriteNullableBytes(output, itemsEncoded, present: true);
        }
        else if (record.Items is { } items)
        {
            var encoded = (t_items ??= new InferenceItemsCodec.Encoder()).Encode(items);
            WriteNullableBytes(output, encoded.Span, present: true);
        }
        else
        {
            WriteNullableBytes(output, default, present: false);
        }
    }

    /// <summary>Decodes one record written by <see cref="Encode"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a record of a known version (the message says what is wrong).</exception>
    public static InferenceRecord Decode(ReadOnlySpan<byte> data)
    {
        var reader = new Reader(data);
        var version = reader.Byte();
        if (version != Version)
        {
            throw new InvalidDataException($"inference log record: encoding version {version} is not supported (this build reads version {Version})");
        }

        var logId = reader.String();
        var requestId = reader.String();
        var route = reader.String();
        var model = reader.NullableString();
        var hasVersion = reader.Byte() != 0;
        var modelVersion = reader.Int32();
        var startUs = reader.Int64();
        var endUs = reader.Int64();
        var parseUs = reader.Int64();
        var transformUs = reader.Int64();
        var scoreUs = reader.Int64();
        var status = reader.Int32();
        var rows = reader.Int32();
        var scoredRows = reader.Int32();
        var (requestText, requestBytes) = reader.Payload();
        var (responseText, responseBytes) = reader.Payload();
        var error = reader.NullableString();
        var flags = reader.Byte();
        var items = reader.NullableBytes(out var hasItems);
        if (!reader.AtEnd)
        {
            throw new InvalidDataException($"inference log record {logId}: {reader.Remaining} unexpected bytes after the record");
        }

        return new InferenceRecord
        {
            LogId = logId,
            RequestId = requestId,
            Route = route,
            Model = model,
            Version = hasVersion ? modelVersion : null,
            StartUs = startUs,
            EndUs = endUs,
            ParseUs = parseUs,
            TransformUs = transformUs,
            ScoreUs = scoreUs,
            Status = status,
            Rows = rows,
            ScoredRows = scoredRows,
            RequestPayload = requestText,
            RequestPayloadUtf8 = requestBytes,
            ResponsePayload = responseText,
            ResponsePayloadUtf8 = responseBytes,
            Error = error,
            Altered = (flags & 1) != 0,
            ItemsEncoded = hasItems ? ValidItems(items, logId) : null,
        };
    }

    /// <summary>
    /// A copy of a record's encoded items, kept encoded (the SQL stores write them as they are; <see cref="InferenceRecord.Items"/>
    /// decodes them on first use). Only the header is checked here: the write-ahead log's CRC guards the rest.
    /// </summary>
    private static byte[] ValidItems(ReadOnlySpan<byte> items, string logId)
    {
        try
        {
            InferenceItemsCodec.CountOf(items);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"inference log record {logId}: its items are not readable: {e.Message}", e);
        }

        return items.ToArray();
    }

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteInt32(IBufferWriter<byte> output, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), value);
        output.Advance(4);
    }

    private static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    private static void WriteVarint(IBufferWriter<byte> output, uint value)
    {
        var span = output.GetSpan(5);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        output.Advance(n);
    }

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint(output, (uint)length);
        Encoding.UTF8.GetBytes(value, output.GetSpan(length));
        output.Advance(length);
    }

    private static void WriteNullableString(IBufferWriter<byte> output, string? value)
    {
        if (value is null)
        {
            WriteVarint(output, 0);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint(output, (uint)length + 1);
        Encoding.UTF8.GetBytes(value, output.GetSpan(length));
        output.Advance(length);
    }

    private static void WriteNullableBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> value, bool present)
    {
        if (!present)
        {
            WriteVarint(output, 0);
            return;
        }

        WriteVarint(output, (uint)value.Length + 1);
        value.CopyTo(output.GetSpan(value.Length));
        output.Advance(value.Length);
    }

    private static void WritePayload(IBufferWriter<byte> output, ReadOnlyMemory<byte>? bytes, string? text)
    {
        if (bytes is { } b)
        {
            WriteByte(output, PayloadBytes);
            WriteNullableBytes(output, b.Span, present: true);
        }
        else if (text is not null)
        {
            WriteByte(output, PayloadText);
            WriteNullableString(output, text);
        }
        else
        {
            WriteByte(output, PayloadNone);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public readonly bool AtEnd => _at == _data.Length;

        public readonly int Remaining => _data.Length - _at;

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public string String() => Encoding.UTF8.GetString(Take(checked((int)Varint())));

        public string? NullableString()
        {
            var n = Varint();
            return n == 0 ? null : Encoding.UTF8.GetString(Take(checked((int)(n - 1))));
        }

        public ReadOnlySpan<byte> NullableBytes(out bool present)
        {
            var n = Varint();
            present = n != 0;
            return n == 0 ? default : Take(checked((int)(n - 1)));
        }

        public (string? Text, byte[]? Bytes) Payload() => Byte() switch
        {
            PayloadNone => (null, null),
            PayloadText => (NullableString(), null),
            PayloadBytes => (null, NullableBytes(out _).ToArray()),
            var tag => throw new InvalidDataException($"inference log record: unknown payload tag {tag} at byte {_at - 1}"),
        };

        private uint Varint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException($"inference log record: a length at byte {_at} is longer than 5 bytes");
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _data.Length - _at)
            {
                throw new InvalidDataException($"inference log record: {count} bytes wanted at byte {_at} but only {_data.Length - _at} remain (truncated record)");
            }

            var span = _data.Slice(_at, count);
            _at += count;
            return span;
        }
    }
}
