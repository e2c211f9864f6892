namespace Vigil.Deploy.Tests.Container;

/// <summary>deploy/Containerfile, read as text: what the image promises before eng/container.sh smoke runs it.</summary>
public sealed class ContainerfileTests
{
    private static readonly string[] Lines = DeployFiles.Text("Containerfile").Split('\n')
        .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    private static string Instruction(string name) =>
        Lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..].Trim();

    private static Dictionary<string, string> Env()
    {
        // ENV A=1 \ B=2 ... : join the continuation lines, then split on whitespace
        var start = Array.FindIndex(Lines, l => l.StartsWith("ENV ", StringComparison.Ordinal));
        var text = "";
        for (var i = start; i < Lines.Length; i++)
        {
            text += " " + Lines[i].TrimEnd('\\');
            if (!Lines[i].EndsWith('\\'))
            {
                break;
            }
        }

        return text.Trim()[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
    }

    [Fact]
    public void Image_runs_as_the_non_root_user_10001()
    {
        Instruction("USER").ShouldBe("10001:10001");
    }

    [Fact]
    public void Image_is_built_from_scratch()
    {
        Instruction("FROM").ShouldBe("scratch");
    }

    [Fact]
    public void Server_listens_on_all_interfaces_port_8080_which_is_exposed()
    {
        Instruction("EXPOSE").ShouldBe("8080");
        var env = Env();
        env["VIGIL_HOST"].ShouldBe("0.0.0.0");
        env["VIGIL_PORT"].ShouldBe("8080");
    }

    [Fact]
    public void State_lives_in_the_home_volume()
    {
        Env()["VIGIL_HOME"].ShouldBe("/var/lib/vigil");
        Instruction("VOLUME").ShouldBe("[\"/var/lib/vigil\"]");
    }

    [Fact]
    public void Log_drain_ends_before_podman_stop_sends_sigkill_after_10_seconds()
    {
        int.Parse(Env()["VIGIL_SHUTDOWN_SECONDS"], System.Globalization.CultureInfo.InvariantCulture).ShouldBeLessThan(10);
        Instruction("STOPSIGNAL").ShouldBe("SIGTERM");
    }

    [Fact]
    public void Entrypoint_is_the_cli_and_the_default_command_serves()
    {
        Instruction("ENTRYPOINT").ShouldBe("[\"/opt/vigil/vigil\"]");
        Instruction("CMD").ShouldBe("[\"serve\"]");
    }
}
