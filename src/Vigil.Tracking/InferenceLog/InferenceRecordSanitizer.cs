using System.Text;
using System.Text.Unicode;

namespace Vigil.Tracking;

/// <summary>
/// Makes an inference log row storable in every sink: PostgreSQL <c>text</c> cannot hold a NUL character, and no UTF-8
/// column can hold a lone UTF-16 surrogate or invalid UTF-8. Such characters in the row's text fields (request id,
/// route, model, error) and payloads are replaced by U+FFFD and the row is marked <see cref="InferenceRecord.Altered"/>.
/// Per-item values (<see cref="InferenceRecord.Items"/>) are stored as an encoded blob and are left as they are.
/// </summary>
public static class InferenceRecordSanitizer
{
    private const char Replacement = '\uFFFD';

    /// <summary>
    /// Returns <paramref name="record"/> itself when every text is storable (the common case: a vectorized scan, no
    /// allocation), else a copy with the offending characters replaced and <see cref="InferenceRecord.Altered"/> set.
    /// </summary>
    public static InferenceRecord Sanitize(InferenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (IsClean(record.LogId) && IsClean(record.RequestId) && IsClean(record.Route) && IsClean(record.Model) && IsClean(record.Error)
            && PayloadIsClean(record.RequestPayloadUtf8, record.RequestPayloadUtf8 is null ? record.RequestPayload : null)
            && PayloadIsClean(record.ResponsePayloadUtf8 is { } r ? r : null, record.ResponsePayloadUtf8 is null ? record.ResponsePayload : null))
        {
            return record;
        }

        return new InferenceRecord
        {
            LogId = Clean(record.LogId)!,
            RequestId = Clean(record.RequestId)!,
            StartUs = record.StartUs,
            EndUs = record.EndUs,
            Route = Clean(record.Route)!,
            Model = Clean(record.Model),
            Version = record.Version,
            Status = record.Status,
            Rows = record.Rows,
            ScoredRows = record.ScoredRows,
            RequestPayload = Clean(record.RequestPayload),
            ResponsePayload = Clean(record.ResponsePayload),
            ParseUs = record.ParseUs,
            TransformUs = record.TransformUs,
            ScoreUs = record.ScoreUs,
            Error = Clean(record.Error),
            Items = record.ItemsEncoded is null ? record.Items : null,
            ItemsEncoded = record.ItemsEncoded,
            Altered = true,
        };
    }

    /// <summary>True when <paramref name="text"/> is null or holds neither a NUL nor a lone surrogate.</summary>
    public static bool IsClean(string? text)
    {
        if (text is null)
        {
            return true;
        }

        var span = text.AsSpan();
        if (span.Contains('\0'))
        {
            return false;
        }

        var at = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        return at < 0 || SurrogatesArePaired(span[at..]);
    }

    private static bool SurrogatesArePaired(ReadOnlySpan<char> span)
    {
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= span.Length || !char.IsLowSurrogate(span[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool PayloadIsClean(ReadOnlyMemory<byte>? utf8, string? text)
    {
        if (utf8 is { } bytes)
        {
            var span = bytes.Span;
            return !span.Contains((byte)0) && Utf8.IsValid(span);
        }

        return IsClean(text);
    }

    private static string? Clean(string? text)
    {
        if (IsClean(text))
        {
            return text;
        }

        var builder = new StringBuilder(text!.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                builder.Append(Replacement);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                builder.Append(Replacement);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
