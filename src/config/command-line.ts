// Command lines printed for the reader to run: by the CLI (hook commands, usage, next steps) and
// by the broker's own messages (a damaged database's fix), which must name the same data
// directory the broker they are about uses.
import { resolve } from "node:path";
import { defaultDataDir, processEnv, type ResolvedConfig } from "./load.ts";
import { SETTINGS, flagName, valueText } from "./spec.ts";
import { sudoUser, type OtherUser } from "../local-file/owner.ts";

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

/** The command line that starts the broker of `b` again, for the reader to paste: `claudemesh
 *  serve` with --config for the config file and a flag for each setting a flag or variable gave
 *  (paths absolute), so that it runs the same broker from another shell or under sudo (which
 *  clears the environment). `owner`: the other user the data directory belongs to when root runs
 *  this (otherUser), or null; then it runs as that user, `sudo -u <owner> claudemesh serve …
 *  --data-dir <dir>`, since serve refuses to run there as root and that user's default data
 *  directory is another one. */
export function serveCommand(b: ResolvedConfig, owner: OtherUser | null): string {
  const words = ["serve", ...(b.configFile ? ["--config", resolve(b.configFile)] : [])];
  for (const s of SETTINGS) {
    const from = b.origins[s.key].kind;
    const given = from === "flag" || from === "env" || (s.key === "dataDir" && from === "default" && owner !== null);
    if (given) words.push(`--${flagName(s.key)}`, valueText(s, s.key === "dataDir" ? resolve(b.config.dataDir) : b.config[s.key]));
  }
  return `${owner ? `sudo -u ${sudoUser(owner)} ` : ""}claudemesh ${shellCommand(words)}`;
}
