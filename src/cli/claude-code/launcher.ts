// How Claude Code should start this claudemesh: the compiled binary itself, or (from a source
// checkout) `bun run <abs>/src/main.ts`. Absolute paths, so hooks work from any directory.
import { isAbsolute, resolve } from "node:path";

export function launcher(): string[] {
  const main = Bun.main;
  const compiled = main.includes("$bunfs") || main.includes("~BUN");
  return compiled ? [process.execPath] : [process.execPath, "run", isAbsolute(main) ? main : resolve(main)];
}

/** The launcher as one shell word sequence (for hook commands). */
export const shellCommand = (argv: readonly string[]) => argv.map((a) => (/^[A-Za-z0-9_./:@=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
