// Worker process for the multi-process store tests.
//   log-metrics STORE HOME RUN_ID COUNT BATCH WORKER   logs COUNT points of metric "m" with steps WORKER*COUNT .. +COUNT-1
//   create-run  STORE HOME EXPERIMENT                  starts a run, prints its id and exits without ending it (a crash)
using System.Globalization;
using Vigil.Tracking;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: log-metrics STORE HOME RUN_ID COUNT BATCH WORKER | create-run STORE HOME EXPERIMENT");
    return 2;
}
await using var store = await StoreFactory.OpenAsync(args[1], args[2]);
switch (args[0])
{
    case "log-metrics":
    {
        var runId = args[3];
        var count = int.Parse(args[4], CultureInfo.InvariantCulture);
        var batch = int.Parse(args[5], CultureInfo.InvariantCulture);
        var worker = int.Parse(args[6], CultureInfo.InvariantCulture);
        var points = new List<MetricPoint>(batch);
        for (var i = 0; i < count; i++)
        {
            long step = (worker * (long)count) + i;
            points.Add(new MetricPoint("m", step, step, DateTimeOffset.UnixEpoch.AddSeconds(step)));
            if (points.Count == batch || i == count - 1)
            {
                await store.LogMetricsAsync(runId, points);
                points.Clear();
            }
        }
        return 0;
    }
    case "create-run":
    {
        var run = await store.CreateRunAsync(args[3], "crashing-run");
        Console.Out.WriteLine(run.RunId);
        return 3;
    }
    default:
        Console.Error.WriteLine($"unknown command '{args[0]}'");
        return 2;
}
