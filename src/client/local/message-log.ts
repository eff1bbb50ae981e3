// What this member has read, kept locally: decrypted messages (JSON lines, 0600) and the replay
// guard's memory, per mesh. The broker forgets a message once it is acked; this is the history.
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ReplayGuard } from "../../crypto/envelope.ts";
import type { Delivered } from "../mesh-session.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "./files.ts";

const logPath = (dir: string, meshId: string) => join(dir, "messages", `${meshId}.jsonl`);
/** The CLI (scope "member") and each Claude Code session read their own copies of messages, so
 *  each keeps its own replay memory. */
const seenPath = (dir: string, meshId: string, scope = "member") => join(dir, "seen", scope === "member" ? `${meshId}.json` : `${meshId}.${scope}.json`);

/** Deletes this mesh's message log and every replay memory of it (the CLI's and each Claude Code
 *  session's). Mesh ids contain no `.`, so `<meshId>.` names no other mesh's file. */
export function removeMeshLog(dir: string, meshId: string): void {
  rmSync(logPath(dir, meshId), { force: true });
  const seenDir = join(dir, "seen");
  if (!existsSync(seenDir)) return;
  for (const name of readdirSync(seenDir)) if (name.startsWith(`${meshId}.`) && name.endsWith(".json")) rmSync(join(seenDir, name), { force: true });
}

export function appendMessages(dir: string, meshId: string, messages: readonly Delivered[]): void {
  if (messages.length === 0) return;
  ensurePrivateDir(join(dir, "messages"));
  appendFileSync(logPath(dir, meshId), messages.map((m) => JSON.stringify(m)).join("\n") + "\n", { mode: 0o600 });
}

/** The last `limit` messages read in this mesh, oldest first. */
export function readMessages(dir: string, meshId: string, limit: number): Delivered[] {
  const path = logPath(dir, meshId);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
  return lines.slice(-limit).flatMap((l) => {
    try {
      return [JSON.parse(l) as Delivered];
    } catch {
      return [];
    }
  });
}

export function loadReplayGuard(dir: string, meshId: string, scope = "member"): ReplayGuard {
  const text = readPrivateFile(seenPath(dir, meshId, scope));
  if (!text) return new ReplayGuard(meshId);
  try {
    return ReplayGuard.importJson(text, meshId);
  } catch {
    return new ReplayGuard(meshId);
  }
}

export function saveReplayGuard(dir: string, guard: ReplayGuard, scope = "member"): void {
  writePrivateFile(seenPath(dir, guard.meshId, scope), guard.exportJson());
}
