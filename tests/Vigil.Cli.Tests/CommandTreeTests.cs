using System.CommandLine;

namespace Vigil.Cli.Tests;

/// <summary>
/// `vigil COMMAND ...` builds only COMMAND (<see cref="CliApp.Root"/>): its table of names must match the commands the
/// builders make, and a command built alone must parse and describe itself as it does in the whole tree.
/// </summary>
public sealed class CommandTreeTests
{
    [Fact]
    public void Each_name_in_the_table_is_the_name_of_the_command_its_builder_makes()
    {
        foreach (var (name, build) in CliApp.Commands)
        {
            build().Name.ShouldBe(name);
        }

        CliApp.BuildRoot().Subcommands.Select(c => c.Name).ShouldBe(CliApp.Commands.Select(c => c.Name));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("score")]
    [InlineData("generate")]
    public void A_command_built_alone_prints_the_same_help_as_in_the_whole_tree(string command)
    {
        CliApp.Root(command).Subcommands.Select(c => c.Name).ShouldBe([command]);
        Help(CliApp.Root(command), command).ShouldBe(Help(CliApp.BuildRoot(), command));
    }

    private static string Help(RootCommand root, string command)
    {
        using var output = new StringWriter();
        root.Parse([command, "--help"]).Invoke(new InvocationConfiguration { Output = output }).ShouldBe(0);
        return output.ToString();
    }
}
