using System.Diagnostics;
using System.Globalization;

namespace Vigil.Pipelines.Steps;

/// <summary>
/// <c>exec</c>: runs an external command through <c>/bin/sh -c</c> in the current directory. The flow file declares its
/// inputs (<c>inputs:</c>, any names) and outputs (<c>outputs: [NAME, NAME.EXT]</c>). In the command,
/// <c>${inputs.NAME}</c> is the input's file (several: space-separated) and <c>${outputs.NAME}</c> the file the command
/// must write; the same paths are in the environment as <c>VIGIL_INPUT_NAME</c> and <c>VIGIL_OUTPUT_NAME</c> (upper case,
/// '-' as '_'). Its stdout and stderr lines go to the step's log. A non-zero exit or a declared output not written fails
/// the attempt; on a timeout or a cancellation the command's process tree is killed.
/// </summary>
internal sealed class ExecStep : StepKind
{
    public override string Name => "exec";

    public override string Description => "Run an external command with declared input and output files.";

    public override IReadOnlyList<StepParameter> Parameters => [new("command", "the shell command (/bin/sh -c)")];

    public override bool FlowDeclaresPorts => true;

    public override async Task ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in context.Inputs.Keys)
        {
            var paths = await context.InputPathsAsync(name, cancellationToken).ConfigureAwait(false);
            inputs[name] = string.Join(' ', paths.Select(Quote));
            env["VIGIL_INPUT_" + EnvName(name)] = string.Join(':', paths);
        }

        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in context.Step.Outputs)
        {
            var name = OutputName(entry);
            var path = context.OutputPath(name, entry);
            outputs[name] = Quote(path);
            env["VIGIL_OUTPUT_" + EnvName(name)] = path;
        }

        var command = FlowYaml.TemplatePattern().Replace(context.String("command"), m =>
        {
            var reference = m.Groups[1].Value.Trim();
            if (reference.StartsWith("inputs.", StringComparison.Ordinal))
            {
                return inputs.TryGetValue(reference["inputs.".Length..], out var v) ? v : throw new StepFailedException($"step {context.Label}: '{m.Value}' is not a connected input");
            }

            if (reference.StartsWith("outputs.", StringComparison.Ordinal))
            {
                return outputs.TryGetValue(reference["outputs.".Length..], out var v) ? v : throw new StepFailedException($"step {context.Label}: '{m.Value}' is not a declared output");
            }

            return m.Value;
        });

        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Environment.CurrentDirectory,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment["VIGIL_FLOW_RUN"] = context.FlowRunId;
        psi.Environment["VIGIL_STEP_RUN"] = context.RunId;
        psi.Environment["VIGIL_ATTEMPT"] = context.Attempt.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var process = new Process { StartInfo = psi };
        string? lastError = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                context.Log(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lastError = e.Data;
                context.Log(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            throw;
        }

        process.WaitForExit(); // drain the output readers
        context.Metric("exit_code", process.ExitCode);
        if (process.ExitCode != 0)
        {
            throw new StepAttemptException($"command exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}{(lastError is null ? "" : $": {lastError}")}");
        }
    }

    private static string EnvName(string name) => name.ToUpperInvariant().Replace('-', '_');

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
