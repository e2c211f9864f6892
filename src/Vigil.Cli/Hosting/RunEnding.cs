using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>Ends a tracked run after the command failed, without hiding the original error.</summary>
internal static class RunEnding
{
    /// <summary>
    /// Marks <paramref name="runId"/> KILLED when <paramref name="error"/> is a cancellation (Ctrl+C), else FAILED.
    /// Never throws for a store error: it notes it, so that the caller rethrows the error that matters.
    /// </summary>
    public static async Task EndAfterErrorAsync(ITrackingStore store, string runId, Exception? error)
    {
        try
        {
            var status = error is OperationCanceledException ? RunStatus.Killed : RunStatus.Failed;
            await store.EndRunAsync(runId, status, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TrackingException e)
        {
            Terminal.Note($"could not end run {runId}: {e.Message}");
        }
    }
}
