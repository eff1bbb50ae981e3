// claudemesh completion bash|zsh|fish: a static script generated from the command tree citty
// runs, so what it offers cannot drift from --help: command words, each command's options (and
// the global --help), the values of an option or positional that is a fixed list, file names for
// paths, nothing for free text (peer and topic names would need the broker). Run once, at install
// time: it may read every command's definitions, which --help and the commands never do.
import { COMMAND_TREE } from "../root.ts";
import { completionTree } from "../completion/tree.ts";
import { bash } from "../completion/bash.ts";
import { zsh } from "../completion/zsh.ts";
import { fish } from "../completion/fish.ts";
import { SHELLS, type Shell } from "../completion/shells.ts";
import { UsageError, writeStdout } from "../output.ts";
import { orList } from "../choice-arg.ts";
import { command } from "../context.ts";

const SCRIPTS: Record<Shell, typeof bash> = { bash, zsh, fish };

export function script(shell: string): string {
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`Unknown shell "${shell}"; use ${orList(SHELLS)}.`);
  return SCRIPTS[shell as Shell](completionTree(COMMAND_TREE));
}

export async function run(args: { shell: string; commandPath?: string }): Promise<void> {
  await command(args, async () => void (await writeStdout(script(args.shell))));
}
