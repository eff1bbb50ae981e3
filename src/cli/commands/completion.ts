// claudemesh completion bash|zsh|fish: static scripts from the command tree. The first word is a
// command; the second, after a command that has them, one of its sub-commands (`topic join`);
// every other word is left to the shell's file-name completion (`restore <backup>`, `serve
// --config <file>`), since options go after the command words and nothing else is completed.
import { COMMANDS, SUBCOMMANDS } from "../root.ts";
import { UsageError, writeStdout } from "../output.ts";
import { command } from "../context.ts";

/** The words offered after each command that takes a command word: its own sub-commands, and for
 *  `help`, every command. */
const SUB: Record<string, string[]> = { ...SUBCOMMANDS, help: COMMANDS };

/** bash: `-o default` gives file names whenever the function offers nothing. */
function bash(cmds: string): string {
  const subs = Object.entries(SUB).map(([c, s]) => `      ${c}) COMPREPLY=($(compgen -W "${s.join(" ")}" -- "$cur"));;`).join("\n");
  return `# claudemesh bash completion
_claudemesh() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${cmds}" -- "$cur")); return; fi
  if [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${subs}
    esac
  fi
}
complete -o default -F _claudemesh claudemesh
`;
}

/** zsh: the same file serves `source <(claudemesh completion zsh)` (registers with compdef) and
 *  ~/.zfunc/_claudemesh autoloaded through #compdef, where the file is the body of _claudemesh:
 *  its first run must complete too, not only define the function (funcstack tells them apart). */
function zsh(cmds: string): string {
  const subs = Object.entries(SUB).map(([c, s]) => `      ${c}) compadd -- ${s.join(" ")}; return;;`).join("\n");
  return `#compdef claudemesh
_claudemesh() {
  if (( CURRENT == 2 )); then compadd -- ${cmds}; return; fi
  if (( CURRENT == 3 )); then
    case $words[2] in
${subs}
    esac
  fi
  _files
}
if [ "$funcstack[1]" = "_claudemesh" ]; then
  _claudemesh "$@"
else
  compdef _claudemesh claudemesh
fi
`;
}

/** fish: command words only at their position (-f: no file names mixed in there); elsewhere no
 *  entry applies, so fish offers file names. */
function fish(cmds: string): string {
  const lines = [
    "# claudemesh fish completion",
    "function __claudemesh_sub_of --argument-names cmd",
    "    set -l words (commandline -opc)",
    '    test (count $words) -eq 2; and test "$words[2]" = "$cmd"',
    "end",
    `complete -c claudemesh -n "__fish_use_subcommand" -f -a "${cmds}"`,
  ];
  for (const [c, s] of Object.entries(SUB)) lines.push(`complete -c claudemesh -n "__claudemesh_sub_of ${c}" -f -a "${s.join(" ")}"`);
  return lines.join("\n") + "\n";
}

export function script(shell: string): string {
  const cmds = COMMANDS.join(" ");
  if (shell === "bash") return bash(cmds);
  if (shell === "zsh") return zsh(cmds);
  if (shell === "fish") return fish(cmds);
  throw new UsageError(`Unknown shell "${shell}"; use bash, zsh or fish.`);
}

export async function run(args: { shell: string; commandPath?: string }): Promise<void> {
  await command(args, async () => void (await writeStdout(script(args.shell))));
}
