// alloc-ticks TRACE.nettrace REQUESTS [TOP]: the GC's allocation sampling (one AllocationTick event per ~100 KB
// allocated, naming the type whose allocation crossed the mark) summed by type and divided by REQUESTS: an estimate of
// the bytes one request allocates, and what they are.
using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 2 || !double.TryParse(args[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var requests) || requests <= 0)
{
    Console.Error.WriteLine("usage: alloc-ticks TRACE.nettrace REQUESTS [TOP]");
    return 2;
}

var top = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var byType = new Dictionary<string, (long Bytes, long Ticks, long Size)>();
long total = 0;
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += (GCAllocationTickTraceData d) =>
    {
        var name = d.TypeName ?? "?";
        var e = byType.GetValueOrDefault(name);
        byType[name] = (e.Bytes + d.AllocationAmount64, e.Ticks + 1, e.Size + d.ObjectSize);
        total += d.AllocationAmount64;
    };
    source.Process();
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampled {total / 1e6:F1} MB over {requests:F0} requests: about {total / requests:F0} B per request"));
foreach (var (name, e) in byType.OrderByDescending(p => p.Value.Bytes).Take(top))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * e.Bytes / total,6:F1}%  {e.Bytes / requests,7:F0} B/req  (ticks {e.Ticks}, object {e.Size / e.Ticks} B)  {name}"));
}

return 0;
