// The display name `new` and `join` enrol with when none is given. Bun's os.userInfo() reads $USER
// and says "unknown" when it is unset (containers, CI, some ssh and systemd contexts), which made
// everybody "unknown"; so: $USER, $LOGNAME, the account name (`id -un`), then the host name.
import { hostname } from "node:os";
import { MAX_NAME_LEN } from "../protocol/limits.ts";
import { UsageError } from "./output.ts";

/** A name given with --display-name (or join's older --name): 1–64 characters, no control ones. */
export function checkDisplayName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > MAX_NAME_LEN || /[\u0000-\u001f\u007f]/.test(trimmed)) throw new UsageError(`--display-name must be 1–${MAX_NAME_LEN} characters, without control characters.`);
  return trimmed;
}

/** "unknown" is what runtimes print when they could not tell; it names nobody. */
const usable = (name: string | undefined): name is string => Boolean(name?.trim()) && name!.trim() !== "unknown";

function accountName(): string | undefined {
  try {
    const r = Bun.spawnSync(["id", "-un"], { stdout: "pipe", stderr: "ignore", timeout: 2000 });
    return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
  } catch {
    return undefined; // no `id` on this system
  }
}

/** The first usable of $USER, $LOGNAME, the account name and the host name (without its domain),
 *  cut to the protocol's limit; "member" if none is. The caller says it was a guess. */
export function guessDisplayName(env: Record<string, string | undefined>): string {
  // In order, and lazily: `id` runs only when neither variable is set.
  for (const source of [() => env.USER, () => env.LOGNAME, accountName, () => hostname().split(".")[0]]) {
    const name = source();
    if (usable(name)) return name.trim().replace(/[\u0000-\u001f\u007f]/g, "").slice(0, MAX_NAME_LEN);
  }
  return "member";
}

/** The name to enrol with: the one given, else a guess; `guessed` asks the caller to print how to
 *  choose one. */
export function displayNameFrom(given: string | undefined, env: Record<string, string | undefined>): { name: string; guessed: boolean } {
  return given === undefined ? { name: guessDisplayName(env), guessed: true } : { name: checkDisplayName(given), guessed: false };
}
