using System.Diagnostics.CodeAnalysis;
using Vigil.Data;
using Vigil.Detectors;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>A bad argument or combination of arguments, reported as one line with exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);

/// <summary>Maps the exceptions that describe a user's mistake or bad input to one readable line.</summary>
internal static class CliErrors
{
    public static bool TryDescribe(Exception ex, [NotNullWhen(true)] out string? message)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            ex = agg.InnerExceptions[0];
        }

        message = ex switch
        {
            CliUsageException or DataFormatException or BundleException or SchemaMismatchException or FeatureDataException or OnnxModelException or TrackingException or Vigil.Serving.ServingConfigurationException => ex.Message,
            FileNotFoundException f => f.Message.Contains(f.FileName ?? "\u0000", StringComparison.Ordinal) || f.FileName is null
                ? f.Message
                : $"{f.FileName}: file not found",
            DirectoryNotFoundException d => d.Message,
            UnauthorizedAccessException u => $"permission denied: {u.Message}",
            InvalidDataException i => i.Message,
            KeyNotFoundException k => k.Message,
            FormatException f => f.Message,
            ArgumentException a => a.Message,
            IOException io => io.Message,
            _ => null,
        };
        return message is not null;
    }
}
