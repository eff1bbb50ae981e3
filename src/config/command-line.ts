// Command lines printed for the reader to run: by the CLI (hook commands, usage, next steps) and
// by the broker's own messages (a damaged database's fix), which must name the same data
// directory the broker they are about uses.
import { resolve } from "node:path";
import { defaultDataDir, processEnv } from "./load.ts";

/** `argv` joined with spaces, each word single-quoted unless it is plainly safe: one string a
 *  POSIX shell reads back as the same words. */
export const shellCommand = (argv: readonly string[]) => argv.map((a) => (/^[A-Za-z0-9_./:@=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");

/** A claudemesh command line (`words` after `cli`) to print for the reader to run on the broker
 *  whose data directory is `dataDir`: absolute, with --data-dir unless that is the default one (no
 *  flag, variable or config file), so that pasted later, in another shell or directory, it acts on
 *  the same broker. `cli` is how the reader runs claudemesh. */
export function dataDirCommand(words: readonly string[], dataDir: string, cli = "claudemesh"): string {
  const defaultDir = resolve(defaultDataDir(processEnv()));
  const dir = resolve(dataDir);
  return `${cli} ${shellCommand([...words, ...(dir === defaultDir ? [] : ["--data-dir", dir])])}`;
}
