// How Claude Code should start this claudemesh: the compiled binary itself, or (from a source
// checkout) `bun run <abs>/src/main.ts`. Absolute paths, so hooks work from any directory.
import { shellCommand } from "../../config/command-line.ts";
import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { configDirOf } from "../../config/client.ts";

/** True in the compiled binary, false when Bun runs src/main.ts from a checkout. */
const compiled = (main: string) => main.includes("$bunfs") || main.includes("~BUN");

export function launcher(): string[] {
  const main = Bun.main;
  return compiled(main) ? [process.execPath] : [process.execPath, "run", isAbsolute(main) ? main : resolve(main)];
}

/** The file a registration's `command` starts, to compare with launcher()'s: a bare name (`claude
 *  mcp add … -- claudemesh mcp`, as `mcp --help` shows) looked up on this shell's PATH, then every
 *  symbolic link followed (Homebrew's bin/claudemesh). The command as given when it is not found,
 *  or is a relative path (relative to a directory only Claude Code knows). */
export function commandFile(command: string): string {
  const found = command.includes("/") ? command : (Bun.which(command) ?? command);
  if (!isAbsolute(found)) return found;
  try {
    return realpathSync(found);
  } catch {
    return found;
  }
}

/** How a person in `cwd` types this claudemesh, for hints printed to them: `claudemesh` for the
 *  binary (on PATH once installed), `bun run src/main.ts` from a checkout (where `claudemesh` is
 *  no command), with the path relative to `cwd` when it is inside it. */
export function typedCommand(main = Bun.main, cwd = process.cwd()): string {
  if (compiled(main)) return "claudemesh";
  const abs = isAbsolute(main) ? main : resolve(cwd, main);
  const rel = relative(cwd, abs);
  return shellCommand(["bun", "run", rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs]);
}

/** What the MCP server and the hooks need in their environment to use this config directory:
 *  nothing for the default one (~/.claudemesh, which they find themselves), else
 *  CLAUDEMESH_CONFIG_DIR (Claude Code starts them without the user's shell environment). */
export function configDirEnv(configDir: string, home: string): Record<string, string> {
  const dir = resolve(configDir);
  return dir === configDirOf({ HOME: home }) ? {} : { CLAUDEMESH_CONFIG_DIR: dir };
}

/** The hooks' command: the launcher, behind `env VAR=…` when there is an environment to pass. */
export function hookLauncher(env: Record<string, string>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return shellCommand([...(vars.length > 0 ? ["env", ...vars] : []), ...launcher()]);
}
