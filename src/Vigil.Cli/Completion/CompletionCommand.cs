using System.CommandLine;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil completion bash|zsh</c>: prints a shell completion script. The script asks vigil itself for the words that
/// fit at the cursor through System.CommandLine's suggest directive (<c>vigil "[suggest:N]" "train --da"</c>), so the
/// completions follow the installed version's commands and options.
/// </summary>
internal static class CompletionCommand
{
    internal const string Bash = """
        # vigil completion for bash: source this file, or add to ~/.bashrc:  source <(vigil completion bash)
        _vigil_complete() {
            local IFS=$'\n'
            local line="${COMP_LINE:0:COMP_POINT}"
            local rest="${line#*[[:space:]]}"
            [ "$rest" = "$line" ] && rest=""
            local words
            words=$("${COMP_WORDS[0]}" "[suggest:${#rest}]" "$rest" 2>/dev/null)
            COMPREPLY=( $(compgen -W "$words" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _vigil_complete vigil
        """;

    internal const string Zsh = """
        #compdef vigil
        # vigil completion for zsh: add to ~/.zshrc:  source <(vigil completion zsh)
        _vigil() {
            local line="${BUFFER[1,CURSOR]}"
            local rest="${line#*[[:space:]]}"
            [[ "$rest" == "$line" ]] && rest=""
            local -a words
            words=("${(@f)$(vigil "[suggest:${#rest}]" "$rest" 2>/dev/null)}")
            compadd -a words
        }
        if (( $+functions[compdef] )); then compdef _vigil vigil; fi
        """;

    public static Command Build()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var cmd = new Command("completion", "Print a shell completion script (bash or zsh): source <(vigil completion bash).") { shell };
        cmd.SetAction(parse =>
        {
            var script = parse.GetRequiredValue(shell) == "zsh" ? Zsh : Bash;
            Terminal.OutWriter.WriteLine(script.ReplaceLineEndings("\n"));
            return CliApp.Ok;
        });
        return cmd;
    }
}
