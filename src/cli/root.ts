// The root command: static meta for every sub-command, modules imported on use.
import { defineCommand, runMain } from "citty";
import { VERSION } from "../version.ts";
import { lazyCommand } from "./lazy.ts";
import { serveArgs } from "./args.ts";

const main = defineCommand({
  meta: { name: "claudemesh", version: VERSION, description: "A private, end-to-end encrypted mesh for AI coding agents." },
  subCommands: {
    serve: lazyCommand({ name: "serve", description: "Run the broker (HTTP + WebSocket, embedded SQLite)." }, serveArgs, () => import("./commands/serve.ts")),
  },
});

export async function runCli(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`claudemesh ${VERSION}\n`);
    return;
  }
  await runMain(main, { rawArgs: argv });
}
