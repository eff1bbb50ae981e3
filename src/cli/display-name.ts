// The display name `new` and `join` enrol with when none is given. Bun's os.userInfo() reads $USER
// and says "unknown" when it is unset (containers, CI, some ssh and systemd contexts), which made
// everybody "unknown"; so: $USER, $LOGNAME, the account name (`id -un`), then the host name.
import { hostname } from "node:os";
import { MAX_NAME_LEN } from "../protocol/limits.ts";
import { UsageError } from "./output.ts";
import { checkText, FIELDS } from "./input-checks.ts";

/** A name given with --display-name (or join's older --name), trimmed: what the protocol's
 *  DisplayName takes, else a UsageError saying which bound it breaks. */
export const checkDisplayName = (name: string): string => checkText(name.trim(), "--display-name", FIELDS.displayName);

/** Longest session label given at install, in UTF-16 code units like every protocol bound: a
 *  project directory's name fits, and the MCP server's session name `<display name>/<label>`
 *  (src/mcp/mesh-link.ts cuts it at MAX_NAME_LEN) keeps it whole beside a name of up to 31. */
export const MAX_LABEL_LEN = 32;

/** What a label may not hold: control characters (C0, DEL, C1), format characters (bidirectional
 *  overrides and isolates, zero-width ones), lone surrogates, line and paragraph separators. */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** The label a session takes when none was given: its project directory's name, without what a
 *  label may not hold and cut to MAX_LABEL_LEN, or "session" when nothing is left. A directory
 *  named with a tab in it made every session hello of the server malformed (refused for good). */
export function defaultSessionLabel(dirName: string): string {
  const cleaned = dirName.replace(new RegExp(NOT_PRINTABLE.source, "gu"), "").trim().slice(0, MAX_LABEL_LEN).trim();
  return cleaned || "session";
}

/** A label given with `install --label`, trimmed: 1–MAX_LABEL_LEN characters of printable text.
 *  It is written into Claude Code's MCP config and shown to every peer after the display name, so
 *  anything else is a UsageError naming what is allowed (and the first character refused). */
export function checkSessionLabel(label: string): string {
  const trimmed = label.trim();
  const allowed = `--label takes 1–${MAX_LABEL_LEN} characters of printable text (letters, digits, spaces, punctuation), e.g. --label backend`;
  if (!trimmed) throw new UsageError(`${allowed}; it was empty. Leave it out to use the project directory's name.`);
  if (trimmed.length > MAX_LABEL_LEN) throw new UsageError(`${allowed}; this one has ${trimmed.length}.`);
  const bad = NOT_PRINTABLE.exec(trimmed)?.[0];
  if (bad !== undefined) throw new UsageError(`${allowed}; this one holds U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}, a control, invisible or text-direction character.`);
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
