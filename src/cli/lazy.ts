// A command whose meta and args are static (so `--help` loads nothing) and whose module is
// imported only when it runs. citty resolves lazy sub-command loaders for --help, which would
// load Elysia, libsodium and the MCP SDK; this pattern keeps --help fast.
import { defineCommand, type ArgsDef, type CommandDef } from "citty";
import { refuseStrayWords } from "./flags-check.ts";
import { exitFlushed, reportError } from "./output.ts";
import { clientEnv, processEnv } from "../config/client.ts";

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
      try {
        await mod.run(Object.assign(parsed, { commandPath }), rawArgs);
      } catch (err) {
        // command() (context.ts) reports what its body throws; a check a command makes before it
        // (`topic post 'Bad Name'`) would otherwise end in a stack trace, exit 1, and no JSON.
        // serve reports its own failures, with its own exit codes; citty's reach runCli.
        if (opts.ownArgv || (err as Error)?.name === "CLIError") throw err;
        await exitFlushed(reportError(err, Boolean(parsed.json), clientEnv(processEnv()).debug, commandPath));
      }
    },
  });
}
