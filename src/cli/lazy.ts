// A command whose meta and args are static (so `--help` loads nothing) and whose module is
// imported only when it runs. citty resolves lazy sub-command loaders for --help, which would
// load Elysia, libsodium and the MCP SDK; this pattern keeps --help fast.
import { defineCommand, type ArgsDef, type CommandDef } from "citty";
import { refuseStrayWords } from "./flags-check.ts";

/** `ownArgv`: the command reads its argv strictly itself (serve), so the general check is skipped.
 *  `parent`: the command words before this one (`topic` for `topic post`); the module's run gets
 *  the whole path as `args.commandPath`, for the "see `claudemesh topic post --help`" of its
 *  usage errors. `rest`: its last positional takes every word left (free text, a list of caps). */
export function lazyCommand<A extends ArgsDef>(meta: { name: string; description: string }, args: A, load: () => Promise<{ run: (args: any, rawArgs: string[]) => Promise<void> | void }>, opts: { ownArgv?: boolean; parent?: string; rest?: boolean } = {}): CommandDef<A> {
  const commandPath = opts.parent ? `${opts.parent} ${meta.name}` : meta.name;
  return defineCommand({
    meta,
    args,
    async run({ args: parsed, rawArgs }) {
      if (!opts.ownArgv) refuseStrayWords(rawArgs, args, opts.rest ? null : commandPath);
      const mod = await load();
      await mod.run(Object.assign(parsed, { commandPath }), rawArgs);
    },
  });
}
