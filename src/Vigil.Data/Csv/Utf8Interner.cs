using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Vigil.Data.Csv;

/// <summary>
/// Maps UTF-8 byte spans to dense codes in order of first appearance, without allocating for values
/// already seen: an open-addressing hash table over the raw bytes. A string is decoded only once per
/// distinct value. Codes never change once given, so the dictionary only grows.
/// </summary>
internal sealed class Utf8Interner
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private int[] _buckets = new int[64];
    private uint[] _hashes = new uint[16];
    private int[] _offsets = new int[16];
    private int[] _lengths = new int[16];
    private byte[] _arena = new byte[1024];
    private int _arenaUsed;
    private readonly List<string> _values = [];
    private readonly bool _decodeStrings;
    private int _count;

    /// <summary>Creates an empty interner; without <paramref name="decodeStrings"/> it only counts distinct byte strings.</summary>
    public Utf8Interner(bool decodeStrings = true) => _decodeStrings = decodeStrings;

    /// <summary>The number of distinct values.</summary>
    public int Count => _count;

    /// <summary>A copy of the dictionary as it is now.</summary>
    public string[] Snapshot() => [.. _values];

    /// <summary>The code of <paramref name="key"/>, adding it when new; throws <see cref="DecoderFallbackException"/> for invalid UTF-8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int GetOrAdd(ReadOnlySpan<byte> key)
    {
        var hash = Hash(key);
        var mask = _buckets.Length - 1;
        var b = (int)hash & mask;
        while (true)
        {
            var entry = _buckets[b];
            if (entry == 0)
            {
                break;
            }

            var code = entry - 1;
            if (_hashes[code] == hash && key.SequenceEqual(_arena.AsSpan(_offsets[code], _lengths[code])))
            {
                return code;
            }

            b = (b + 1) & mask;
        }

        return Add(key, hash, b);
    }

    private int Add(ReadOnlySpan<byte> key, uint hash, int bucket)
    {
        if (_decodeStrings)
        {
            _values.Add(StrictUtf8.GetString(key));
        }

        var code = _count++;
        if (code == _hashes.Length)
        {
            Array.Resize(ref _hashes, code * 2);
            Array.Resize(ref _offsets, code * 2);
            Array.Resize(ref _lengths, code * 2);
        }

        if (_arenaUsed + key.Length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + key.Length));
        }

        key.CopyTo(_arena.AsSpan(_arenaUsed));
        _hashes[code] = hash;
        _offsets[code] = _arenaUsed;
        _lengths[code] = key.Length;
        _arenaUsed += key.Length;
        _buckets[bucket] = code + 1;
        if ((code + 1) * 2 > _buckets.Length)
        {
            Rehash(_buckets.Length * 2);
        }

        return code;
    }

    private void Rehash(int size)
    {
        var buckets = new int[size];
        var mask = size - 1;
        for (var code = 0; code < _count; code++)
        {
            var b = (int)_hashes[code] & mask;
            while (buckets[b] != 0)
            {
                b = (b + 1) & mask;
            }

            buckets[b] = code + 1;
        }

        _buckets = buckets;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<byte> key)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        var h = (ulong)key.Length * K;
        while (key.Length >= 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(key)) * K;
            h ^= h >> 32;
            key = key[8..];
        }

        ulong tail = 0;
        for (var i = 0; i < key.Length; i++)
        {
            tail |= (ulong)key[i] << (8 * i);
        }

        h = (h ^ tail) * K;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9;
        h ^= h >> 32;
        return (uint)h;
    }
}
