// What this member has read, kept locally: decrypted messages (JSON lines, 0600) and the replay
// guard's memory, per mesh. The broker forgets a message once it is acked; this is the history.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ReplayGuard } from "../../crypto/envelope.ts";
import type { Delivered } from "../mesh-session.ts";
import { assertPrivate, ensurePrivateDir, readPrivateFile, writePrivateFile } from "./files.ts";
import { onFile } from "../../local-file/error.ts";

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

/** This mesh's replay memory for `scope`. A damaged file (it is written atomically, so a disk
 *  fault or a hand edit) is moved aside, `onDamaged` is told, and a new memory starts: refusing
 *  would leave the member unable to read at all, and starting over silently would hide that a
 *  message already read may be shown again. */
export function loadReplayGuard(dir: string, meshId: string, scope = "member", onDamaged: (note: string) => void = () => {}): ReplayGuard {
  const path = seenPath(dir, meshId, scope);
  const text = readPrivateFile(path, { holds: "the ids of the messages you read", what: "the replay memory" });
  if (!text) return scope === "member" ? new ReplayGuard(meshId) : seededGuard(dir, meshId);
  try {
    return ReplayGuard.importJson(text, meshId);
  } catch (err) {
    const aside = `${path}.damaged-${Date.now()}`;
    renameSync(path, aside);
    onDamaged(`The replay memory ${path} was damaged (${(err as Error).message}); it was moved to ${aside} and a new one starts now. Until it has filled again, a message you already read that the broker sends again would be shown again.`);
    return new ReplayGuard(meshId);
  }
}

/** A new session's replay memory, holding what was read in this mesh on this machine before it:
 *  the CLI's memory and every other session's, oldest file first, so the newest pairs are those
 *  kept. An honest broker never hands a session a message from before the session existed that
 *  another reader here already read (a member-key message goes to the next session only while
 *  none acked it), while a broker replaying old messages to each new Claude Code session would
 *  otherwise find it with an empty memory. A file that cannot be read adds nothing. */
function seededGuard(dir: string, meshId: string): ReplayGuard {
  const guard = new ReplayGuard(meshId);
  const seenDir = join(dir, "seen");
  if (!existsSync(seenDir)) return guard;
  const files = readdirSync(seenDir)
    .filter((name) => name === `${meshId}.json` || (name.startsWith(`${meshId}.`) && name.endsWith(".json")))
    .map((name) => join(seenDir, name))
    .flatMap((path) => {
      try {
        return [{ path, at: statSync(path).mtimeMs }];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.at - b.at);
  for (const { path } of files) {
    try {
      const text = readPrivateFile(path, { holds: "the ids of the messages you read", what: "the replay memory" });
      if (text) guard.absorb(ReplayGuard.importJson(text, meshId));
    } catch {
      // Damaged, or others may write it: its owner's load reports that; here it adds nothing.
    }
  }
  return guard;
}

/** Writes the replay memory of `scope`, with `extra` keys beside the guard's (an MCP server keeps
 *  the replies its model was shown under "replies"); ReplayGuard.importJson ignores them. */
export function saveReplayGuard(dir: string, guard: ReplayGuard, scope = "member", extra: Record<string, unknown> = {}): void {
  writePrivateFile(seenPath(dir, guard.meshId, scope), guard.exportJson(extra));
}

/** What the replay file of `scope` holds under `key` beside the guard's pairs; undefined when the
 *  file is missing or not JSON (loadReplayGuard, called first, deals with a damaged one). */
export function loadReplayExtra(dir: string, meshId: string, scope: string, key: string): unknown {
  const text = readPrivateFile(seenPath(dir, meshId, scope), { holds: "the ids of the messages you read", what: "the replay memory" });
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>)[key] : undefined;
  } catch {
    return undefined;
  }
}
