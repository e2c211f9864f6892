using BenchmarkDotNet.Running;
using Vigil.Benchmarks;

if (args.Length > 0 && args[0] == "inflog-timed")
{
    return await InferenceItemsTimed.RunAsync(args);
}

if (args.Length > 0 && args[0] == "fx-http")
{
    return await FxHttpTimed.RunAsync(args);
}

if (args.Length > 0 && args[0] == "fx-inproc")
{
    return await FxInprocTimed.RunAsync(args);
}

if (args.Length > 0 && args[0] == "fx-stages")
{
    return FxStagesTimed.Run(args);
}

if (args.Length > 0 && args[0] == "fx-timed")
{
    FxScoringBenchmarks.RunTimed();
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
