namespace Vigil.Benchmarks;

/// <summary>The <c>--name value</c> options of the timed (non-BenchmarkDotNet) modes.</summary>
internal static class BenchArgs
{
    /// <summary>The value after <paramref name="name"/>, or null when it is not given.</summary>
    public static string? Value(string[] args, string name) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
