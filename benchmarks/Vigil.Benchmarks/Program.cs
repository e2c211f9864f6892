using BenchmarkDotNet.Running;
using Vigil.Benchmarks;

if (args.Length > 0 && args[0] == "inflog-timed")
{
    return await InferenceItemsTimed.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
