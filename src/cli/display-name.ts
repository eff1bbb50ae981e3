// The display name `new` and `join` enrol with when none is given. Bun's os.userInfo() reads $USER
// and says "unknown" when it is unset (containers, CI, some ssh and systemd contexts), which made
// everybody "unknown"; so: $USER, $LOGNAME, the account name (`id -un`), then the host name.
import { hostname } from "node:os";
import { MAX_NAME_LEN } from "../protocol/limits.ts";
import { UsageError } from "./output.ts";
import { checkText, FIELDS } from "./input-checks.ts";
import { codePointName, cutUnits, firstNotPrintable, NOT_PRINTABLE } from "../protocol/names.ts";

/** A name given with --display-name (or join's older --name), trimmed: what the protocol's
 *  DisplayName takes (src/protocol/names.ts: the same characters a label may not hold, and nothing
 *  that reads as an address), else a UsageError saying which rule it breaks. */
export const checkDisplayName = (name: string): string => checkText(name.trim(), "--display-name", FIELDS.displayName);

/** Longest session label given at install, in UTF-16 code units like every protocol bound: a
 *  project directory's name fits, and the MCP server's session name `<display name>/<label>`
 *  (sessionName in src/protocol/names.ts cuts it at MAX_NAME_LEN) keeps it whole beside a name of up to 31. */
export const MAX_LABEL_LEN = 32;

/** The label a session takes when none was given: its project directory's name, without what a
 *  label may not hold and cut to MAX_LABEL_LEN, or "session" when nothing is left. A directory
 *  named with a tab in it made every session hello of the server malformed (refused for good). */
export function defaultSessionLabel(dirName: string): string {
  const cleaned = cutUnits(dirName.replace(NOT_PRINTABLE, "").trim(), MAX_LABEL_LEN).trim();
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
  const bad = firstNotPrintable(trimmed);
  if (bad !== null) throw new UsageError(`${allowed}; this one holds ${codePointName(bad)}, a control, invisible or text-direction character.`);
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

/** `text` made a display name, or "" when nothing is left: without what a name may not hold
 *  (a ":" or "/" becomes "-", a leading "#" or "@" goes), cut to the protocol's limit. */
function asDisplayName(text: string): string {
  const cleaned = text.replace(NOT_PRINTABLE, "").replace(/[:/]/g, "-").trim().replace(/^[#@]+/, "").trim();
  return cutUnits(cleaned, MAX_NAME_LEN).trim().replace(/^\*$/, "");
}

/** The first usable of $USER, $LOGNAME, the account name and the host name (without its domain),
 *  cut to the protocol's limit; "member" if none is. The caller says it was a guess. */
export function guessDisplayName(env: Record<string, string | undefined>): string {
  // In order, and lazily: `id` runs only when neither variable is set.
  for (const source of [() => env.USER, () => env.LOGNAME, accountName, () => hostname().split(".")[0]]) {
    const name = source();
    const cleaned = usable(name) ? asDisplayName(name) : "";
    if (cleaned) return cleaned;
  }
  return "member";
}

/** The name to enrol with: the one given, else a guess; `guessed` asks the caller to print how to
 *  choose one. */
export function displayNameFrom(given: string | undefined, env: Record<string, string | undefined>): { name: string; guessed: boolean } {
  return given === undefined ? { name: guessDisplayName(env), guessed: true } : { name: checkDisplayName(given), guessed: false };
}
