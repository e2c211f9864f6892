using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Lifecycle.Tests;

/// <summary>
/// A throwaway SQLite store and artifact folder, and a labelled data set with a known answer: 980 normal rows near
/// the origin and 20 anomalies (label 1) far from it in x and y, one row per hour over 1000 hours; <c>noise</c> says
/// nothing about the label.
/// </summary>
internal sealed class LifecycleFixture : IAsyncDisposable
{
    public const int Rows = 1000;
    public const int Positives = 20;

    private LifecycleFixture(string dir, ITrackingStore store)
    {
        Dir = dir;
        Store = store;
        Lifecycle = new ModelLifecycle(store, TimeProvider.System) { CodeDirectory = dir };
        DataPath = Path.Combine(dir, "train.csv");
        Frame = MakeFrame();
        FrameFile.Write(Frame, DataPath);
    }

    public string Dir { get; }

    public ITrackingStore Store { get; }

    public ModelLifecycle Lifecycle { get; }

    public string DataPath { get; }

    public Frame Frame { get; }

    public DataSource Data => DataSource.FromFile(DataPath);

    public static async Task<LifecycleFixture> CreateAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vigil-lifecycle-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var store = await StoreFactory.OpenAsync("sqlite:" + Path.Combine(dir, "vigil.db"), Path.Combine(dir, "home"));
        return new LifecycleFixture(dir, store);
    }

    public string File(string name) => Path.Combine(Dir, name);

    /// <summary>An isolation forest on x and y (good: AUC near 1) or on noise only (weak: AUC near 0.5).</summary>
    public static TrainSpec Spec(bool good = true, ulong seed = 1) => new()
    {
        Model = IsolationForestModel.DetectorKind,
        Label = "label",
        Features = good ? ["x", "y"] : ["noise"],
        Forest = new IsolationForestOptions { Seed = seed, Estimators = 50 },
    };

    /// <summary>Trains and registers a version of <paramref name="name"/>.</summary>
    public async Task<ModelVersion> RegisterAsync(string name, bool good)
    {
        var result = await Lifecycle.TrainAsync(new TrainOptions { Data = Data, Spec = Spec(good), RegisterAs = name }, null, TestContext.Current.CancellationToken);
        return result.Run!.Version!;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Frame MakeFrame()
    {
        var random = new Random(20261201);
        var ids = new double[Rows];
        var x = new double[Rows];
        var y = new double[Rows];
        var noise = new double[Rows];
        var label = new double[Rows];
        var time = new long[Rows];
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;
        for (var i = 0; i < Rows; i++)
        {
            ids[i] = i + 1;
            var anomaly = i % (Rows / Positives) == 7;
            x[i] = anomaly ? 6 + random.NextDouble() : random.NextDouble() * 2 - 1;
            y[i] = anomaly ? -6 - random.NextDouble() : random.NextDouble() * 2 - 1;
            noise[i] = random.NextDouble();
            label[i] = anomaly ? 1 : 0;
            time[i] = start + i * 3_600_000_000L;
        }

        return new Frame([
            new Float64Column("id", ids), new Float64Column("x", x), new Float64Column("y", y), new Float64Column("noise", noise),
            new Float64Column("label", label), new TimestampColumn("timestamp", time),
        ]);
    }
}

/// <summary>Records progress events synchronously, in order.</summary>
internal sealed class RecordingProgress(Action<LifecycleProgress>? then = null) : IProgress<LifecycleProgress>
{
    private readonly List<LifecycleProgress> _events = [];

    public IReadOnlyList<LifecycleProgress> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public void Report(LifecycleProgress value)
    {
        lock (_events)
        {
            _events.Add(value);
        }

        then?.Invoke(value);
    }
}
