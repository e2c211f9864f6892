using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Vigil.Tracking;

/// <summary>
/// The compact binary encoding of a request's <see cref="InferenceItems"/>, stored by both SQL stores in the
/// <c>inference_items.items</c> column (one value per request; the same bytes for SQLite and PostgreSQL).
/// Little-endian, columnar, version 1:
/// <code>
/// u8 version (1) · varint count · varint feature count · per feature: u8 kind (0 numeric, 1 categorical), varint byte length, UTF-8 name
/// statuses: u8 0 + varint status (all items alike) | u8 1 + count × i32
/// scores: count × f64 (NaN = not scored) · labels: count × i8 (-1 = none)
/// rules: varint dictionary size d, d × (varint length, UTF-8); when d &gt; 0: count × varint (0 = none, k = entry k)
/// per feature: numeric: count × f64 (NaN = missing) | categorical: dictionary as for rules, count × varint (0 = null)
/// </code>
/// The feature header (names and kinds) comes before the values so that a reader can tell from its bytes alone
/// whether two requests share a feature set.
/// <para>
/// Version 2 is a <em>run</em>: the version 1 encodings of several requests of one model, stored as one row so that a
/// write batch costs one row per run instead of one per request (see <see cref="RunEncoder"/>):
/// <code>
/// u8 version (2) · i32 request count · per request: varint length + UTF-8 log id, varint length + UTF-8 request id,
/// i64 start (unix µs), varint version + 1 (0 = none), varint length + its version 1 encoding
/// </code>
/// </para>
/// </summary>
internal static class InferenceItemsCodec
{
    public const byte Version = 1;

    /// <summary>The version byte of a run of requests (see <see cref="RunEncoder"/>).</summary>
    public const byte RunVersion = 2;
    private const byte KindNumeric = 0;
    private const byte KindText = 1;

    /// <summary>Checks that <paramref name="items"/> can be encoded; the message names what is wrong.</summary>
    public static string? Problem(InferenceItems items)
    {
        var n = items.Count;
        if (n < 0)
        {
            return "a negative item count";
        }
        if (items.Status is null || items.Status.Length < n || items.Score is null || items.Score.Length < n
            || items.Label is null || items.Label.Length < n || items.Rule is null || items.Rule.Length < n)
        {
            return "a status, score, label or rule array shorter than the item count";
        }
        if (items.Features is null)
        {
            return "no feature list";
        }
        for (var f = 0; f < items.Features.Count; f++)
        {
            var c = items.Features[f];
            if (c is null || c.Name is null)
            {
                return "a feature column without a name";
            }
            if ((c.Numbers is null) == (c.Texts is null))
            {
                return $"feature '{c.Name}' with both or neither of numbers and texts";
            }
            if ((c.Numbers?.Length ?? c.Texts!.Length) < n)
            {
                return $"feature '{c.Name}' with fewer values than items";
            }
        }
        return null;
    }

    /// <summary>
    /// Encodes one request's items into reusable buffers: one encoder per batch (not thread-safe); the span returned by
    /// <see cref="Encoder.Encode"/> is valid until the next call.
    /// </summary>
    internal sealed class Encoder
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Dictionary<string, int> _dictionary = new(StringComparer.Ordinal);
        private readonly List<string> _entries = [];
        private int[] _indexes = new int[64];

        /// <exception cref="ArgumentException">The items are inconsistent (see <see cref="Problem"/>).</exception>
        public ReadOnlyMemory<byte> Encode(InferenceItems items) =>
            Problem(items) is { } problem ? throw new ArgumentException($"inference log items: {problem}", nameof(items)) : EncodeChecked(items);

        /// <summary>Encodes items <see cref="Problem"/> found nothing wrong with.</summary>
        public ReadOnlyMemory<byte> EncodeChecked(InferenceItems items)
        {
            _buffer.ResetWrittenCount();
            var n = items.Count;
            WriteByte(Version);
            WriteVarint((uint)n);
            var features = items.Features;
            WriteRaw(FeatureHeader(features));

            var status = items.Status.AsSpan(0, n);
            var uniform = true;
            for (var i = 1; i < n; i++)
            {
                if (status[i] != status[0])
                {
                    uniform = false;
                    break;
                }
            }
            if (uniform)
            {
                WriteByte(0);
                WriteVarint(n == 0 ? 0u : (uint)status[0]);
            }
            else
            {
                WriteByte(1);
                WriteRaw(MemoryMarshal.AsBytes(status));
            }
            WriteDoubles(items.Score.AsSpan(0, n));
            WriteRaw(MemoryMarshal.AsBytes(items.Label.AsSpan(0, n)));
            WriteTexts(items.Rule.AsSpan(0, n));
            for (var f = 0; f < features.Count; f++)
            {
                if (features[f].Texts is { } texts)
                {
                    WriteTexts(texts.AsSpan(0, n));
                }
                else
                {
                    WriteDoubles(features[f].Numbers.AsSpan(0, n));
                }
            }
            return _buffer.WrittenMemory;
        }

        /// <summary>
        /// The encoded feature count, kinds and names of <paramref name="features"/>: kept from the previous request
        /// when its names (usually the same string instances: the model's input names) and kinds are the same.
        /// </summary>
        private ReadOnlySpan<byte> FeatureHeader(IReadOnlyList<InferenceFeatureColumn> features)
        {
            var same = _headerNames.Length == features.Count;
            for (var f = 0; same && f < features.Count; f++)
            {
                var name = features[f].Name;
                same = _headerKinds[f] == features[f].IsText && (ReferenceEquals(_headerNames[f], name) || string.Equals(_headerNames[f], name, StringComparison.Ordinal));
            }
            if (!same)
            {
                var header = new ArrayBufferWriter<byte>(64);
                Varint(header, (uint)features.Count);
                _headerNames = new string[features.Count];
                _headerKinds = new bool[features.Count];
                for (var f = 0; f < features.Count; f++)
                {
                    _headerNames[f] = features[f].Name;
                    _headerKinds[f] = features[f].IsText;
                    header.GetSpan(1)[0] = features[f].IsText ? KindText : KindNumeric;
                    header.Advance(1);
                    Utf8(header, features[f].Name);
                }
                _header = header.WrittenSpan.ToArray();
            }
            return _header;
        }

        private string[] _headerNames = [];
        private bool[] _headerKinds = [];
        private byte[] _header = [0]; // no features: the count 0

        private void WriteTexts(ReadOnlySpan<string?> values)
        {
            _dictionary.Clear();
            _entries.Clear();
            if (_indexes.Length < values.Length)
            {
                _indexes = new int[Math.Max(values.Length, _indexes.Length * 2)];
            }
            for (var i = 0; i < values.Length; i++)
            {
                var v = values[i];
                if (v is null)
                {
                    _indexes[i] = 0;
                    continue;
                }
                if (!_dictionary.TryGetValue(v, out var k))
                {
                    _entries.Add(v);
                    k = _entries.Count;
                    _dictionary.Add(v, k);
                }
                _indexes[i] = k;
            }
            WriteVarint((uint)_entries.Count);
            foreach (var entry in _entries)
            {
                WriteString(entry);
            }
            if (_entries.Count > 0)
            {
                for (var i = 0; i < values.Length; i++)
                {
                    WriteVarint((uint)_indexes[i]);
                }
            }
        }

        private void WriteDoubles(ReadOnlySpan<double> values)
        {
            if (BitConverter.IsLittleEndian)
            {
                WriteRaw(MemoryMarshal.AsBytes(values));
                return;
            }
            var span = _buffer.GetSpan(values.Length * 8);
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], values[i]);
            }
            _buffer.Advance(values.Length * 8);
        }

        private void WriteRaw(ReadOnlySpan<byte> bytes)
        {
            if (!BitConverter.IsLittleEndian && bytes.Length > 0)
            {
                throw new PlatformNotSupportedException("inference log items are encoded on little-endian machines only");
            }
            _buffer.Write(bytes);
        }

        private void WriteByte(byte value)
        {
            _buffer.GetSpan(1)[0] = value;
            _buffer.Advance(1);
        }

        private void WriteVarint(uint value) => Varint(_buffer, value);

        private void WriteString(string value) => Utf8(_buffer, value);
    }

    /// <summary>
    /// Encodes runs of requests (version 2) into a reusable buffer: <see cref="Begin"/>, <see cref="Add"/> per request,
    /// <see cref="Finish"/>. Not thread-safe; the memory returned by <see cref="Finish"/> is valid until the next
    /// <see cref="Begin"/>.
    /// </summary>
    internal sealed class RunEncoder
    {
        private readonly Encoder _items = new();
        private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
        private int _count;

        /// <summary>The number of requests added since <see cref="Begin"/>.</summary>
        public int Count => _count;

        /// <summary>The bytes written since <see cref="Begin"/>.</summary>
        public int Length => _buffer.WrittenCount;

        /// <summary>Starts an empty run.</summary>
        public void Begin()
        {
            _buffer.ResetWrittenCount();
            _count = 0;
            var span = _buffer.GetSpan(5);
            span[0] = RunVersion;
            BinaryPrimitives.WriteInt32LittleEndian(span[1..], 0);
            _buffer.Advance(5);
        }

        /// <summary>Appends one request; <paramref name="record"/> must have items.</summary>
        /// <exception cref="ArgumentException">The items are inconsistent (see <see cref="Problem"/>).</exception>
        public void Add(InferenceRecord record)
        {
            ReadOnlyMemory<byte> items = record.ItemsEncoded is { } encoded ? encoded : _items.Encode(record.Items ?? throw new ArgumentException("inference log items: a request without items", nameof(record)));
            WriteString(record.LogId);
            WriteString(record.RequestId);
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), record.StartUs);
            _buffer.Advance(8);
            WriteVarint(record.Version is { } v ? checked((uint)v + 1) : 0u);
            WriteVarint((uint)items.Length);
            _buffer.Write(items.Span);
            _count++;
        }

        /// <summary>The run's bytes.</summary>
        public ReadOnlyMemory<byte> Finish()
        {
            var written = _buffer.WrittenMemory;
            BinaryPrimitives.WriteInt32LittleEndian(MemoryMarshal.AsMemory(written).Span[1..], _count);
            return written;
        }

        private void WriteVarint(uint value) => Varint(_buffer, value);

        private void WriteString(string value) => Utf8(_buffer, value);
    }

    private static void Varint(ArrayBufferWriter<byte> buffer, uint value)
    {
        var span = buffer.GetSpan(5);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        buffer.Advance(i);
    }

    private static void Utf8(ArrayBufferWriter<byte> buffer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Varint(buffer, (uint)length);
        buffer.Advance(Encoding.UTF8.GetBytes(value, buffer.GetSpan(length)));
    }

    /// <summary>One request of a stored row: its identity and its version 1 encoding.</summary>
    internal readonly ref struct RunEntry(string logId, string requestId, long startUs, int? version, ReadOnlySpan<byte> items)
    {
        public string LogId { get; } = logId;

        public string RequestId { get; } = requestId;

        public long StartUs { get; } = startUs;

        public int? Version { get; } = version;

        public ReadOnlySpan<byte> Items { get; } = items;
    }

    /// <summary>
    /// Reads the requests of one stored row, whatever its version: a version 1 row is one request (identified by the
    /// row's own columns), a version 2 row a run.
    /// </summary>
    internal ref struct RowReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly string _logId;
        private readonly string _requestId;
        private readonly long _startUs;
        private readonly int? _version;
        private readonly int _count;
        private int _index;
        private int _pos;

        /// <exception cref="InvalidDataException">The row's encoding has an unknown version or is truncated.</exception>
        public RowReader(ReadOnlySpan<byte> data, string logId, string requestId, long startUs, int? version)
        {
            _data = data;
            _logId = logId;
            _requestId = requestId;
            _startUs = startUs;
            _version = version;
            if (data.Length > 0 && data[0] == RunVersion)
            {
                if (data.Length < 5)
                {
                    throw new InvalidDataException("inference log items: the encoding is truncated");
                }
                _count = BinaryPrimitives.ReadInt32LittleEndian(data[1..]);
                if (_count < 0)
                {
                    throw new InvalidDataException("inference log items: a malformed run length");
                }
                _pos = 5;
            }
            else
            {
                _count = 1;
                _pos = -1;
            }
        }

        /// <summary>The number of requests in the row.</summary>
        public readonly int Count => _count;

        /// <summary>The index of the next request <see cref="Next"/> returns.</summary>
        public readonly int Index => _index;

        /// <summary>The next request, or false after the last.</summary>
        public bool Next(out RunEntry entry)
        {
            if (_index >= _count)
            {
                entry = default;
                return false;
            }
            _index++;
            if (_pos < 0)
            {
                entry = new RunEntry(_logId, _requestId, _startUs, _version, _data);
                return true;
            }
            var logId = Encoding.UTF8.GetString(Take(Length()));
            var requestId = Encoding.UTF8.GetString(Take(Length()));
            var startUs = BinaryPrimitives.ReadInt64LittleEndian(Take(8));
            var v = Varint();
            var items = Take(Length());
            entry = new RunEntry(logId, requestId, startUs, v == 0 ? null : checked((int)(v - 1)), items);
            if (_index == _count && _pos != _data.Length)
            {
                throw new InvalidDataException("inference log items: trailing bytes after the last request of a run");
            }
            return true;
        }

        private uint Varint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Take(1)[0];
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw new InvalidDataException("inference log items: a malformed length");
        }

        private int Length()
        {
            var v = Varint();
            return v > int.MaxValue ? throw new InvalidDataException("inference log items: a malformed length") : (int)v;
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length > _data.Length - _pos)
            {
                throw new InvalidDataException("inference log items: the encoding is truncated");
            }
            var span = _data.Slice(_pos, length);
            _pos += length;
            return span;
        }
    }

    /// <summary>The item count of a version 1 encoding (read from its header).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a version 1 encoding.</exception>
    public static int CountOf(ReadOnlySpan<byte> data) => new Reader(data).ReadHeader().Count;

    /// <summary>Decodes one request's items (fresh arrays of exactly <see cref="InferenceItems.Count"/> entries).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a version 1 encoding.</exception>
    public static InferenceItems Decode(ReadOnlySpan<byte> data)
    {
        var reader = new Reader(data);
        var header = reader.ReadHeader();
        var n = header.Count;
        var names = new string[header.FeatureCount];
        var kinds = new bool[header.FeatureCount];
        reader.ReadFeatureNames(names, kinds);
        var status = new int[n];
        var score = new double[n];
        var label = new sbyte[n];
        var rule = new string?[n];
        reader.ReadStatuses(status);
        reader.ReadDoubles(score);
        reader.ReadLabels(label);
        reader.ReadTexts(rule, null);
        var features = new InferenceFeatureColumn[names.Length];
        for (var f = 0; f < names.Length; f++)
        {
            if (kinds[f])
            {
                var texts = new string?[n];
                reader.ReadTexts(texts, null);
                features[f] = new InferenceFeatureColumn(names[f], null, texts);
            }
            else
            {
                var numbers = new double[n];
                reader.ReadDoubles(numbers);
                features[f] = new InferenceFeatureColumn(names[f], numbers, null);
            }
        }
        reader.EnsureEnd();
        return new InferenceItems { Count = n, Status = status, Score = score, Label = label, Rule = rule, Features = features };
    }

    /// <summary>The fixed part of an encoding: item count, feature count, and where the feature header lies.</summary>
    internal readonly record struct Header(int Count, int FeatureCount, int FeatureHeaderStart, int FeatureHeaderEnd);

    /// <summary>Reads an encoding section by section, in the order it was written.</summary>
    internal ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public Header ReadHeader()
        {
            var version = ReadByte();
            if (version != Version)
            {
                throw new InvalidDataException($"inference log items: unknown encoding version {version.ToString(CultureInfo.InvariantCulture)}");
            }
            var count = ReadLength();
            var features = ReadLength();
            var start = _pos;
            for (var f = 0; f < features; f++)
            {
                ReadByte();
                Skip(ReadLength());
            }
            var end = _pos;
            _pos = start;
            return new Header(count, features, start, end);
        }

        /// <summary>The raw bytes of the feature header (for comparing feature sets).</summary>
        public readonly ReadOnlySpan<byte> Slice(int start, int end) => _data[start..end];

        public void ReadFeatureNames(Span<string> names, Span<bool> isText)
        {
            for (var f = 0; f < names.Length; f++)
            {
                var kind = ReadByte();
                if (kind > KindText)
                {
                    throw new InvalidDataException($"inference log items: unknown feature kind {kind.ToString(CultureInfo.InvariantCulture)}");
                }
                isText[f] = kind == KindText;
                names[f] = Encoding.UTF8.GetString(Take(ReadLength()));
            }
        }

        public void SkipFeatureNames(int count)
        {
            for (var f = 0; f < count; f++)
            {
                ReadByte();
                Skip(ReadLength());
            }
        }

        public void ReadStatuses(Span<int> into)
        {
            var mode = ReadByte();
            if (mode == 0)
            {
                into.Fill(checked((int)ReadVarint()));
            }
            else if (mode == 1)
            {
                Take(into.Length * 4).CopyTo(MemoryMarshal.AsBytes(into));
            }
            else
            {
                throw new InvalidDataException("inference log items: unknown status encoding");
            }
        }

        public void ReadDoubles(Span<double> into) => Take(into.Length * 8).CopyTo(MemoryMarshal.AsBytes(into));

        public void ReadLabels(Span<sbyte> into) => Take(into.Length).CopyTo(MemoryMarshal.AsBytes(into));

        /// <summary>Reads a dictionary-encoded text column; <paramref name="strings"/> (when given) reuses equal strings.</summary>
        public void ReadTexts(Span<string?> into, StringCache? strings)
        {
            var size = ReadLength();
            if (size == 0)
            {
                into.Clear();
                return;
            }
            string[] entries = size <= 16 ? (_small ??= new string[16]) : new string[size];
            for (var k = 0; k < size; k++)
            {
                var bytes = Take(ReadLength());
                entries[k] = strings is null ? Encoding.UTF8.GetString(bytes) : strings.Get(bytes);
            }
            for (var i = 0; i < into.Length; i++)
            {
                var k = ReadVarint();
                if (k > (uint)size)
                {
                    throw new InvalidDataException("inference log items: a text index out of its dictionary");
                }
                into[i] = k == 0 ? null : entries[k - 1];
            }
        }

        private string[]? _small;

        public readonly void EnsureEnd()
        {
            if (_pos != _data.Length)
            {
                throw new InvalidDataException("inference log items: trailing bytes after the last column");
            }
        }

        private byte ReadByte()
        {
            if (_pos >= _data.Length)
            {
                throw Truncated();
            }
            return _data[_pos++];
        }

        private uint ReadVarint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = ReadByte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw new InvalidDataException("inference log items: a malformed length");
        }

        private int ReadLength()
        {
            var v = ReadVarint();
            if (v > int.MaxValue)
            {
                throw new InvalidDataException("inference log items: a malformed length");
            }
            return (int)v;
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length < 0 || length > _data.Length - _pos)
            {
                throw Truncated();
            }
            var span = _data.Slice(_pos, length);
            _pos += length;
            return span;
        }

        private void Skip(int length) => Take(length);

        private static InvalidDataException Truncated() => new("inference log items: the encoding is truncated");
    }

    /// <summary>Reuses strings decoded from equal UTF-8 bytes (categorical values and rule names repeat across requests).</summary>
    internal sealed class StringCache
    {
        private const int MaxEntries = 65_536;
        private readonly HashSet<string> _set = new(StringComparer.Ordinal);
        private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private char[] _chars = new char[256];

        public StringCache()
        {
            _lookup = _set.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public string Get(ReadOnlySpan<byte> utf8)
        {
            if (_chars.Length < utf8.Length)
            {
                _chars = new char[utf8.Length * 2];
            }
            var length = Encoding.UTF8.GetChars(utf8, _chars);
            var chars = _chars.AsSpan(0, length);
            if (_lookup.TryGetValue(chars, out var existing))
            {
                return existing;
            }
            var s = new string(chars);
            if (_set.Count >= MaxEntries)
            {
                _set.Clear();
            }
            _set.Add(s);
            return s;
        }
    }
}
