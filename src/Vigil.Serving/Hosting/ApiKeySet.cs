using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Vigil.Serving;

/// <summary>
/// A set of API keys (<c>VIGIL_API_KEYS</c> for admin, <c>VIGIL_SCORING_KEYS</c> for scoring) checked in constant
/// time: both sides are hashed (SHA-256) so the comparison has a fixed length, and every key is compared so the
/// timing does not tell which one matched.
/// </summary>
internal sealed class ApiKeySet
{
    private readonly byte[][] _hashes;
    private readonly string[] _partitions;

    public ApiKeySet(IReadOnlyList<string> keys)
    {
        _hashes = new byte[keys.Count][];
        _partitions = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            _hashes[i] = SHA256.HashData(Encoding.UTF8.GetBytes(keys[i]));
            _partitions[i] = "key:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The number of keys (0: none configured).</summary>
    public int Count => _hashes.Length;

    /// <summary>The index of <paramref name="given"/> among the keys, or -1 (also for an empty or missing key).</summary>
    public int IndexOf(string? given)
    {
        if (string.IsNullOrEmpty(given) || _hashes.Length == 0)
        {
            return -1;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetMaxByteCount(given.Length);
        Span<byte> buffer = length <= 512 ? stackalloc byte[512] : new byte[length];
        SHA256.HashData(buffer[..Encoding.UTF8.GetBytes(given, buffer)], hash);
        var found = -1;
        for (var i = 0; i < _hashes.Length; i++)
        {
            // No early exit: every key is compared.
            var equal = CryptographicOperations.FixedTimeEquals(hash, _hashes[i]);
            found = equal ? i : found;
        }

        return found;
    }

    /// <summary>The rate-limit partition of key <paramref name="index"/> (an index, never the key itself).</summary>
    public string Partition(int index) => _partitions[index];

    /// <summary>
    /// Checks the <c>X-API-Key</c> header: null when it names one of the keys, else the problem to answer — 401
    /// without a key (with <c>WWW-Authenticate</c> set on the response), 403 with a wrong one. <paramref name="setting"/>
    /// names the variable that configures the keys, for the message when none is configured.
    /// </summary>
    public (int Status, string Title, string Detail)? Check(HttpContext context, string setting)
    {
        var given = context.Request.Headers[ServiceEndpoints.ApiKeyHeader].ToString();
        if (given.Length == 0)
        {
            context.Response.Headers.WWWAuthenticate = "ApiKey header=\"X-API-Key\"";
            var detail = Count == 0
                ? $"This endpoint needs an API key, and none is configured: set {setting}."
                : "This endpoint needs an API key in the X-API-Key header.";
            return (401, "Unauthorized", detail);
        }

        return IndexOf(given) < 0 ? (403, "Forbidden", "The API key is not valid.") : null;
    }
}
