// Reading and writing Claude Code's files safely: parse errors are reported, never overwritten;
// a backup is written before any change; writes are atomic; unchanged content is not rewritten.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MeshError } from "../../protocol/errors.ts";
import { hooksShapeError, type Settings } from "./hooks-settings.ts";

export const settingsPath = (home: string) => join(home, ".claude", "settings.json");
export const claudeJsonPath = (home: string) => join(home, ".claude.json");

export function readJson(path: string): Record<string, any> {
  if (!existsSync(path)) return {};
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch {}
  throw new MeshError("invalid_argument", `${path} is not a JSON object; fix or move it, then run this again. Nothing was changed.`);
}

/** ~/.claude/settings.json, refused (invalid_argument, nothing written) when it is not a JSON
 *  object or its hooks are not the shape Claude Code reads; read it before changing anything. */
export function readSettings(home: string): Settings {
  const path = settingsPath(home);
  const settings = readJson(path);
  const bad = hooksShapeError(settings);
  if (bad) throw new MeshError("invalid_argument", `${path}: ${bad}, as Claude Code expects; fix or move it, then run this again. Nothing was changed.`);
  return settings as Settings;
}

/** Writes `value` if it differs from the file; backs the old file up first. Returns whether it wrote. */
export function writeJsonIfChanged(path: string, value: unknown): boolean {
  const next = JSON.stringify(value, null, 2) + "\n";
  if (!existsSync(path) && next === "{}\n") return false;
  if (existsSync(path)) {
    if (readFileSync(path, "utf8") === next) return false;
    if (JSON.stringify(JSON.parse(readFileSync(path, "utf8"))) === JSON.stringify(value)) return false;
    copyFileSync(path, `${path}.claudemesh-backup`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.claudemesh-tmp`;
  writeFileSync(tmp, next, { mode: 0o600 });
  renameSync(tmp, path);
  return true;
}
