// Reading and writing Claude Code's files safely: parse errors are reported, never overwritten;
// a backup is written before any change; writes are atomic; unchanged content is not rewritten.
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LocalFileError, onFile, statIfAny, type FileContext } from "../../local-file/error.ts";
import { parseJsonText } from "../../local-file/json.ts";
import { assertCanCreate } from "../../client/local/files.ts";
import { hooksShapeError, type Settings } from "./hooks-settings.ts";

export const settingsPath = (home: string) => join(home, ".claude", "settings.json");
export const claudeJsonPath = (home: string) => join(home, ".claude.json");

/** Claude Code's file, not ours: never moved or rewritten to get past a problem; the user fixes it. */
const THEIRS = "fix or move it, then run this again";

const refused = (problem: string) => new LocalFileError(problem, THEIRS);
const ctxOf = (path: string): FileContext => ({
  fix: {
    EISDIR: `move the directory ${path} away, then run this again`,
    ENOTDIR: "move that file away (Claude Code keeps a directory there), then run this again",
    EACCES: "give this user access to it again (Claude Code's files are normally yours), then run this again",
  },
});

/** Runs the checks install and uninstall make before they change anything (reading both files,
 *  assertClaudeFilesWritable): a LocalFileError from them then also says that nothing was
 *  changed. Only these can say it: by a later read, a `claude mcp` run may have changed
 *  ~/.claude.json. */
export function beforeAnyChange<T>(checks: () => T): T {
  try {
    return checks();
  } catch (err) {
    if (err instanceof LocalFileError) throw new LocalFileError(`${err.message} Nothing was changed.`, err.fix, { cause: err });
    throw err;
  }
}

/** Throws LocalFileError unless both files install and uninstall may write can be written: checked
 *  before either is, so that a refusal never leaves the MCP server registered without its hooks. */
export function assertClaudeFilesWritable(home: string): void {
  for (const path of [claudeJsonPath(home), settingsPath(home)]) assertCanCreate(path, ctxOf(path));
}

/** The JSON object in `path`, or {} when there is no file. Throws LocalFileError (nothing
 *  written) when it cannot be read, is not valid JSON (the line and column said) or is not an
 *  object. */
export function readJson(path: string): Record<string, any> {
  if (statIfAny(path, ctxOf(path)) === null) return {};
  const parsed = parseJsonText(onFile(path, "read", () => readFileSync(path, "utf8"), ctxOf(path)));
  if (!parsed.ok) throw refused(`${path} ${parsed.problem}.`);
  const v = parsed.value;
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, any>;
  throw refused(`${path} holds JSON but not an object ({…}), as Claude Code expects.`);
}

/** ~/.claude/settings.json, refused (LocalFileError, nothing written) when readJson refuses it or
 *  its hooks are not the shape Claude Code reads; read it before changing anything. */
export function readSettings(home: string): Settings {
  const path = settingsPath(home);
  const settings = readJson(path);
  const bad = hooksShapeError(settings);
  if (bad) throw refused(`${path}: ${bad}, as Claude Code expects.`);
  return settings as Settings;
}

/** Writes `value` if it differs from the file; backs the old file up first. Returns whether it
 *  wrote. A failure is a LocalFileError naming the file; the file itself is then unchanged. */
export function writeJsonIfChanged(path: string, value: unknown): boolean {
  const next = JSON.stringify(value, null, 2) + "\n";
  const ctx = ctxOf(path);
  const exists = statIfAny(path, ctx) !== null;
  if (!exists && next === "{}\n") return false;
  if (exists) {
    const text = onFile(path, "read", () => readFileSync(path, "utf8"), ctx);
    if (text === next) return false;
    const now = parseJsonText(text);
    if (now.ok && JSON.stringify(now.value) === JSON.stringify(value)) return false;
    onFile(`${path}.claudemesh-backup`, "write", () => copyFileSync(path, `${path}.claudemesh-backup`));
  }
  onFile(dirname(path), "create", () => mkdirSync(dirname(path), { recursive: true }));
  const tmp = `${path}.claudemesh-tmp`;
  onFile(path, "write", () => {
    writeFileSync(tmp, next, { mode: 0o600 });
    renameSync(tmp, path);
  }, ctx);
  return true;
}
