// What this member has read in a terminal, kept locally: decrypted messages (JSON lines, 0600), per
// mesh, for `inbox --all` and `reply`. The broker forgets a message once it is acked; this is the
// history. The replay memories are in replay-memory.ts.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Delivered } from "../mesh-session.ts";
import { assertPrivate, ensurePrivateDir, readPrivateFile } from "./files.ts";
import { onFile } from "../../local-file/error.ts";

const logPath = (dir: string, meshId: string) => join(dir, "messages", `${meshId}.jsonl`);

/** Deletes this mesh's message log and every replay memory of it (the CLI's, each Claude Code
 *  session's, the machine's). Mesh ids contain no `.`, so `<meshId>.` names no other mesh's file. */
export function removeMeshLog(dir: string, meshId: string): void {
  rmSync(logPath(dir, meshId), { force: true });
  const seenDir = join(dir, "seen");
  if (!existsSync(seenDir)) return;
  for (const name of readdirSync(seenDir)) if (name.startsWith(`${meshId}.`) && name.endsWith(".json")) rmSync(join(seenDir, name), { force: true });
}

const LOG_HOLDS = "the messages you read";

/** Appends to this mesh's log, which is created 0600; an existing one others can read or write is
 *  refused (LocalFileError with the chmod), not appended to. */
export function appendMessages(dir: string, meshId: string, messages: readonly Delivered[]): void {
  if (messages.length === 0) return;
  ensurePrivateDir(join(dir, "messages"));
  const path = logPath(dir, meshId);
  const ctx = { what: "the message log" };
  // One open: the mode checked is that of the file appended to.
  const fd = onFile(path, "write", () => openSync(path, "a", 0o600), ctx);
  try {
    assertPrivate(path, onFile(path, "read", () => fstatSync(fd), ctx), LOG_HOLDS);
    onFile(path, "write", () => appendFileSync(fd, messages.map((m) => JSON.stringify(m)).join("\n") + "\n"), ctx);
  } finally {
    closeSync(fd);
  }
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
  // A line is parsed only if it holds the id: the log grows with everything ever read.
  const line = text?.split("\n").findLast((l) => l.includes(`"messageId":${JSON.stringify(messageId)}`));
  if (!line) return null;
  try {
    const m = JSON.parse(line) as Delivered;
    return m.messageId === messageId ? m : null;
  } catch {
    return null;
  }
}
