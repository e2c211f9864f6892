using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Vigil.Data;

/// <summary>
/// Per-customer rolling windows over the last 1, 7 and 30 days, fed in timestamp order. Each customer
/// keeps a ring buffer of the transactions inside its 30-day window and three moving start positions
/// with running counts and sums (in integer cents, so sums are exact), giving O(1) amortized updates.
/// Memory is bounded by the transactions of the last 30 days, not by the total.
/// </summary>
internal sealed class CustomerHistories
{
    public const long MicrosPerDay = 86_400_000_000L;
    private const long Window1 = MicrosPerDay;
    private const long Window7 = 7 * MicrosPerDay;
    private const long Window30 = 30 * MicrosPerDay;

    private readonly State[] _states;

    public CustomerHistories(int customers) => _states = new State[customers];

    /// <summary>Asks the CPU to start loading a customer's state (both cache lines it may straddle); a hint only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchState(int customer)
    {
        if (Sse.IsSupported)
        {
            // A stale address (the GC moved the array) only makes the hint useless, never wrong.
            var p = (byte*)Unsafe.AsPointer(ref _states[customer]);
            Sse.Prefetch0(p);
            Sse.Prefetch0(p + Unsafe.SizeOf<State>() - 1);
        }
    }

    /// <summary>
    /// Asks the CPU to start loading the window entries <see cref="Observe"/> will read for a customer:
    /// the oldest of each window and the newest. Reads the state, so prefetch that first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchWindow(int customer)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        ref var s = ref _states[customer];
        var buffer = s.Buffer;
        if (buffer is null || s.End == s.Start30)
        {
            return;
        }

        var mask = buffer.Length - 1;
        Sse.Prefetch0(Unsafe.AsPointer(ref buffer[s.Start30 & mask]));
        Sse.Prefetch0(Unsafe.AsPointer(ref buffer[s.Start7 & mask]));
        Sse.Prefetch0(Unsafe.AsPointer(ref buffer[s.Start1 & mask]));
        Sse.Prefetch0(Unsafe.AsPointer(ref buffer[(s.End - 1) & mask]));
    }

    /// <summary>
    /// Reports the customer's history strictly before <paramref name="time"/> (which must not precede the
    /// customer's previous transaction), then records the new transaction.
    /// </summary>
    public Snapshot Observe(int customer, long time, int cents, int merchant)
    {
        ref var s = ref _states[customer];
        var buffer = s.Buffer;
        if (buffer is null)
        {
            buffer = s.Buffer = new Entry[4];
        }

        var mask = buffer.Length - 1;
        while (s.Start30 < s.End && buffer[s.Start30 & mask].Time <= time - Window30)
        {
            s.Sum30 -= buffer[s.Start30 & mask].Cents;
            s.Start30++;
        }

        while (s.Start7 < s.End && buffer[s.Start7 & mask].Time <= time - Window7)
        {
            s.Sum7 -= buffer[s.Start7 & mask].Cents;
            s.Start7++;
        }

        while (s.Start1 < s.End && buffer[s.Start1 & mask].Time <= time - Window1)
        {
            s.Sum1 -= buffer[s.Start1 & mask].Cents;
            s.Start1++;
        }

        var sameMerchant = 0;
        for (var i = s.Start1; i < s.End; i++)
        {
            if (buffer[i & mask].Merchant == merchant)
            {
                sameMerchant++;
            }
        }

        var snapshot = new Snapshot(
            (int)(s.End - s.Start1), (int)(s.End - s.Start7), (int)(s.End - s.Start30), s.Sum1, s.Sum7, s.Sum30, sameMerchant);

        if (s.End - s.Start30 == buffer.Length)
        {
            buffer = Grow(ref s);
            mask = buffer.Length - 1;
        }

        buffer[s.End & mask] = new Entry(time, cents, merchant);
        s.End++;
        s.Sum1 += cents;
        s.Sum7 += cents;
        s.Sum30 += cents;
        return snapshot;
    }

    private static Entry[] Grow(ref State s)
    {
        var old = s.Buffer!;
        var oldMask = old.Length - 1;
        var grown = new Entry[old.Length * 2];
        var newMask = grown.Length - 1;
        for (var i = s.Start30; i < s.End; i++)
        {
            grown[i & newMask] = old[i & oldMask];
        }

        s.Buffer = grown;
        return grown;
    }

    /// <summary>The history of one customer just before a transaction.</summary>
    public readonly record struct Snapshot(int Count1d, int Count7d, int Count30d, long Cents1d, long Cents7d, long Cents30d, int SameMerchant1d);

    private readonly record struct Entry(long Time, int Cents, int Merchant);

    private struct State
    {
        public Entry[]? Buffer;
        public long End;
        public long Start1;
        public long Start7;
        public long Start30;
        public long Sum1;
        public long Sum7;
        public long Sum30;
    }
}
