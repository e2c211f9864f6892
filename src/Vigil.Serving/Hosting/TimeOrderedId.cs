using System.Security.Cryptography;

namespace Vigil.Serving;

/// <summary>
/// UUIDv7 ids (RFC 9562: 48-bit Unix milliseconds, version 7, variant 10, 74 random bits) as 32 lowercase hex digits,
/// the format of <c>Guid.CreateVersion7().ToString("N")</c>. The server makes two per request (the request id and the
/// log id); <see cref="Guid.CreateVersion7()"/> reads 16 bytes of <c>/dev/urandom</c> with one system call each time,
/// here each thread draws 4 KiB from the same cryptographic generator at once, one system call per 256 ids.
/// </summary>
internal static class TimeOrderedId
{
    private const int BufferBytes = 4096;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    /// <summary>A new id stamped with the current time.</summary>
    public static string New() => New(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>A new id stamped with <paramref name="unixMilliseconds"/>.</summary>
    internal static string New(long unixMilliseconds)
    {
        var random = t_random;
        if (random is null || t_next == BufferBytes)
        {
            random ??= t_random = new byte[BufferBytes];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }

        Span<byte> id = stackalloc byte[16];
        random.AsSpan(t_next, 16).CopyTo(id);
        t_next += 16;
        for (var i = 0; i < 6; i++)
        {
            id[i] = (byte)(unixMilliseconds >> (40 - (8 * i)));
        }

        id[6] = (byte)((id[6] & 0x0F) | 0x70);
        id[8] = (byte)((id[8] & 0x3F) | 0x80);
        return Convert.ToHexStringLower(id);
    }
}
