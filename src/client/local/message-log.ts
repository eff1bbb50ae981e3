// What this member has read in a terminal, kept locally: decrypted messages (JSON lines, 0600), per
// mesh, for `inbox --all` and `reply`. The broker forgets a message once it is acked; this is the
// history, bounded to the newest MESSAGE_LOG_MAX_BYTES. The replay memories are in
// replay-memory.ts.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Delivered } from "../mesh-session.ts";
import { assertPrivate, ensurePrivateDir, readPrivateFile, writePrivateFile } from "./files.ts";
import { withFileLock } from "./config-lock.ts";
import { isUnmergedMark } from "./unmerged-marks.ts";
import { onFile } from "../../local-file/error.ts";

/** Most bytes a mesh's message log holds: past it, an append drops the oldest messages down to
 *  half of it, so that the cut (a rewrite of the file) comes once per 4 MiB appended, not at every
 *  append. `inbox --all` and `reply` read the whole file, so this bounds what they read; at a
 *  typical 500 bytes a message it keeps the newest 8,000 to 16,000. */
export const MESSAGE_LOG_MAX_BYTES = 8 * 1024 * 1024;

const logPath = (dir: string, meshId: string) => join(dir, "messages", `${meshId}.jsonl`);

/** Deletes this mesh's message log and every replay memory of it (the CLI's, each Claude Code
 *  session's, the machine's, and their marks: unmerged-marks.ts). Mesh ids contain no `.`, so `<meshId>.` names no other mesh's file. */
export function removeMeshLog(dir: string, meshId: string): void {
  rmSync(logPath(dir, meshId), { force: true });
  const seenDir = join(dir, "seen");
  if (!existsSync(seenDir)) return;
  for (const name of readdirSync(seenDir)) if (name.startsWith(`${meshId}.`) && (name.endsWith(".json") || isUnmergedMark(name))) rmSync(join(seenDir, name), { force: true });
}

const LOG_HOLDS = "the messages you read";

/** Appends to this mesh's log, which is created 0600; an existing one others can read or write is
 *  refused (LocalFileError with the chmod), not appended to. A log past `maxBytes` keeps its
 *  newest messages within half of it (at least the newest one). Two commands (an `inbox` beside
 *  an `inbox --follow`) take turns through a lock, so that a cut never drops another's append. */
export function appendMessages(dir: string, meshId: string, messages: readonly Delivered[], maxBytes = MESSAGE_LOG_MAX_BYTES): void {
  if (messages.length === 0) return;
  ensurePrivateDir(join(dir, "messages"));
  const path = logPath(dir, meshId);
  const ctx = { what: "the message log" };
  withFileLock({ path: join(dir, "messages", `${meshId}.lock`), guards: path }, () => {
    // One open: the mode checked is that of the file appended to.
    const fd = onFile(path, "write", () => openSync(path, "a", 0o600), ctx);
    let size: number;
    try {
      assertPrivate(path, onFile(path, "read", () => fstatSync(fd), ctx), LOG_HOLDS);
      onFile(path, "write", () => appendFileSync(fd, messages.map((m) => JSON.stringify(m)).join("\n") + "\n"), ctx);
      size = onFile(path, "read", () => fstatSync(fd), ctx).size;
    } finally {
      closeSync(fd);
    }
    if (size > maxBytes) cutLog(path, maxBytes / 2);
  });
}

/** Rewrites the log (atomically) with its newest whole lines within `keepBytes`, or the newest
 *  line alone when it is longer. */
function cutLog(path: string, keepBytes: number): void {
  const buf = onFile(path, "read", () => readFileSync(path), { what: "the message log" });
  const lastStart = buf.lastIndexOf(0x0a, buf.length - 2);
  const inWindow = buf.indexOf(0x0a, Math.max(0, buf.length - keepBytes - 1));
  const cut = Math.min(inWindow === -1 ? lastStart : inWindow, lastStart);
  writePrivateFile(path, buf.subarray(cut + 1), { what: "the message log" });
}

/** The last `limit` messages read in this mesh, oldest first. A log others could have written is
 *  refused, as for appending. */
export function readMessages(dir: string, meshId: string, limit: number): Delivered[] {
  const text = readPrivateFile(logPath(dir, meshId), { holds: LOG_HOLDS, what: "the message log" });
  if (text === null) return [];
  const lines = text.split("\n").filter(Boolean);
  return lines.slice(-limit).flatMap((l) => {
    try {
      return [JSON.parse(l) as Delivered];
    } catch {
      return [];
    }
  });
}

/** The message `messageId` among those read in this mesh (the newest copy, should the log hold it
 *  twice), or null. Refused like readMessages for a log others could have written. */
export function findMessage(dir: string, meshId: string, messageId: string): Delivered | null {
  const text = readPrivateFile(logPath(dir, meshId), { holds: LOG_HOLDS, what: "the message log" });
  // A line is parsed only if it holds the id: the log holds thousands.
  const line = text?.split("\n").findLast((l) => l.includes(`"messageId":${JSON.stringify(messageId)}`));
  if (!line) return null;
  try {
    const m = JSON.parse(line) as Delivered;
    return m.messageId === messageId ? m : null;
  } catch {
    return null;
  }
}
