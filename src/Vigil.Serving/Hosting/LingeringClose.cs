using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Vigil.Serving;

/// <summary>
/// nginx's lingering close for a request answered 413 before its body was read: the answer is sent, then the rest of the
/// body is read and discarded (at most <see cref="MaxBytes"/> beyond the limit, for at most <see cref="MaxTime"/>)
/// before the connection is closed. Clients that send the whole body before reading the answer (Python's urllib and
/// requests, most HTTP/1.1 libraries) then read the 413; closing a socket with unread input resets the connection
/// instead, and such a client sees a broken pipe. A body larger than that, or slower, still ends with the reset.
/// </summary>
internal static class LingeringClose
{
    /// <summary>The most bytes read and discarded after the limit (64 MB).</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    /// <summary>The longest a drain lasts (10 s).</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Before the body is read: lets the server's body limit (Kestrel's <c>MaxRequestBodySize</c>, set to
    /// <paramref name="limit"/>) stretch to <paramref name="limit"/> + <see cref="MaxBytes"/> for this request, so the
    /// drain can read past the limit; the scoring exchange enforces <paramref name="limit"/> itself.
    /// </summary>
    public static void AllowDrain(HttpContext context, long limit)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit + MaxBytes;
        }
    }

    /// <summary>Sends the (413) response now, then reads and discards what the client is still sending, within the bounds.</summary>
    public static async Task DrainAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength is { } declared && declared > limit + MaxBytes)
        {
            // More than the drain would read: closing now costs the client the same reset, sooner.
            return;
        }

        try
        {
            await context.Response.CompleteAsync().ConfigureAwait(false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(MaxTime);
            var reader = context.Request.BodyReader;
            long drained = 0;
            while (drained <= MaxBytes)
            {
                var result = await reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException or InvalidOperationException)
        {
            // The client went away, was too slow, or sent more than the drain reads: the connection is closed anyway.
        }
    }
}
