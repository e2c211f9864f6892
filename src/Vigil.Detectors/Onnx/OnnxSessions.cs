using Microsoft.ML.OnnxRuntime;

namespace Vigil.Detectors;

/// <summary>
/// Opens ONNX Runtime sessions the way every Vigil ONNX model runs: one thread per run (intra- and inter-op), sequential
/// execution, all graph optimisations, errors only in ONNX Runtime's log. Vigil parallelises over row chunks itself, and
/// a run of a small serving batch is faster without handing work to a thread pool.
/// </summary>
public static class OnnxSessions
{
    /// <summary>Opens <paramref name="model"/>; bytes that are not a valid ONNX model throw what <paramref name="invalid"/> makes of the first line of ONNX Runtime's message.</summary>
    /// <param name="model">The ONNX model bytes.</param>
    /// <param name="invalid">Makes the exception to throw from the first line of the error and the error itself.</param>
    public static InferenceSession Open(byte[] model, Func<string, OnnxRuntimeException, Exception> invalid)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(invalid);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw invalid(FirstLine(e.Message), e);
        }
    }

    /// <summary>The first line of an ONNX Runtime message (they run on over several lines).</summary>
    public static string FirstLine(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
