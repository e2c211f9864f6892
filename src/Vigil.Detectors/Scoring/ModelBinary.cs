using System.Buffers.Binary;
using System.Text;

namespace Vigil.Detectors;

/// <summary>Little-endian readers shared by the detectors' binary model formats; problems are <see cref="InvalidDataException"/>s.</summary>
internal static class ModelBinary
{
    /// <summary>
    /// Checks the 8-byte <paramref name="magic"/> and the int32 version that follows it, and returns the offset after them.
    /// <paramref name="format"/> names the format in the error (e.g. "autoencoder").
    /// </summary>
    public static int ReadHeader(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> magic, string format, int expectedVersion)
    {
        if (bytes.Length < 8 || !bytes[..8].SequenceEqual(magic))
        {
            throw new InvalidDataException($"does not start with the {format} magic header '{Encoding.ASCII.GetString(magic)}'");
        }

        var p = 8;
        var version = ReadInt(bytes, ref p, "header");
        if (version != expectedVersion)
        {
            throw new InvalidDataException($"has binary version {version}; this build reads version {expectedVersion}");
        }

        return p;
    }

    public static int ReadInt(ReadOnlySpan<byte> bytes, ref int p, string context)
    {
        Need(bytes, p, 4, context);
        var v = BinaryPrimitives.ReadInt32LittleEndian(bytes[p..]);
        p += 4;
        return v;
    }

    public static float ReadFloat(ReadOnlySpan<byte> bytes, ref int p, string context)
    {
        Need(bytes, p, 4, context);
        var v = BinaryPrimitives.ReadSingleLittleEndian(bytes[p..]);
        p += 4;
        return v;
    }

    public static double ReadDouble(ReadOnlySpan<byte> bytes, ref int p, string context)
    {
        Need(bytes, p, 8, context);
        var v = BinaryPrimitives.ReadDoubleLittleEndian(bytes[p..]);
        p += 8;
        return v;
    }

    public static void Need(ReadOnlySpan<byte> bytes, int p, int count, string context)
    {
        if (bytes.Length - p < count)
        {
            throw new InvalidDataException($"is truncated in the {context}: {count} more bytes needed at offset {p} but the file ends at {bytes.Length}");
        }
    }
}
