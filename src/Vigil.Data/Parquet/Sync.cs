namespace Vigil.Data;

/// <summary>
/// Runs Parquet.Net's asynchronous API from the synchronous frame API. The work runs on the thread
/// pool, so a caller's synchronization context can never deadlock it; exceptions surface unwrapped.
/// </summary>
internal static class Sync
{
    public static void Run(Func<Task> work) => Task.Run(work).GetAwaiter().GetResult();

    public static T Run<T>(Func<Task<T>> work) => Task.Run(work).GetAwaiter().GetResult();
}
