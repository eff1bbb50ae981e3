// claudemesh completion bash|zsh|fish: static scripts listing the commands.
import { COMMANDS, SUBCOMMANDS } from "../root.ts";
import { UsageError, writeStdout } from "../output.ts";
import { command } from "../context.ts";

/** The words offered after each command that takes a command word: its own sub-commands, and for
 *  `help`, every command. */
const SUB: Record<string, string[]> = { ...SUBCOMMANDS, help: COMMANDS };

export function script(shell: string): string {
  const cmds = COMMANDS.join(" ");
  if (shell === "bash") {
    const subs = Object.entries(SUB).map(([c, s]) => `    ${c}) COMPREPLY=($(compgen -W "${s.join(" ")}" -- "$cur")); return;;`).join("\n");
    return `# claudemesh bash completion\n_claudemesh() {\n  local cur=\${COMP_WORDS[COMP_CWORD]}\n  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${cmds}" -- "$cur")); return; fi\n  case "\${COMP_WORDS[1]}" in\n${subs}\n  esac\n}\ncomplete -F _claudemesh claudemesh\n`;
  }
  if (shell === "zsh") {
    const subs = Object.entries(SUB).map(([c, s]) => `    ${c}) compadd ${s.join(" ")};;`).join("\n");
    return `#compdef claudemesh\n_claudemesh() {\n  if (( CURRENT == 2 )); then compadd ${cmds}; return; fi\n  case $words[2] in\n${subs}\n  esac\n}\ncompdef _claudemesh claudemesh\n`;
  }
  if (shell === "fish") {
    const lines = COMMANDS.map((c) => `complete -c claudemesh -n "__fish_use_subcommand" -a ${c}`);
    for (const [c, s] of Object.entries(SUB)) lines.push(`complete -c claudemesh -n "__fish_seen_subcommand_from ${c}" -a "${s.join(" ")}"`);
    return lines.join("\n") + "\n";
  }
  throw new UsageError(`Unknown shell "${shell}"; use bash, zsh or fish.`);
}

export async function run(args: { shell: string; commandPath?: string }): Promise<void> {
  await command(args, async () => void (await writeStdout(script(args.shell))));
}
