using System.Runtime.InteropServices;

namespace Vigil.Serving;

/// <summary>
/// Gives the calling thread a higher scheduling priority on Linux (nice -5), as databases do for their WAL writer: in
/// ack mode every response waits for the flusher's next fsync, so on a saturated machine the time the flusher spends
/// waiting for a core is added to every request's latency. Best effort: without the right (CAP_SYS_NICE, e.g. in a
/// container) or off Linux nothing changes.
/// </summary>
internal static partial class FlusherPriority
{
    private const int PrioProcess = 0;
    private const int Nice = -5;

    /// <summary>Raises the calling thread's priority; true when it was raised.</summary>
    public static bool TryRaiseCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            var tid = NativeMethods.gettid();
            return tid > 0 && NativeMethods.setpriority(PrioProcess, (uint)tid, Nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", SetLastError = true)]
        internal static partial int gettid();

        [LibraryImport("libc", SetLastError = true)]
        internal static partial int setpriority(int which, uint who, int prio);
    }
}
